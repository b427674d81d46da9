"""Our worker processes (LibRaw's, the verification's: fresh ``python -c`` interpreters) against a hostile current
folder and a hostile or broken process on the other end of the pipe (the attack pass on the newest code)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from imagetwins import raw

pytestmark = pytest.mark.unit


@pytest.fixture
def no_frozen_stdlib(tmp_path: Path, monkeypatch) -> Path:
    """``sys.executable`` as an interpreter that imports the standard library from its files, not from the modules
    frozen into it: what Python 3.10 does for every module but a few (3.11+ freezes runpy, a debug build does not)."""
    wrapper = tmp_path / "python-unfrozen"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable!r} -X frozen_modules=off "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(wrapper))
    return wrapper


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script as the interpreter")
def test_the_raw_worker_imports_nothing_from_the_current_folder_before_it_leaves_it(
        tmp_path: Path, monkeypatch, no_frozen_stdlib: Path) -> None:
    """`find` run from inside a folder holding a ``runpy.py``: the LibRaw worker's ``python -c`` imported runpy with
    the current folder still first on its path, so that file ran (on Python 3.10: foreign code run by `find`)."""
    pytest.importorskip("rawpy")
    trap = tmp_path / "photos"
    trap.mkdir()
    ran = tmp_path / "ran"
    for name in ("runpy", "rawpy", "numpy", "pickle", "struct", "signal"):
        (trap / f"{name}.py").write_text(f"open({str(ran)!r}, 'a').write({name!r} + '\\n')\n")
    monkeypatch.chdir(trap)
    raw.stop_workers()
    try:
        with pytest.raises(raw.RawDecodeError, match="cannot decode this RAW file"):
            raw.raw_size(b"II*\0 not a raw file at all")
    finally:
        raw.stop_workers()
    assert not ran.exists(), ran.read_text()
