"""An attack pass on what happens between a scan and its action, and on the journal afterwards: a journal whose last
line a crash cut short, a file written to while it moves, a sidecar swapped for a huge file before it is written, a
folder of thousands of photos with their XMP sidecars (docs/reliability.md, "Hostile ground")."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from conftest import CallCount, moves_by_link, synthetic_photo
from tree_digests import file_digests

from imagetwins import quarantine
from imagetwins.quarantine import Plan, apply_plan, undo

pytestmark = pytest.mark.unit


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pair(folder: Path, name: str, seed: int = 0) -> tuple[Path, Path]:
    """``keep/NAME`` and its byte copy ``copy/NAME`` in ``folder`` (a PNG, whatever the name)."""
    (folder / "keep").mkdir(parents=True, exist_ok=True)
    (folder / "copy").mkdir(parents=True, exist_ok=True)
    keeper, copy = folder / "keep" / name, folder / "copy" / name
    synthetic_photo(64, 48, seed).save(keeper, "PNG")
    copy.write_bytes(keeper.read_bytes())
    return keeper, copy


def _plan(*pairs: tuple[Path, Path]) -> Plan:
    """A plan moving each pair's copy, keeping its keeper (as plan_removal would make it)."""
    return Plan([(str(c), n, str(k)) for n, (k, c) in enumerate(pairs, 1)], [str(k) for k, _ in pairs],
                expected={str(p): _sha(p) for pair in pairs for p in pair})


def test_a_journal_whose_last_line_a_crash_cut_short_still_records_the_next_run(tmp_path: Path) -> None:
    """A crash (power cut) can leave the journal's last line half written, without its newline; undo skips that line.
    The next run into the same quarantine (--move-to, or undo itself) appended its first line right after those
    bytes: glued to them, that line could not be read either, so the file it named stayed in the quarantine ("no
    journal line undo can use names it") and a second undo listed a malformed line for ever."""
    root = tmp_path / "album"
    first = _pair(root, "a.png", 0)
    q = tmp_path / "q"
    assert not apply_plan(_plan(first), root, q).failed
    journal = q / quarantine.JOURNAL
    data = journal.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n")
    journal.write_bytes(data[:last + 1 + 40])  # the "done" line of the move cut after 40 bytes
    second = _pair(root, "b.png", 1)
    before = file_digests(root)
    out = apply_plan(_plan(second), root, q)
    assert not out.failed and len(out.done) == 1
    back = undo(q)
    assert not back.failed, back.failed
    assert len(back.done) == 2
    assert file_digests(root) == {**before, "copy/a.png": _sha(first[0])}
    assert not undo(q).failed  # and nothing malformed to report the next time


def _write_before_the_move(monkeypatch, name: str, extra: bytes = b"edited") -> None:
    """Another program appends to ``name`` after remove checked its bytes and before it moves (an editor saving in
    place, a sync tool still writing): the hook runs once, in ``quarantine._move``, before the real move."""
    real = quarantine._move
    done = []

    def written_first(src, dst, digest, identity=None, dir_fd=None, **kw):
        if not done and Path(src).name == name:
            done.append(True)
            fd = os.open(Path(src).name if dir_fd is not None else src, os.O_WRONLY | os.O_APPEND, dir_fd=dir_fd)
            os.write(fd, extra)
            os.close(fd)
        return real(src, dst, digest, identity, dir_fd=dir_fd, **kw)

    monkeypatch.setattr(quarantine, "_move", written_first)


@pytest.mark.parametrize("to_trash", [False, True])
def test_a_file_written_to_as_it_moves_is_put_back_not_left_in_the_quarantine(tmp_path: Path, monkeypatch,
                                                                               to_trash: bool) -> None:
    """The file was read (SHA-256 as scanned) and then written to before it moved: the quarantine (or the trash) then
    held the only copy of the edit, journalled with the scanned digest, so undo refused it ("changed in quarantine")
    and the run said it moved a duplicate. Now the bytes are read again when its size or time moved: such a file
    is put back in its place, said, and undo has nothing of it to do."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    root = tmp_path / "album"
    keeper, copy = _pair(root, "a.png")
    plan = _plan((keeper, copy))
    _write_before_the_move(monkeypatch, "a.png")
    out = apply_plan(plan, root, tmp_path / "q", to_trash=to_trash)
    assert not out.done
    assert [p for p, _ in out.failed] == [str(copy)]
    assert "written to while it moved" in out.failed[0][1]
    assert copy.read_bytes() == keeper.read_bytes() + b"edited"  # the edit is where it was
    assert not list((tmp_path / "q").rglob("*.png")) and not list((tmp_path / "data").rglob("*.png"))
    back = undo(tmp_path / "q")
    assert not back.failed and not back.done


def test_a_file_written_to_after_its_copy_across_devices_is_left_in_place(tmp_path: Path, monkeypatch) -> None:
    """Across devices a file is copied, the copy checked against the bytes checked, then the original's name goes:
    a write between the copy and that unlink went with the original (the copy in the quarantine has the bytes from
    before). Now the original stays where it was written to, and the copy is taken back."""
    import errno

    root = tmp_path / "album"
    keeper, copy = _pair(root, "a.png")
    real_link, real_digest = os.link, quarantine._digest_and_identity

    def no_link_across(src, dst, *, src_dir_fd=None, dst_dir_fd=None, follow_symlinks=True):
        if src_dir_fd != dst_dir_fd:  # (the file's folder -> the quarantine: another device)
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_link(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd, follow_symlinks=follow_symlinks)

    def written_meanwhile(path, dir_fd=None):  # (the copy read back, before the original's name goes)
        if str(path).endswith(quarantine.PARTIAL):
            with open(copy, "ab") as fh:
                fh.write(b"edited")
        return real_digest(path, dir_fd)

    moves_by_link(monkeypatch)
    monkeypatch.setattr(os, "link", no_link_across)
    monkeypatch.setattr(quarantine, "_digest_and_identity", written_meanwhile)
    out = apply_plan(_plan((keeper, copy)), root, tmp_path / "q")
    assert not out.done and [p for p, _ in out.failed] == [str(copy)], out
    assert "written to while it was copied" in out.failed[0][1]
    assert copy.read_bytes() == keeper.read_bytes() + b"edited"
    assert not list((tmp_path / "q").rglob("*.png"))
    assert not undo(tmp_path / "q").failed


def test_a_sidecar_swapped_for_a_huge_file_before_it_is_written_is_not_read_whole(tmp_path: Path) -> None:
    """--merge-metadata reads the keeper's XMP sidecar (at most 2 MB), then writes the new one where the same bytes
    still stand: the file standing there was read whole to compare, so one swapped meanwhile for a sparse file of
    any size was read into memory (1 GB of memory for a 1 GB file). Now at most the previous bytes and one more are
    read: a file of another size is "changed", whatever it holds."""
    import tracemalloc

    from imagetwins.quarantine import write_sidecars

    root = tmp_path / "album"
    root.mkdir()
    side = root / "a.jpg.xmp"
    with open(side, "wb") as fh:
        fh.truncate(64 << 20)  # sparse: no disk, 64 MB to read
    tracemalloc.start()
    try:
        out = write_sidecars([(str(side), b"<x:xmpmeta/>", b"<old/>")], root, tmp_path / "q")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [p for p, _ in out.failed] == [str(side)] and "changed" in out.failed[0][1]
    assert peak < 8 << 20, f"{peak / 1e6:.0f} MB"
    assert side.stat().st_size == 64 << 20


@pytest.mark.parametrize("to_trash", [False, True])
def test_a_folder_of_photos_with_their_sidecars_is_listed_once_not_once_a_file(tmp_path: Path, monkeypatch,
                                                                               to_trash: bool) -> None:
    """Whether another file uses ``IMG.xmp`` (``IMG.dng`` beside ``IMG.jpg``) was asked by listing the folder for
    every moved file that has one: 3,000 moves out of a folder of 12,000 names took 35 CPU s, a folder of 20,000
    photos and their sidecars 74 ms a file. Now each folder is listed once, and again only when something other
    than this run changed it; the sidecars still go with their files, and a shared one still stays."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    root = tmp_path / "album"
    pairs = [_pair(root, f"IMG_{k:03d}.png", k) for k in range(60)]
    for _, copy in pairs:
        copy.with_suffix(".xmp").write_text(f"<x:xmpmeta>{copy.name}</x:xmpmeta>")
    shared = pairs[0][1].with_suffix(".dng")  # IMG_000.dng uses IMG_000.xmp too: it stays
    shared.write_bytes(b"raw")
    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda folder=".": listed.append(folder) or real_listdir(folder))
    out = apply_plan(_plan(*pairs), root, tmp_path / "q", to_trash=to_trash)
    assert len(out.done) == 60 and not out.failed, out.failed
    assert len(out.sidecars) == 59 and out.shared_sidecars == [(str(pairs[0][1]), str(pairs[0][1].with_suffix(".xmp")))]
    assert sorted(p.name for p in (root / "copy").iterdir()) == ["IMG_000.dng", "IMG_000.xmp"]
    # (the photos' folders only: an import made for the first time inside apply_plan lists sys.path's folders)
    listed = [f for f in listed if isinstance(f, (str, os.PathLike)) and Path(f).is_relative_to(tmp_path)]
    assert len(listed) <= 3, listed
    back = undo(tmp_path / "q")
    assert not back.failed and len(back.done) == 60 + 59


def test_a_folder_plan_of_photos_with_their_sidecars_is_checked_in_linear_time(tmp_path: Path, monkeypatch) -> None:
    """Before a whole folder moves (``folders`` plan), each file in it the plan does not list must be an XMP sidecar
    of one it lists: an ``IMG.xmp`` was compared with every listed file in turn (a folder of 5,000 photos with their
    sidecars: 25 million comparisons). Now with each listed file's folder and stem, once."""
    from imagetwins import folders

    n = 400
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    files = {}
    for k in range(n):
        data = f"picture {k}".encode()
        (tmp_path / "A" / f"IMG_{k}.png").write_bytes(data)
        (tmp_path / "B" / f"IMG_{k}.png").write_bytes(data)
        (tmp_path / "B" / f"IMG_{k}.xmp").write_text("<x:xmpmeta/>")
        digest = hashlib.sha256(data).hexdigest()
        files[f"B/IMG_{k}.png"] = (digest, f"A/IMG_{k}.png", digest)
    entry = {"remove": "B", "copy_of": "A", "skip": False, "files": files, "number": 1}
    splitext = CallCount(monkeypatch, os.path, "splitext")
    moves, refused = folders.check_folder_plan(tmp_path, [entry])
    assert not refused and len(moves) == 1 and len(moves[0].files) == 2 * n
    assert splitext.calls < 20 * n, splitext.calls


@pytest.mark.parametrize("how", ["named through a link above it", "moved since"])
def test_undo_of_a_quarantine_named_through_a_link_or_moved_since(tmp_path: Path, how: str) -> None:
    """The journal names each file where the run put it, as the quarantine was named: through a link to a folder
    above it (``--move-to ~/external/q`` with ``external`` a link to a disk; ``/tmp`` on macOS), or at a place the
    quarantine has left (moved to another disk to free space). Undo reached the quarantine by its real path, found
    every file "not a file of this quarantine" and then each again "still in the quarantine ... put it back by
    hand": nothing came back. Now each journalled path is read relative to the quarantine it was written in."""
    root = tmp_path / "album"
    pairs = [_pair(root, f"a{k}.png", k) for k in range(3)]
    (root / "copy" / "a0.png.xmp").write_text("<x:xmpmeta/>")  # (a sidecar moves too)
    before = file_digests(root)
    (tmp_path / "disk" / "undo").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "disk")
    q = tmp_path / "link" / "undo" / "q"  # (a link right above the quarantine is refused)
    out = apply_plan(_plan(*pairs), root, q)
    assert len(out.done) == 3 and len(out.sidecars) == 1 and not out.failed
    if how == "moved since":
        (tmp_path / "disk" / "undo" / "q").rename(tmp_path / "elsewhere")
        q = tmp_path / "elsewhere"
    back = undo(q)
    assert not back.failed, back.failed
    assert len(back.done) == 4
    assert file_digests(root) == before
    assert not undo(q).failed and not undo(q).done  # a second undo: nothing left, nothing to say


def test_a_long_named_file_whose_name_is_taken_in_the_quarantine_takes_its_sidecar_along(tmp_path: Path) -> None:
    """A photo named with 250 bytes and its sidecar ``NAME.xmp`` (254): where the quarantine already held that name
    (an earlier run into the same --move-to), the photo went in as ``NAME.1.png`` and its sidecar was to be
    ``NAME.1.png.xmp``, 256 bytes: "File name too long" was said of the photo, which had moved, and the sidecar
    stayed behind. Now the sidecar's name is shortened as the photo's is."""
    root = tmp_path / "album"
    name = "p" * 246 + ".png"
    keeper, copy = _pair(root, name)
    side = copy.with_name(name + ".xmp")
    side.write_text("<x:xmpmeta/>")
    q = tmp_path / "q"
    (q / "copy").mkdir(parents=True)
    (q / "copy" / name).write_bytes(b"an earlier run's file")
    (q / quarantine.JOURNAL).touch()  # (an earlier run's quarantine: a folder of other files is refused)
    out = apply_plan(_plan((keeper, copy)), root, q)
    assert not out.failed, out.failed
    assert len(out.done) == 1 and len(out.sidecars) == 1
    assert not side.exists() and not copy.exists()
    back = undo(q)
    assert [p for p, _ in back.failed] == [str(q / "copy" / name)]  # (the earlier run's file: no line of this journal)
    assert len(back.done) == 2
    assert side.read_text() == "<x:xmpmeta/>" and copy.read_bytes() == keeper.read_bytes()


def test_undo_of_the_folder_holding_every_run_names_the_runs(tmp_path: Path) -> None:
    """``undo photos.imagetwins-quarantine`` (the folder beside the photos, not one run's folder in it) said only
    "is not a quarantine: it holds no manifest.jsonl". Now it names the latest run to undo, as a command."""
    from imagetwins.quarantine import QuarantineError

    root = tmp_path / "album"
    first, second = _pair(root, "a.png", 0), _pair(root, "b.png", 1)
    apply_plan(_plan(first), root, tmp_path / "album.imagetwins-quarantine" / "20240101-120000")
    with pytest.raises(QuarantineError, match="holds the quarantine of one run: imagetwins undo .*20240101-120000$"):
        undo(tmp_path / "album.imagetwins-quarantine")
    apply_plan(_plan(second), root, tmp_path / "album.imagetwins-quarantine" / "20240102-120000")
    with pytest.raises(QuarantineError, match="of 2 runs: undo one of them, the latest with: imagetwins undo "
                                              ".*20240102-120000$"):
        undo(tmp_path / "album.imagetwins-quarantine")


def test_undo_of_the_folder_holding_every_run_names_only_runs_left_to_undo(tmp_path: Path) -> None:
    """The hint named "the latest" run to undo even when that run, or every run, was undone already (an undo of it
    then restores nothing). Now it names the latest run with files still away, or says each is undone."""
    from imagetwins.quarantine import QuarantineError

    root, runs = tmp_path / "album", tmp_path / "album.imagetwins-quarantine"
    for n, stamp in enumerate(("20240101-120000", "20240102-120000", "20240103-120000")):
        assert not apply_plan(_plan(_pair(root, f"{n}.png", n)), root, runs / stamp).failed
    assert not undo(runs / "20240103-120000").failed
    with pytest.raises(QuarantineError, match="of 3 runs, 1 undone already: undo one of the 2 left, the latest with: "
                                              "imagetwins undo .*20240102-120000$"):
        undo(runs)
    assert not undo(runs / "20240101-120000").failed
    with pytest.raises(QuarantineError, match="of 3 runs, 2 undone already: undo the one left with: "
                                              "imagetwins undo .*20240102-120000$"):
        undo(runs)
    assert not undo(runs / "20240102-120000").failed
    with pytest.raises(QuarantineError, match="of 3 runs, each undone already: nothing is left to put back$"):
        undo(runs)
    with pytest.raises(QuarantineError, match="files were moved out of it into .*, which holds the quarantines of 3 "
                                              "runs, each undone already"):
        undo(root)
    assert sorted(p.name for p in (root / "copy").iterdir()) == ["0.png", "1.png", "2.png"]


def test_three_identical_folders_are_each_a_copy_of_the_one_that_stays(tmp_path: Path) -> None:
    """Three identical folders (an album and two backups): ``folders`` chose the folder holding the copies by name
    (``Album 2019`` before ``Pics``) but which of two identical folders goes by place (the longer path), so it said
    "Album 2019 is a copy of Pics" and "Zed is a copy of Album 2019": applied, the second was refused ("the plan also
    moves the folder holding its copies"), exit 1, one backup left. Now each points at the folder that stays."""
    import numpy as np

    from imagetwins.folders import find_duplicate_folders
    from imagetwins.results import FindResult
    from imagetwins.search import Pairs

    files, digests, same_as = [], [], []
    for folder in ("Zed", "Pics", "Album 2019"):
        for k, name in enumerate(("a.jpg", "b.jpg")):
            files.append(str(tmp_path / folder / name))
            digests.append(f"{k:064x}")
            same_as.append(k)
    empty = np.zeros(0, np.int64)
    result = FindResult("phash", 10, files, np.zeros((len(files), 1), np.uint64), Pairs(empty, empty, empty), [],
                        digests=digests, same_as=np.asarray(same_as))
    pairs = find_duplicate_folders(result, tmp_path)
    assert sorted((p.redundant, p.copy_of) for p in pairs) == [("Album 2019", "Zed"), ("Pics", "Zed")]


def test_a_photo_without_an_extension_leaves_the_sidecar_of_its_namesake(tmp_path: Path) -> None:
    """A photo without an extension (``photo``: found by its first bytes) beside ``photo.jpg`` and that one's sidecar
    ``photo.xmp``: the sidecar was taken for ``photo``'s own (``photo`` + ``.xmp``) and went into the quarantine
    with it, leaving ``photo.jpg``, which stays, without its metadata. Now it stays beside the file that uses it
    too, as ``IMG.xmp`` beside ``IMG.dng`` does."""
    root = tmp_path / "album"
    keeper, copy = _pair(root, "photo")
    other = copy.with_name("photo.jpg")
    synthetic_photo(64, 48, 7).save(other, "JPEG")
    side = copy.with_name("photo.xmp")
    side.write_text("<x:xmpmeta>photo.jpg</x:xmpmeta>")
    out = apply_plan(_plan((keeper, copy)), root, tmp_path / "q")
    assert len(out.done) == 1 and not out.failed
    assert side.exists() and not out.sidecars
    assert out.shared_sidecars == [(str(copy), str(side))]


def test_merge_metadata_never_writes_a_keeper_without_an_extension_into_its_namesakes_sidecar(tmp_path: Path) -> None:
    """The sidecar of a keeper is its name then ``.xmp``: for a keeper without an extension (``photo``, found by its
    first bytes) that is ``photo.xmp``, the sidecar ``photo.jpg`` beside it uses (Lightroom's ``IMG.xmp``): the moved
    copy's rating, date and GPS were merged into the other photo's metadata. Now no sidecar is written there."""
    pytest.importorskip("libxmp", exc_type=Exception)
    from imagetwins.metadata import PhotoMetadata, sidecar_bytes, sidecar_writes

    root = tmp_path / "album"
    keeper, copy = _pair(root, "photo")
    synthetic_photo(64, 48, 7).save(keeper.with_name("photo.jpg"), "JPEG")
    theirs = keeper.with_name("photo.xmp")
    theirs.write_bytes(sidecar_bytes(PhotoMetadata(title="Harbour")))
    copy.with_name("photo.xmp").write_bytes(sidecar_bytes(PhotoMetadata(rating=3)))  # (the copy's own: photo.xmp)
    writes, refused = sidecar_writes([(str(keeper), str(copy))])
    assert not writes
    assert [p for p, _ in refused] == [str(theirs)] and "photo.jpg" in refused[0][1]


def test_thousands_of_files_of_one_name_go_to_the_trash_in_linear_time(tmp_path: Path, monkeypatch) -> None:
    """Every camera folder has an IMG_0001.JPG: each one sent to the trash tried ``IMG_0001.JPG``, ``IMG_0001
    1.JPG``, ... every name taken before it (2,000 of them: 28 CPU s, 10,000: about 12 minutes). Now a run goes on
    from the last name it took for that name; every name is still reserved with O_EXCL, never taken twice."""
    from imagetwins import trash as trash_module
    from imagetwins.trash import TrashFolder

    folder = tmp_path / "Trash"
    for sub in ("", "files", "info"):
        (folder / sub).mkdir(mode=0o700, exist_ok=True)
    (folder / "files" / "IMG_0001 3.JPG").write_bytes(b"another tool's")  # (taken without a record)
    trashed_name = CallCount(monkeypatch, trash_module, "trashed_name")
    trash = TrashFolder(folder, None)
    n = 300
    names = []
    for _ in range(n):
        dst, info = trash.reserve(Path("/photos/card/IMG_0001.JPG"))
        dst.write_bytes(b"")
        names.append(dst.name)
    assert len(set(names)) == n and "IMG_0001 3.JPG" not in names
    assert names[:3] == ["IMG_0001.JPG", "IMG_0001 1.JPG", "IMG_0001 2.JPG"]
    assert trashed_name.calls < 3 * n, trashed_name.calls


def test_undo_of_thousands_of_photos_with_their_sidecars_is_linear(tmp_path: Path, monkeypatch) -> None:
    """Undo puts a sidecar back only once its image is back: that was asked by comparing the sidecar's image with
    every journal entry and every file restored so far (3,000 photos with their sidecars: 9 million comparisons,
    about a minute). Now the entries are indexed by place once."""
    root = tmp_path / "album"
    pairs = [_pair(root, f"IMG_{k:03d}.png", k) for k in range(80)]
    for _, copy in pairs:
        copy.with_name(copy.name + ".xmp").write_text("<x:xmpmeta/>")
    before = file_digests(root)
    q = tmp_path / "q"
    assert len(apply_plan(_plan(*pairs), root, q).sidecars) == 80
    normpath = CallCount(monkeypatch, os.path, "normpath")
    back = undo(q)
    monkeypatch.undo()
    assert not back.failed and len(back.done) == 160
    assert file_digests(root) == before
    assert normpath.calls < 20 * 160, normpath.calls  # (before: 7,924; 11 a file now)


def test_a_folder_deeper_than_a_path_can_name_is_said_not_skipped_silently(tmp_path: Path, monkeypatch) -> None:
    """Folders nested past the longest path the system takes (4,096 bytes: 900 folders named ``dddd``): the walk
    could not look at the first one too deep and went on without a word, so a photo down there was never scanned
    and the run said nothing (``1 image read``). Now that folder is named in one warning line with the reason, as
    a folder that cannot be listed is."""
    import warnings

    from imagetwins.io import find_images

    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "top.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    monkeypatch.chdir(deep)  # (and back to where the tests run, after)
    depth = 0
    try:
        while depth < 900:
            os.mkdir("dddd")
            os.chdir("dddd")
            depth += 1
        with open("low.png", "wb") as fh:
            fh.write(b"\x89PNG\r\n\x1a\n")
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            found = find_images(deep, recursive=True)
        assert [p.name for p in found] == ["top.png"]
        said = [str(w.message) for w in seen if "cannot list folder" in str(w.message)]
        assert len(said) == 1 and "name too long" in said[0].lower(), said
    finally:  # bottom up, without recursion (rmtree meets the same limit)
        if os.path.exists("low.png"):
            os.unlink("low.png")
        for _ in range(depth):
            os.chdir("..")
            os.rmdir("dddd")


def test_a_last_line_that_is_none_of_ours_is_kept_and_ended(tmp_path: Path) -> None:
    """Only the start of a line imagetwins writes (or the zeros a crash leaves) is taken away before appending: the
    bytes of anything else at the journal's name (written by hand, another program) stay, ended by a newline."""
    root = tmp_path / "album"
    q = tmp_path / "q"
    assert not apply_plan(_plan(_pair(root, "a.png", 0)), root, q).failed
    journal = q / quarantine.JOURNAL
    journal.write_bytes(journal.read_bytes() + b"a note of mine")
    assert not apply_plan(_plan(_pair(root, "b.png", 1)), root, q).failed
    assert b"\na note of mine\n" in journal.read_bytes()
    back = undo(q)
    assert len(back.done) == 2 and [why for _, why in back.failed] == ["malformed journal line: skipped"]


def test_a_folder_is_not_moved_when_a_copy_it_leaves_behind_changed_after_the_check(tmp_path: Path) -> None:
    """A whole folder moves when every image in it has its copy elsewhere: the copies were read when the plan was
    checked, but right before the move only their being there was looked at, so a copy written to in between (an
    editor saving over ``Photos/x.jpg``) left the folder's file, moved, the only copy of those bytes. Now a copy
    whose size or times moved is read again, and the folder stays when it changed."""
    from imagetwins.folders import check_folder_plan
    from imagetwins.quarantine import apply_folder_moves

    files = {}
    for k in range(2):
        data = f"picture {k}".encode()
        for folder in ("Photos", "Backup"):
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / f"p{k}.jpg").write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        files[f"Backup/p{k}.jpg"] = (digest, f"Photos/p{k}.jpg", digest)
    entry = {"remove": "Backup", "copy_of": "Photos", "skip": False, "files": files, "number": 1}
    moves, refused = check_folder_plan(tmp_path, [entry])
    assert len(moves) == 1 and not refused
    with open(tmp_path / "Photos" / "p1.jpg", "ab") as fh:
        fh.write(b" edited")
    out = apply_folder_moves(moves, tmp_path, tmp_path.parent / f"{tmp_path.name}-q")
    assert not out.done and [f for f, _ in out.failed] == [str(tmp_path / "Backup")]
    assert "changed since the check" in out.failed[0][1]
    assert (tmp_path / "Backup" / "p1.jpg").read_bytes() == b"picture 1"


def test_a_link_run_undone_in_full_is_not_named_as_left_to_undo(tmp_path: Path) -> None:
    """A --link run journals the temporary name of each copy it leaves in a moved file's place; once undone in full,
    the hint of ``undo FOLDER`` still named it as the run left to undo ("undo the one left with: imagetwins undo
    ...") and that undo said "nothing to restore": the journalled name counted as an unfinished copy, there or not."""
    from imagetwins.quarantine import QuarantineError

    root, runs = tmp_path / "album", tmp_path / "album.imagetwins-quarantine"
    assert not apply_plan(_plan(_pair(root, "a.png", 0)), root, runs / "20240101-120000", link="clone").failed
    with pytest.raises(QuarantineError, match="the quarantine of one run: imagetwins undo .*20240101-120000$"):
        undo(root)
    assert not undo(runs / "20240101-120000").failed
    with pytest.raises(QuarantineError, match="the quarantine of one run, undone already: nothing in it is left"):
        undo(root)
    # an unfinished copy still there (a run killed while making it) is left to clear: named again
    entries, _ = quarantine._read_journal(runs / "20240101-120000", quarantine._key(runs / "20240101-120000",
                                                                                  create=False))
    # (half a copy: the start of the kept copy's bytes; a file of other bytes there is not ours, left alone)
    (tmp := Path(entries[0]["clone_tmp"])).write_bytes(Path(entries[0]["kept"]).read_bytes()[:100])
    with pytest.raises(QuarantineError, match="the quarantine of one run: imagetwins undo .*20240101-120000$"):
        undo(root)
    undo(runs / "20240101-120000")
    assert not tmp.exists()
