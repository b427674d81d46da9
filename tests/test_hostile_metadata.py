"""--merge-metadata on hostile metadata, found by attacking it on real photos: a sidecar declaring entities
("billion laughs"), GPS tags of no place on Earth. One line at most, never a traceback, nothing bogus carried."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.cli

try:  # imagetwins[xmp] is a dev dependency; Exempi a system library (.ci/run installs it)
    import libxmp  # noqa: F401
except Exception as exc:  # ImportError, or libxmp's own error when Exempi is missing
    pytest.skip(f"python-xmp-toolkit and Exempi are needed: {exc}", allow_module_level=True)

REPO = Path(__file__).resolve().parent.parent

_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
           + ']>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt>'
           '<rdf:li xml:lang="x-default">&lol9;</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF>'
           '</x:xmpmeta>')


@pytest.fixture
def pair(tmp_path: Path, datasets: Path) -> Path:
    """A real photo (keep.jpg) and a byte copy of it (copy.jpg)."""
    root = tmp_path / "pair"
    root.mkdir()
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[30]
    shutil.copy(src, root / "keep.jpg")
    shutil.copy(src, root / "copy.jpg")
    os.utime(root / "copy.jpg", (2e9, 2e9))  # newer: the keep rule keeps keep.jpg
    return root


def _remove(root: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """In a process of its own: what libxmp prints from ``__del__`` goes to the real stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "imagetwins", "remove", str(root), "--merge-metadata", *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_entity_declaring_sidecars_are_never_parsed(pair: Path, tmp_path: Path) -> None:
    """A copy's sidecar and the keeper's existing sidecar declaring entities (billion laughs): was Exempi's
    'DOCTYPE is not allowed' and a libxmp traceback ('Exception ignored in: XMPMeta.__del__') per packet."""
    (pair / "copy.jpg.xmp").write_text(_LAUGHS)
    (pair / "keep.jpg.xmp").write_text(_LAUGHS)
    proc = _remove(pair, tmp_path, "--apply")
    assert "Traceback" not in proc.stderr and "DOCTYPE" not in proc.stderr, proc.stderr
    assert (pair / "keep.jpg.xmp").read_text() == _LAUGHS  # the keeper's own sidecar is left alone
    assert not (pair / "copy.jpg").exists()  # the copy moved (undo brings it back)


def test_gps_of_no_place_on_earth_is_not_carried(pair: Path, tmp_path: Path) -> None:
    """A copy whose EXIF GPS says latitude 1,000,000,000 degrees and longitude 400: was written into the keeper's
    sidecar as '1000000000,99999.0833N'; the rest (its title) is still carried."""
    with Image.open(pair / "copy.jpg") as im:
        exif = im.getexif()
        exif[0x9C9B] = "harbour\0".encode("utf-16-le")  # XPTitle
        exif[0x8825] = {1: "N", 2: (1e9, 99999.0, 5.0), 3: "E", 4: (400.0, 0.0, 0.0)}
        im.save(pair / "copy.jpg", exif=exif, quality=95)
    os.utime(pair / "copy.jpg", (2e9, 2e9))
    proc = _remove(pair, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "would write" in proc.stdout and "title" in proc.stdout and "GPS" not in proc.stdout, proc.stdout
    proc = _remove(pair, tmp_path, "--apply")
    side = (pair / "keep.jpg.xmp").read_text()
    assert "harbour" in side and "GPSLatitude" not in side and "1000000000" not in side


def test_gps_in_a_sidecar_must_be_a_coordinate(pair: Path, tmp_path: Path) -> None:
    """A copy's XMP sidecar whose GPSLatitude is free text or 91 degrees: not carried; a real one is."""
    def sidecar(lat: str, lon: str) -> str:
        return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
                f'exif:GPSLatitude="{lat}" exif:GPSLongitude="{lon}"/></rdf:RDF></x:xmpmeta>')

    for lat, lon, carried in (("see you at the harbour", "10,0.0E", False), ("91,0.0N", "10,0.0E", False),
                              ("51,30.5000N", "0,7.5000W", True)):
        (pair / "copy.jpg.xmp").write_text(sidecar(lat, lon))
        proc = _remove(pair, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert ("GPS" in proc.stdout) == carried, (lat, proc.stdout)
