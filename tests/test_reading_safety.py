"""Reading safety (#23): damaged caches and indexes, a full disk, edits that keep size and mtime, stale and
half-built indexes, interrupted updates. Real photos copied into tmp_path; nothing is written under ../shared."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins import index as index_module
from imagetwins.cli import main
from imagetwins.index import Index, default_cache_path

pytestmark = pytest.mark.cli


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """10 real photos and a byte-identical copy of the first."""
    root = tmp_path / "album"
    root.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:10]
    for p in photos:
        shutil.copy(p, root / p.name)
    shutil.copy(photos[0], root / "copy_of_first.jpg")
    return root


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args))
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.output


def _groups(output: str) -> list[list[str]]:
    return [sorted(Path(f).name for f in g["files"]) for g in json.loads(output)["groups"]]


def _edit(db: Path, sql: str, *args) -> None:
    con = sqlite3.connect(db)
    con.execute(sql, args)
    con.commit()
    con.close()
    for q in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        q.unlink(missing_ok=True)


# -- 9: damaged caches ------------------------------------------------------------------------------------------
EDITS = {
    "schema_version text": ("UPDATE meta SET value='abc' WHERE key='schema_version'",),
    "schema_version huge": ("UPDATE meta SET value='99999999999999999999' WHERE key='schema_version'",),
    "1 MB hash blob": ("UPDATE encodings SET value=randomblob(1048576) WHERE file_id=1",),
    "3-byte hash blob": ("UPDATE encodings SET value=randomblob(3) WHERE file_id=2",),
    "1 MB digest": ("UPDATE files SET digest=randomblob(1048576) WHERE id=3",),
    "text size and mtime": ("UPDATE files SET size='x', mtime_ns='y' WHERE id=4",),
    "non-UTF-8 folder name": ("UPDATE dirs SET path=CAST(x'ff2f00' AS TEXT)",),
    "non-UTF-8 error": ("UPDATE files SET error=CAST(x'ff' AS TEXT) WHERE id=5",),
    "identity not JSON": ("UPDATE encoders SET identity='{{{'",),
    "table dropped": ("DROP TABLE encodings",),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_damaged_field_of_the_cache_is_made_again(album: Path, edit: str) -> None:
    code, out = _run("find", "-m", "phash", str(album), "--json", "-")
    assert code == 0
    want = _groups(out)
    assert want == [sorted([sorted(album.iterdir())[0].name, "copy_of_first.jpg"])]
    _edit(default_cache_path(album), *EDITS[edit])
    for _ in range(2):  # the run after the damage, and the one after that (the cache was made again)
        code, out = _run("find", "-m", "phash", str(album), "--json", "-")
        assert code == 0, out
        assert _groups(out[out.index("{"):]) == want


def test_a_damaged_explicit_index_read_only_is_one_line(album: Path, tmp_path: Path) -> None:
    db = tmp_path / "album.db"
    assert _run("index", "update", "-m", "phash", str(album), "--db", str(db))[0] == 0
    _edit(db, "UPDATE meta SET value='abc' WHERE key='schema_version'")
    code, out = _run("index", "query", "-m", "phash", str(album / "copy_of_first.jpg"), "--db", str(db))
    assert code == 1
    assert "damaged" in out and len(out.strip().splitlines()) == 1
    assert db.read_bytes()  # left as it is: not a cache


def test_odd_but_well_formed_copies_features_are_no_traceback(album: Path) -> None:
    pytest.importorskip("cv2")
    from imagetwins.verify import _HEADER, _MAGIC, FEATURES_VERSION

    code, out = _run("find", str(album), "-m", "copies", "--json", "-")
    assert code == 0
    want = _groups(out)
    db = default_cache_path(album)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT file_id, value FROM encodings WHERE method='copies'").fetchall()
    # descriptors 16 bytes wide, a 1x1 thumbnail, a 0x0 frame: each well formed (lengths add up), none made here
    for k, (fid, blob) in enumerate(rows[:6]):
        head = 36 + 4 * int.from_bytes(blob[32:36], "little")
        n, m = 3, 2
        d, th, tw, w, h = [(16, 8, 8, 320, 200), (32, 1, 1, 320, 200), (32, 8, 8, 0, 0)][k % 3]
        body = _HEADER.pack(_MAGIC, FEATURES_VERSION, w, h, n, m, d, th, tw, 0, 0, 0, 0, 0.0) + bytes(
            4 * n + d * n + 4 * m + d * m + th * tw)
        con.execute("UPDATE encodings SET value=? WHERE file_id=? AND method='copies'", (blob[:head] + body, fid))
    con.execute("DELETE FROM pair_scores")
    con.commit()
    con.close()
    code, out = _run("find", str(album), "-m", "copies", "--json", "-")
    assert code == 0
    assert _groups(out[out.index("{"):]) == want  # made again from the files: the copy is still found
    from imagetwins import verify
    from imagetwins.copies import _verify_or_none

    good = verify.extract(__import__("PIL.Image", fromlist=["Image"]).open(album / "copy_of_first.jpg").convert("RGB"))
    odd = verify.ImageFeatures(good.size, good.points, good.descriptors[:, :16].copy(), good.mirror_points,
                               good.mirror_descriptors[:, :16].copy(), good.thumbnail)
    with pytest.raises(ValueError):
        verify.ImageFeatures.from_bytes(odd.to_bytes())
    with pytest.warns(UserWarning, match="could not be verified"):
        assert _verify_or_none([odd], [good], 0, 0) is None  # features made by hand: not a copy, no traceback


def test_a_full_disk_goes_on_without_the_cache(album: Path, monkeypatch) -> None:
    """SQLite's own "database or disk is full" (SQLITE_FULL), made by ``PRAGMA max_page_count`` on the cache's
    connection: a real full-database error, not a patched exception."""
    pytest.importorskip("cv2")
    connect = Index._connect

    def small(self, create_folder):
        db = connect(self, create_folder)
        if not self.readonly:
            db.execute("PRAGMA max_page_count = 60")  # ~240 KB: a few copies records
        return db

    monkeypatch.setattr(Index, "_connect", small)
    code, out = _run("find", str(album), "-m", "copies", "--json", "-")
    assert code == 0, out
    assert "going on without the cache" in out and "disk is full" in out
    assert "cannot rollback" not in out
    assert _groups(out[out.index("{"):]) == [sorted([sorted(album.iterdir())[0].name, "copy_of_first.jpg"])]


# -- 11: edits that keep size and mtime --------------------------------------------------------------------------
def _edit_keeping_size_and_times(path: Path, other: Path) -> None:
    """Rewrite ``path`` in place with other bytes of the same size and put its times back (``exiftool -P``)."""
    st = path.stat()
    data = other.read_bytes()[: st.st_size].ljust(st.st_size, b"\0")
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_an_edit_keeping_size_and_mtime_is_seen_by_find_and_the_index(album: Path, tmp_path: Path) -> None:
    first = sorted(album.iterdir())[0]
    db = tmp_path / "album.db"
    assert _run("index", "update", "-m", "phash", str(album), "--db", str(db))[0] == 0
    code, out = _run("find", "-m", "phash", str(album), "--json", "-")
    assert _groups(out) == [sorted([first.name, "copy_of_first.jpg"])]
    # the copy now holds a photo of its own (a same-size prefix of another file: still decodes as a JPEG)
    donor = sorted(album.iterdir())[5]
    _edit_keeping_size_and_times(album / "copy_of_first.jpg", donor)
    code, out = _run("find", "-m", "phash", str(album), "--json", "-")
    assert code == 0
    assert [sorted([first.name, "copy_of_first.jpg"])] != _groups(out)  # no longer "byte-identical"
    # the index: a query warns that it is older than its folder, and an update sees the change
    code, out = _run("index", "query", "-m", "phash", str(first), "--db", str(db))
    assert "older than its folder: 1 changed" in out
    code, out = _run("index", "update", "-m", "phash", str(album), "--db", str(db))
    assert "0 added, 1 changed" in out
    code, out = _run("index", "query", "-m", "phash", str(first), "--db", str(db))
    assert "older than its folder" not in out
    assert "copy_of_first.jpg" not in out.split("match")[0]


def test_a_file_replaced_by_another_inode_with_the_same_size_and_times(album: Path) -> None:
    """``mv`` of a new file over an old one, times copied (``cp -p``, ``rsync -t``): a new inode."""
    first = sorted(album.iterdir())[0]
    pair = [sorted([first.name, "copy_of_first.jpg"])]
    assert _groups(_run("find", "-m", "phash", str(album), "--json", "-")[1]) == pair
    target = album / "copy_of_first.jpg"
    st = target.stat()
    new = album / ".incoming"
    new.write_bytes(sorted(album.iterdir())[6].read_bytes()[: st.st_size].ljust(st.st_size, b"\0"))
    os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(new, target)
    assert _groups(_run("find", "-m", "phash", str(album), "--json", "-")[1]) != pair


def test_a_cache_made_before_ctime_and_inode_were_kept_still_opens(album: Path) -> None:
    _run("find", "-m", "phash", str(album))
    db = default_cache_path(album)
    _edit(db, "UPDATE files SET ctime_ns=NULL, inode=NULL")
    code, out = _run("find", "-m", "phash", str(album), "--json", "-")
    assert code == 0 and len(_groups(out)) == 1
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM files WHERE ctime_ns IS NULL").fetchone()[0] == 0  # recorded now
    con.close()


# -- 12: stale and half-built indexes ----------------------------------------------------------------------------
def test_query_says_when_the_index_is_older_than_its_folder(album: Path, tmp_path: Path) -> None:
    db = tmp_path / "album.db"
    _run("index", "update", "-m", "phash", str(album), "--db", str(db))
    first = sorted(album.iterdir())[0]
    (album / "copy_of_first.jpg").unlink()
    shutil.copy(sorted(album.iterdir())[3], album / "new_copy.jpg")
    code, out = _run("index", "query", "-m", "phash", str(first), "--db", str(db))
    assert code == 0
    [line] = [x for x in out.splitlines() if "older than its folder" in x]
    assert "1 deleted, 1 added" in line and f"imagetwins index update {album.resolve()} --db {db}" in line
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(first, other / "q.jpg")
    code, out = _run("find", "-m", "phash", str(other), "--against", str(db))
    assert "older than its folder" in out
    _run("index", "update", "-m", "phash", str(album), "--db", str(db))
    assert "older than" not in _run("index", "query", "-m", "phash", str(first), "--db", str(db))[1]


def test_an_interrupted_update_keeps_its_work_and_query_says_half_built(album: Path, tmp_path: Path,
                                                                        monkeypatch) -> None:
    """Ctrl-C in the middle of ``index update`` (KeyboardInterrupt raised on a decoding thread after 4 files): the
    batches done are kept, the query warns, and the next update encodes only the rest."""
    from imagetwins import encoding

    monkeypatch.setattr(index_module, "STORE_BATCH", 4)
    db = tmp_path / "album.db"
    load = encoding._load
    seen = []

    def interrupted(path, *args, **kwargs):
        seen.append(path)
        if len(seen) > 6:
            raise KeyboardInterrupt
        return load(path, *args, **kwargs)

    monkeypatch.setattr(encoding, "_load", interrupted)
    with Index(db, methods=["phash"]) as idx, pytest.raises(KeyboardInterrupt):
        idx.update(album, workers=1)
    monkeypatch.setattr(encoding, "_load", load)
    with Index(db, methods=[], readonly=True) as idx:
        kept = idx.db.execute("SELECT count(*) FROM encodings").fetchone()[0]
        assert 1 <= kept < 11
        [line] = idx.health("phash")
        # (Index.update takes sub-folders by default: the fix says -r, as the CLI needs it)
        assert "half-built" in line and f"imagetwins index update {album.resolve()} -r --db {db}" in line
    code, out = _run("index", "query", "-m", "phash", str(album / "copy_of_first.jpg"), "--db", str(db))
    assert "half-built" in out
    code, out = _run("index", "update", "-m", "phash", str(album), "--db", str(db))
    assert f"{11 - kept} added" in out
    again = _run("index", "query", "-m", "phash", str(album / "copy_of_first.jpg"), "--db", str(db))[1]
    assert "half-built" not in again


# -- 7 and 14: Ctrl-C ----------------------------------------------------------------------------------------------
def _interrupt(args: list[str], after: float, cache: Path, ready=None) -> tuple[int, str]:
    """Run the real command in its own process group and press Ctrl-C (SIGINT to the group, as a terminal does)
    ``after`` seconds, or once ``ready()`` says so."""
    import signal
    import subprocess
    import sys
    import time

    src = str(Path(index_module.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src, "XDG_CACHE_HOME": str(cache)}
    proc = subprocess.Popen([sys.executable, "-m", "imagetwins", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(after)
    while ready is not None and proc.poll() is None and not ready():
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, (out + err).decode()


def test_ctrl_c_during_find_copies_is_exit_130_and_one_line(tmp_path: Path, datasets: Path) -> None:
    """It aborted with "FATAL: exception not rethrown" (exit 134) in 2 of 5 tries, or printed "Aborted!" (exit 1)."""
    pytest.importorskip("cv2")
    photos = tmp_path / "photos"
    photos.mkdir()
    for p in sorted((datasets / "camera-photos" / "images").glob("*.jpg"))[:16]:
        shutil.copy(p, photos / p.name)
    for k, after in enumerate((0.3, 2.5, 5.0)):  # starting up, loading the model, encoding on threads
        code, out = _interrupt(["find", str(photos), "-m", "copies", "-q"], after, tmp_path / f"cache{k}")
        if code == 0:
            continue  # done before the interruption (a fast machine)
        assert code == 130, (after, code, out)
        lines = out.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("interrupted (Ctrl-C)") and "file was changed" in out, out
    assert sorted(p.name for p in photos.iterdir()) == sorted(
        p.name for p in sorted((datasets / "camera-photos" / "images").glob("*.jpg"))[:16])


def test_ctrl_c_during_index_update_keeps_the_work_done(tmp_path: Path, datasets: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for p in sorted((datasets / "ukbench-600" / "images").glob("*.jpg"))[:400]:
        shutil.copy(p, photos / p.name)
    db = tmp_path / "photos.db"
    def some_stored() -> bool:
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                return con.execute("SELECT count(*) FROM files").fetchone()[0] > 0
            finally:
                con.close()
        except sqlite3.Error:
            return False

    code, out = _interrupt(["index", "update", "-m", "phash", str(photos), "--db", str(db), "-j", "1"], 0.5,
                           tmp_path / "cache", ready=some_stored)
    if code == 0:
        pytest.skip("the update ended before the interruption")
    assert code == 130, out
    [line] = out.strip().splitlines()
    assert line.startswith("interrupted (Ctrl-C): ") and f"'imagetwins index update {photos} --db {db}'" in line
    said = int(line.split(": ")[1].split()[0].replace(",", ""))
    with Index(db, methods=[], readonly=True) as idx:
        kept = idx.db.execute("SELECT count(*) FROM files").fetchone()[0]
        assert kept == said and kept > 0
        assert "half-built" in idx.health("phash")[0]
    code, out = _run("index", "update", "-m", "phash", str(photos), "--db", str(db))
    assert f"{400 - kept} added" in out


# -- 10: paths a person names for reading --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "too_large"])
def test_files_named_for_reading_are_regular_files_within_a_limit(album: Path, tmp_path: Path, kind: str,
                                                                  monkeypatch) -> None:
    from imagetwins import io as iio

    if kind == "fifo":
        named = tmp_path / "plan.json"
        os.mkfifo(named)  # nobody ever writes to it: reading it would wait for ever
        want = "a FIFO (named pipe), not a regular file"
    elif kind == "dev_zero":
        named = tmp_path / "plan.json"
        named.symlink_to("/dev/zero")  # endless: reading it filled memory (MemoryError)
        want = "a device, not a regular file"
    else:
        named = tmp_path / "plan.json"
        with open(named, "wb") as fh:
            fh.truncate(3 << 20)
        monkeypatch.setattr(iio, "DEFAULT_MAX_USER_FILE_BYTES", 1 << 20)
        monkeypatch.setattr(iio.read_user_file, "__defaults__", (1 << 20,))
        from imagetwins import plan

        monkeypatch.setattr(plan, "PLAN_MAX_BYTES", 1 << 20)  # (a plan's own limit: plan.read_plan)
        from imagetwins import decisions, evaluation

        monkeypatch.setattr(evaluation, "TRUTH_MAX_BYTES", 1 << 20)  # (and a ground truth's, an export's)
        monkeypatch.setattr(decisions, "EXPORT_MAX_BYTES", 1 << 20)
        want = "file too large"
    for args in (["remove", str(album), "--plan", str(named)], ["tune", str(album), "--truth", str(named)],
                 ["decisions", "import", str(named), "--db", str(tmp_path / "decisions.db")]):
        code, out = _run(*args)
        assert code != 0 and want in out, (args, out)
        assert len([x for x in out.strip().splitlines() if x.startswith("Error")]) == 1


@pytest.mark.parametrize("target", ["/dev/full", "fifo"])
def test_explain_picture_to_a_full_device_or_a_fifo_is_one_line(album: Path, tmp_path: Path, target: str) -> None:
    if target == "fifo":
        target = str(tmp_path / "pic.png")
        os.mkfifo(target)
    first = sorted(album.iterdir())[0]
    code, out = _run("explain", str(first), str(album / "copy_of_first.jpg"), "-m", "copies", "-p", target)
    assert code == 1 and "cannot write" in out and target in out  # (a FIFO: refused before the work, said so)
    assert [x for x in out.splitlines() if x.startswith("Error")] == [out.strip().splitlines()[-1]]


def test_a_keeper_shared_by_many_groups_of_a_plan_is_read_once(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    """A plan of 300 groups that all keep one file (hand-made, or a folder of near-copies of one photo): its SHA-256
    was taken once per group (2,000 groups of a 20 MB keeper: 44-62 s); now once per check."""
    from imagetwins import plan as plan_module

    root = tmp_path / "shop"
    root.mkdir()
    keeper = root / "master.jpg"
    shutil.copy(sorted((datasets / "camera-photos" / "images").glob("*.jpg"))[0], keeper)
    digest = __import__("hashlib").sha256(keeper.read_bytes()).hexdigest()
    small = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    groups = []
    for k in range(300):
        copy = root / f"thumb_{k:03d}.jpg"
        shutil.copy(small, copy)
        groups.append({"files": [str(keeper), str(copy)], "keep": str(keeper),
                       "sha256": {str(keeper): digest, str(copy): __import__("hashlib").sha256(
                           copy.read_bytes()).hexdigest()}})
    doc = {"imagetwins_plan": plan_module.PLAN_VERSION, "root": str(root.resolve()), "groups": groups}
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(doc))
    read = []
    real = plan_module._sha256
    monkeypatch.setattr(plan_module, "_sha256", lambda p: read.append(p) or real(p))
    _root, planned = plan_module.load_plan(plan_file, folder=root)
    checked = plan_module.check_plan(root, planned)
    assert len(checked.moves) == 300 and not checked.refused
    assert read.count(str(keeper)) == 1 and len(read) == 301
    # and a keeper changed between two groups' checks is read again (the cache is by size, times and inode)
    read.clear()
    state = plan_module._sha256_once
    hashed: dict = {}
    state(str(keeper), hashed)
    _edit_keeping_size_and_times(keeper, small)
    state(str(keeper), hashed)
    assert read.count(str(keeper)) == 2


# -- 16: ONNX Runtime's device id ------------------------------------------------------------------------------------
def test_onnx_runtime_writes_nothing_under_the_users_cache_folder(album: Path, tmp_path: Path) -> None:
    """onnxruntime's telemetry client wrote Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} there
    on import; imagetwins imports it with ORT_DISABLE_TELEMETRY=1."""
    import subprocess
    import sys

    cache = tmp_path / "user-cache"
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(PYTHONPATH=str(Path(index_module.__file__).parents[1]), XDG_CACHE_HOME=str(cache),
               HOME=str(tmp_path / "home"))
    run = subprocess.run([sys.executable, "-m", "imagetwins", "find", str(album), "-m", "cnn", "--no-cache", "-q"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
                     and not p.is_relative_to(album))
    assert not [w for w in written if "onnxruntime" in w.lower() or "Microsoft" in w], written
