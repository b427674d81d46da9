"""Small consistency defects found on main: progress text, output fields, options, refusals."""

from __future__ import annotations

import pytest

from imagetwins import copies


@pytest.mark.unit
def test_the_verification_bar_never_reads_zero_pair(capsys: pytest.CaptureFixture[str]) -> None:
    bar = copies.VerifyProgress(True)
    bar.add(5)
    bar.update(2)
    bar.add(3)  # a second round of re-proposals
    bar.close()
    drawn = capsys.readouterr().err
    assert "verifying" in drawn and "/8" in drawn
    assert "0pair" not in drawn and "/0" not in drawn
