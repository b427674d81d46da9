"""Shared by the benchmark scripts: child-process cases that report their peak memory, and writing
a section of BENCHMARKS.md between markers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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
