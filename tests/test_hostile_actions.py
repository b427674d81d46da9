"""An attack pass on what ``remove`` and ``undo`` write beside the photos (docs/reliability.md, "Hostile ground"):
the sidecars of ``--merge-metadata``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import synthetic_photo

from imagetwins.quarantine import undo, write_sidecars

pytestmark = pytest.mark.unit


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_sidecar_is_no_more_readable_than_the_photo_or_the_sidecar_it_replaces(tmp_path: Path) -> None:
    """``--merge-metadata`` writes the moved copies' capture date and GPS position into the keeper's sidecar. The
    sidecar was written 0644 less the umask whatever stood there: an owner-only sidecar (0600) became readable by
    every user of the machine, and stayed so after undo put its bytes back, and a new sidecar beside an owner-only
    photo told everyone where it was taken. Now a sidecar keeps the permissions of the one it replaces, and a new
    one takes those of its photo."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("kept.jpg", "other.jpg", "shared.jpg"):
        synthetic_photo(64, 48).save(folder / name)
    (folder / "kept.jpg").chmod(0o600)
    (folder / "other.jpg").chmod(0o600)
    (folder / "shared.jpg").chmod(0o640)
    private = folder / "kept.jpg.xmp"
    private.write_bytes(b"<rating/>")
    private.chmod(0o600)
    umask = os.umask(0o022)
    try:
        out = write_sidecars([(private, b"<rating/><gps/>", b"<rating/>"), (folder / "other.jpg.xmp", b"<gps/>", None),
                              (folder / "shared.jpg.xmp", b"<gps/>", None)], folder, tmp_path / "q")
        assert not out.failed
        assert private.read_bytes() == b"<rating/><gps/>"
        assert (_mode(private), _mode(folder / "other.jpg.xmp"), _mode(folder / "shared.jpg.xmp")) == (0o600, 0o600,
                                                                                                      0o640)
        back = undo(tmp_path / "q")
    finally:
        os.umask(umask)
    assert not back.failed
    assert private.read_bytes() == b"<rating/>" and _mode(private) == 0o600
    assert not (folder / "other.jpg.xmp").exists()
