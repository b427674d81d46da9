"""attack4: today's landings attacked as a user whose files are at stake (real photos)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps

from imagetwins import keep


@pytest.mark.integration
def test_a_scanned_print_with_its_margins_is_kept_over_a_crop_that_cuts_into_the_picture(datasets: Path,
                                                                                        tmp_path: Path):
    # a scan of a print (the photo on off-white paper margins) beside a crop of it that cut 5 % off each side:
    # the margins read as padding and the crop as the plain file, so the scan (all of the picture) was moved away
    import imagetwins

    img = Image.open(datasets / "photos-public" / "images" / "bsds_100075.jpg").convert("RGB")
    w, h = img.size
    ImageOps.expand(img, border=(int(w * 0.08), int(h * 0.1)), fill=(246, 244, 238)).save(tmp_path / "scan.jpg",
                                                                                            quality=92)
    img.crop((int(w * .05), int(h * .05), int(w * .95), int(h * .95))).save(tmp_path / "crop.jpg", quality=85)
    result = imagetwins.find(tmp_path, method="copies", cache=False)
    assert len(result.groups) == 1
    (decision,) = keep.decide_keepers(result).decisions
    assert decision.keeper == str(tmp_path / "scan.jpg") and decision.remove == [str(tmp_path / "crop.jpg")]
