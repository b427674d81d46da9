"""A Ctrl-C that lands while a compiled module initialises is still a Ctrl-C: exit 130 and one line.

Under load the CI run's `find -m copies` was interrupted while ONNX Runtime's pybind11 module was being imported;
pybind11 turned the KeyboardInterrupt into ``ImportError: initialization failed`` and the user saw a traceback
and exit 1."""

from __future__ import annotations

import click
import pytest

from imagetwins.cli import _raised_by_interrupt, main


def _import_interrupted() -> None:
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as interrupt:
        raise ImportError("initialization failed") from interrupt


@pytest.mark.unit
def test_an_import_interrupted_by_ctrl_c_ends_as_an_interruption(capsys: pytest.CaptureFixture[str]) -> None:
    @click.command("interrupted-import")
    def interrupted_import() -> None:
        _import_interrupted()

    main.add_command(interrupted_import)
    try:
        with pytest.raises(SystemExit) as ended:
            main.main(["interrupted-import"], standalone_mode=False)
    finally:
        main.commands.pop("interrupted-import", None)
    assert ended.value.code == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err and "initialization failed" not in err


@pytest.mark.unit
def test_a_missing_module_is_not_taken_for_an_interruption() -> None:
    try:
        _import_interrupted()
    except ImportError as exc:
        assert _raised_by_interrupt(exc)
    plain = ImportError("No module named 'cv2'")
    assert not _raised_by_interrupt(plain)

    @click.command("missing-module")
    def missing_module() -> None:
        raise plain

    main.add_command(missing_module)
    try:
        with pytest.raises(ImportError):
            main.main(["missing-module"], standalone_mode=False)
    finally:
        main.commands.pop("missing-module", None)
