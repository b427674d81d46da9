"""What a newcomer following the README met: each test failed before its fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


@pytest.mark.cli
def test_index_update_counts_what_this_run_did(tmp_path: Path) -> None:
    """``index update`` said "4 added ... 1 unreadable" for 3 photos and a broken file (the broken one among the
    added), and "1 unreadable" on every re-run as if found again; ``find`` says "3 images read, 1 unreadable"."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("beach.jpg", "city.jpg", "forest.jpg"):
        shutil.copy(EXAMPLES / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    db = tmp_path / "photos.db"

    def update() -> str:
        run = CliRunner().invoke(main, ["index", "update", str(folder), "--db", str(db), "-m", "phash"])
        assert run.exit_code == 0, run.output
        return run.output

    out = update()
    assert "3 added, 0 changed, 0 removed, 0 unchanged, 1 unreadable (new this run)" in out, out
    assert "broken.jpg" in out  # named with its reason
    out = update()
    assert "0 added, 0 changed, 0 removed, 3 unchanged, 1 unreadable (known before: not read again)" in out, out
    shutil.copy(EXAMPLES / "market.jpg", folder / "market.jpg")
    (folder / "empty.png").write_bytes(b"")
    out = update()
    assert "1 added, 0 changed, 0 removed, 3 unchanged, 2 unreadable (1 new this run, 1 known before)" in out, out
    find = CliRunner().invoke(main, ["find", str(folder), "--db", str(db), "-m", "phash"])
    assert "4 images read, 2 unreadable" in find.output, find.output

