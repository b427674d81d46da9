"""The command line asks OpenBLAS not to spin between jobs (issue #25: ~0.1-0.3 CPU s of a first ``find`` went to its
threads busy-waiting after each threaded product), before numpy loads, and keeps a value the user set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagetwins.cli import BLAS_THREAD_TIMEOUT, quiet_blas_threads, run_as_program

SRC = Path(__file__).resolve().parents[1] / "src"

# prints the value OPENBLAS_THREAD_TIMEOUT has when numpy is first imported (the command may end with os._exit)
PROBE = """
import os, sys
class Probe:
    seen = False
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and not Probe.seen:
            Probe.seen = True
            print("at-numpy", os.environ.get("OPENBLAS_THREAD_TIMEOUT", "unset"), flush=True)
        return None
sys.meta_path.insert(0, Probe())
{start}
"""

# the two ways the program starts: the console script (argv[0] .../imagetwins) and python -m imagetwins (runpy sets
# argv[0] to the package's __main__.py), each a find of one picture (numpy loads for it)
SCRIPT = "sys.argv = [os.path.join('bin', 'imagetwins'), 'find', {folder!r}, '-m', 'phash', '--no-cache', '-q']\n" \
         "from imagetwins.cli import main; main()"
MODULE = "import runpy; sys.argv = ['-m', 'find', {folder!r}, '-m', 'phash', '--no-cache', '-q']\n" \
         "runpy.run_module('imagetwins', run_name='__main__', alter_sys=True)"


def _seen(start: str, env: dict) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(start=start)], env=env, capture_output=True, text=True,
                         timeout=120)
    return [line for line in out.stdout.splitlines() if line.startswith("at-numpy")]


@pytest.mark.unit
def test_the_default_is_set_and_a_users_value_kept() -> None:
    environ: dict[str, str] = {}
    quiet_blas_threads(environ)
    assert environ == {"OPENBLAS_THREAD_TIMEOUT": BLAS_THREAD_TIMEOUT}
    environ = {"OPENBLAS_THREAD_TIMEOUT": "20"}
    quiet_blas_threads(environ)
    assert environ == {"OPENBLAS_THREAD_TIMEOUT": "20"}


@pytest.mark.cli
@pytest.mark.parametrize("start", [SCRIPT, MODULE], ids=["console-script", "python-m"])
def test_the_program_sets_it_before_numpy_loads_and_keeps_the_users(start: str, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "a.png")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env.update(PYTHONPATH=str(SRC), XDG_CACHE_HOME=str(tmp_path / "cache"))
    folder = str(tmp_path)
    assert _seen(start.format(folder=folder), env) == [f"at-numpy {BLAS_THREAD_TIMEOUT}"]
    if start is SCRIPT:  # (the user's own value: once)
        env["OPENBLAS_THREAD_TIMEOUT"] = "20"
        assert _seen(start.format(folder=folder), env) == ["at-numpy 20"]


@pytest.mark.unit
@pytest.mark.parametrize("platform, argv0, program", [
    ("linux", "/home/u/.venv/bin/imagetwins", True),
    ("linux", "/usr/lib/python3/site-packages/imagetwins/__main__.py", True),
    ("linux", "imagetwins", True),
    ("linux", "/home/u/.venv/bin/imagetwins.exe", False),  # (a name, not a Windows launcher, here)
    ("linux", "/home/u/.venv/bin/pytest", False),
    ("linux", "/home/u/imagetwins-tools/run.py", False),
    ("linux", "", False),
    ("win32", r"C:\Users\u\venv\Scripts\imagetwins.exe", True),
    ("win32", r"C:\Users\u\venv\Scripts\ImageTwins.EXE", True),
    ("win32", r"C:\Python312\Scripts\imagetwins-script.py", True),
    ("win32", "C:/Users/u/venv/Scripts/imagetwins", True),
    ("win32", r"C:\Users\u\venv\Lib\site-packages\imagetwins\__main__.py", True),
    ("win32", r"C:\Users\u\venv\Lib\site-packages\ImageTwins\__MAIN__.PY", True),
    ("win32", r"C:\Users\u\venv\Scripts\pytest.exe", False),
    ("win32", r"C:\Users\u\venv\Scripts\imagetwins-gui.exe", False),
])
def test_the_program_is_known_by_its_script_on_every_platform(platform: str, argv0: str, program: bool,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The console script on Windows is imagetwins.exe (or imagetwins-script.py): the Ctrl-C line while the modules
    load and the BLAS setting apply there too, and never where a test or another program imports the package."""
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(sys, "argv", [argv0, "find", "."])
    assert run_as_program() is program
