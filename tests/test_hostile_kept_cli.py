"""An attack pass on what a run keeps for the next one, through the command line (the library's cases are in
tests/test_hostile_kept.py): the per-folder caches ``cache clear`` deletes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import synthetic_photo

from imagetwins.cli import main
from imagetwins.index import default_cache_path

pytestmark = pytest.mark.cli


@pytest.mark.parametrize("how", [["--all"], ["FOLDER"]])
def test_a_cache_whose_journal_is_a_folder_is_one_line_from_cache_clear(tmp_path: Path, how: list[str]) -> None:
    """A folder standing at a cache's ``-wal`` name (a backup tool's restore, a hand-made mistake): ``cache clear``
    deleted the cache and then ended in a traceback (IsADirectoryError from unlink), saying neither what it had
    deleted nor what it had left. Now it deletes what it can, names what it cannot with the reason, exits 1."""
    album = tmp_path / "album"
    album.mkdir()
    synthetic_photo(64, 48).save(album / "a.png")
    runner = CliRunner()
    assert runner.invoke(main, ["find", str(album), "-m", "phash", "-q"]).exit_code == 0
    cache = default_cache_path(album)
    Path(f"{cache}-wal").mkdir()
    res = runner.invoke(main, ["cache", "clear", *[str(album) if a == "FOLDER" else a for a in how]])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.exception  # (not IsADirectoryError)
    assert "deleted 1 cache" in res.stdout and not cache.exists()
    assert res.stderr.strip() == f"error: cannot delete {cache}-wal: Is a directory"
