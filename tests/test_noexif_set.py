"""The benchmark's ukbench-600 without EXIF (issue 24): the camera stamps go, the pictures stay, so the look-alike
rows measured on it (benchmarks/quality.py --families) measure pixels, not EXIF."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from imagetwins import copies  # noqa: E402
from imagetwins.io import open_image  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["ukbench00033.jpg", "ukbench00552.jpg"])  # upright; stored sideways (EXIF 6)
def test_capture_stamp_dropped_pixels_kept(datasets: Path, name: str) -> None:
    import quality

    data = (datasets / "ukbench-600" / "images" / name).read_bytes()
    stripped = quality.without_capture_stamp(data)
    with Image.open(io.BytesIO(data)) as a, Image.open(io.BytesIO(stripped)) as b:
        assert copies.capture_of(a) is not None  # the camera's stamp is there
        assert copies.capture_of(b) is None and 0x9003 not in b.getexif().get_ifd(0x8769)
        assert b.getexif().get(0x0112, 1) == a.getexif().get(0x0112, 1)  # a sideways photo stays sideways
    # the compressed picture is the same bytes (the original's first scan marker may be its EXIF thumbnail's): the
    # same pixels as displayed
    scan = stripped[stripped.index(b"\xff\xda"):]
    assert len(scan) > len(stripped) // 2 and data.endswith(scan)
    assert np.array_equal(np.asarray(open_image(data)), np.asarray(open_image(stripped)))
    assert len(stripped) < len(data)
