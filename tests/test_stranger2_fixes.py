"""What a second newcomer (fresh venv, README and --help only) met: each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.unit
def test_the_readmes_first_screen_says_what_it_is_and_the_two_commands() -> None:
    """The first bullet ran to ~30 lines of numbers before the install command: a reader's first screen (40 lines)
    must say what the tool does and hold both commands CI runs."""
    first_screen = (REPO / "README.md").read_text(encoding="utf-8").splitlines()[:40]
    text = "\n".join(first_screen)
    assert "# ci:install" in text and "# ci:test" in text
    assert "near-duplicate images" in first_screen[2]
