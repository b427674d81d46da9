"""The checks of a long verification in worker processes (``copies._verify_in_processes``, issue #25): the very
confidences of the threads, the threads where processes are not worth it, and one line, not a hang, when a process
cannot start or ends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest
from conftest import assert_damaged_rows_named, damaged_feature_rows, synthetic_photo
from PIL import ImageOps

from imagetwins import copies, edits, timing, verify, verify_processes

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def rows() -> list:
    """Records of photos, their copies (a crop, a mirror, a smaller one, a tilt) and others: a record whose features
    are in the spill file (bytes), one holding them in memory, bare features."""
    photos = [synthetic_photo(240, 180, seed=s) for s in range(5)]
    rng = np.random.default_rng(3)
    pictures = photos + [edits.EDITS["crop_half"](photos[0], rng), ImageOps.mirror(photos[1]),
                         photos[2].resize((160, 120)), edits.EDITS["small_rotation"](photos[3], rng)]
    features = [verify.extract(p) for p in pictures]
    out: list = [copies.CopyRecord.spilled(np.zeros(4, np.uint64), np.zeros(8, np.float32), f.to_bytes())
                 for f in features[:-2]]
    out.append(copies.CopyRecord(np.zeros(4, np.uint64), np.zeros(8, np.float32), features[-2]))
    out.append(features[-1])
    return out


def _all_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    left, right = np.triu_indices(n, 1)
    return left.astype(np.int64), right.astype(np.int64)


def _threads(rows, left, right) -> np.ndarray:
    """The threads' confidences with their marks, as a store keeps them (what the processes answer too)."""
    return np.array([v.kept for v in copies.verify_pairs(rows, rows, left, right, workers=2,
                                                         confidence_only=True)])


@pytest.fixture
def in_processes(monkeypatch):
    """Processes from the first pair, a few pairs a batch, scores kept a chunk at a time."""
    monkeypatch.setattr(copies, "PROCESS_PAIRS", 1)
    monkeypatch.setattr(copies, "PROCESS_BATCH", 4)
    monkeypatch.setattr(copies, "VERIFY_CHUNK", 10)


class Bar:
    """A caller's progress bar: counts the pairs it is advanced by."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n


def test_processes_give_the_very_confidences_of_the_threads(rows, in_processes) -> None:
    left, right = _all_pairs(len(rows))
    kept: list = []

    def done(span, scores) -> None:
        kept.append((np.arange(len(left))[span], scores.copy()))

    bar = Bar()
    got = copies._verified_confidences(rows, rows, left, right, workers=2, progress=bar, done=done)
    want = _threads(rows, left, right)
    assert got.tolist() == want.tolist()  # the same floats, every one
    assert (want >= verify.DEFAULT_CONFIDENCE).sum() >= 3 and (want < 0.5).sum() >= 20  # copies and others
    assert bar.n == len(left)
    done = np.concatenate([k for k, _ in kept])
    assert sorted(done.tolist()) == list(range(len(left)))  # each pair's score kept once
    assert all(s.tolist() == want[k].tolist() for k, s in kept)
    assert not verify_processes._live  # every process ended and waited for


def test_few_pairs_or_one_cpu_are_checked_in_this_process(rows, monkeypatch) -> None:
    def no_process(*args, **kwargs):
        pytest.fail("a worker process was started", pytrace=False)

    monkeypatch.setattr(verify_processes, "Worker", no_process)
    left, right = _all_pairs(len(rows))
    want = _threads(rows, left, right)
    assert copies._verified_confidences(rows, rows, left, right, workers=2).tolist() == want.tolist()  # < 2,000
    monkeypatch.setattr(copies, "PROCESS_PAIRS", 1)
    assert copies._verified_confidences(rows, rows, left, right, workers=1).tolist() == want.tolist()
    assert copies._processes_for(10**6, 1) == 0
    assert copies._processes_for(copies.PROCESS_PAIRS - 1, None) == 0 or copies.PROCESS_PAIRS <= 1


def _child(monkeypatch, code: str) -> None:
    monkeypatch.setattr(verify_processes, "_child_code", lambda: code)


def test_a_process_that_cannot_start_is_one_line_and_the_checks_go_on_here(rows, in_processes, monkeypatch) -> None:
    _child(monkeypatch, "import sys; sys.exit(3)")
    left, right = _all_pairs(len(rows))
    with pytest.warns(UserWarning) as caught:
        got = copies._verified_confidences(rows, rows, left, right, workers=2)
    assert got.tolist() == _threads(rows, left, right).tolist()
    lines = [str(w.message) for w in caught]
    assert lines == ["copies: a verification process ended (exit code 3); verifying in this process instead"]
    assert not verify_processes._live


def test_a_process_that_dies_while_checking_is_one_line_not_a_hang(rows, in_processes, monkeypatch) -> None:
    # ready, answers its first batch, then killed by a signal at its second
    root = verify_processes._PACKAGE_ROOT
    _child(monkeypatch, f"import os, sys; sys.path.insert(0, {root!r}); import imagetwins._verify_worker as w; "
                        "answer, calls = w._answer, []\n"
                        "def dying(rows, pairs):\n"
                        "    calls.append(1)\n"
                        "    if len(calls) > 1: os.kill(os.getpid(), 9)\n"
                        "    return answer(rows, pairs)\n"
                        "w._answer = dying; w.serve()")
    left, right = _all_pairs(len(rows))
    with pytest.warns(UserWarning) as caught:
        got = copies._verified_confidences(rows, rows, left, right, workers=2)
    assert got.tolist() == _threads(rows, left, right).tolist()
    lines = [str(w.message) for w in caught]
    assert len(lines) == 1 and lines[0].startswith("copies: a verification process ended (SIGKILL); verifying the ")
    assert lines[0].endswith(" pairs left in this process")
    assert not verify_processes._live


def test_damaged_features_are_named_as_in_threads(tmp_path, in_processes) -> None:
    a, b, c = (str(tmp_path / n) for n in ("a.jpg", "b.jpg", "c.jpg"))
    rows = damaged_feature_rows()
    with pytest.warns(UserWarning) as caught, copies.naming([a, b, c]):
        got = copies._verified_confidences(rows, rows, np.array([0, 1, 0]), np.array([1, 2, 2]), workers=2)
    assert np.isnan(got).all()
    assert_damaged_rows_named([str(w.message) for w in caught], a, b, c)


def test_a_stage_counts_the_cpu_of_the_processes_it_waited_for() -> None:
    with timing.Timings() as t, timing.stage("verify"):
        subprocess.run([sys.executable, "-c", "import time\nt = time.process_time()\n"
                        "while time.process_time() - t < 0.4: pass"], check=True)
    assert t.cpu["verify"] >= 0.35


def test_a_process_that_never_says_it_is_ready_is_stopped_after_the_time_limit(rows, in_processes, monkeypatch) -> None:
    _child(monkeypatch, "import time; time.sleep(60)")
    monkeypatch.setattr(verify_processes, "START_TIMEOUT", 0.5)
    left, right = _all_pairs(len(rows))
    with pytest.warns(UserWarning) as caught:
        got = copies._verified_confidences(rows, rows, left, right, workers=2)
    assert got.tolist() == _threads(rows, left, right).tolist()
    assert [str(w.message) for w in caught] == [
        "copies: a verification process did not start within 0.5 s; verifying in this process instead"]
    assert not verify_processes._live


def test_a_row_named_in_several_batches_is_read_from_its_store_once(rows, in_processes, monkeypatch) -> None:
    """Each batch names its rows' bytes; a row of an index was read from the index file again for every batch naming
    it (~0.15-0.4 ms a read, most of the feeding): now once, later batches read it back from a scratch file. The
    very confidences of the threads."""
    left, right = _all_pairs(len(rows))
    reads: list[int] = []
    payload = copies._payload

    def counted(x):
        reads.append(id(x))
        return payload(x)

    monkeypatch.setattr(copies, "_payload", counted)
    got = copies._verified_confidences(rows, rows, left, right, workers=2)
    assert got.tolist() == _threads(rows, left, right).tolist()
    stored = {id(r) for r in rows if isinstance(r, copies.CopyRecord) and not r.in_memory}
    order = copies.cache_order(left, right)
    batches = [order[k:k + copies.PROCESS_BATCH] for k in range(0, len(order), copies.PROCESS_BATCH)]
    named = Counter(i for b in batches for i in set(left[b].tolist()) | set(right[b].tolist()))
    assert any(named[i] >= 2 for i, r in enumerate(rows) if id(r) in stored)  # (what is tested)
    assert all(reads.count(s) == 1 for s in stored)


def test_without_room_for_the_scratch_file_each_batch_reads_its_rows_again(rows, in_processes, monkeypatch) -> None:
    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(copies, "SpillFile", no_room)
    left, right = _all_pairs(len(rows))
    got = copies._verified_confidences(rows, rows, left, right, workers=2)
    assert got.tolist() == _threads(rows, left, right).tolist()


def test_rows_are_kept_for_their_next_batches_up_to_a_size(rows, in_processes, monkeypatch) -> None:
    """A first find names nearly every row again: the scratch file stops at ROWS_KEPT_BYTES (the rest are read from
    their store again), the same confidences."""
    monkeypatch.setattr(copies, "ROWS_KEPT_BYTES", 1)
    reads: list[int] = []
    payload = copies._payload
    monkeypatch.setattr(copies, "_payload", lambda x: reads.append(id(x)) or payload(x))
    left, right = _all_pairs(len(rows))
    got = copies._verified_confidences(rows, rows, left, right, workers=2)
    assert got.tolist() == _threads(rows, left, right).tolist()
    stored = [id(r) for r in rows if isinstance(r, copies.CopyRecord) and not r.in_memory]
    assert sum(reads.count(s) > 1 for s in stored) >= len(stored) - 1  # one row kept, the others read again


def test_a_query_against_other_rows_reads_each_row_once_too(rows, in_processes, monkeypatch) -> None:
    """A query (two sets of rows, the same row objects on both sides here): each side's row is its own, read once."""
    queries, database = list(rows[:6]), list(rows[3:])
    left, right = (x.ravel() for x in np.meshgrid(np.arange(len(queries)), np.arange(len(database)), indexing="ij"))
    reads: list[int] = []
    payload = copies._payload
    monkeypatch.setattr(copies, "_payload", lambda x: reads.append(id(x)) or payload(x))
    got = copies._verified_confidences(queries, database, left, right, workers=2)
    want = [v.kept for v in copies.verify_pairs(queries, database, left, right, workers=2, confidence_only=True)]
    assert got.tolist() == want
    stored = {id(r) for r in rows if isinstance(r, copies.CopyRecord) and not r.in_memory}
    # (rows 3-5 are on both sides: read once as a query and once as a database row)
    assert all(reads.count(s) == (2 if any(s == id(r) for r in rows[3:6]) else 1) for s in stored)


@pytest.fixture
def forked(monkeypatch):
    """A short verification shared with a forked copy of this process from the first pair."""
    if not copies._forks_for(copies.PROCESS_PAIRS - 1, 2):
        pytest.skip("no fork here (not Linux)")
    monkeypatch.setattr(copies, "FORK_PAIRS", 1)
    forks: list[int] = []
    fork = copies._fork_quietly

    def counted() -> int:
        pid = fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(copies, "_fork_quietly", counted)
    monkeypatch.setattr(verify_processes, "Worker", lambda: pytest.fail("a worker process was started"))
    return forks


def _reaped(pids: list[int]) -> bool:
    """Whether every one of ``pids`` was waited for (none left a zombie)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


def test_a_short_verification_shared_with_a_fork_gives_the_very_confidences(rows, forked, monkeypatch) -> None:
    left, right = _all_pairs(len(rows))
    kept: list = []

    bar = Bar()
    got = copies._verified_confidences(rows, rows, left, right, workers=2, progress=bar,
                                       done=lambda span, scores: kept.append((span, scores.copy())))
    want = _threads(rows, left, right)
    assert got.tolist() == want.tolist()  # the same floats, every one
    assert (want >= verify.DEFAULT_CONFIDENCE).sum() >= 3 and (want < 0.5).sum() >= 20  # copies and others
    assert len(forked) == 1 and _reaped(forked)
    assert bar.n == len(left)
    # too many rows to hold: checked as before, no fork
    monkeypatch.setattr(copies, "FORK_ROWS", len(rows) - 1)
    assert copies._verified_confidences(rows, rows, left, right, workers=2).tolist() == want.tolist()
    assert len(forked) == 1
    assert len(kept) == 1 and kept[0][1].tolist() == want.tolist()  # each pair's score kept once
    # one CPU, too few pairs, or enough for worker processes: no fork
    assert not copies._forks_for(10**3, 1) and not copies._forks_for(0, 2)
    assert not copies._forks_for(copies.PROCESS_PAIRS, 2)


def _in_the_child(monkeypatch, what) -> None:
    """The forked child's checks replaced by ``what()`` (this process checks its half as before)."""
    answer, parent = copies.request_answers, os.getpid()
    monkeypatch.setattr(copies, "request_answers",
                        lambda rows, pairs, *looks: answer(rows, pairs, *looks) if os.getpid() == parent else what())


def test_a_fork_that_dies_or_hangs_leaves_its_pairs_to_this_process(rows, forked, monkeypatch) -> None:
    left, right = _all_pairs(len(rows))
    want = _threads(rows, left, right)
    _in_the_child(monkeypatch, lambda: os.kill(os.getpid(), 9))
    assert copies._verified_confidences(rows, rows, left, right, workers=2).tolist() == want.tolist()
    _in_the_child(monkeypatch, lambda: ["garbled"][5])  # (an exception: exit code 1)
    assert copies._verified_confidences(rows, rows, left, right, workers=2).tolist() == want.tolist()
    _in_the_child(monkeypatch, lambda: time.sleep(60))
    monkeypatch.setattr(copies, "FORK_GRACE", 0.5)
    began = time.monotonic()
    assert copies._verified_confidences(rows, rows, left, right, workers=2).tolist() == want.tolist()
    assert time.monotonic() - began < 30
    assert len(forked) == 3 and _reaped(forked)


def test_the_fork_finds_every_order_key_made_as_this_process_makes_it(forked, monkeypatch, tmp_path) -> None:
    """Each row's order keys, its features' and its picture cut from a canvas's (the alternate), are made here before
    the fork, once for both halves: the child finds them made, equal to the keys of the same features made afresh."""
    import pickle

    photos = [synthetic_photo(240, 180, seed=s) for s in range(10, 14)]
    whole = [verify.extract(p) for p in photos]
    cut = [verify.extract(p.crop((30, 20, 210, 160))) for p in photos[:2]]
    z4, z8 = np.zeros(4, np.uint64), np.zeros(8, np.float32)
    rows = [copies.CopyRecord.spilled(z4, z8, whole[0].to_bytes(), (z4, z8, cut[0].to_bytes())),  # bytes, parsed
            copies.CopyRecord(z4, z8, whole[1], (z4, z8, cut[1])),  # held in memory
            copies.CopyRecord.spilled(z4, z8, whole[2].to_bytes()), whole[3]]  # no alternate; bare features
    seen = tmp_path / "keys"
    answer, parent = copies.request_answers, os.getpid()

    def told(sent: list, pairs: list, *looks) -> list:
        if os.getpid() != parent:  # the child: the keys it finds before it checks anything
            held = [f for r in sent for f in ((r,) if isinstance(r, verify.ImageFeatures) else
                                              (r._features, r._alt_features)) if f is not None]
            seen.write_bytes(pickle.dumps([(f._order_key, f.to_bytes()) for f in held]))
        return answer(sent, pairs, *looks)

    monkeypatch.setattr(copies, "request_answers", told)
    left, right = _all_pairs(len(rows))
    got = copies._verified_confidences(rows, rows, left, right, workers=2)
    assert len(forked) == 1 and _reaped(forked)
    keys = pickle.loads(seen.read_bytes())
    assert len(keys) == len(whole) + len(cut)
    assert all(key is not None for key, _ in keys)  # made before the fork, the alternates' too
    assert [key for key, _ in keys] == [verify.order_key(verify.ImageFeatures.from_bytes(raw)) for _, raw in keys]
    assert {key for key, _ in keys} == {verify.order_key(f) for f in whole + cut}
    assert got.tolist() == _threads(rows, left, right).tolist()  # the same answers


def test_a_fork_is_stopped_when_this_process_stops(rows, forked, monkeypatch) -> None:
    parent = os.getpid()

    def stopped(rows, pairs, *looks):
        if os.getpid() == parent:
            raise KeyboardInterrupt
        time.sleep(60)

    monkeypatch.setattr(copies, "request_answers", stopped)
    left, right = _all_pairs(len(rows))
    with pytest.raises(KeyboardInterrupt):
        copies._verified_confidences(rows, rows, left, right, workers=2)
    assert len(forked) == 1 and _reaped(forked)


def test_damaged_features_are_named_as_in_threads_when_forked(tmp_path, forked) -> None:
    a, b, c = (str(tmp_path / n) for n in ("a.jpg", "b.jpg", "c.jpg"))
    rows = damaged_feature_rows()
    with pytest.warns(UserWarning) as caught, copies.naming([a, b, c]):
        got = copies._verified_confidences(rows, rows, np.array([0, 1, 0]), np.array([1, 2, 2]), workers=2)
    assert np.isnan(got).all() and len(forked) == 1
    assert_damaged_rows_named([str(w.message) for w in caught], a, b, c)


def test_a_fork_reaped_by_someone_else_still_answers(rows, forked) -> None:
    """A program that ignores SIGCHLD (its children reaped by the kernel) or reaps every child itself leaves no
    child to wait for: the answers piped back whole are taken, no ChildProcessError reaches the caller."""
    import signal

    left, right = _all_pairs(len(rows))
    want = _threads(rows, left, right)
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        got = copies._verified_confidences(rows, rows, left, right, workers=2)
    finally:
        signal.signal(signal.SIGCHLD, before)
    assert got.tolist() == want.tolist() and len(forked) == 1


def test_a_fork_leaves_a_program_s_own_frozen_objects_frozen(rows, forked) -> None:
    """A pre-fork server freezes its objects (gc.freeze) so that its workers' collections copy no shared page: a
    verification's fork freezes and unfreezes only where nothing was frozen before, never unfreezing the program's."""
    import gc

    left, right = _all_pairs(len(rows))
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        copies._verified_confidences(rows, rows, left, right, workers=2)
        assert gc.get_freeze_count() > frozen // 2  # (less those freed meanwhile: was 0)
    finally:
        gc.unfreeze()
    copies._verified_confidences(rows, rows, left, right, workers=2)
    assert gc.get_freeze_count() == 0 and len(forked) == 2


_PARENT_KILLED = """
import os, signal, sys, time
import numpy as np
from PIL import Image
from imagetwins import copies, verify

rng = np.random.default_rng(0)
rows = [verify.extract(Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))) for _ in range(4)]
copies.FORK_PAIRS = 1
parent, fork = os.getpid(), copies._fork_quietly

def counted():
    pid = fork()
    if pid:
        print(pid, flush=True)
    return pid

def answer(rows, pairs, *looks):  # this process killed during its half; the child stuck in its own (a check in C code)
    if os.getpid() == parent:
        time.sleep(0.5)
        os.kill(parent, signal.SIGKILL)
    time.sleep(120)

copies._fork_quietly, copies.request_answers = counted, answer
left, right = np.triu_indices(4, 1)
copies._verified_confidences(rows, rows, left.astype(np.int64), right.astype(np.int64), workers=2)
"""


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie no one reaped yet counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_a_fork_ends_when_this_process_is_killed(forked, tmp_path) -> None:
    """A verification killed with -9 stops nobody: a child stuck in a check (in C code, in a hostile file's
    features) would hold a core for ever; it ends within seconds of its parent, as a worker process does."""
    import signal

    out = tmp_path / "out"
    with open(out, "w") as f:  # (a file: a pipe would be held open by the child)
        run = subprocess.run([sys.executable, "-c", _PARENT_KILLED], stdout=f, stderr=subprocess.STDOUT,
                             timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert run.returncode == -signal.SIGKILL, out.read_text()
    child = int(out.read_text().split()[0])
    try:
        deadline = time.monotonic() + 10
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child)
    finally:
        if not _gone(child):
            os.kill(child, signal.SIGKILL)
