"""A file whose bytes the index already holds is not decoded again under a new path: renamed, moved into a new
folder, put back by ``undo`` after a ``find`` forgot it (:meth:`imagetwins.index.Index._reuse_contents`). A
100,000-photo library reorganised into new folders re-encoded every photo (~50 ms CPU each with ``copies``)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

import imagetwins
from imagetwins import encoding
from imagetwins.cli import main
from imagetwins.index import Index, default_cache_path


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """Every decode of the encoding loop, by path (the scan decodes on threads of this process with workers=1)."""
    seen: list[str] = []
    decode = encoding.decode_image

    def counted(data, *args, **kwargs):
        seen.append(kwargs.get("path_for_messages", "?"))
        return decode(data, *args, **kwargs)

    monkeypatch.setattr(encoding, "decode_image", counted)
    return seen


@pytest.fixture
def library(tmp_path: Path, datasets: Path) -> Path:
    """16 photos-public originals, 3 smaller copies (near-duplicates) and one byte copy."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:16]:
        shutil.copy2(p, lib / p.name)
    names = sorted(os.listdir(lib))
    for n in names[:3]:
        with Image.open(lib / n) as img:
            img.resize((img.width // 2, img.height // 2)).save(lib / f"small {n}", quality=90)
    shutil.copy2(lib / names[3], lib / f"copy {names[3]}")
    return lib


def _groups(result, root: Path) -> list[list[str]]:
    return sorted(sorted(os.path.relpath(f, root) for f in g.files) for g in result.groups)


def _update(db: Path, lib: Path):
    with Index(db, ["copies"]) as ix:
        return ix.update(lib, workers=1)


@pytest.mark.integration
def test_renamed_and_moved_files_take_their_stored_rows_and_find_equals_a_full_find(
        tmp_path: Path, library: Path, decodes: list[str]) -> None:
    db = tmp_path / "ix.db"
    first = _update(db, library)
    assert first.added == 20 and first.reused == 0 and len(decodes) == 19  # (the byte copy decoded once)
    names = sorted(n for n in os.listdir(library) if n.startswith("bsds"))
    decodes.clear()
    os.rename(library / names[5], library / f"renamed {names[5]}")  # one rename
    (library / "2024" / "summer").mkdir(parents=True)  # a reorganisation: files and their copies into new folders
    for n in [names[0], f"small {names[1]}", names[3], f"copy {names[3]}", *names[6:10]]:
        os.rename(library / n, library / "2024" / "summer" / n)
    stats = _update(db, library)
    assert (stats.added, stats.removed, stats.reused, stats.encoded) == (9, 9, 9, 0)
    assert decodes == []
    with imagetwins.open_session(library, ["copies"], db=db, workers=1) as session:
        cached = imagetwins.find(library, session=session, recursive=True, workers=1)
    assert decodes == []
    full = imagetwins.find(library, cache=False, recursive=True, workers=1)
    assert _groups(cached, library) == _groups(full, library)
    assert len(cached.groups) == 4  # (3 smaller copies and a byte copy, wherever they went)
    # the stored rows are what a fresh encoding gives: the index's rows of the moved files equal a new index's
    with Index(db, ["copies"], readonly=True) as ix:
        moved_paths, moved_rows = ix.load("copies")
    _update(tmp_path / "fresh.db", library)
    with Index(tmp_path / "fresh.db", ["copies"], readonly=True) as ix:
        fresh_paths, fresh_rows = ix.load("copies")
        fresh_facts = ix.facts([d for d in ix.digests(fresh_paths)])
    assert sorted(moved_paths) == sorted(fresh_paths)
    with Index(db, ["copies"], readonly=True) as ix, Index(tmp_path / "fresh.db", ["copies"], readonly=True) as fresh:
        assert ix.digests(sorted(moved_paths)) == fresh.digests(sorted(fresh_paths))
        assert ix.facts(list(fresh_facts)) == fresh_facts


@pytest.mark.integration
def test_a_file_swapped_for_other_bytes_of_the_same_size_is_decoded(tmp_path: Path, library: Path,
                                                                     decodes: list[str]) -> None:
    """The content decides, never the size: a stored row of the same size but other bytes is not taken."""
    db = tmp_path / "ix.db"
    _update(db, library)
    names = sorted(n for n in os.listdir(library) if n.startswith("bsds"))
    data = bytearray((library / names[7]).read_bytes())
    data[len(data) // 2] ^= 0x55  # (a changed scan: the same size, other bytes)
    (library / names[7]).unlink()
    (library / f"other {names[7]}").write_bytes(bytes(data))
    # and one file's bytes replaced in place by another photo's, cut to the same size (a new mtime)
    target = library / names[8]
    size = target.stat().st_size
    other = (library / names[9]).read_bytes()
    target.write_bytes((other * (size // len(other) + 1))[:size])
    decodes.clear()
    stats = _update(db, library)
    assert stats.reused == 0 and stats.encoded == 2
    assert sorted(Path(p).name for p in decodes) == sorted([f"other {names[7]}", names[8]])


@pytest.mark.integration
def test_a_file_read_for_a_stored_row_and_not_matched_is_hashed_once(tmp_path: Path, library: Path,
                                                                      decodes: list[str], monkeypatch) -> None:
    """A new file of a stored row's size is read and its SHA-256 taken to look for that row; without a match it was
    hashed again when encoded (a camera's RAW files often share one size: each new one hashed twice). The digest taken
    is used while the file's state (inode, size, mtime, ctime) stays that one; the stored digest is the file's."""
    import hashlib

    db = tmp_path / "ix.db"
    _update(db, library)
    name = sorted(n for n in os.listdir(library) if n.startswith("bsds"))[5]
    data = bytearray((library / name).read_bytes())
    data[len(data) // 2] ^= 0x55  # (a new scan of the same size)
    (library / f"new {name}").write_bytes(bytes(data))
    sha256 = hashlib.sha256
    hashed: list[int] = []

    def counted(*args, **kwargs):
        if args and len(args[0]) == len(data) and bytes(args[0]) == bytes(data):
            hashed.append(1)
        return sha256(*args, **kwargs)

    monkeypatch.setattr(hashlib, "sha256", counted)
    decodes.clear()
    stats = _update(db, library)
    assert stats.reused == 0 and stats.added == 1
    assert [Path(p).name for p in decodes] == [f"new {name}"]
    assert len(hashed) == 1
    with Index(db, readonly=True) as ix:
        assert ix.digests([str(library / f"new {name}")])[0] == sha256(bytes(data)).hexdigest()[:32]


@pytest.mark.integration
def test_a_rename_to_a_raw_name_is_decoded_again(tmp_path: Path, library: Path, decodes: list[str]) -> None:
    """A content is decoded as a camera RAW or not by its name: the stored row of a .jpg is not a .dng's."""
    db = tmp_path / "ix.db"
    _update(db, library)
    name = sorted(n for n in os.listdir(library) if n.startswith("bsds"))[2]
    os.rename(library / name, library / "camera.dng")
    decodes.clear()
    stats = _update(db, library)
    # (added: decoded and stored; a JPEG named .dng that LibRaw refuses is counted unreadable instead)
    assert stats.reused == 0 and (stats.added, stats.unreadable) in ((1, 0), (0, 1))
    assert decodes == [str(library / "camera.dng")] or stats.unreadable == 1


@pytest.mark.cli
def test_remove_find_undo_then_find_decodes_nothing(tmp_path: Path, library: Path, decodes: list[str]) -> None:
    """``remove --apply``, a ``find`` (which forgets the files moved out), ``undo``, ``find``: the byte copies put
    back take their keepers' rows; the smaller copies' rows were forgotten by that ``find`` (no row holds their
    bytes): they alone are decoded again. And the groups are a full find's."""
    runner = CliRunner()
    for n in sorted(os.listdir(library))[:4]:
        if (library / n).is_file():
            shutil.copy2(library / n, library / f"dup {n}")
    expected = runner.invoke(main, ["find", str(library), "--no-cache", "--json", "-"])
    assert expected.exit_code == 0, expected.output
    assert runner.invoke(main, ["find", str(library), "-q"]).exit_code == 0
    removed = runner.invoke(main, ["remove", str(library), "--apply", "-q"])
    assert removed.exit_code == 0, removed.output
    assert runner.invoke(main, ["find", str(library), "-q"]).exit_code == 0
    quarantine = next((library.parent / f"{library.name}.imagetwins-quarantine").iterdir())
    undone = runner.invoke(main, ["undo", str(quarantine), "-q"])
    assert undone.exit_code == 0, undone.output
    decodes.clear()
    with Index(default_cache_path(library), ["copies"]) as ix:
        stats = ix.update(library, workers=1)
    assert (stats.added, stats.reused) == (8, 5)
    assert sorted(Path(p).name for p in decodes) == sorted(n for n in os.listdir(library) if n.startswith("small"))
    decodes.clear()
    again = runner.invoke(main, ["find", str(library), "--json", "-"])
    assert again.exit_code == 0 and decodes == []
    import json
    assert [g["files"] for g in json.loads(again.output)["groups"]] == \
        [g["files"] for g in json.loads(expected.output)["groups"]]
