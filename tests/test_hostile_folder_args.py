"""A command's folder argument that is no folder: a FIFO, a device, or a link to one (click's folder check refuses
only a regular file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

COMMANDS = [["find", "{}"], ["find", "{}", "--no-cache"], ["report", "{}", "-o", "{out}/r.html"], ["remove", "{}"],
            ["folders", "{}"], ["index", "update", "{}", "--db", "{out}/x.db"], ["tune", "{}"],
            ["plot", "{}", "x.jpg"], ["find", "{out}", "--keep-in", "{}"]]


@pytest.mark.parametrize("kind", ["fifo", "device", "link to a fifo"])
def test_a_fifo_or_device_given_as_the_folder_is_a_usage_error(tmp_path: Path, kind: str) -> None:
    """``find /dev/zero``, ``remove FIFO``, ``index update FIFO --db X``: click's folder check let them through and
    io.find_images raised NotADirectoryError: a traceback (and index update had made the index file X); --keep-in
    FIFO was taken silently. Each is one usage line naming the path and what it is; nothing is written."""
    out = tmp_path / "out"
    out.mkdir()
    if kind == "device":
        given = Path("/dev/null")
    else:
        given = tmp_path / "pipe"
        os.mkfifo(given)
        if kind == "link to a fifo":
            (tmp_path / "link").symlink_to(given)
            given = tmp_path / "link"
    for command in COMMANDS:
        args = [a.format(given, out=out) for a in command]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert "Traceback" not in result.output and str(given) in result.output, (args, result.output)
        assert "not a folder" in result.output, (args, result.output)
    assert sorted(p.name for p in out.iterdir()) == []
