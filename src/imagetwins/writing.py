"""Files a user names for writing (``--json``, ``--csv``, ``--report`` and its ``<page>_files/`` folder,
``explain -p``, ``plot -o`` ...) are written without following links.

A planted symbolic link (dangling or not) at an output's name would otherwise send the bytes to whatever it
points at: someone else's file, a file outside the folder. So a link, a folder, a block device or a socket
at the name is refused with one line (:class:`OutputRefused`); a FIFO or character device standing there
(``/dev/null``), and this process's own ``/dev/stdout`` or ``/dev/fd/N``, are written as streams; anything
else goes to a new file made beside the name with ``O_CREAT | O_EXCL | O_NOFOLLOW``, renamed over it at the
end (a rename replaces whatever stands at the name, a link included, and never writes through it; a hard
link planted there keeps the other name's bytes). An output folder (the review page's thumbnails) must be a
real folder, and each file in it is made new, relative to the folder opened without following links; its mark
records the files written (name, inode, size), so that the next output removes those it no longer uses and never
anything else there.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from imagetwins.outputmark import OUTPUT_FOLDER_MARK, Written, plain_name, read_records

__all__ = ["OutputRefused", "ReplacesImage", "ReplacesStore", "Written", "check_output_folder", "check_output_name",
           "check_page_folder", "claim_page_name", "clear_output_folder", "describe_mode", "free_page_name",
           "release_page_name",
           "is_review_page",
           "open_output", "output_folder", "page_folder", "record_written", "refuse_image_target",
           "refuse_store_target", "remove_written", "write_in_folder", "written_by_others", "written_in_folder"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class OutputRefused(OSError):
    """An output name that is a link, a folder, a FIFO or a device: nothing is written (one line)."""


class ReplacesImage(OutputRefused):
    """A document output (JSON, CSV, NDJSON, the review page, an imagededup-style ``outfile``) named where an image
    stands, or with an image's name: refused before anything is read or written (the command line's usage error,
    for the library). ``find_duplicates(image_dir="photos", outfile="photos/IMG_0001")`` replaced a photo the scan
    had just read."""


class ReplacesStore(ReplacesImage):
    """A document output named where a file imagetwins keeps stands: an SQLite database (the index being read, a
    per-folder cache, the decision store, another program's database) or a quarantine's journal, key or summary.
    ``find DIR --against ref.db --json ref.db`` replaced the index (and the decisions it held) with the JSON;
    ``--json Q/manifest.jsonl`` left the quarantined files with no journal to undo them by."""


#: the first bytes of every SQLite database file
_SQLITE_HEAD = b"SQLite format 3\x00"


def _kept_by_us(path: str | os.PathLike) -> str | None:
    """What ``path`` is, if a file :class:`ReplacesStore` says no document replaces (never blocks, follows no link)."""
    from imagetwins.io import QUARANTINE_MARKERS, _read_head

    try:
        if _read_head(path).startswith(_SQLITE_HEAD):
            return "an SQLite database (an index, a cache or a decision store)"
    except OSError:  # (not there, or a link: refused as one when it is opened)
        pass
    folder = Path(path).parent
    if Path(path).name.startswith("manifest.") and all(os.path.lexists(folder / m) for m in QUARANTINE_MARKERS):
        return "a quarantine's own file (its journal, key or summary: undo reads them)"
    return None


def refuse_store_target(path: str | os.PathLike, what: str = "the output") -> None:
    """Raise :class:`ReplacesStore` when writing ``what`` (a document or a picture) at ``path`` would replace a
    database or a quarantine's journal (:func:`_kept_by_us`)."""
    kept = _kept_by_us(path)
    if kept is not None:
        raise ReplacesStore(errno.EEXIST, f"{os.fspath(path)}: that is {kept}, and {what} would replace it: give a "
                                          "new file name")


def refuse_image_target(path: str | os.PathLike, what: str = "the output") -> None:
    """Raise :class:`ReplacesImage` when writing the document ``what`` at ``path`` would replace an image (a file
    whose first bytes are an image's, whatever its name) or pose as one (an image's extension: a later scan reads
    it as a picture that cannot be decoded); :class:`ReplacesStore` where it would replace a database or a
    quarantine's journal (:func:`refuse_store_target`)."""
    from imagetwins.io import IMAGE_EXTENSIONS, looks_like_image  # (io loads Pillow: only when asked)

    refuse_store_target(path, what)
    named = Path(path).suffix.lower() in IMAGE_EXTENSIONS
    if looks_like_image(path):
        how = "that is an image's name and an image" if named else "that is an image (its first bytes say so)"
        raise ReplacesImage(errno.EEXIST, f"{os.fspath(path)}: {how}, and {what} would replace it: give a new file "
                                          "name")
    if named:
        raise ReplacesImage(errno.EINVAL, f"{os.fspath(path)}: that is an image's name, and {what} would pose as a "
                                          "picture: give another file name")


#: the PNG ``Software`` text of the pictures imagetwins writes (explain's) and of matplotlib's (plot, tune --plot)
PICTURE_SOFTWARE = "imagetwins"
_PLOTTERS = (PICTURE_SOFTWARE, "matplotlib")


def _a_picture_we_wrote(path: str | os.PathLike) -> bool:
    """Is the image at ``path`` a PNG whose ``Software`` text names imagetwins or matplotlib (an earlier picture
    output, which a re-run may replace)? Reads the header chunks only."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            software = im.info.get("Software") if im.format == "PNG" else None
    except Exception:  # (any image Pillow cannot open is no picture of ours)
        return False
    return isinstance(software, str) and any(p in software.lower() for p in _PLOTTERS)


def replaceable_picture(path: str | os.PathLike) -> bool:
    """May a picture output be written over the file at ``path``: no image, or a picture imagetwins or matplotlib
    wrote (:func:`_a_picture_we_wrote`)? ``open_output``'s ``replace_only`` for a picture: asked again right before
    the write, as a photo saved at the name while the picture was made would be replaced (the check before the work,
    :func:`refuse_picture_target`, was the only one)."""
    from imagetwins.io import looks_like_image

    return not looks_like_image(path) or _a_picture_we_wrote(path)


def refuse_picture_target(path: str | os.PathLike, what: str = "the picture") -> None:
    """Raise :class:`ReplacesImage` when writing the picture ``what`` at ``path`` would replace an image imagetwins
    did not write (``explain A B -p IMG_0042.jpg`` replaced that photo with the PNG of the matches); an earlier
    picture output (:func:`_a_picture_we_wrote`) is replaced. :class:`ReplacesStore` for a database or a
    quarantine's journal, as every output (:func:`refuse_store_target`)."""
    from imagetwins.io import looks_like_image

    refuse_store_target(path, what)
    if looks_like_image(path) and not _a_picture_we_wrote(path):
        raise ReplacesImage(errno.EEXIST, f"{os.fspath(path)}: that is an image imagetwins did not write (a photo?), "
                                          f"and {what} would replace it: give a new file name")


def describe_mode(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words for a message: "a symbolic link", "a folder", "a file",
    "a FIFO" or "a device or socket"."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISREG(mode):
        return "a file"
    return "a device or socket"


#: names that are links by nature but stand for this process's own output streams: opened as streams
_OWN_STREAMS = re.compile(r"/dev/(stdout|stderr|fd/\d+)|/proc/self/fd/\d+")


def _stream(path: str | os.PathLike) -> bool:
    """Is ``path`` written as a stream (no file made, no rename): one of this process's own streams named as
    such (``/dev/stdout``, ``/dev/fd/3``...), or a FIFO or character device (``/dev/null``, ``/dev/full``)
    standing at the name itself? Raises :class:`OutputRefused` for a link (other than those), a folder, a
    block device or a socket at the name."""
    if _OWN_STREAMS.fullmatch(os.fspath(path)):
        return True
    st = _output_lstat(path)
    return st is not None and not stat.S_ISREG(st.st_mode)


def _output_lstat(path: str | os.PathLike) -> os.stat_result | None:
    """The lstat of an output's name (None: nothing there) where it is a regular file, a FIFO or a character
    device; :class:`OutputRefused` for anything else there (a link, a folder, a block device, a socket)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return st
    raise _refused(path, st.st_mode)


def _refused(path: str | os.PathLike, mode: int) -> OutputRefused:
    hint = " (standard output: '-')" if os.fspath(path).startswith("/dev/") else ""
    return OutputRefused(errno.EPERM, f"{path} is {describe_mode(mode)}: refused, nothing is written through or "
                                      f"over it{hint}")


#: FIFOs named as outputs, opened by :func:`check_output_name` before any work and held for :func:`open_output`:
#: (device, inode) -> the open descriptor
_held_fifos: dict[tuple[int, int], int] = {}


def check_output_name(path: str | os.PathLike) -> None:
    """Raise :class:`OutputRefused` unless ``path`` itself is absent, a regular file, a FIFO, a character device
    or one of this process's own streams (``/dev/stdout``). A FIFO is opened now: one that no process reads from
    is refused before any work (it was refused only when the output was written, after the whole scan), and one
    that is read is held open for :func:`open_output` (opened and closed here, its reader would see the end of
    its input before the output)."""
    if _OWN_STREAMS.fullmatch(os.fspath(path)):
        return
    st = _output_lstat(path)  # (looked at once: what is held is what was opened, keyed by the open file itself)
    if st is None or not stat.S_ISFIFO(st.st_mode) or (st.st_dev, st.st_ino) in _held_fifos:
        return
    try:
        fd = _open_stream(Path(path))
    except FileNotFoundError:  # gone since: a new file is made there when the output is written
        return
    except OutputRefused:
        raise
    except OSError as exc:  # swapped since for a link (ELOOP), or cannot be opened: one line, never a traceback
        if exc.errno == errno.ELOOP:
            raise _refused(path, stat.S_IFLNK) from None
        raise OutputRefused(exc.errno or errno.EIO, f"{path}: cannot open the FIFO ({exc.strerror or exc})") from None
    opened = os.fstat(fd)
    if not stat.S_ISFIFO(opened.st_mode):  # (a regular file swapped in since: written as a file, not held)
        os.close(fd)
        return
    _held_fifos[(opened.st_dev, opened.st_ino)] = fd


def _open_stream(path: Path) -> int:
    """``path`` (a FIFO, a character device, this process's own stream) opened for writing, blocking; a FIFO nobody
    reads from is :class:`OutputRefused` at once, not a hang."""
    flags = os.O_WRONLY | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags if _OWN_STREAMS.fullmatch(os.fspath(path)) else flags | _NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputRefused(errno.ENXIO, f"{path} is a FIFO no process reads from: nothing written (start "
                                             "its reader first)") from None
        raise
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return fd


@contextmanager
def open_output(path: str | os.PathLike, binary: bool = False, replace_only: Callable[[Path], bool] | None = None,
                **text: str) -> Iterator[IO]:
    """Open the output ``path`` for writing (text with ``text`` keywords for :func:`open`, else bytes) without
    following links: a new file beside it, renamed over the name when the block ends without an error (else
    removed). The file keeps the mode of the one it replaces (new: 0666 less the umask). A FIFO or character
    device at the name (``/dev/null``), or ``/dev/stdout``, is written as a stream (a FIFO nobody reads is an
    error at once, not a hang). ``replace_only``: what may be replaced, asked of a file at the name just before the
    rename (:func:`is_review_page`: a name the tool chose itself, :func:`claim_page_name`).

    Raises
    ------
    OutputRefused
        ``path`` is a symbolic link (even dangling), a folder, a block device or a socket; or ``replace_only`` says
        no of the file there (nothing replaced).
    """
    path = Path(path)
    own = _OWN_STREAMS.fullmatch(os.fspath(path)) is not None
    st = None if own else _output_lstat(path)  # (looked at once: the name may change between two looks)
    if own or st is not None and not stat.S_ISREG(st.st_mode):
        fd = None if st is None else _held_fifos.pop((st.st_dev, st.st_ino), None)
        if fd is None:
            fd = _open_stream(path)
        with open(fd, "wb" if binary else "w", **({} if binary else text)) as fh:
            yield fh
        return
    mode = None if st is None else stat.S_IMODE(st.st_mode)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.imagetwins-tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)
    except PermissionError:
        if mode is None:
            raise
        _refuse_unless(path, replace_only)
        # a folder we may not add to, holding a file we may write: that file itself, never through a link
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | _NOFOLLOW | _CLOEXEC)
        with open(fd, "wb" if binary else "w", **({} if binary else text)) as fh:
            yield fh
        return
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with open(fd, "wb" if binary else "w", **({} if binary else text)) as fh:
            yield fh
        if _stream(path):  # (a FIFO or device put there meanwhile: not replaced)
            raise OutputRefused(errno.EPERM, f"{path} was replaced while it was written: refused")
        _refuse_unless(path, replace_only)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise




def _refuse_unless(path: Path, replace_only: Callable[[Path], bool] | None) -> None:
    """:class:`OutputRefused` when a file stands at ``path`` that ``replace_only`` says may not be replaced."""
    if replace_only is not None and os.path.lexists(path) and not replace_only(path):
        raise OutputRefused(errno.EEXIST, f"{path}: a file imagetwins did not write was put there while the output "
                                          "was made: kept, nothing written over it")


def output_folder(folder: str | os.PathLike) -> int:
    """Make (or check) an output folder and open it without following links: a descriptor to write in with
    :func:`write_in_folder` (close it after). Raises :class:`OutputRefused` if a link or a non-folder stands
    there, or a folder imagetwins did not make that holds anything: the user never named it (``PAGE_files``
    beside a page), so files there (a page saved by a browser, someone's ``1.jpg``) are never replaced. A folder
    made (or found empty) is marked (:data:`OUTPUT_FOLDER_MARK`) as ours for the next output."""
    folder = Path(folder)
    try:
        os.mkdir(folder)
    except FileExistsError:
        mode = os.lstat(folder).st_mode
        if not stat.S_ISDIR(mode):
            raise OutputRefused(errno.EPERM, f"{folder} is {describe_mode(mode)}: refused, nothing is written "
                                             "through or into it") from None
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped for a link since the check
            raise OutputRefused(errno.EPERM, f"{folder} is not a real folder: refused") from None
        raise
    try:
        try:
            os.stat(OUTPUT_FOLDER_MARK, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            if os.listdir(fd):
                raise OutputRefused(errno.EEXIST, f"{folder} already holds files imagetwins did not write: refused, "
                                                  "nothing is written into it (name the page otherwise, or move "
                                                  "that folder away)") from None
            os.close(os.open(OUTPUT_FOLDER_MARK, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644,
                             dir_fd=fd))
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_output_folder(folder: str | os.PathLike, why: str = "") -> None:
    """Raise :class:`OutputRefused` for what :func:`output_folder` would refuse (a link or a non-folder there, a
    folder imagetwins did not make that holds anything) and for a folder that cannot be made or written in, checked
    without making or changing anything: before the work whose output goes there. ``why`` ends each message (what
    the folder is for)."""
    folder = Path(folder)
    tail = f" ({why})" if why else ""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        parent = folder.parent
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputRefused(errno.EACCES, f"{folder} cannot be made: {parent} is not writable{tail}") from None
        return
    if not stat.S_ISDIR(st.st_mode):
        raise OutputRefused(errno.EPERM, f"{folder} is {describe_mode(st.st_mode)}: refused, nothing is written "
                                         f"through or into it{tail}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputRefused(errno.EACCES, f"{folder} is not writable{tail}")
    if not os.path.lexists(folder / OUTPUT_FOLDER_MARK) and os.listdir(folder):
        raise OutputRefused(errno.EEXIST, f"{folder} already holds files imagetwins did not write: refused, nothing "
                                          f"is written into it (name the page otherwise, or move that folder "
                                          f"away){tail}")


def page_folder(page: str | os.PathLike) -> Path:
    """The folder beside a review page that holds its thumbnails when they are not embedded: ``<page>_files``."""
    page = Path(page)
    return page.with_name(page.stem + "_files")


def check_page_folder(page: str | os.PathLike) -> None:
    """:func:`check_output_folder` of the page's :func:`page_folder`, before any work: the page writes its
    thumbnails there above 500 groups, which is known only at the end of a scan."""
    check_output_folder(page_folder(page), "the page's thumbnails go there above 500 groups")


#: what every review page holds near its start (``report_page.html``): how a page at a name is known to be ours
PAGE_GENERATOR = b'<meta name="generator" content="imagetwins">'
#: the start of the pages written before :data:`PAGE_GENERATOR` was (their template's first lines, exactly)
_OLDER_PAGE_HEAD = (b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<meta name="viewport" '
                    b'content="width=device-width, initial-scale=1">\n<meta http-equiv="Content-Security-Policy" '
                    b'content="default-src \'none\'; img-src data: \'self\' file:; style-src \'unsafe-inline\'; '
                    b'script-src \'unsafe-inline\'">\n<title>')


def is_review_page(path: str | os.PathLike) -> bool:
    """Is ``path`` a regular file that is a review page imagetwins wrote (:data:`PAGE_GENERATOR` in its first
    bytes, or an older page's exact head)? Follows no link, never blocks (a FIFO or folder there: no)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except (OSError, TypeError, ValueError):
        return False
    try:
        head = os.read(fd, 1024) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    except OSError:
        return False
    finally:
        os.close(fd)
    return PAGE_GENERATOR in head or head.startswith(_OLDER_PAGE_HEAD)


def _page_names(page: Path, tries: int) -> Iterator[Path]:
    """``page``, then ``<stem>-1<suffix>``, ``<stem>-2<suffix>``... (``tries`` after it), those whose
    ``<page>_files/`` folder a page may use (:func:`check_page_folder`) and where no file stands that is not a page
    imagetwins wrote; :class:`OutputRefused` after the last, or at once where the folder cannot be written in (a
    read-only file system: every name's thumbnails folder refused, said as 101 names holding the user's files)."""
    folder = page.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputRefused(errno.EACCES, f"{os.path.abspath(folder)} is not writable: nothing written there; name the "
                                          "page with -o FILE in a folder you may write in")
    for n in range(tries + 1):
        name = page if n == 0 else page.with_name(f"{page.stem}-{n}{page.suffix}")
        if os.path.lexists(name) and not is_review_page(name):
            continue
        try:
            check_page_folder(name)
        except OSError:
            continue
        yield name
    raise OutputRefused(errno.EEXIST, f"{page} and {tries} names after it hold files imagetwins did not write: "
                                      "nothing replaced; name the page with -o FILE")


def free_page_name(page: str | os.PathLike, tries: int = 100) -> Path:
    """The name a page given by *default* (``report`` without ``-o``) would be written at now: ``page`` itself when
    nothing is there or it is a page imagetwins wrote (replaced: a re-run refreshes it), else the first of
    ``report-1.html``, ``report-2.html``... that is so and whose ``<page>_files/`` folder a page may use
    (:func:`check_page_folder`): a file of the user's at that name is never replaced (``report.html`` the user wrote
    was). Asked before a scan, to refuse at once where no name is free; the page itself takes its name when it is
    written (:func:`claim_page_name`). Raises :class:`OutputRefused` when none of ``tries`` names is free."""
    return next(_page_names(Path(page), tries))


#: what a name claimed for a page holds until the page is written over it: a page of the tool's (a run cut short
#: leaves one that the next run takes again), saying the page is being written
PLACEHOLDER_PAGE = (b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n' + PAGE_GENERATOR +
                    b"\n<title>imagetwins report</title></head>\n<body><p>imagetwins is writing this review page: "
                    b"open it again when the command has ended.</p></body></html>\n")


def claim_page_name(page: str | os.PathLike, tries: int = 100) -> tuple[Path, bool]:
    """Take the name a page given by *default* goes to, when it is written (:func:`free_page_name`'s rule; asked
    before a long scan, a name can be taken by its end: a ``report.html`` the user saved meanwhile was replaced).
    A free name is made at once (``O_EXCL``) holding :data:`PLACEHOLDER_PAGE`, so that nothing made there meanwhile is
    replaced: a name someone else takes first is passed over; a page imagetwins wrote is taken as it stands (write it
    with ``open_output(..., replace_only=is_review_page)``, which replaces it only if it still is one). Returns the
    name and whether it was made now. Raises :class:`OutputRefused` when none of ``tries`` names is free.

    The name taken is held (``flock`` of the placeholder, or of the earlier page taken) until
    :func:`release_page_name`: another run passes over a name a live run holds (two ``report`` runs at once in one
    folder wrote one ``report.html`` and one ``report_files/``, the first run's page lost); a placeholder a killed run
    left is taken again."""
    for name in _page_names(Path(page), tries):
        if os.path.lexists(name):  # (a page of ours: held too while this run replaces it, as a placeholder is)
            held = _hold_page(name)
            if held is None:
                continue
            _claimed[os.path.abspath(name)] = held
            return name, False
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)
        except FileExistsError:  # (made since it was looked at: someone else's)
            continue
        made = os.fstat(fd)
        try:
            _lock(fd)
            if os.write(fd, PLACEHOLDER_PAGE) != len(PLACEHOLDER_PAGE):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError:  # (a full disk: the empty file made is taken back, else every later run took it for the
            # user's, never a page of ours, and went past it to report-1.html)
            with contextlib.suppress(OSError):
                now = os.lstat(name)
                if (now.st_dev, now.st_ino) == (made.st_dev, made.st_ino):
                    os.unlink(name)
            os.close(fd)
            raise
        _claimed[os.path.abspath(name)] = fd
        return name, True
    raise AssertionError("unreachable: _page_names raises after its last name")


#: the placeholders this process holds (:func:`claim_page_name`): absolute name -> its locked descriptor
_claimed: dict[str, int] = {}


def release_page_name(page: str | os.PathLike) -> None:
    """Let go of the placeholder :func:`claim_page_name` holds at ``page`` (the page written over it, or given up)."""
    fd = _claimed.pop(os.path.abspath(page), None)
    if fd is not None:
        os.close(fd)


def _lock(fd: int) -> bool:
    """``flock`` ``fd`` (exclusive) without waiting; False where another holds it (True where the system has no such
    locks)."""
    try:
        import fcntl
    except ImportError:  # (Windows)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # (a file system without locks)
        return True
    return True


def _hold_page(name: Path) -> int | None:
    """``name``, a page of ours (a placeholder, or a page an earlier run wrote), opened and held (``flock``) for the
    run that replaces it: its descriptor, or None where another live run holds it (it is writing its page there: two
    runs at once both took an earlier report.html and wrote one page and one ``report_files/``), or it is no longer
    that page of ours."""
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        held = os.fstat(fd)
        if not stat.S_ISREG(held.st_mode) or not _lock(fd):
            os.close(fd)
            return None
        now = os.lstat(name)
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino) or not is_review_page(name):
            os.close(fd)  # (replaced meanwhile: by the run that held it, or by someone's file)
            return None
    except OSError:
        os.close(fd)
        return None
    return fd


def write_in_folder(folder_fd: int, name: str, data: bytes) -> Written:
    """Write ``name`` in the folder ``folder_fd`` as a new file: whatever stands at the name (an older output,
    a planted link) is removed first, never written through. Returns what the folder's mark records of it
    (:func:`record_written`)."""
    try:
        st = os.lstat(name, dir_fd=folder_fd)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISDIR(st.st_mode):
            raise OutputRefused(errno.EPERM, f"{name} is a folder: refused")
        os.unlink(name, dir_fd=folder_fd)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666, dir_fd=folder_fd)
    with open(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        st = os.fstat(fh.fileno())
    return Written(st.st_ino, st.st_size)


def written_in_folder(folder_fd: int, page: str = "") -> dict[str, Written]:
    """The files the tool wrote into an output folder last time for the output ``page`` (a review page's name), as
    its mark records them (:func:`record_written`): name -> :class:`Written`. Empty for a mark that records nothing
    (one an older version left empty), is a link or not a regular file, or cannot be read: nothing is then known to
    be the tool's."""
    records = read_records(folder_fd)
    return {**records.get("", {}), **records.get(page, {})}


def written_by_others(folder_fd: int, page: str = "") -> set[str]:
    """The names the folder's mark records for outputs other than ``page``: two pages of one stem (``review.html``,
    ``review.htm``) share ``review_files/``, and one never removes the other's thumbnails."""
    return {name for other, files in read_records(folder_fd).items() if other not in ("", page) for name in files}


def record_written(folder_fd: int, written: dict[str, Written], page: str = "") -> None:
    """Make the folder's mark record ``written`` (the files the tool wrote there now) for the output ``page``,
    keeping what it records of other outputs, replacing it at once (a new file renamed over it: never written
    through a link planted there). A mark that cannot be written only records nothing: no file there is then
    removed later (:func:`remove_written`)."""
    records = read_records(folder_fd)
    records.pop("", None)  # (an older mark's record: the page writing now took it for its own)
    for files in records.values():  # a file another output records was written anew (the same content): as now
        files.update((name, was) for name, was in written.items() if name in files)
    records[page] = dict(written)
    tmp = f"{OUTPUT_FOLDER_MARK}.{secrets.token_hex(6)}.tmp"
    body = json.dumps({"pages": {p: {n: list(w) for n, w in sorted(files.items())}
                                 for p, files in sorted(records.items()) if files}}, separators=(",", ":"))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644, dir_fd=folder_fd)
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
        os.replace(tmp, OUTPUT_FOLDER_MARK, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except OSError:
        try:
            os.unlink(tmp, dir_fd=folder_fd)
        except OSError:
            pass


def remove_written(folder_fd: int, recorded: dict[str, Written], keep: Collection[str] = ()) -> None:
    """Remove the files of ``recorded`` (what the tool wrote there before) but ``keep``, each only where the file at
    its name is still the one written: a regular file of the recorded inode and size (a link, a folder, a file a
    person put there under that name since are left as they are)."""
    for name, was in recorded.items():
        if name in keep or not plain_name(name):
            continue
        try:
            st = os.lstat(name, dir_fd=folder_fd)
            if stat.S_ISREG(st.st_mode) and (st.st_ino, st.st_size) == tuple(was):
                os.unlink(name, dir_fd=folder_fd)
        except OSError:
            continue


def clear_output_folder(folder: str | os.PathLike, page: str = "") -> None:
    """Remove from an output folder the files the tool wrote there for the output ``page`` (:func:`remove_written`)
    when it uses them no more (a review page now embedding its thumbnails), those another output's record names
    excepted, and the folder itself when nothing else is left in it. Nothing happens where the name is no real
    folder marked as the tool's."""
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return
    try:
        try:
            os.stat(OUTPUT_FOLDER_MARK, dir_fd=fd, follow_symlinks=False)
        except OSError:
            return  # not a folder the tool made: none of it is touched
        recorded = written_in_folder(fd, page)
        if not recorded:
            return
        others = written_by_others(fd, page)
        remove_written(fd, recorded, keep=others)
        if not others and os.listdir(fd) == [OUTPUT_FOLDER_MARK]:
            os.unlink(OUTPUT_FOLDER_MARK, dir_fd=fd)
            try:
                os.rmdir(folder)
                return
            except OSError:  # (something was put there meanwhile, or the name is another folder now: marked again)
                os.close(os.open(OUTPUT_FOLDER_MARK, os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644,
                                 dir_fd=fd))
        record_written(fd, {}, page)
    except OSError:
        return
    finally:
        os.close(fd)
