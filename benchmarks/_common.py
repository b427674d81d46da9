"""Shared by the benchmark scripts: child-process cases that report their peak memory, and writing
a section of BENCHMARKS.md between markers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the real images beside the repository (read-only), or wherever IMAGETWINS_DATASETS points (as the tests read
#: them), and the held-out/fit split of holidays-half among them
DATASETS = Path(os.environ.get("IMAGETWINS_DATASETS") or ROOT.parent / "shared" / "datasets")
HOLIDAYS = DATASETS / "holidays-half"


def library_jpegs(folder: Path, count: int, script: str) -> list[Path]:
    """The first ``count`` JPEGs of ``folder`` by name (``bench_home.py``'s library); without any (or no such folder),
    one line naming ``script`` and the folder, and the script stops."""
    if not folder.is_dir():
        sys.exit(f"{script}: {folder} is not a folder")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:count]
    if not paths:
        sys.exit(f"{script}: no JPEG in {folder}")
    return paths


def need_datasets(*folders: str, script: str = "") -> None:
    """Stop with one line naming the first of ``folders`` (under :data:`DATASETS`, e.g. ``"photos-public/images"``)
    that holds no JPEG: a copy of the repository without ``../shared`` found no photos and went on to fail deep
    inside a measurement (or to measure nothing)."""
    for folder in folders:
        path = DATASETS / folder
        if not path.is_dir() or next(path.glob("*.jpg"), None) is None:
            how = ("IMAGETWINS_DATASETS" if os.environ.get("IMAGETWINS_DATASETS")
                   else "../shared/datasets beside the repository; or set IMAGETWINS_DATASETS")
            what = "holds no JPEG" if path.is_dir() else "is missing"
            sys.exit(f"{script or Path(sys.argv[0]).name}: the dataset folder {path} {what} (the datasets are read "
                     f"from {DATASETS}: {how})")

# Each case runs in a fresh interpreter and prints one JSON line: {"seconds": ..., "n": ..., "rss_mb": ...}
PRELUDE = """
import json, resource, sys, time
def report(seconds, n, **extra):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(seconds=seconds, n=n, rss_mb=round(rss, 1), **extra)))
"""


def run_case(python: str, code: str, timeout: float = 3600) -> dict | None:
    """Run one case in a fresh process (imagetwins from src/ on the path); None if it failed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run([python, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def commit_of(src: Path) -> str:
    """The commit a checkout's ``src`` is at (its short hash: what a benchmark's ``--baseline-src`` measured), or the
    path where it is no git checkout."""
    proc = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip() if proc.returncode == 0 else str(src)


def write_section(name: str, title: str, table: str) -> None:
    """Replace (or append) the BENCHMARKS.md section between ``<!-- name:start/end -->`` markers."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{start}\n## {title}\n\n{table}\n{end}"
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def link_photo(src: Path, dst: Path) -> None:
    """Put a photo at ``dst`` cheaply: a hard link (a symbolic link would not be scanned: imagetwins does
    not follow links out of the scanned folder), or a copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy(src, dst)


def run_imagetwins(args: list[str], cache: Path, src: Path, main: Path | None = None,
                   stdout: list[str] | None = None) -> tuple[int, str, dict]:
    """One ``imagetwins`` command in a fresh process with its cache in ``cache``: its exit code, its stderr, and
    wall, CPU and peak RSS with the stages its ``--timings`` (``-v``) lines print. ``main``: a script run instead
    of ``python -m imagetwins`` (with the same arguments). ``stdout``: a list that gets its output's lines (else
    the output is dropped)."""
    env = dict(os.environ, PYTHONPATH=str(src), XDG_CACHE_HOME=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules compiled once, not on every run (~1 CPU s)
    t0 = time.perf_counter()
    entry = ["-m", "imagetwins"] if main is None else [str(main)]
    with tempfile.TemporaryFile("w+") as out_file:  # (a file, not a pipe: both streams read without a deadlock)
        proc = subprocess.Popen([sys.executable, *entry, *args], env=env,
                                stdout=subprocess.DEVNULL if stdout is None else out_file, stderr=subprocess.PIPE,
                                text=True)
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if stdout is not None:
            out_file.seek(0)
            stdout.extend(out_file.read().splitlines())
    wall = time.perf_counter() - t0
    out = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024, "stages": {}}
    for line in err.splitlines():
        if line.startswith("cpu and peak memory by stage: "):
            for name, cpu, mb in re.findall(r"(\w+) (\d+\.\d+) s (\d+) MB", line):
                out["stages"].setdefault(name, {}).update(cpu=float(cpu), rss=float(mb))
        elif line.startswith("time: "):
            for name, sec in re.findall(r"(\w+) (\d+\.\d+) s", line.split("=", 1)[1]):
                out["stages"].setdefault(name, {})["wall"] = float(sec)
    return os.waitstatus_to_exitcode(status), err, out
