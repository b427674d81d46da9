"""Our worker processes (LibRaw's, the verification's: fresh ``python -c`` interpreters) against a hostile current
folder and a hostile or broken process on the other end of the pipe (the attack pass on the newest code)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import ImageOps

from imagetwins import copies, edits, raw, verify, verify_processes

pytestmark = pytest.mark.unit


@pytest.fixture
def no_frozen_stdlib(tmp_path: Path, monkeypatch) -> Path:
    """``sys.executable`` as an interpreter that imports the standard library from its files, not from the modules
    frozen into it: what Python 3.10 does for every module but a few (3.11+ freezes runpy, a debug build does not)."""
    wrapper = tmp_path / "python-unfrozen"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable!r} -X frozen_modules=off "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(wrapper))
    return wrapper


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script as the interpreter")
def test_the_raw_worker_imports_nothing_from_the_current_folder_before_it_leaves_it(
        tmp_path: Path, monkeypatch, no_frozen_stdlib: Path) -> None:
    """`find` run from inside a folder holding a ``runpy.py``: the LibRaw worker's ``python -c`` imported runpy with
    the current folder still first on its path, so that file ran (on Python 3.10: foreign code run by `find`)."""
    pytest.importorskip("rawpy")
    trap = tmp_path / "photos"
    trap.mkdir()
    ran = tmp_path / "ran"
    for name in ("runpy", "rawpy", "numpy", "pickle", "struct", "signal"):
        (trap / f"{name}.py").write_text(f"open({str(ran)!r}, 'a').write({name!r} + '\\n')\n")
    monkeypatch.chdir(trap)
    raw.stop_workers()
    try:
        with pytest.raises(raw.RawDecodeError, match="cannot decode this RAW file"):
            raw.raw_size(b"II*\0 not a raw file at all")
    finally:
        raw.stop_workers()
    assert not ran.exists(), ran.read_text()


def _pairs_checked_within(seconds: float, rows, left, right) -> np.ndarray:
    """The processes' confidences of the pairs, or a failure if they do not come within ``seconds`` (the processes
    are then killed, so that the test ends)."""
    got: list = []
    caught: list = []

    def run() -> None:
        try:
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always")
                got.append(copies._verified_confidences(rows, rows, left, right, workers=2))
            caught.extend(str(w.message) for w in said)
        except BaseException as exc:  # noqa: BLE001 (said by the test)
            got.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        verify_processes.stop_workers()
        t.join(30)
        pytest.fail(f"the verification hung (over {seconds:g} s)")
    if isinstance(got[0], BaseException):
        raise got[0]
    return got[0], caught


@pytest.fixture(scope="module")
def rows() -> list:
    """Features of photos and their copies (a crop, a mirror, a smaller one), as the spill file holds them."""
    photos = [synthetic_photo(240, 180, seed=s) for s in range(4)]
    rng = np.random.default_rng(3)
    pictures = photos + [edits.EDITS["crop_half"](photos[0], rng), ImageOps.mirror(photos[1]),
                         photos[2].resize((160, 120))]
    return [copies.CopyRecord.spilled(np.zeros(4, np.uint64), np.zeros(8, np.float32), verify.extract(p).to_bytes())
            for p in pictures]


@pytest.fixture
def in_processes(monkeypatch):
    monkeypatch.setattr(copies, "PROCESS_PAIRS", 1)
    monkeypatch.setattr(copies, "PROCESS_BATCH", 4)


def _checked_here(rows, left, right) -> list:
    """The pairs' kept values (confidence and marks) checked in this process, as the processes answer them."""
    return [v.kept for v in copies.verify_pairs(rows, rows, left, right, workers=1, confidence_only=True)]


def _worker_whose_checks_do(monkeypatch, statement: str) -> None:
    """Worker processes that run ``statement`` (Python, ``os`` imported) inside every check, then check."""
    root = verify_processes._PACKAGE_ROOT
    monkeypatch.setattr(verify_processes, "_child_code", lambda: (
        f"import os, sys; sys.path.insert(0, {root!r}); import imagetwins._verify_worker as w; answer = w._answer\n"
        "def check(rows, pairs):\n"
        f"    {statement}\n"
        "    return answer(rows, pairs)\n"
        "w._answer = check; w.serve()"))


def test_a_library_printing_to_the_workers_stdout_does_not_corrupt_its_answers(rows, in_processes, monkeypatch
                                                                               ) -> None:
    """A C library in the worker (OpenCV, onnxruntime, a plug-in's) writing a line to file descriptor 1: the worker's
    answers went there, so the parent read 'libfoo: ' as the length of the next answer and waited for ever for
    its 8 x 10^18 bytes (a hang of `find`, no line, no way out but Ctrl-C)."""
    _worker_whose_checks_do(monkeypatch, "os.write(1, b'libfoo: a warning printed by C code\\n')")
    left, right = np.triu_indices(len(rows), 1)
    got, said = _pairs_checked_within(60, rows, left, right)
    want = _checked_here(rows, left, right)
    assert got.tolist() == want and said == []
    assert not verify_processes._live


@pytest.mark.parametrize("garbage", [b"libfoo: a line that is no answer\n", (64).to_bytes(8, "little") + b"\0" * 64],
                         ids=["text", "no-pickle"])
def test_a_worker_answering_garbage_is_one_line_and_the_checks_go_on_here(rows, in_processes, monkeypatch,
                                                                          garbage: bytes) -> None:
    """Bytes on the answers' pipe that are not a message of ours (text: a length of 10^18; a length and bytes that
    are no pickle): a hang, or an UnpicklingError out of `find` (a traceback). Now the process is stopped, one
    line, and the pairs left are checked in this process."""
    root = verify_processes._PACKAGE_ROOT
    monkeypatch.setattr(verify_processes, "_child_code", lambda: (
        f"import sys; sys.path.insert(0, {root!r}); import imagetwins._verify_worker as w; write = w.write_message\n"
        "def garbled(fh, message):\n"
        "    if message[0] == 'done':\n"
        f"        fh.write({garbage!r}); fh.flush()\n"
        "    return write(fh, message)\n"
        "w.write_message = garbled; w.serve()"))
    left, right = np.triu_indices(len(rows), 1)
    got, said = _pairs_checked_within(60, rows, left, right)
    want = _checked_here(rows, left, right)
    assert got.tolist() == want
    assert len(said) == 1 and said[0].startswith(
        "copies: a verification process answered with bytes that are no answer (stopped); verifying the "), said
    assert not verify_processes._live


@pytest.mark.skipif(sys.platform == "win32", reason="file descriptors")
def test_libraw_printing_to_the_workers_stdout_does_not_corrupt_its_answer(tmp_path: Path, monkeypatch) -> None:
    """LibRaw is C: what it prints goes to file descriptor 1, where the worker's answers went."""
    pytest.importorskip("rawpy")
    noisy = tmp_path / "noisy_worker.py"
    noisy.write_text("import os, runpy, rawpy\nimread = rawpy.imread\n"
                     "def loud(*args, **kwargs):\n    os.write(1, b'LibRaw: unexpected tag 0x1234\\n')\n"
                     "    return imread(*args, **kwargs)\n"
                     f"rawpy.imread = loud\nrunpy.run_path({str(raw._WORKER_FILE)!r}, run_name='__main__')\n")
    monkeypatch.setattr(raw, "_WORKER_FILE", noisy)
    raw.stop_workers()
    try:
        for _ in range(2):  # (the same worker, its answers still in step)
            with pytest.raises(raw.RawDecodeError, match="cannot decode this RAW file"):
                raw.raw_size(b"II*\0 not a raw file at all", timeout=30)
    finally:
        raw.stop_workers()


_STUCK_CHECKS = """
import sys, numpy as np
sys.path[:0] = [{src!r}, {tests!r}]
from conftest import synthetic_photo
from imagetwins import copies, verify, verify_processes
rows = [copies.CopyRecord.spilled(np.zeros(4, np.uint64), np.zeros(8, np.float32),
                                  verify.extract(synthetic_photo(240, 180, seed=s)).to_bytes()) for s in range(6)]
root = verify_processes._PACKAGE_ROOT
verify_processes._child_code = lambda: (
    f"import sys, time; sys.path.insert(0, {{root!r}}); import imagetwins._verify_worker as w\\n"
    "def stuck(rows, pairs):\\n    time.sleep(3600)\\n"
    "w._answer = stuck; w.serve()")
copies.PROCESS_PAIRS, copies.PROCESS_BATCH = 1, 4
left, right = np.triu_indices(len(rows), 1)
print("checking", flush=True)
try:
    copies._verified_confidences(rows, rows, left, right, workers=2)
except KeyboardInterrupt:
    print("interrupted", len(verify_processes._live), flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_ctrl_c_stops_a_verification_whose_worker_is_stuck(tmp_path: Path) -> None:
    """A worker stuck in a check stops reading its pipe; the thread feeding it blocks writing the next batch, holding
    the pipe's lock, and Ctrl-C's clean-up closed that pipe before killing the process: it waited for the lock,
    for ever (`find` could be stopped only by kill -9)."""
    tests = str(Path(__file__).resolve().parent)
    src = str(Path(verify_processes._PACKAGE_ROOT))
    proc = subprocess.Popen([sys.executable, "-c", _STUCK_CHECKS.format(src=src, tests=tests)],
                            stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout.readline() == "checking\n"
        time.sleep(8)  # (the workers started, stuck in their first batch, the feeders blocked writing)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("still running 30 s after Ctrl-C")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out == "interrupted 0\n"


def test_a_worker_that_stops_answering_is_stopped_and_its_pairs_checked_here(rows, in_processes, monkeypatch) -> None:
    """Thousands of pairs and one worker stuck in a check (or stopped: kill -STOP): the run waited for it for ever
    (Ctrl-C was the only way out). Now a worker holding a batch without answering for
    ``verify_processes.ANSWER_TIMEOUT`` seconds is stopped, one line says so, and what is left is checked here."""
    monkeypatch.setattr(verify_processes, "ANSWER_TIMEOUT", 3.0, raising=False)
    monkeypatch.setattr(copies, "ANSWER_WATCH", 0.5, raising=False)
    _worker_whose_checks_do(monkeypatch, "import time; time.sleep(3600)")
    left, right = np.triu_indices(len(rows), 1)
    got, said = _pairs_checked_within(90, rows, left, right)
    want = _checked_here(rows, left, right)
    assert got.tolist() == want
    assert len(said) == 1 and said[0].startswith(
        "copies: a verification process gave no answer in 3 s (stopped); verifying the "), said
    assert not verify_processes._live


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads a process's state in /proc")
def test_a_stuck_worker_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed with -9 (the OOM killer, a user's kill -9) stops nobody: a worker in a check that never ends
    (C code stuck on a hostile file's features) went on for ever, holding a core; it reads no stdin to see the
    parent go. Now it ends within seconds of its parent."""
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(verify_processes._PACKAGE_ROOT)!r})\n"
        "import imagetwins.verify_processes as vp\n"
        "root = vp._PACKAGE_ROOT\n"
        "vp._child_code = lambda: (f'import sys, time; sys.path.insert(0, {root!r}); '\n"
        "                          'import imagetwins._verify_worker as w; '\n"
        "                          'w._answer = lambda rows, pairs: time.sleep(3600); w.serve()')\n"
        "w = vp.Worker(); w.wait_ready(); w.send([], [(0, 0)])\n"
        "print(w.proc.pid, flush=True)\n"
        "time.sleep(3600)\n")
    _assert_the_worker_ends_with_its_parent(parent, "the worker")


def test_a_stuck_raw_worker_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    """The LibRaw worker had no watch on its parent (the verification's got one, a95b610): LibRaw stuck on a hostile
    file is ended by the parent's time limit, but a parent killed with -9 left it running for ever. Now it ends within
    seconds of its parent. (The worker's own script, its decode made to never return.)"""
    stuck = tmp_path / "_raw_worker.py"
    stuck.write_text(raw._WORKER_FILE.read_text().replace(
        "def _decode(", "def _decode(*args):\n    import time\n\n    time.sleep(3600)\n\n\ndef _real_decode(", 1))
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(raw.__file__).parents[1])!r})\n"
        "import imagetwins.raw as raw\n"
        f"raw._WORKER_FILE = Path({str(stuck)!r})\n"
        "w = raw._Worker(); w.write(('decode', (b'II*\\0', None, None, None)))\n"
        "print(w.proc.pid, flush=True)\n"
        "time.sleep(3600)\n")
    _assert_the_worker_ends_with_its_parent(parent, "the LibRaw worker")


def _assert_the_worker_ends_with_its_parent(parent: Path, what: str) -> None:
    """Run ``parent`` (a script that starts a worker stuck in its work and prints the worker's pid), kill it with -9,
    and assert the stuck worker is gone within 20 s."""
    proc = subprocess.Popen([sys.executable, str(parent)], stdout=subprocess.PIPE, text=True)
    worker = None
    try:
        worker = int(proc.stdout.readline())
        time.sleep(1.5)
        assert _running(worker), f"{what} should be stuck in its work"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 20
        while _running(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _running(worker), f"{what} outlived its parent"
    finally:
        proc.kill()
        proc.wait()
        if worker is not None and _running(worker):
            os.kill(worker, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether process ``pid`` is there and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
