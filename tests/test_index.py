"""The persistent index: incremental updates, crash safety, concurrent readers, same answers as a fresh run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from index_files import held_by_a_writer, read_only, rewrite_identity, set_schema_version

from imagetwins.cli import main
from imagetwins.finder import find_duplicate_groups
from imagetwins.hashing import hash_files
from imagetwins.index import Index, IndexFileError, IndexMismatchError, IndexUnwritableError


@pytest.fixture
def collection(tmp_path: Path, datasets: Path) -> Path:
    """40 real photos plus a resized copy and a byte copy, in two folders."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:40]
    for i, p in enumerate(photos):
        shutil.copy(p, root / ("sub" if i % 2 else ".") / p.name)
    from PIL import Image

    Image.open(photos[0]).resize((240, 160)).save(root / "small_copy.jpg", quality=85)
    shutil.copy(photos[2], root / "sub" / "byte_copy.jpg")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    return root


@pytest.mark.integration
def test_update_encodes_only_what_changed(tmp_path: Path, collection: Path, datasets: Path) -> None:
    db = tmp_path / "i.db"
    with Index(db, methods=["phash", "dihedral"]) as idx:
        first = idx.update(collection)
        assert (first.added, first.unreadable) == (42, 1)  # added: encoded and stored
        again = idx.update(collection)
        assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 42)
        assert (again.unreadable, again.known_unreadable) == (0, 1)  # known, not read again
        # add one, change one, delete one
        shutil.copy(sorted((datasets / "photos-public/images").glob("*.jpg"))[100], collection / "new.jpg")
        changed = collection / "small_copy.jpg"
        changed.write_bytes((collection / "sub" / "byte_copy.jpg").read_bytes())
        os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
        (collection / "sub" / "byte_copy.jpg").unlink()
        third = idx.update(collection)
        assert (third.added, third.changed, third.removed, third.unchanged) == (1, 1, 1, 40)
        paths, hashes = idx.load("phash")
        assert len(paths) == 42 and hashes.dtype == np.uint64  # 43 files, one unreadable
        fresh = hash_files(sorted(Path(p) for p in paths), methods=("phash",))
        assert np.array_equal(fresh.hashes["phash"], hashes)  # paths are sorted in both
        assert idx.errors()[0][0].endswith("broken.jpg")
        assert idx.integrity_check() == "ok"


@pytest.mark.integration
def test_find_with_index_equals_a_fresh_run(tmp_path: Path, collection: Path) -> None:
    fresh = find_duplicate_groups(collection, recursive=True)
    with Index(tmp_path / "i.db") as idx:
        cached = find_duplicate_groups(collection, recursive=True, cache=idx)
        again = find_duplicate_groups(collection, recursive=True, cache=idx)
    def canon(r):
        return sorted(sorted(os.path.normpath(f) for f in g.files) for g in r.groups)
    assert canon(fresh) == canon(cached) == canon(again)
    assert len(fresh.groups) == 2 and sum(g.exact for g in cached.groups) == 1
    assert [f.path for f in cached.failures] == [str(collection / "broken.jpg")]


@pytest.mark.integration
def test_query_equals_find_duplicates(tmp_path: Path, collection: Path) -> None:
    with Index(tmp_path / "i.db", methods=["phash"]) as idx:
        idx.update(collection)
        result = idx.find_duplicates("phash", threshold=10)
        paths, _ = idx.load("phash")
        matched = {(q, m) for q, m, d in idx.query(paths, "phash", threshold=10) if q != m}
    expected = set()
    for i, j in zip(result.pairs.left.tolist(), result.pairs.right.tolist()):
        expected |= {(result.files[i], result.files[j]), (result.files[j], result.files[i])}
    assert matched == expected and len(expected) == 4


def _index_files(db: Path) -> dict[str, tuple[bytes, int]]:
    return {q.name: (q.read_bytes(), q.stat().st_mtime_ns) for q in sorted(db.parent.glob(db.name + "*"))}


@pytest.mark.integration
def test_opening_an_index_writes_nothing_and_a_read_only_one_is_queried(tmp_path: Path, datasets: Path) -> None:
    """``Index(path)`` registered its default ``phash`` in an index made with another method: the file changed though
    nothing was stored; and every open took the write lock (for its schema), so an open while another process
    updated the index waited for it (up to a minute). Opening writes nothing and takes no lock; a method is
    registered by the update that stores it; an index no one may write (mode 0444 in a read-only folder, chattr +i
    for root) is still opened read-only and queried."""
    from PIL import Image

    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]
    folder, outside = tmp_path / "photos", tmp_path / "new"
    folder.mkdir()
    outside.mkdir()
    for p in photos:
        shutil.copy(p, folder / p.name)
    Image.open(photos[0]).resize((240, 160)).save(outside / "small.jpg", quality=85)
    db = tmp_path / "idx" / "dhash.db"
    db.parent.mkdir()
    with Index(db, methods=["dhash"]) as idx:
        idx.update(folder)
    before = _index_files(db)
    want = [(str(outside / "small.jpg"), str(folder / photos[0].name))]
    for methods in (("phash",), ("dhash", "ahash"), ()):
        with Index(db, methods=methods) as idx:
            assert idx.stored_methods() == ["dhash"]
            assert [(q, r) for q, r, _ in idx.query(outside, "dhash")] == want
            assert idx.stats()["encodings"] == {"dhash": 6}
            idx.find_duplicates("dhash")
        assert _index_files(db) == before, f"opening with {methods} wrote the index"
    with held_by_a_writer(db):
        opened: list[list[str]] = []

        def open_it() -> None:
            with Index(db, methods=["dhash"]) as idx:
                opened.append(idx.stored_methods())

        opener = threading.Thread(target=open_it, daemon=True)
        opener.start()
        opener.join(10)
        assert opened == [["dhash"]], "opening waited for another process's update"
    with read_only(db, db.parent):
        with Index(db, methods=["dhash"], readonly=True) as idx:
            assert [(q, r) for q, r, _ in idx.query(outside, "dhash")] == want
            assert idx.stats()["files"] == 6
        # a plain Index(path) reads it too (it said "cannot write to the index"): read-only, saying why; an update
        # is refused in one line, and readonly=False refuses the file at once
        with Index(db) as idx:
            assert idx.readonly and idx.unwritable
            assert [(q, r) for q, r, _ in idx.query(outside, "dhash")] == want
            assert len(idx.find_duplicates("dhash").files) == 6
            with pytest.raises(IndexFileError, match=r"cannot write to the index .*dhash\.db: .*\(opened read-only\)"):
                idx.update(folder)
        with pytest.raises(IndexUnwritableError, match="cannot write to the index"):
            Index(db, readonly=False)
    assert _index_files(db) == before
    Index(db).close()  # (the last to close it: the -wal and -shm that read-only readers leave are removed)
    assert sorted(os.listdir(db.parent)) == ["dhash.db"]
    kept = db.read_bytes()
    for unwritable in (db.parent, db):  # its folder alone (no -shm can be made), or the file alone
        with read_only(unwritable):
            with Index(db, methods=["dhash"]) as idx:
                assert idx.readonly and [(q, r) for q, r, _ in idx.query(outside, "dhash")] == want
    assert db.read_bytes() == kept
    with Index(db) as idx:  # (phash, the default, is registered by the update that stores it)
        stats = idx.update(folder)
        assert stats.completed == 6 and idx.stored_methods() == ["dhash", "phash"]


@pytest.mark.unit
def test_other_encoder_parameters_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    Index(db, methods=["phash"]).close()
    rewrite_identity(db, "phash", lambda identity: {**identity, "decode_min_side": 96})
    with pytest.raises(IndexMismatchError, match="other parameters"):
        Index(db, methods=["phash"])
    Index(db, methods=["dhash"]).close()  # another method is fine


@pytest.mark.unit
def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    Index(db).close()
    set_schema_version(db, 99)
    with pytest.raises(IndexMismatchError, match="newer"):
        Index(db)


WRITER = """
import sys
import imagetwins.index as ix
ix.BATCH = 8
with ix.Index(sys.argv[1], methods=["phash", "dihedral"]) as idx:
    idx.update(sys.argv[2], workers=1)
"""


def _count(db: Path) -> int:
    try:
        with Index(db, methods=[], readonly=True) as idx:
            return idx.stats()["files"]
    except IndexFileError:  # not made yet, or its schema not yet written
        return 0


@pytest.mark.integration
def test_kill_9_mid_update_then_resume(tmp_path: Path, datasets: Path) -> None:
    src = tmp_path / "many"
    src.mkdir()
    for p in sorted((datasets / "ukbench-600" / "images").glob("*.jpg"))[:300]:
        shutil.copy(p, src / p.name)  # copies: links out of the folder are not followed
    db = tmp_path / "crash.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(src)])
    deadline = time.time() + 60
    seen_while_writing = []
    while time.time() < deadline and _count(db) < 40:
        seen_while_writing.append(_count(db))  # a second process reads while the first writes
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _count(db)
    assert 40 <= partial < 300, partial
    with Index(db, methods=[], readonly=True) as idx:  # nothing half-written: each file kept with both methods
        # (a transaction holds a batch, or what was ready after encoding.ON_BATCH_SECONDS: not a multiple of 8)
        assert len(idx.load("phash")[0]) == len(idx.load("dihedral")[0]) == partial
    with Index(db, methods=["phash", "dihedral"]) as idx:
        assert idx.integrity_check() == "ok"
        resumed = idx.update(src)
        assert resumed.added == 300 - partial and resumed.unchanged == partial
        paths, hashes = idx.load("dihedral")
        assert len(paths) == 300 and hashes.shape == (300, 4)
        assert idx.integrity_check() == "ok"
    assert seen_while_writing == sorted(seen_while_writing)


@pytest.mark.cli
def test_cli_index_commands_and_find_cache(tmp_path: Path, collection: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "cli.db"
    res = runner.invoke(main, ["index", "update", str(collection), "-r", "--db", str(db), "-m", "phash"])
    assert res.exit_code == 0 and "42 added" in res.output and "1 unreadable (new" in res.output
    res = runner.invoke(main, ["index", "update", str(collection), "-r", "--db", str(db)])
    assert "42 unchanged, 1 unreadable (known before" in res.output
    res = runner.invoke(main, ["index", "query", str(collection / "small_copy.jpg"), "--db", str(db), "--json", "-"])
    # its original; the indexed small_copy.jpg is the query itself, not a duplicate of it
    assert res.exit_code == 0 and [m["path"] for q in __import__("json").loads(res.stdout)["matches"]
                                   for m in q["matches"]] == [str(collection.resolve() / "bsds_100075.jpg")]
    res = runner.invoke(main, ["index", "stats", "--db", str(db), "--json", "-"])
    assert '"files": 43' in res.output
    assert runner.invoke(main, ["index", "query", str(collection), "--db", str(tmp_path / "none.db")]).exit_code == 1
    # find keeps a cache by default and gives the same answer with and without it
    outs = [runner.invoke(main, ["find", str(collection), "-r", "-m", "phash", *extra]).output.splitlines()[-1]
            for extra in ([], [], ["--no-cache"])]
    assert len({o.split(" (")[0] for o in outs}) == 1 and "2 duplicate groups" in outs[0]


@pytest.mark.integration
def test_cnn_vectors_are_cached_too(tmp_path: Path, collection: Path, fake_cnn) -> None:
    db = tmp_path / "cnn.db"
    with Index(db, methods=["cnn", "phash"]) as idx:
        first = idx.update(collection)
        assert (first.added, first.unreadable) == (42, 1)
        assert idx.update(collection).unchanged == 42
        paths, vectors = idx.load("cnn")
        assert vectors.shape == (42, 14 * 14 * 3) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
        hits = idx.query(collection / "small_copy.jpg", "cnn")
        assert hits[0][1].endswith("bsds_100075.jpg")  # its original; the query itself is not its own duplicate
        assert all(m != str(collection / "small_copy.jpg") for _, m, _ in hits)
        cached = find_duplicate_groups(collection, method="cnn", recursive=True, cache=idx)
    fresh = find_duplicate_groups(collection, method="cnn", recursive=True)
    def canon(r):
        return sorted(sorted(os.path.normpath(f) for f in g.files) for g in r.groups)
    assert canon(cached) == canon(fresh) and len(fresh.groups) >= 2
    rewrite_identity(db, "cnn", lambda identity: {**identity, "orientations": 8})  # the fake has one
    with pytest.raises(IndexMismatchError):
        Index(db, methods=["cnn"])
