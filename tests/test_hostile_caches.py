"""A hostile file system against the newest code that touches files: the per-folder caches made private (64e72b5)
and kept by the library by default (3b8887d), the file list that reads first bytes (99d455e), the photo metadata
read before a remove, ``index query`` and the trash. Each case: what happened, and that it no longer does."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import synthetic_photo

from imagetwins.cli import main


def _album(folder: Path, copies: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    synthetic_photo(96, 72, 0).save(folder / "a0.png")
    for k in range(1, copies):
        (folder / f"a{k}.png").write_bytes((folder / "a0.png").read_bytes())
    return folder


@pytest.mark.unit
@pytest.mark.parametrize("how", ["to-an-empty-file", "dangling", "its-wal", "its-shm"])
def test_a_cache_that_is_a_symbolic_link_is_never_written_through(tmp_path: Path, how: str) -> None:
    """SQLite follows a link: a per-folder cache that was a link to an empty file the user owns (a ~/.hushlogin)
    turned that file into a cache (0644: the photos' paths readable by all), and a link to a missing file made one
    there, outside the cache folder. A -wal or -shm link only said 'cannot write to the index ... or its folder
    (unable to open database file)'. Now the link is left as it is, one line names it, and the run goes on."""
    import imagetwins
    from imagetwins.index import default_cache_path

    album = _album(tmp_path / "album")
    elsewhere = tmp_path / "home" / "empty-file"
    elsewhere.parent.mkdir()
    cache = default_cache_path(album)
    cache.parent.mkdir(parents=True, exist_ok=True)
    if how == "dangling":
        os.symlink(elsewhere, cache)
    else:
        elsewhere.write_bytes(b"")
        os.chmod(elsewhere, 0o644)
        if how in ("its-wal", "its-shm"):
            imagetwins.find(album, method="phash")  # (a cache made as it should be first)
        os.symlink(elsewhere, {"to-an-empty-file": cache, "its-wal": Path(f"{cache}-wal"),
                               "its-shm": Path(f"{cache}-shm")}[how])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = imagetwins.find(album, method="phash")
    assert [len(g.files) for g in result.groups] == [2]  # the run went on without the cache
    said = [str(w.message) for w in caught]
    assert len(said) == 1 and "is a symbolic link" in said[0] and "no cache this time" in said[0], said
    if how == "dangling":
        assert not os.path.lexists(elsewhere)
    else:
        assert elsewhere.read_bytes() == b"" and stat.S_IMODE(elsewhere.stat().st_mode) == 0o644
    assert sorted(p.name for p in elsewhere.parent.iterdir()) == ([] if how == "dangling" else ["empty-file"])


@pytest.mark.unit
def test_a_cache_swapped_for_a_link_while_made_private_changes_nothing_it_points_at(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    """An older 0644 cache is made private when opened: the mode was looked at (lstat) and then changed by name
    (chmod follows a link), so a name that became a link in between had its target made 0600. Now the change goes
    through a descriptor opened without following links."""
    from imagetwins import index

    cache = tmp_path / "cache" / "album-0123456789abcdef.db"
    cache.parent.mkdir(mode=0o700)
    target = tmp_path / "bashrc"
    target.write_text("alias ll='ls -l'\n")
    os.chmod(target, 0o644)
    os.symlink(target, cache)
    real_lstat = os.lstat
    looked = os.lstat(target)

    def lstat_before_the_swap(path, *args, **kwargs):  # what lstat saw a moment before the name became a link
        return looked if Path(path) == cache else real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(index.os, "lstat", lstat_before_the_swap)
    index._owner_only(cache)
    assert stat.S_IMODE(real_lstat(target).st_mode) == 0o644


@pytest.mark.unit
def test_an_old_cache_is_still_made_private(tmp_path: Path) -> None:
    """The change through a descriptor still does its job (a 0644 cache in a 0755 folder becomes 0600 / 0700) and
    touches nothing but regular files and folders: a FIFO named as the cache's -wal was made 0600 too."""
    from imagetwins import index

    folder = tmp_path / "cache"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    cache = folder / "album-0123456789abcdef.db"
    cache.write_bytes(b"")
    os.chmod(cache, 0o644)
    os.mkfifo(f"{cache}-wal", 0o644)
    index._owner_only(cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(f"{cache}-wal").st_mode) == 0o644


@pytest.mark.unit
def test_photo_metadata_is_read_from_the_raster_formats_alone(tmp_path: Path, monkeypatch) -> None:
    """read_metadata (the keeper's and each removed file's EXIF, IPTC and XMP, before a remove) opened a file with
    any of Pillow's plugins: an EPS there (a file swapped after the scan, a name that lies) was parsed by the EPS
    plugin, whose loading runs Ghostscript on the file. Now only the raster formats the scan decodes are opened."""
    from PIL import EpsImagePlugin

    from imagetwins.metadata import read_metadata

    opened = []
    real_open = EpsImagePlugin.EpsImageFile._open
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: opened.append(1) or real_open(self))
    eps = tmp_path / "IMG_0001.jpg"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\nshowpage\n%%EOF\n")
    assert read_metadata(eps, sidecars=False) == read_metadata(tmp_path / "missing.jpg", sidecars=False)
    assert opened == []
    jpeg = tmp_path / "real.jpg"  # (a JPEG's metadata is still read)
    img = synthetic_photo(64, 48, 1)
    exif = img.getexif()
    exif[0x010F] = "Camera Maker"
    img.save(jpeg, exif=exif)
    assert read_metadata(jpeg, sidecars=False) != read_metadata(tmp_path / "missing.jpg", sidecars=False)


@pytest.mark.cli
def test_index_query_of_what_cannot_be_read_exits_1_as_check(tmp_path: Path) -> None:
    """`index query FIFO --db X` said "warning: skipped FIFO ..." and "0 matches", exit 0, where `check FIFO --against
    X` exits 1 (incomplete): a script read "no duplicate" from a query that read nothing. Now it is check's rule:
    no image read, or an image unreadable, is one error line and exit 1; the matches found are still written."""
    album = _album(tmp_path / "album")
    db = tmp_path / "album.db"
    assert CliRunner().invoke(main, ["index", "update", str(album), "--db", str(db), "-m", "phash"]).exit_code == 0
    fifo = tmp_path / "upload.jpg"
    os.mkfifo(fifo)
    res = CliRunner().invoke(main, ["index", "query", str(fifo), "--db", str(db)])
    assert res.exit_code == 1 and "FIFO" in res.output and "error: no image read in" in res.output, res.output
    assert "Traceback" not in res.output
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "copy.png").write_bytes((album / "a0.png").read_bytes())
    (uploads / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    res = CliRunner().invoke(main, ["index", "query", str(uploads), "--db", str(db), "--csv", "-"])
    assert res.exit_code == 1 and "1 image of" in res.output and "could not be read" in res.output, res.output
    assert res.stdout.count("copy.png") == 2  # (its two matches, written all the same)
    (uploads / "broken.png").unlink()
    assert CliRunner().invoke(main, ["index", "query", str(uploads), "--db", str(db)]).exit_code == 0


@pytest.mark.cli
def test_a_photo_named_with_250_bytes_goes_to_the_trash_and_comes_back(tmp_path: Path, home_trash: Path) -> None:
    """`remove --to-trash` of a photo named with 250 bytes (an 82-character Japanese title) failed with "File name
    too long": its NAME.trashinfo needs 10 bytes more than a name may hold. The name in the trash is now shortened
    to fit (marked ~; the specification lets it differ), the .trashinfo holds the original path whole, its sidecar
    goes with it, and undo puts both back under their own names."""
    from urllib.parse import unquote

    album = _album(tmp_path / "album")
    long_name = "写" * 82 + ".png"  # 250 bytes
    os.rename(album / "a1.png", album / long_name)
    (album / "a0.png").rename(album / "keep.png")
    (album / f"{long_name}.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")  # 254 bytes
    res = CliRunner().invoke(main, ["remove", str(album), "-m", "phash", "--no-cache",
                                    "--to-trash", "--apply"])
    assert res.exit_code == 0 and "sent 1 file (and 1 XMP sidecar of it)" in res.output, res.output
    assert sorted(p.name for p in album.iterdir()) == ["keep.png"]
    infos = sorted((home_trash / "info").iterdir())
    assert len(infos) == 2 and all(len(os.fsencode(p.name)) <= 255 for p in infos)
    originals = sorted(unquote(p.read_text().split("Path=")[1].split("\n")[0]) for p in infos)
    assert originals == [str(album / long_name), str(album / f"{long_name}.xmp")]
    assert all("~" in p.name for p in (home_trash / "files").iterdir())
    journal = next(tmp_path.glob("album.imagetwins-quarantine/*/manifest.jsonl"))
    res = CliRunner().invoke(main, ["undo", str(journal)])
    # (counted as remove counted them: it said "restored 2 files" after "sent 1 file (and 1 XMP sidecar of it)")
    assert res.exit_code == 0 and "restored 1 file (and 1 XMP sidecar of it)" in res.output, res.output
    assert sorted(p.name for p in album.iterdir()) == sorted(["keep.png", long_name, f"{long_name}.xmp"])
    assert list((home_trash / "files").iterdir()) == []


@pytest.mark.unit
def test_a_note_that_begins_like_a_pnm_header_is_not_taken_for_a_picture(tmp_path: Path) -> None:
    """With the default names every other file is read for its first bytes: a note without an extension that began
    "P1 " (P1 to P6 and a space: the PNM header) was listed as an image and warned about on every run ("cannot
    decode (ValueError: invalid literal for int() with base 10: b'tasks')"). A PNM's header goes on with its width
    or a comment; a note does not."""
    from imagetwins.io import find_images

    (tmp_path / "todo").write_bytes(b"P1 tasks for the weekend\n")
    (tmp_path / "agenda").write_bytes(b"P2\tmeeting at ten\n")
    synthetic_photo(16, 12).save(tmp_path / "portable", format="PPM")  # (P6, width, height: still a picture)
    (tmp_path / "grey").write_bytes(b"P2\n# made by hand\n2 1\n255\n0 255\n")
    assert [p.name for p in find_images(tmp_path)] == ["grey", "portable"]


@pytest.mark.cli
def test_an_index_is_never_made_through_a_link_to_nothing_or_to_an_empty_file(tmp_path: Path) -> None:
    """`index update DIR --db LINK`: a link to a missing file had SQLite make the index wherever the link led, one
    to an empty file wrote an index into it; a -wal beside the index that was a link said only "cannot write to
    the index ... or its folder (unable to open database file)". Now each is one line naming it, exit 1, nothing
    written; a link to an index (a catalogue kept on another disk) is still used."""
    album = _album(tmp_path / "album")
    home = tmp_path / "home"
    home.mkdir()
    (home / "empty").write_bytes(b"")
    os.symlink(home / "missing.db", tmp_path / "to-nothing.db")
    os.symlink(home / "empty", tmp_path / "to-empty.db")
    for link, says in (("to-nothing.db", "a symbolic link to nothing"), ("to-empty.db", "a symbolic link to an empty")):
        res = CliRunner().invoke(main, ["index", "update", str(album), "--db", str(tmp_path / link), "-m", "phash"])
        assert res.exit_code == 1 and says in res.output and "Traceback" not in res.output, res.output
    assert sorted(p.name for p in home.iterdir()) == ["empty"] and (home / "empty").read_bytes() == b""
    real = home / "catalogue.db"
    assert CliRunner().invoke(main, ["index", "update", str(album), "--db", str(real), "-m", "phash"]).exit_code == 0
    os.symlink(real, tmp_path / "catalogue.db")
    res = CliRunner().invoke(main, ["index", "update", str(album), "--db", str(tmp_path / "catalogue.db")])
    assert res.exit_code == 0, res.output
    for leftover in home.glob("catalogue.db-*"):
        leftover.unlink()
    os.symlink(home / "empty", f"{real}-wal")
    res = CliRunner().invoke(main, ["index", "update", str(album), "--db", str(real)])
    assert res.exit_code == 1 and "catalogue.db-wal beside it is a symbolic link" in res.output, res.output
    assert (home / "empty").read_bytes() == b""


@pytest.mark.cli
@pytest.mark.parametrize("name", [b"My $(touch PWNED) photos", b"ph\xff\noto's"], ids=["command", "bytes-newline"])
def test_the_undo_hint_pasted_into_a_shell_names_the_journal_and_runs_nothing_else(tmp_path: Path, name: bytes) -> None:
    """"undo with: imagetwins undo JOURNAL" printed the journal's path as it is: under a folder named
    `My $(touch PWNED) photos`, the line pasted into a shell ran `touch PWNED` (and then failed on the spaces); a
    name with a newline or a byte that is not UTF-8 was shown escaped (`ph\\xff\\noto`), which a shell reads as
    other bytes. Each command a hint gives now quotes its paths (text.shell_word: '...' or $'...')."""
    import shutil
    import subprocess

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash to paste the hint into")
    album = _album(Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + name)))
    res = CliRunner().invoke(main, ["remove", str(album), "-m", "phash", "--no-cache", "--apply"])
    assert res.exit_code == 0, res.output
    hint = res.output.strip().splitlines()[-1].split("undo with: imagetwins undo ", 1)[1]
    journal = next(Path(f"{album}.imagetwins-quarantine").glob("*/manifest.jsonl"))
    pasted = subprocess.run([bash, "-c", "printf '%s\\0' " + hint], cwd=tmp_path, capture_output=True, timeout=30)
    assert pasted.stdout == os.fsencode(journal) + b"\0", (hint, pasted)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.cli
def test_an_index_that_forgot_a_sub_folder_no_longer_says_it_is_older_than_it(tmp_path: Path) -> None:
    """`index update lib/2023 --db X`, then `index update lib --db X` (a usage error: X holds lib's sub-folders; it
    said "an update with -r made it", though none had) and, as it advises, `--no-recursive`: lib/2023's images were
    forgotten but not the update of lib/2023, so every query after said "X is older than its folder: 1 added since
    its last update ... run 'imagetwins index update DIR --db X'", and following that changed nothing. Now the
    updates of the sub-folders are forgotten with their images."""
    lib = tmp_path / "lib"
    _album(lib / "2023", 1)
    synthetic_photo(96, 72, 5).save(lib / "top.png")
    db = str(tmp_path / "lib.db")

    def run(*args: str):
        return CliRunner().invoke(main, [*args, "--db", db])

    assert run("index", "update", str(lib / "2023"), "-m", "phash").exit_code == 0
    res = run("index", "update", str(lib))
    assert res.exit_code == 2 and "or of a sub-folder" in res.output, res.output
    assert run("index", "update", str(lib), "--no-recursive").exit_code == 0
    (tmp_path / "upload.png").write_bytes((lib / "top.png").read_bytes())
    res = run("index", "query", str(tmp_path / "upload.png"))
    assert res.exit_code == 0 and "older than its folder" not in res.output and "1 match" in res.output, res.output


@pytest.mark.cli
def test_a_new_file_under_two_updates_of_an_index_is_counted_once_and_the_hint_names_the_folder(tmp_path: Path
                                                                                                 ) -> None:
    """`index update lib/2023`, then `index update lib -r`: one photo added to lib/2023 afterwards was "2 added" (each
    update's folder counted it), and the hint said 'imagetwins index update DIR --db X'. Now the folder updated
    again with a folder above it is that one's: "1 added", 'imagetwins index update LIB -r --db X'."""
    lib = tmp_path / "lib"
    _album(lib / "2023", 1)
    synthetic_photo(96, 72, 5).save(lib / "top.png")
    db = str(tmp_path / "lib.db")
    for args in ([str(lib / "2023"), "-m", "phash"], [str(lib), "-r"]):
        assert CliRunner().invoke(main, ["index", "update", *args, "--db", db]).exit_code == 0
    synthetic_photo(96, 72, 9).save(lib / "2023" / "new.png")
    (tmp_path / "upload.png").write_bytes((lib / "top.png").read_bytes())
    res = CliRunner().invoke(main, ["index", "query", str(tmp_path / "upload.png"), "--db", db])
    assert res.exit_code == 0 and "older than its folder: 1 added since" in res.output, res.output
    assert f"run 'imagetwins index update {lib} -r --db {db}'" in res.output, res.output


@pytest.mark.unit
def test_a_followed_link_to_a_photo_without_an_extension_is_read_as_the_photo_itself_would_be(tmp_path: Path) -> None:
    """A photo without an extension is listed by its first bytes, but a link to one outside the folder was not, even
    with follow_symlinks: the one rule for files did not hold for the links one asked to follow. Now it does; a link
    not followed still opens nothing outside the folder, and a followed link to a FIFO is not read for its bytes."""
    from imagetwins.io import find_images

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    synthetic_photo(32, 24).save(outside / "IMG_0001", format="JPEG")
    os.mkfifo(outside / "pipe")
    folder = tmp_path / "album"
    folder.mkdir()
    os.symlink(outside / "IMG_0001", folder / "photo")
    os.symlink(outside / "pipe", folder / "stream")
    os.symlink(outside / "IMG_0001", folder / "photo.txt")  # (a name never looked into)
    assert [p.name for p in find_images(folder, follow_symlinks=True)] == ["photo"]
    assert find_images(folder) == []


@pytest.mark.unit
@pytest.mark.parametrize("whose", ["folder", "cache"])
def test_a_cache_or_cache_folder_of_another_user_is_left_alone(tmp_path: Path, whose: str) -> None:
    """A cache folder another user made (a shared XDG_CACHE_HOME=/tmp: they may swap our caches for forged ones), or
    a cache file of theirs in ours, was used as ours: written into, read as ours; a root run in a user's cache folder
    (sudo keeping HOME, a container's mounted cache) left root's files there, which the user cannot open. Now it is
    left as it is with one line naming it and its owner, and the run goes on without a cache."""
    import imagetwins
    from imagetwins.index import default_cache_path

    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("making a file another user's takes root")
    album = _album(tmp_path / "album")
    imagetwins.find(album, method="phash")
    cache = default_cache_path(album)
    other = 65534  # nobody
    os.chown(cache.parent if whose == "folder" else cache, other, -1)
    if whose == "folder":
        os.chmod(cache.parent, 0o777)
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in cache.parent.iterdir()}
    synthetic_photo(96, 72, 3).save(album / "new.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = imagetwins.find(album, method="phash")
    assert [len(g.files) for g in result.groups] == [2]
    said = [str(w.message) for w in caught]
    assert len(said) == 1 and f"belongs to another user (uid {other})" in said[0] and "no cache" in said[0], said
    assert {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in cache.parent.iterdir()} == before
