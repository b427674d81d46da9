"""A single file moved into the quarantine takes its own XMP sidecars with it (``IMG.jpg.xmp``; ``IMG.xmp`` when no
other file there uses it), each verified and journalled, put back by undo. Before, the image moved and its sidecar
stayed in the library with no image beside it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main
from imagetwins.quarantine import Plan, apply_plan, sha256_file, undo

PHOTO = "photos-public/images/bsds_100075.jpg"
OTHER = "photos-public/images/bsds_101027.jpg"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="%d"/></rdf:RDF></x:xmpmeta>')


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def lib(tmp_path: Path, datasets: Path) -> Path:
    """keep.jpg (a real photo) and copy.jpg, its byte-identical copy."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(datasets / PHOTO, lib / "keep.jpg")
    shutil.copy(datasets / PHOTO, lib / "copy.jpg")
    return lib


def _plan(lib: Path, *names: str) -> Plan:
    keeper = str(lib / "keep.jpg")
    moves = [(str(lib / n), 1, keeper) for n in names]
    return Plan(moves=moves, keepers=[keeper], expected={p: sha256_file(p) for p in [keeper, *(m[0] for m in moves)]})


@pytest.mark.integration
def test_own_sidecars_follow_the_image_and_come_back_with_undo(tmp_path: Path, lib: Path) -> None:
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    (lib / "copy.XMP").write_bytes(XMP % 2)  # IMG.xmp, in capitals: no other copy.* uses it
    (lib / "keep.jpg.xmp").write_bytes(XMP % 5)  # the keeper's own: stays
    before = tree(lib)
    q = tmp_path / "q"
    out = apply_plan(_plan(lib, "copy.jpg"), lib, q)
    assert out.failed == [] and len(out.done) == 1  # (sidecars are not counted as moved images)
    assert sorted(p.name for p in lib.iterdir()) == ["keep.jpg", "keep.jpg.xmp"]
    assert sorted(p.name for p in q.iterdir() if not p.name.startswith("manifest")) == [
        "copy.XMP", "copy.jpg", "copy.jpg.xmp"]
    assert (q / "copy.jpg.xmp").read_bytes() == XMP % 1
    journal = [json.loads(line) for line in (q / "manifest.jsonl").read_text().splitlines()]
    assert {e["from"] for e in journal if e.get("sidecar_of")} == {str(lib / "copy.jpg.xmp"), str(lib / "copy.XMP")}
    res = undo(q)
    assert res.failed == [] and tree(lib) == before


@pytest.mark.integration
def test_a_sidecar_another_image_uses_stays(tmp_path: Path, lib: Path, datasets: Path) -> None:
    """IMG.xmp is shared by IMG.jpg and IMG.dng (a RAW + JPEG pair): it stays while the other file stays."""
    shutil.copy(datasets / OTHER, lib / "copy.dng")  # (any other file named copy.*)
    (lib / "copy.xmp").write_bytes(XMP % 3)
    out = apply_plan(_plan(lib, "copy.jpg"), lib, tmp_path / "q")
    assert out.failed == [] and out.sidecars == []
    assert sorted(p.name for p in lib.iterdir()) == ["copy.dng", "copy.xmp", "keep.jpg"]


@pytest.mark.integration
def test_a_sidecar_that_is_a_link_or_fifo_stays_and_is_named(tmp_path: Path, lib: Path) -> None:
    outside = tmp_path / "outside.xmp"
    outside.write_bytes(XMP % 4)
    (lib / "copy.jpg.xmp").symlink_to(outside)
    os.mkfifo(lib / "copy.xmp")  # (a FIFO: never opened, so nothing hangs)
    q = tmp_path / "q"
    out = apply_plan(_plan(lib, "copy.jpg"), lib, q)
    assert len(out.done) == 1 and out.sidecars == []
    assert sorted(w for _, w in out.failed) == [
        f"its XMP sidecar is a FIFO, not a file: left in place (the image moved to {q / 'copy.jpg'})",
        f"its XMP sidecar is a symbolic link, not a file: left in place (the image moved to {q / 'copy.jpg'})"]
    assert (lib / "copy.jpg.xmp").is_symlink() and outside.read_bytes() == XMP % 4


@pytest.mark.integration
def test_a_name_taken_in_the_quarantine_keeps_image_and_sidecar_together(tmp_path: Path, lib: Path) -> None:
    """The image moves to ``copy.1.jpg`` when ``copy.jpg`` is taken; its sidecar is named after it."""
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    q2 = tmp_path / "q2"
    q2.mkdir(mode=0o700)
    (q2 / "copy.jpg").write_bytes(b"an earlier run's file")
    (q2 / "copy.jpg.xmp").write_bytes(b"and its sidecar")
    (q2 / "manifest.jsonl").touch()  # (an earlier run's quarantine: a folder of other files is refused)
    out = apply_plan(_plan(lib, "copy.jpg"), lib, q2)
    assert out.failed == [] and out.sidecars == [(str(lib / "copy.jpg"), str(lib / "copy.jpg.xmp"),
                                                  str(q2 / "copy.1.jpg.xmp"))]
    assert (q2 / "copy.1.jpg.xmp").read_bytes() == XMP % 1 and (q2 / "copy.jpg.xmp").read_bytes() == b"and its sidecar"


@pytest.mark.integration
def test_across_devices_the_sidecar_is_copied_verified_and_undone(lib: Path) -> None:
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(lib).st_dev:
        pytest.skip("needs /dev/shm on another device than the temporary folder")
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    before = tree(lib)
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        q = Path(shm) / "q"
        out = apply_plan(_plan(lib, "copy.jpg"), lib, q)
        assert out.failed == [] and len(out.sidecars) == 1
        assert (q / "copy.jpg.xmp").read_bytes() == XMP % 1 and not (lib / "copy.jpg.xmp").exists()
        assert not [p for p in q.iterdir() if p.name.endswith(".partial")]
        assert undo(q).failed == [] and tree(lib) == before


@pytest.mark.cli
def test_remove_says_and_moves_the_sidecar(tmp_path: Path, lib: Path) -> None:
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    plan = tmp_path / "plan.json"
    run = CliRunner().invoke
    assert run(main, ["find", str(lib), "--json", str(plan)]).exit_code == 0
    doc = json.loads(plan.read_text())
    doc["groups"][0]["keep"] = str(lib / "keep.jpg")
    plan.write_text(json.dumps(doc))
    res = run(main, ["remove", str(lib), "--plan", str(plan)])
    assert res.exit_code == 0 and f"\n  with its XMP sidecar {lib / 'copy.jpg.xmp'}\n" in res.output
    q = tmp_path / "q"
    res = run(main, ["remove", str(lib), "--plan", str(plan), "--apply", "--move-to", str(q)])
    assert res.exit_code == 0, res.output
    assert "moved 1 file (and 1 XMP sidecar of it)" in res.output
    assert sorted(p.name for p in lib.iterdir()) == ["keep.jpg"]
    assert run(main, ["undo", str(q)]).exit_code == 0
    assert sorted(p.name for p in lib.iterdir()) == ["copy.jpg", "copy.jpg.xmp", "keep.jpg"]
    with Image.open(lib / "copy.jpg") as im:  # (the photo itself is back whole)
        im.load()


@pytest.mark.integration
def test_a_sidecar_waits_in_the_quarantine_while_its_image_cannot_go_back(tmp_path: Path, lib: Path,
                                                                           datasets: Path) -> None:
    """Another picture now stands at the image's name: undo leaves the image in the quarantine, and its sidecar
    with it (beside that other picture it would describe the wrong photo); once the place is free, both go back."""
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    q = tmp_path / "q"
    apply_plan(_plan(lib, "copy.jpg"), lib, q)
    shutil.copy(datasets / OTHER, lib / "copy.jpg")  # a new photo saved under the old name
    res = undo(q)
    assert not (lib / "copy.jpg.xmp").exists() and (q / "copy.jpg.xmp").read_bytes() == XMP % 1
    assert any("XMP sidecar left in the quarantine" in why for _, why in res.failed)
    (lib / "copy.jpg").unlink()
    res = undo(q)
    assert res.failed == [] and (lib / "copy.jpg.xmp").read_bytes() == XMP % 1
    assert sha(lib / "copy.jpg") == sha(lib / "keep.jpg")


@pytest.mark.integration
def test_to_trash_the_sidecars_go_with_the_image_and_come_back(tmp_path: Path, lib: Path, home_trash: Path) -> None:
    """--to-trash left copy.jpg.xmp and copy.xmp in the library, describing a photo that was gone. They now go to
    the trash beside the image, under its trashed name (copy 1.jpg when copy.jpg is taken there), each with its own
    .trashinfo (the desktop's "put back" knows them), and undo puts them back once the image is back."""
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    (lib / "copy.XMP").write_bytes(XMP % 2)
    (lib / "keep.jpg.xmp").write_bytes(XMP % 5)  # the keeper's own: stays
    (home_trash / "files").mkdir(parents=True)
    (home_trash / "info").mkdir()
    (home_trash / "files" / "copy.jpg").write_bytes(b"the owner's older copy.jpg")  # a name taken in the trash
    (home_trash / "info" / "copy.jpg.trashinfo").write_text("[Trash Info]\nPath=/elsewhere/copy.jpg\n")
    before = tree(lib)
    q = tmp_path / "journal"
    out = apply_plan(_plan(lib, "copy.jpg"), lib, q, to_trash=True)
    assert out.failed == [] and len(out.done) == 1
    assert sorted(p.name for p in lib.iterdir()) == ["keep.jpg", "keep.jpg.xmp"]
    files = home_trash / "files"
    assert sorted(p.name for p in files.iterdir()) == ["copy 1.XMP", "copy 1.jpg", "copy 1.jpg.xmp", "copy.jpg"]
    assert (files / "copy 1.jpg.xmp").read_bytes() == XMP % 1 and (files / "copy 1.XMP").read_bytes() == XMP % 2
    info = (home_trash / "info" / "copy 1.jpg.xmp.trashinfo").read_text()
    assert f"Path={lib / 'copy.jpg.xmp'}\n" in info
    assert sorted(out.sidecars) == [(str(lib / "copy.jpg"), str(lib / "copy.XMP"), str(files / "copy 1.XMP")),
                                    (str(lib / "copy.jpg"), str(lib / "copy.jpg.xmp"), str(files / "copy 1.jpg.xmp"))]
    res = undo(q)
    assert res.failed == [] and tree(lib) == before
    assert sorted(p.name for p in files.iterdir()) == ["copy.jpg"]  # the owner's own file stays
    assert sorted(p.name for p in (home_trash / "info").iterdir()) == ["copy.jpg.trashinfo"]


@pytest.mark.cli
def test_remove_to_trash_says_and_sends_the_sidecar(tmp_path: Path, lib: Path, home_trash: Path) -> None:
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    run = CliRunner().invoke
    args = ["remove", str(lib), "-m", "phash", "--no-cache", "--keep", "oldest", "--to-trash"]
    os.utime(lib / "copy.jpg", (2_000_000_000, 2_000_000_000))  # (the newer of the two: the one that goes)
    res = run(main, args)
    assert res.exit_code == 0 and f"\n  with its XMP sidecar {lib / 'copy.jpg.xmp'}\n" in res.output, res.output
    res = run(main, [*args, "--apply", "--move-to", str(tmp_path / "journal")])
    assert res.exit_code == 0, res.output
    assert "sent 1 file (and 1 XMP sidecar of it) to the system trash" in res.output
    assert sorted(p.name for p in lib.iterdir()) == ["keep.jpg"]
    assert (home_trash / "files" / "copy.jpg.xmp").read_bytes() == XMP % 1
    assert run(main, ["undo", str(tmp_path / "journal")]).exit_code == 0
    assert sorted(p.name for p in lib.iterdir()) == ["copy.jpg", "copy.jpg.xmp", "keep.jpg"]


@pytest.mark.integration
def test_to_trash_hostile_sidecars_stay_named_and_nothing_hangs(tmp_path: Path, lib: Path, datasets: Path,
                                                                 home_trash: Path) -> None:
    """A sidecar that is a link to a file in another folder, a FIFO, a folder; an image and sidecar whose names hold
    a newline and a byte that is not UTF-8: the regular sidecar goes to the trash with its image (the .trashinfo
    names it, percent-encoded), the others stay where they are, each named, and nothing is opened that could block."""
    odd = os.fsdecode(b"c\xffo\npy.jpg")
    shutil.move(lib / "copy.jpg", lib / odd)
    (lib / (odd + ".xmp")).write_bytes(XMP % 1)
    (lib / os.fsdecode(b"c\xffo\npy.XMP")).mkdir()  # a folder at the other sidecar name
    shutil.copy(datasets / PHOTO, lib / "d.jpg")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "d.jpg.xmp").write_bytes(XMP % 4)
    (lib / "d.jpg.xmp").symlink_to(elsewhere / "d.jpg.xmp")
    os.mkfifo(lib / "d.xmp")
    q = tmp_path / "journal"
    out = apply_plan(_plan(lib, odd, "d.jpg"), lib, q, to_trash=True)
    files = home_trash / "files"
    assert len(out.done) == 2 and [s[2] for s in out.sidecars] == [str(files / (odd + ".xmp"))]
    assert sorted(why.split(":")[0] for _, why in out.failed) == [
        "its XMP sidecar is a FIFO, not a file", "its XMP sidecar is a folder, not a file",
        "its XMP sidecar is a symbolic link, not a file"]
    assert (files / (odd + ".xmp")).read_bytes() == XMP % 1
    assert "Path=" + str(lib).replace(os.sep, "/") + "/c%FFo%0Apy.jpg.xmp\n" in \
        (home_trash / "info" / (odd + ".xmp.trashinfo")).read_text()
    assert (lib / "d.jpg.xmp").is_symlink() and (elsewhere / "d.jpg.xmp").read_bytes() == XMP % 4
    assert sorted(p.name for p in elsewhere.iterdir()) == ["d.jpg.xmp"]  # nothing written outside
    res = undo(q)
    assert res.failed == [] and (lib / (odd + ".xmp")).read_bytes() == XMP % 1 and (lib / odd).is_file()
    assert list(files.iterdir()) == [] and list((home_trash / "info").iterdir()) == []


@pytest.mark.integration
def test_a_sidecar_replaced_while_it_moves_stays_in_place(tmp_path: Path, lib: Path, home_trash: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """darktable saves a sidecar by writing a new file over its name: one saved after it was checked and before it
    went is another file, which stays in place whole (its trash name given back); the image still goes."""
    from imagetwins import quarantine

    side = lib / "copy.jpg.xmp"
    side.write_bytes(XMP % 1)
    real = quarantine._digest_and_identity

    def then_saved_again(path, dir_fd=None):
        got = real(path, dir_fd)
        if str(path) == "copy.jpg.xmp":  # (checked: now the program saves it again, a new file over the name)
            (lib / "new.tmp").write_bytes(XMP % 2)
            os.replace(lib / "new.tmp", side)
        return got

    monkeypatch.setattr(quarantine, "_digest_and_identity", then_saved_again)
    out = apply_plan(_plan(lib, "copy.jpg"), lib, tmp_path / "journal", to_trash=True)
    assert len(out.done) == 1 and out.sidecars == []
    assert [why for _, why in out.failed] == ["its XMP sidecar was not moved (replaced by another file while being "
                                              "moved): left in place"]
    assert side.read_bytes() == XMP % 2
    assert sorted(p.name for p in (home_trash / "files").iterdir()) == ["copy.jpg"]
    assert sorted(p.name for p in (home_trash / "info").iterdir()) == ["copy.jpg.trashinfo"]


@pytest.mark.integration
def test_undo_after_the_desktop_put_the_image_back_brings_its_sidecar(tmp_path: Path, lib: Path,
                                                                      home_trash: Path) -> None:
    """The photo was put back with the desktop trash's own "put back" (its sidecar left in the trash): undo then puts
    the sidecar back beside it (it said 'left in the quarantine: its image ... is not back')."""
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    before = tree(lib)
    q = tmp_path / "journal"
    apply_plan(_plan(lib, "copy.jpg"), lib, q, to_trash=True)
    os.rename(home_trash / "files" / "copy.jpg", lib / "copy.jpg")  # the desktop's "put back" of the photo alone
    (home_trash / "info" / "copy.jpg.trashinfo").unlink()
    res = undo(q)
    assert res.failed == [] and tree(lib) == before
    assert list((home_trash / "files").iterdir()) == [] and list((home_trash / "info").iterdir()) == []


@pytest.mark.integration
def test_through_send2trash_the_sidecars_go_the_same_way(tmp_path: Path, lib: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows: send2trash takes the photo and then its sidecars (a FIFO sidecar stays, never opened);
    that trash does not say where, so undo names each for the trash's own "put back"."""
    from imagetwins import trash

    sent: list[str] = []
    bin_ = tmp_path / "bin"
    bin_.mkdir()

    def send_to_trash(path) -> None:
        sent.append(os.fspath(path))
        shutil.move(path, bin_ / Path(path).name)

    monkeypatch.setattr(trash, "FREEDESKTOP", False)
    monkeypatch.setattr(trash, "send_to_trash", send_to_trash)
    (lib / "copy.jpg.xmp").write_bytes(XMP % 1)
    os.mkfifo(lib / "copy.xmp")
    q = tmp_path / "journal"
    out = apply_plan(_plan(lib, "copy.jpg"), lib, q, to_trash=True)
    assert sent == [str(lib / "copy.jpg"), str(lib / "copy.jpg.xmp")]
    assert out.sidecars == [(str(lib / "copy.jpg"), str(lib / "copy.jpg.xmp"), "the system trash")]
    assert [why.split(":")[0] for _, why in out.failed] == ["its XMP sidecar is a FIFO, not a file"]
    assert (bin_ / "copy.jpg.xmp").read_bytes() == XMP % 1
    res = undo(q)
    assert sorted(why for _, why in res.failed) == [
        f"an XMP sidecar left in the trash: its image {lib / 'copy.jpg'} is not back",
        "in the system trash, which does not say where: put it back from there"]


@pytest.mark.cli
def test_a_sidecar_left_behind_is_said_as_a_sidecar_not_as_a_file_not_moved(tmp_path: Path, lib: Path,
                                                                           home_trash: Path) -> None:
    """The photo went; its sidecar, a FIFO, stayed: the summary said 'error: 1 file not moved (1 failed)' under
    'sent 1 file'. Now it says what stayed; the exit code is still 1 (not everything went)."""
    os.mkfifo(lib / "copy.jpg.xmp")
    os.utime(lib / "copy.jpg", (2_000_000_000, 2_000_000_000))
    res = CliRunner().invoke(main, ["remove", str(lib), "-m", "phash", "--no-cache", "--keep", "oldest", "--apply",
                                    "--to-trash", "--move-to", str(tmp_path / "journal")])
    assert res.exit_code == 1
    assert "sent 1 file to the system trash" in res.output
    assert res.output.strip().endswith("error: 1 XMP sidecar not moved with its file (each named above)"), res.output
    assert "file not moved" not in res.output and stat.S_ISFIFO(os.lstat(lib / "copy.jpg.xmp").st_mode)


@pytest.mark.integration
def test_a_sidecar_written_in_place_while_it_moves_comes_back_with_undo(tmp_path: Path, lib: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A program writes into the sidecar (the same file) between its check and its move: it moves with its new bytes,
    and the journal lists those, so undo puts them back (it refused: 'changed in quarantine (checksum differs)')."""
    from imagetwins import quarantine

    side = lib / "copy.jpg.xmp"
    side.write_bytes(XMP % 1)
    real = quarantine._digest_and_identity

    def then_written_in_place(path, dir_fd=None):
        got = real(path, dir_fd)
        if str(path) == "copy.jpg.xmp":
            with open(side, "r+b") as fh:  # (the same inode: not a replacement)
                fh.write(XMP % 7)
        return got

    monkeypatch.setattr(quarantine, "_digest_and_identity", then_written_in_place)
    q = tmp_path / "q"
    out = apply_plan(_plan(lib, "copy.jpg"), lib, q)
    monkeypatch.setattr(quarantine, "_digest_and_identity", real)
    assert out.failed == [] and (q / "copy.jpg.xmp").read_bytes() == XMP % 7
    res = undo(q)
    assert res.failed == [] and side.read_bytes() == XMP % 7
