"""A hostile pass on the day's file-touching changes, each on the scenario that showed it: the default review page's
name claimed on a full disk, and in a folder that cannot be written in."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

from imagetwins import writing

pytestmark = pytest.mark.unit


def test_a_default_page_name_claimed_on_a_full_disk_leaves_no_empty_file(tmp_path: Path) -> None:
    """``report`` without -o on a full disk (a 2 MB tmpfs): the placeholder's name was made (``O_EXCL``) and its
    write failed, leaving an empty ``report.html``; that file is no page of ours, so every later run kept it as the
    user's and wrote to ``report-1.html``. The write failing (here past a file-size limit, EFBIG as ENOSPC) takes the
    empty name back."""
    page = tmp_path / "report.html"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))  # (Python ignores SIGXFSZ: the write fails with EFBIG)
    try:
        with pytest.raises(OSError):
            writing.claim_page_name(page)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert not os.path.lexists(page)
    assert writing.claim_page_name(page) == (page, True)  # (the next run takes the name itself)


def test_a_default_page_in_a_folder_that_cannot_be_written_is_refused_as_such(tmp_path: Path,
                                                                               monkeypatch) -> None:
    """``report`` without -o in a read-only folder (a file system mounted read-only) said "report.html and 100 names
    after it hold files imagetwins did not write" where no file stood: each name's thumbnails folder was refused
    for the folder. Now one line says the folder is not writable, before the scan."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    # (as root a mode cannot make a folder read-only; a read-only mount answers access() so)
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == folder and mode & os.W_OK
                        else real_access(p, mode, **kw))
    with pytest.raises(writing.OutputRefused, match="ro is not writable: nothing written there") as refused:
        writing.free_page_name(folder / "report.html")
    assert "hold files imagetwins did not write" not in str(refused.value)
    assert not os.listdir(folder)
