"""Every warning of the library is one line naming the file and the reason, never a Python source line: a damaged
cache and a folder that cannot be listed printed ``.../session.py:136: UserWarning: ...`` then the internal line
``return Session(open_folder_cache(folder, methods=names), ...)`` (and ``finder.py:123`` with
``files = (find_images(...``). The command line prints each as one ``warning: ...`` line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import synthetic_photo

# the library run: a folder cache damaged by hand, then a sub-folder that cannot be listed (EACCES; the tests may run
# as root, which no folder mode stops, so os.scandir is made to refuse it)
SCRIPT = """
import os, sqlite3, sys
from unittest import mock
import imagetwins
from imagetwins.index import default_cache_path
lib = sys.argv[1]
with imagetwins.open_session(lib) as s:
    imagetwins.find(lib, method="phash", session=s)
db = sqlite3.connect(default_cache_path(lib))
db.execute("UPDATE meta SET value='abc' WHERE key='schema_version'")
db.commit()
db.close()
real = os.scandir
def scandir(path):
    if os.path.basename(path) == "sub":
        raise PermissionError(13, "Permission denied", str(path))
    return real(path)
with mock.patch("os.scandir", scandir):
    {run}
"""
LIBRARY = """with imagetwins.open_session(lib) as s:
        imagetwins.find(lib, method="phash", session=s, recursive=True)"""
CLI = """from imagetwins.cli import main
    main(["find", lib, "-m", "phash", "-r"])"""


def _library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    for k in range(3):
        synthetic_photo(seed=k).save(lib / f"p{k}.jpg", quality=90)
    synthetic_photo(seed=0).save(lib / "sub" / "again.jpg", quality=90)
    return lib


def _stderr(tmp_path: Path, run: str) -> list[str]:
    lib = _library(tmp_path)
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(run=run), str(lib)], capture_output=True, text=True,
                          timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return [line for line in proc.stderr.splitlines() if line.strip()]


@pytest.mark.unit
def test_library_warnings_are_one_line_each(tmp_path: Path) -> None:
    lines = _stderr(tmp_path, LIBRARY)
    assert len(lines) == 2, lines
    # (the cache's, which changes no answer, is a CostNotice, a UserWarning the CLI's -q leaves out)
    assert lines[0].startswith("<imagetwins>:0: CostNotice: ") and lines[1].startswith("<imagetwins>:0: UserWarning: ")
    assert "is damaged (its schema version is 'abc'); the cache is made again" in lines[0]
    assert lines[1].endswith(f"{tmp_path / 'lib' / 'sub'}: cannot list folder (Permission denied)")
    assert ".py" not in "\n".join(lines)


@pytest.mark.cli
def test_the_command_line_says_each_in_one_warning_line(tmp_path: Path) -> None:
    lines = _stderr(tmp_path, CLI)
    assert lines == [line for line in lines if line.startswith("warning: ")], lines
    assert [line.split(": ", 1)[0] for line in lines] == ["warning", "warning"], lines
    assert lines[1] == f"warning: {tmp_path / 'lib' / 'sub'}: cannot list folder (Permission denied)"


@pytest.mark.unit
def test_a_name_with_a_newline_stays_on_one_line(tmp_path: Path) -> None:
    import warnings

    from imagetwins.io import find_images

    (tmp_path / "a\nb").mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from unittest import mock

        with mock.patch("os.scandir", side_effect=PermissionError(13, "Permission denied")):
            list(find_images(tmp_path / "a\nb"))
    (w,) = caught
    text = warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line)
    assert text == f"<imagetwins>:0: UserWarning: {tmp_path}/a\\nb: cannot list folder (Permission denied)\n"
