"""An attack pass on the commands that touch files, each case a hostile file system or a fault met on the way
(docs/reliability.md, "Hostile ground"): a journal cut short, a full disk, names no cache can be named after,
a folder-copy search over thousands of folders sharing one picture, an icon that decodes to a gigabyte."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import synthetic_photo
from tree_digests import name_digests as _digests

from imagetwins.cli import main


def _album(folder: Path, copies: int, seed: int = 0) -> Path:
    """``copies`` byte-identical PNGs of one synthetic picture in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    synthetic_photo(96, 72, seed).save(folder / "a0.png")
    data = (folder / "a0.png").read_bytes()
    for k in range(1, copies):
        (folder / f"a{k}.png").write_bytes(data)
    return folder


def _run(*args: str):
    return CliRunner().invoke(main, [*args])


@pytest.mark.cli
def test_undo_of_a_journal_cut_short_names_the_files_it_leaves_in_the_quarantine(tmp_path: Path) -> None:
    """A journal that lost its last lines (cut by hand, a sync tool, a copy) names fewer files than the quarantine
    holds: undo restored what it named and said "Q now holds only the journal of that run: delete it when you
    like", exit 0, with two photos still in Q. Now each is named, and the exit code is 1."""
    album = _album(tmp_path / "album", 4)
    before = _digests(album)
    q = tmp_path / "q"
    res = _run("remove", str(album), "-m", "phash", "--no-cache", "--apply", "--move-to", str(q))
    assert res.exit_code == 0, res.output
    journal = q / "manifest.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) == 6  # planned + done for each of three files
    journal.write_bytes(b"".join(lines[:2]) + lines[2][:100])  # the first move, and the next line cut short
    res = _run("undo", str(q))
    assert res.exit_code == 1, res.output
    assert "holds only the journal" not in res.output
    left = sorted(p.name for p in q.glob("*.png"))
    assert len(left) == 2
    for name in left:
        assert f"{q / name}: still in the quarantine" in res.output
    # with the journal whole again, the rest comes back
    journal.write_bytes(b"".join(lines))
    res = _run("undo", str(q))
    assert res.exit_code == 0, res.output
    assert _digests(album) == before

