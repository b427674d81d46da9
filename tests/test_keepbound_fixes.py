"""Leftovers the last session's readers and strangers noted (session 15, keepbound): each test failed before its
fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "examples" / "images"


@pytest.mark.unit
def test_the_match_picture_is_never_written_under_another_formats_name(tmp_path: Path) -> None:
    """``match_picture`` wrote PNG bytes at ``why.jpg`` (viewers and the next scan took it for a broken JPEG); now a
    name saying another image format is refused before any work, a ``.png`` (any case) or a name without one is
    written as PNG."""
    from imagetwins.explain import match_picture

    a, b = IMAGES / "city.jpg", IMAGES / "city_recompressed.jpg"
    for name in ("why.jpg", "why.JPEG", "why.webp", "why.tif", "why.heic"):
        with pytest.raises(ValueError, match="written as PNG"):
            match_picture(a, b, tmp_path / name)
        assert not (tmp_path / name).exists()
    for name in ("why.PNG", "why"):
        match_picture(a, b, tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.cli
def test_explain_picture_of_another_format_or_an_empty_name_is_a_usage_error(tmp_path: Path) -> None:
    """``explain A B -p why.jpg`` wrote PNG bytes at why.jpg; ``-p ""`` said 'cannot write --picture . is a folder'
    (click had made the empty name the current folder). Both are usage errors now, before any work."""
    from imagetwins.cli import main

    a, b = str(IMAGES / "city.jpg"), str(IMAGES / "city_recompressed.jpg")
    runner = CliRunner()
    why = tmp_path / "why.jpg"
    result = runner.invoke(main, ["explain", a, b, "-p", str(why)])
    assert result.exit_code == 2, result.output
    assert "written as PNG" in result.output and "give a name ending in .png" in result.output
    assert not why.exists()
    for option in (["-p", ""], ["--json", ""]):
        result = runner.invoke(main, ["explain", a, b, *option])
        assert result.exit_code == 2, result.output
        assert "an empty file name" in result.output and "is a folder" not in result.output
    result = runner.invoke(main, ["explain", a, b, "-m", "copies", "-p", str(tmp_path / "why.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "why.png").read_bytes().startswith(b"\x89PNG")
