"""A user whose home folder cannot be told (no HOME, no XDG folders, no password entry: a container's made-up user id,
a service started with an empty environment): platformdirs raised RuntimeError, a traceback from ``find``,
``remove`` and ``decisions list``. Now as under ``HOME=/nonexistent``: nothing read there, nothing made there."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins import userdirs
from imagetwins.cli import main


@pytest.fixture
def no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def no_entry(uid: int):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with pytest.raises(RuntimeError):  # (what platformdirs and Path.home() do then)
        Path.home()


@pytest.mark.unit
def test_no_home_gives_folders_that_are_never_made(no_home: None) -> None:
    for folder in (userdirs.data_folder(), userdirs.cache_folder()):
        assert userdirs.NO_HOME in folder.parents
        with pytest.raises(userdirs.NoHomeFolder, match="HOME is not set and user .* has no password entry"):
            userdirs.check_home(folder)
    userdirs.check_home("/var/tmp/elsewhere")  # (a folder outside any home passes)


@pytest.mark.cli
def test_decisions_list_without_a_home_is_no_traceback(no_home: None) -> None:
    result = CliRunner().invoke(main, ["decisions", "list"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    assert "0 decisions in /nonexistent/" in result.output


@pytest.mark.cli
def test_remove_to_the_trash_without_a_home_is_no_traceback(no_home: None, tmp_path: Path) -> None:
    """``remove --to-trash`` found its home trash by ``Path.home()`` itself: RuntimeError, a traceback before anything
    moved (setpriv --reuid 54321 with env -i). Now no home trash, as under ``HOME=/nonexistent``: said in one line,
    the files where they were."""
    from conftest import synthetic_photo

    from imagetwins import trash

    if not trash.FREEDESKTOP:
        pytest.skip("this platform's trash is not the freedesktop folder")
    if os.stat(tmp_path).st_dev != os.stat(userdirs.NO_HOME.parent).st_dev:
        pytest.skip("tmp_path's disk would get a trash of its own at its top, outside tmp_path")
    album = tmp_path / "album"
    album.mkdir()
    synthetic_photo(64, 48, 0).save(album / "a.png")
    (album / "b.png").write_bytes((album / "a.png").read_bytes())
    result = CliRunner().invoke(main, ["remove", str(album), "--to-trash", "--apply", "--no-cache"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert sorted(p.name for p in album.iterdir()) == ["a.png", "b.png"]
    assert "no usable home folder: HOME is not set" in result.output, result.output
