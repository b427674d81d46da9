"""The pipes to our worker processes (LibRaw's and the verification's): framing, the read's time limit, and no
process outliving the run or seen by a forked child."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagetwins import _pipe_workers as pw

pytestmark = pytest.mark.unit

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_a_message_comes_back_as_sent_and_a_cut_pipe_is_none() -> None:
    out = io.BytesIO()
    assert pw.write_message(out, ("done", [0.5, "ValueError: x"]))
    assert pw.write_message(out, b"\0" * 3_000_000)
    data = out.getvalue()
    inp = io.BytesIO(data)
    assert pw.read_message(inp) == ("done", [0.5, "ValueError: x"])
    assert pw.read_message(inp) == b"\0" * 3_000_000
    assert pw.read_message(inp) is None
    assert pw.read_message(io.BytesIO(data[:-1])) == ("done", [0.5, "ValueError: x"])
    assert pw.read_message(io.BytesIO(data[:5])) is None  # (cut inside the length)


def _worker(live: pw.LiveWorkers, code: str) -> pw.PipeWorker:
    return pw.PipeWorker([sys.executable, "-c", code], dict(os.environ), live)


def test_a_silent_worker_times_out_and_an_ended_one_is_said() -> None:
    live = pw.LiveWorkers()
    silent = _worker(live, "import time; time.sleep(60)")
    echo = _worker(live, f"import sys; sys.path.insert(0, {SRC!r}); from imagetwins import _pipe_workers as p; "
                         "p.write_message(sys.stdout.buffer, p.read_message(sys.stdin.buffer))")
    assert len(live) == 2
    start = time.monotonic()
    with pytest.raises(pw.WorkerTimedOut):
        silent.read(0.2)
    assert time.monotonic() - start < 5
    echo.write(("ping", 1))
    assert echo.read(30) == ("ping", 1)
    with pytest.raises(pw.WorkerEnded):
        echo.read(30)
    assert echo.exit_code(5) == 0
    live.stop_all()
    assert not live and silent.proc.returncode is not None and echo.proc.returncode is not None
    with pytest.raises(pw.WorkerStopped):
        silent.read(None)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_has_none_of_its_parents_workers() -> None:
    live = pw.LiveWorkers()
    worker = _worker(live, "import time; time.sleep(60)")
    try:
        pid = os.fork()
        if pid == 0:  # the child: must not see (nor stop) its parent's process
            os._exit(0 if not live and not live.idle and live.lock.acquire(timeout=1) else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert len(live) == 1 and worker.proc.poll() is None
    finally:
        live.stop_all()


def test_no_worker_outlives_the_interpreter() -> None:
    code = (f"import sys; sys.path.insert(0, {SRC!r}); from imagetwins import _pipe_workers as p\n"
            "import os\n"
            "w = p.PipeWorker([sys.executable, '-c', 'import time; time.sleep(60)'], dict(os.environ), "
            "p.LiveWorkers())\n"
            "print(w.proc.pid)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with pytest.raises(ProcessLookupError):  # ended and waited for at exit (not a zombie, not running)
        os.kill(int(done.stdout), 0)
