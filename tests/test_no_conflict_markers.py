"""No file of the repository keeps a merge-conflict marker (two docs pages shipped with one, unnoticed by
mkdocs --strict and every test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
TEXT = {".md", ".py", ".html", ".toml", ".yml", ".yaml", ".json", ".cfg", ".txt", ".sh"}
MARKER = re.compile(r"^(<{7}|>{7})( |$)|^={7}$", re.M)


def test_no_file_keeps_a_conflict_marker() -> None:
    found = []
    for path in sorted(REPO.rglob("*")):
        parts = path.relative_to(REPO).parts
        if any(p.startswith(".") or p in {"site", "build", "dist", "node_modules"} or p.endswith(".egg-info")
               for p in parts):
            continue
        if path.suffix in TEXT and path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{path.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}"
                      for m in MARKER.finditer(text)]
    assert not found, "merge-conflict markers left in: " + ", ".join(found)
