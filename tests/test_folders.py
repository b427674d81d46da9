"""Folders that are copies of folders (imagetwins.folders): listed, moved as one journalled step, undone; links,
nested folders, and plans edited after the fact."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main
from imagetwins.finder import find_duplicate_groups
from imagetwins.folders import find_duplicate_folders

#: the method of the plans the moves start from: the library's copies are byte copies and half-size re-encodes,
#: which phash lists exactly as the default method does (the same two folders, 20 of 20 and 19 of 20), in 0.7 CPU s
#: a scan instead of 2.8; the default method's listing is tested by test_folders_lists_copies_largest_first...
PHASH = ("-m", "phash")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def library(tmp_path: Path, datasets: Path) -> Path:
    """Photos/2019 (20 real photos), a byte copy of it filed deep in Backup/old, an Export/2019 of half-size
    re-encodes of 19 of them plus one photo found nowhere else, and Photos/2020 with 20 other photos."""
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    lib = tmp_path / "lib"
    for d in ("Photos/2019", "Backup/old/Photos/2019", "Export/2019", "Photos/2020"):
        (lib / d).mkdir(parents=True)
    for i, s in enumerate(src[:20]):
        shutil.copy(s, lib / "Photos/2019" / f"img{i}.jpg")
        shutil.copy(s, lib / "Backup/old/Photos/2019" / f"img{i}.jpg")
        if i < 19:
            with Image.open(s) as im:
                im.reduce(2).save(lib / "Export/2019" / f"e{i}.jpg", quality=80)
    for i, s in enumerate(src[20:40]):
        shutil.copy(s, lib / "Photos/2020" / f"x{i}.jpg")
    shutil.copy(src[50], lib / "Export/2019/unique.jpg")
    return lib


@pytest.mark.cli
def test_folders_lists_copies_largest_first_with_the_share(library: Path) -> None:
    res = run("folders", library, "-r")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("Backup  is a copy of  Photos/2019: identical (20 of 20, 20 byte-identical)")
    assert lines[1].startswith("Export  is a copy of  Photos/2019: 95.0 % of its images copied (19 of 20, 0 byte")
    assert "Export/2019/unique.jpg" in lines[2]
    assert "2 folders" in lines[-1]
    doc = json.loads(run("folders", library, "-r", "--json", "-").stdout)
    backup, export = doc["folders"]
    assert backup["reclaimable_bytes"] > export["reclaimable_bytes"] > 0
    assert (backup["share"], backup["identical"], backup["skip"]) == (1.0, True, False)
    assert (export["share"], export["identical"], export["skip"]) == (0.95, False, True)
    assert export["without_copy"] == ["Export/2019/unique.jpg"]
    # re-encoded copies count only through the method: byte-identical content alone finds the backup only
    exact = find_duplicate_folders(find_duplicate_groups(library, "phash", threshold=0, recursive=True), library)
    assert [p.redundant for p in exact] == ["Backup"]
    # and without -r there is nothing to compare
    assert "add -r" in run("folders", library).output


@pytest.mark.cli
def test_a_folder_moves_as_one_step_and_undo_puts_it_back(tmp_path: Path, library: Path) -> None:
    before = _tree(library)
    plan = tmp_path / "folders.json"
    assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0
    res = run("remove", library, "--plan", plan)
    assert res.exit_code == 0 and "would move the folder" in res.output, res.output
    assert "dry run: 1 folder would" in res.output and "0 files" not in res.output, res.output
    assert _tree(library) == before
    q = tmp_path / "q"
    res = run("remove", library, "--plan", plan, "--apply", "--move-to", q)
    assert res.exit_code == 0, res.output
    assert not (library / "Backup").exists() and (q / "Backup/old/Photos/2019/img3.jpg").is_file()
    journal = [json.loads(line) for line in (q / "manifest.jsonl").read_text().splitlines()]
    assert [(e["op"], e["state"]) for e in journal] == [("folder", "planned"), ("folder", "done")]
    assert len(journal[0]["files"]) == 20
    res = run("undo", q)
    assert res.exit_code == 0, res.output
    assert _tree(library) == before


@pytest.mark.cli
def test_the_plan_is_checked_again_before_a_folder_moves(tmp_path: Path, library: Path) -> None:
    plan = tmp_path / "folders.json"
    assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    doc["folders"][1]["skip"] = False  # Export is only 95 % copied: its unique photo is not in the plan
    plan.write_text(json.dumps(doc))
    (library / "Backup/old/notes.txt").write_text("not an image, no copy anywhere")
    res = run("remove", library, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 1
    assert "notes.txt, which the plan does not list" in res.output
    assert "unique.jpg, which the plan does not list" in res.output
    assert (library / "Backup/old/notes.txt").exists() and (library / "Export/2019/unique.jpg").exists()
    (library / "Backup/old/notes.txt").unlink()
    # a copy that changed since the plan: the folder stays
    with Image.open(library / "Photos/2019/img4.jpg") as im:
        im.rotate(90).save(library / "Photos/2019/img4.jpg")
    res = run("remove", library, "--plan", plan, "--apply", "--move-to", tmp_path / "q2")
    assert res.exit_code == 1 and "img4.jpg" in res.output and (library / "Backup").is_dir()


@pytest.mark.cli
def test_nested_folders_only_the_inner_copy_goes(tmp_path: Path, datasets: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "A" / "copy").mkdir(parents=True)
    for i, s in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]):
        shutil.copy(s, lib / "A" / f"{i}.jpg")
        shutil.copy(s, lib / "A" / "copy" / f"{i}.jpg")
    doc = json.loads(run("folders", lib, "-r", "--json", "-").stdout)
    assert [(f["remove"], f["copy_of"]) for f in doc["folders"]] == [("A/copy", "A")]
    plan = tmp_path / "p.json"
    plan.write_text(json.dumps(doc))
    res = run("remove", lib, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (lib / "A").iterdir()) == [f"{i}.jpg" for i in range(6)]
    # a plan edited to move the outer folder (whose copies lie inside it) is refused
    assert run("undo", tmp_path / "q").exit_code == 0
    doc["folders"][0]["remove"], doc["folders"][0]["copy_of"] = "A", "A/copy"
    doc["folders"][0]["files"] = {f"A/{i}.jpg": {**v, "copy": k} for i, (k, v) in enumerate(
        sorted(doc["folders"][0]["files"].items()))}
    plan.write_text(json.dumps(doc))
    res = run("remove", lib, "--plan", plan, "--apply", "--move-to", tmp_path / "q3")
    assert res.exit_code == 1 and (lib / "A" / "copy" / "0.jpg").exists()


@pytest.mark.cli
def test_folders_that_are_links_to_each_other_are_never_copies(tmp_path: Path, datasets: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "Photos").mkdir(parents=True)
    for i, s in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:5]):
        shutil.copy(s, lib / "Photos" / f"{i}.jpg")
    os.symlink("Photos", lib / "Mirror")  # a link to the folder beside it
    os.symlink(lib / "Photos", tmp_path / "outside")
    os.symlink(tmp_path / "outside", lib / "Loop")  # a link out of the folder that leads back into it
    for extra in ([], ["--follow-symlinks"]):
        res = run("folders", lib, "-r", *extra)
        assert res.exit_code == 0 and "0 folders" in res.output, res.output
    # hard links of each other's files: listed (same pictures) but nothing to reclaim
    (lib / "Hard").mkdir()
    for p in (lib / "Photos").iterdir():
        os.link(p, lib / "Hard" / p.name)
    doc = json.loads(run("folders", lib, "-r", "--json", "-").stdout)
    assert [f["reclaimable_bytes"] for f in doc["folders"]] == [0]
    # a plan naming a folder that was replaced by a link since moves nothing
    doc["folders"][0]["skip"] = False
    plan = tmp_path / "p.json"
    plan.write_text(json.dumps(doc))
    gone = doc["folders"][0]["remove"]
    shutil.rmtree(lib / gone)
    os.symlink("Photos" if gone == "Hard" else "Hard", lib / gone)
    res = run("remove", lib, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 1 and "symbolic link" in res.output
    assert len(list((lib / "Photos").iterdir())) == 5


@pytest.mark.cli
def test_the_review_page_lists_the_folders(tmp_path: Path, library: Path) -> None:
    out = tmp_path / "r.html"
    assert run("report", library, "-r", "-o", out).exit_code == 0
    data = json.loads(out.read_text().split('type="application/json">')[1].split("</script>")[0])
    assert [(f["remove"], f["copy_of"]) for f in data["folders"]] == [("Backup", "Photos/2019"), ("Export",
                                                                                                 "Photos/2019")]
    assert data["folders"][0]["how"].startswith("identical")


def _other_device_folder() -> Path | None:
    """A writable folder on another file system than the temporary folder (a tmpfs at /dev/shm), if there is one."""
    import tempfile

    shm = Path("/dev/shm")
    try:
        if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tempfile.gettempdir()).st_dev:
            return None
        return Path(tempfile.mkdtemp(dir=shm, prefix="imagetwins-test-"))
    except OSError:
        return None


@pytest.mark.cli
def test_a_folder_moves_across_devices_copied_verified_and_undone(tmp_path: Path, library: Path) -> None:
    """A quarantine on another file system: the folder was refused ('a folder moves in one step only on one
    device'). It is now copied, every copy checked against the digest the plan was checked with, and only then
    removed; undo copies it back the same way. On a real second file system (a tmpfs) where there is one."""
    other = _other_device_folder()
    if other is None:
        pytest.skip("no second file system (tmpfs at /dev/shm) to move a folder onto")
    try:
        before = _tree(library)
        plan = tmp_path / "folders.json"
        assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0
        q = other / "q"
        res = run("remove", library, "--plan", plan, "--apply", "--move-to", q)
        assert res.exit_code == 0, res.output
        assert not (library / "Backup").exists()
        assert _tree(q / "Backup") == {k[len("Backup/"):]: v for k, v in before.items() if k.startswith("Backup/")}
        assert not [p for p in q.rglob("*") if "imagetwins-partial" in p.name]
        res = run("undo", q)
        assert res.exit_code == 0, res.output
        assert _tree(library) == before and not (q / "Backup").exists()
    finally:
        shutil.rmtree(other, ignore_errors=True)


@pytest.mark.cli
def test_a_folder_rename_that_meets_exdev_copies_and_undo_puts_it_back(tmp_path: Path, library: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Two mounts of one file system share a device number but refuse a rename between them (EXDEV): the move
    falls back to the verified copy, and so does undo. A file that cannot be removed half-way (a read-only
    folder, for a user who may not write it) puts every file removed so far back: the folder did not move, and
    the summary counts one folder, not one file."""
    import errno

    from imagetwins import quarantine

    q = tmp_path / "q"
    real_rename = os.rename

    def rename(a, b, **kw):  # across the quarantine's edge: another mount
        if str(a).startswith(str(q)) != str(b).startswith(str(q)):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(a, b, **kw)

    monkeypatch.setattr(quarantine.os, "rename", rename)
    before = _tree(library)
    plan = tmp_path / "folders.json"
    assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0

    real_unlink = os.unlink

    def unlink(path, *a, dir_fd=None, **kw):  # img7.jpg of the library may not be removed
        folder = os.readlink(f"/proc/self/fd/{dir_fd}") if dir_fd is not None else os.path.dirname(str(path))
        if os.path.basename(str(path)) == "img7.jpg" and folder.startswith(str(library)):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_unlink(path, *a, dir_fd=dir_fd, **kw)

    monkeypatch.setattr(quarantine.os, "unlink", unlink)
    res = run("remove", library, "--plan", plan, "--apply", "--move-to", q)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "removing its files failed (Permission denied); every file is back in place" in res.output
    assert "error: 1 folder not moved (1 failed" in res.output
    assert _tree(library) == before and not (q / "Backup").exists()

    monkeypatch.setattr(quarantine.os, "unlink", real_unlink)
    res = run("remove", library, "--plan", plan, "--apply", "--move-to", q)
    assert res.exit_code == 0, res.output
    assert not (library / "Backup").exists() and (q / "Backup/old/Photos/2019/img7.jpg").is_file()
    res = run("undo", q)
    assert res.exit_code == 0, res.output
    assert _tree(library) == before


@pytest.mark.cli
def test_a_refused_folder_is_counted_as_a_folder(tmp_path: Path, library: Path) -> None:
    plan = tmp_path / "folders.json"
    assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0
    (library / "Backup/old/notes.txt").write_text("not an image, no copy anywhere")
    for apply_ in ([], ["--apply", "--move-to", tmp_path / "q"]):
        res = run("remove", library, "--plan", plan, *apply_)
        assert res.exit_code == 1
        assert "1 folder would not move (1 refused" in res.output if not apply_ else \
            "1 folder not moved (1 refused" in res.output
        assert "file" not in res.output.splitlines()[-1]


@pytest.mark.cli
def test_a_folder_move_carries_its_files_metadata_to_the_copies_kept(tmp_path: Path, datasets: Path) -> None:
    """--merge-metadata with a plan that moves a whole folder: what its files hold and the copies it leaves
    behind lack (here an export's XMP titles and keywords) goes into sidecars beside those copies; undo takes the
    sidecars away and puts the folder back."""
    pytest.importorskip("libxmp", exc_type=ImportError)
    from imagetwins.metadata import PhotoMetadata, read_metadata, sidecar_bytes

    lib = tmp_path / "lib"
    (lib / "Photos").mkdir(parents=True)
    (lib / "Export").mkdir()
    for i, s in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[60:64]):
        shutil.copy(s, lib / "Photos" / f"p{i}.jpg")
        with Image.open(s) as im:
            im.save(lib / "Export" / f"e{i}.jpg", quality=85,
                    xmp=sidecar_bytes(PhotoMetadata(keywords=[f"trip {i}"], title=f"Day {i}")))
    before = _tree(lib)
    plan = tmp_path / "plan.json"
    assert run("folders", lib, "-r", "--json", plan).exit_code == 0
    res = run("remove", lib, "--plan", plan, "--merge-metadata")
    assert res.exit_code == 0 and res.output.count("would write") == 4 and "keywords, title" in res.output
    q = tmp_path / "q"
    res = run("remove", lib, "--plan", plan, "--merge-metadata", "--apply", "--move-to", q)
    assert res.exit_code == 0, res.output
    assert not (lib / "Export").exists()
    got = read_metadata(lib / "Photos" / "p2.jpg")
    assert got.title == "Day 2" and got.keywords == ["trip 2"]
    assert run("undo", q).exit_code == 0
    assert _tree(lib) == before


@pytest.mark.cli
def test_a_folder_changed_while_copied_across_devices_stays(tmp_path: Path, library: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of the folder edited while the folder was being copied to another device: the folder is read again
    after the copy, stays where it is (with the edit), and the copy is removed from the quarantine."""
    import errno

    from imagetwins import quarantine

    q = tmp_path / "q"
    real_rename, real_copy = os.rename, quarantine._copy_tree

    def rename(a, b, **kw):
        if str(a).startswith(str(q)) != str(b).startswith(str(q)):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(a, b, **kw)

    def copy_then_edit(src, dst, files):
        real_copy(src, dst, files)
        with open(src / "old/Photos/2019/img2.jpg", "ab") as fh:  # a photo editor saves meanwhile
            fh.write(b"edited")

    monkeypatch.setattr(quarantine.os, "rename", rename)
    monkeypatch.setattr(quarantine, "_copy_tree", copy_then_edit)
    plan = tmp_path / "folders.json"
    assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0
    res = run("remove", library, "--plan", plan, "--apply", "--move-to", q)
    assert res.exit_code == 1 and "its files changed while it was being copied" in res.output
    assert (library / "Backup/old/Photos/2019/img2.jpg").read_bytes().endswith(b"edited")
    assert len(list((library / "Backup/old/Photos/2019").iterdir())) == 20 and not (q / "Backup").exists()


@pytest.mark.cli
def test_folder_move_sidecars_meet_a_link_and_an_unwritable_folder(tmp_path: Path, datasets: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """--merge-metadata for a folder move, hostile: one kept copy's sidecar name is a symbolic link to a file
    outside (never written through, named), another's folder refuses the write (a read-only folder: simulated,
    the tests run as root), the other two get theirs; the folder moves all the same, undo puts everything back."""
    pytest.importorskip("libxmp", exc_type=ImportError)
    from imagetwins import quarantine
    from imagetwins.metadata import PhotoMetadata, read_metadata, sidecar_bytes

    lib = tmp_path / "lib"
    (lib / "Photos").mkdir(parents=True)
    (lib / "Export").mkdir()
    for i, s in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[70:74]):
        shutil.copy(s, lib / "Photos" / f"p{i}.jpg")
        with Image.open(s) as im:
            im.save(lib / "Export" / f"e{i}.jpg", quality=85, xmp=sidecar_bytes(PhotoMetadata(title=f"Day {i}")))
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    os.symlink(outside, lib / "Photos" / "p1.jpg.xmp")
    plan = tmp_path / "plan.json"
    assert run("folders", lib, "-r", "--json", plan).exit_code == 0
    before = _tree(lib)
    real_write = quarantine._write_new

    def write_new(folder_fd, name, data, mode=None, **kwargs):
        if name == "p2.jpg.xmp":
            raise PermissionError(13, "Permission denied")
        return real_write(folder_fd, name, data, mode, **kwargs)

    monkeypatch.setattr(quarantine, "_write_new", write_new)
    q = tmp_path / "q"
    res = run("remove", lib, "--plan", plan, "--merge-metadata", "--apply", "--move-to", q)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "p1.jpg.xmp: a symbolic link stands at the sidecar's name" in res.output
    assert "p2.jpg.xmp: Permission denied" in res.output
    assert not (lib / "Export").exists() and outside.read_text() == "not yours"
    assert read_metadata(lib / "Photos" / "p0.jpg").title == "Day 0"
    assert read_metadata(lib / "Photos" / "p3.jpg").title == "Day 3"
    assert not (lib / "Photos" / "p2.jpg.xmp").exists() and os.path.islink(lib / "Photos" / "p1.jpg.xmp")
    assert run("undo", q).exit_code == 0
    assert _tree(lib) == before


@pytest.mark.cli
def test_a_folder_move_across_devices_stopped_half_way_is_undone(tmp_path: Path, library: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies while a folder copied to another device is being removed (here: half its files gone,
    then the run is killed): the journal says planned, not done; the quarantine holds the whole verified copy and
    the folder's place the rest. undo puts back the missing files from the copy (each verified) and removes it."""
    import errno

    from imagetwins import quarantine

    q = tmp_path / "q"
    real_rename = os.rename

    def rename(a, b, **kw):
        if str(a).startswith(str(q)) != str(b).startswith(str(q)):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(a, b, **kw)

    class Killed(BaseException):
        pass

    def remove_half_then_die(root, rel, files):
        for name in sorted(files)[:10]:
            os.unlink(root / rel / name)
        raise Killed

    monkeypatch.setattr(quarantine.os, "rename", rename)
    monkeypatch.setattr(quarantine, "_remove_tree", remove_half_then_die)
    before = _tree(library)
    plan = tmp_path / "folders.json"
    assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0
    with pytest.raises(Killed):
        run("remove", library, "--plan", plan, "--apply", "--move-to", q)
    assert len(list((library / "Backup/old/Photos/2019").iterdir())) == 10 and (q / "Backup").is_dir()
    res = run("undo", q)
    assert res.exit_code == 0, res.output
    assert _tree(library) == before and not (q / "Backup").exists()
    assert not [p for p in library.rglob("*") if p.name.endswith(".partial")]


@pytest.mark.cli
def test_a_folders_xmp_sidecars_move_with_it(tmp_path: Path, library: Path) -> None:
    """darktable, digiKam and Lightroom write an XMP sidecar beside each photo: a backup folder holding them was
    never moved ('it holds img3.jpg.xmp, which the plan does not list'). The sidecars of its listed images now
    move with it (checked again before the move), --merge-metadata carries what they say to the copies kept,
    and undo puts back all; a sidecar name that is a symbolic link keeps the folder in place, said in one line."""
    pytest.importorskip("libxmp", exc_type=ImportError)
    from imagetwins.metadata import PhotoMetadata, read_metadata, sidecar_bytes

    backup = library / "Backup/old/Photos/2019"
    (backup / "img3.jpg.xmp").write_bytes(sidecar_bytes(PhotoMetadata(keywords=["lake"], rating=4)))
    (backup / "img4.XMP").write_bytes(sidecar_bytes(PhotoMetadata(title="Pier")))
    before = _tree(library)
    plan = tmp_path / "folders.json"
    assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0
    os.symlink(tmp_path / "elsewhere.xmp", backup / "img5.jpg.xmp")
    res = run("remove", library, "--plan", plan)
    assert res.exit_code == 1 and "img5.jpg.xmp cannot be read" in res.output and "Traceback" not in res.output
    (backup / "img5.jpg.xmp").unlink()
    res = run("remove", library, "--plan", plan, "--merge-metadata")
    assert res.exit_code == 0 and "20 images, each with a copy" in res.output and "2 XMP sidecars" in res.output
    q = tmp_path / "q"
    res = run("remove", library, "--plan", plan, "--merge-metadata", "--apply", "--move-to", q)
    assert res.exit_code == 0, res.output
    assert (q / "Backup/old/Photos/2019/img3.jpg.xmp").is_file() and not (library / "Backup").exists()
    got3, got4 = read_metadata(library / "Photos/2019/img3.jpg"), read_metadata(library / "Photos/2019/img4.jpg")
    assert got3.keywords == ["lake"] and got3.rating == 4 and got4.title == "Pier"
    assert run("undo", q).exit_code == 0
    assert _tree(library) == before


@pytest.mark.cli
def test_a_folder_of_edits_is_a_copy_under_copies_not_under_phash(tmp_path: Path, datasets: Path) -> None:
    # what 'folders --help' says: with the default method a folder of a person's own edits (mirrored, cropped,
    # grey) is listed as a copy of its originals -- a stranger's "Edited" folder was, while the help said only
    # re-encoded and resized copies count; with -m phash it is not
    lib = tmp_path / "lib"
    (lib / "Photos").mkdir(parents=True)
    (lib / "Edited").mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:5]
    for p in photos:
        shutil.copy2(p, lib / "Photos" / p.name)
    with Image.open(photos[0]) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(lib / "Edited" / "mirrored.jpg", quality=90)
    with Image.open(photos[1]) as im:
        w, h = im.size
        im.crop((w // 8, h // 8, w - w // 8, h - h // 8)).save(lib / "Edited" / "cropped.jpg", quality=90)
    with Image.open(photos[2]) as im:
        im.convert("L").save(lib / "Edited" / "grey.jpg", quality=90)
    res = run("folders", lib, "-r", "--no-cache")
    assert res.exit_code == 0, res.output
    assert "Edited  is a copy of  Photos: all images copied (3 of 3, 0 byte-identical)" in res.output, res.output
    res = run("folders", lib, "-r", "--no-cache", "-m", "phash")
    assert res.exit_code == 0 and "Edited" not in res.output, res.output
    help_text = " ".join(run("folders", "--help").output.split())
    assert "whose images all (or nearly all) have a copy in another folder" in help_text
    assert "a folder of your own edits is listed as a copy of its originals" in help_text


@pytest.mark.cli
def test_a_folder_of_copies_from_all_over_is_said_with_the_folder_as_named(tmp_path: Path, datasets: Path,
                                                                          monkeypatch) -> None:
    # a folder whose images have their copies in several folders is "a copy of pictures elsewhere in lib": the dry
    # run of its move said "each with a copy in /tmp/.../lib", the real path, where every other line of the same
    # dry run shows the folder as the person named it
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    for i, year in enumerate(("2019", "2021")):
        (tmp_path / "lib" / year).mkdir(parents=True)
        shutil.copy(src[i], tmp_path / "lib" / year / f"p{i}.jpg")
    (tmp_path / "lib" / "Shared").mkdir()
    for i, year in enumerate(("2019", "2021")):
        shutil.copy(src[i], tmp_path / "lib" / "Shared" / f"from {year}.jpg")
    monkeypatch.chdir(tmp_path)
    plan = tmp_path / "folders.json"
    assert run("folders", "lib", "-r", *PHASH, "--json", plan).exit_code == 0
    res = run("remove", "lib", "--plan", plan)
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if "would move the folder lib/Shared" in x)
    assert line.endswith("(2 images, each with a copy in lib)"), line


@pytest.mark.cli
def test_files_and_a_folder_moved_in_one_run_are_undone_by_the_one_command_said(tmp_path: Path, library: Path,
                                                                              datasets: Path) -> None:
    """A plan that moves files and whole folders journals both in the one quarantine: the 'undo with' line names
    that journal, and the command it gives puts the files and the folder back (a guard: the hint named the
    folders' outcome only, so a second journal for the files would have gone unnamed)."""
    loose = library / "Loose"
    loose.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[60]
    shutil.copy(photo, loose / "a.jpg")
    shutil.copy(photo, loose / "a_copy.jpg")
    before = _tree(library)
    plan, found = tmp_path / "plan.json", tmp_path / "found.json"
    assert run("folders", library, "-r", *PHASH, "--json", plan).exit_code == 0
    assert run("find", library, "-r", *PHASH, "--json", found, "-q").exit_code == 0
    doc = json.loads(plan.read_text())
    doc["groups"] = [g for g in json.loads(found.read_text())["groups"]
                     if all(Path(f).parent.name == "Loose" for f in g["files"])]
    assert len(doc["groups"]) == 1
    plan.write_text(json.dumps(doc))
    q = tmp_path / "q"
    res = run("remove", library, "--plan", plan, "--apply", "--move-to", q)
    assert res.exit_code == 0, res.output
    assert "moved 1 file and 1 folder" in res.output, res.output
    hint = res.output.split("undo with: imagetwins undo ", 1)[1].split()[0]
    assert sorted(p.name for p in q.iterdir() if p.name.endswith(".jsonl")) == [Path(hint).name]
    res = run("undo", hint)
    assert res.exit_code == 0 and "restored 1 file and 1 folder" in res.output, res.output
    assert _tree(library) == before
