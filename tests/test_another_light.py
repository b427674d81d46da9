"""Another light is not one capture (issue 24, ``verify.LIGHTING_CAP``): two photos of one flat object (a book cover,
a tile on a wall) agree cell for cell once aligned, but their cells' brightness follows no one global change, and
without camera stamps the calibrated model called them copies. Real ukbench views with their EXIF dropped (pixels
alone decide); a crop and a brightness edit of the same photo stay copies."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from imagetwins import copies, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.explain import why_not_copies  # noqa: E402
from imagetwins.scores import Verdict  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def views(tmp_path_factory, datasets: Path) -> dict[str, copies.CopyRecord]:
    import quality

    folder = tmp_path_factory.mktemp("views")
    src = datasets / "ukbench-600" / "images"
    for n in (125, 127, 345, 346):
        (folder / f"v{n}.jpg").write_bytes(quality.without_capture_stamp((src / f"ukbench{n:05d}.jpg").read_bytes()))
    img = Image.open(folder / "v345.jpg").convert("RGB")
    w, h = img.size
    img.crop((w * 0.15, h * 0.05, w * 0.8, h * 0.7)).resize((w, h), Image.Resampling.LANCZOS).save(
        folder / "v345_crop.jpg", quality=85)
    ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(1.3)).enhance(0.8).save(folder / "v345_bright.jpg",
                                                                                     quality=85)
    enc = get_encoder(copies.COPIES_METHOD).encode_files(sorted(folder.glob("*.jpg")), workers=2, warn=False)
    assert not enc.failures
    return {Path(p).stem: r for p, r in zip(enc.paths, enc.encodings)}


@pytest.mark.parametrize("a, b", [("v125", "v127"), ("v345", "v346")])  # a book cover (fit), a tile (held out)
def test_two_photos_of_one_flat_object_are_not_copies(views, a: str, b: str) -> None:
    v = copies.verify_records(views[a], views[b])
    assert v.strict_agreement >= 0.95  # their pixels agree once aligned: the frames and cells cannot tell
    # the book cover's second view, zoomed 1.3 times, also holds detail past the first file's resolution (the detail
    # rule, named first where both hold: VERDICT_VERSION 23); the light alone caps it too
    assert v.lighting_residual >= verify.LIGHTING_CAP and v.not_one_capture in ("light", "detail")
    assert verify._not_one_capture(v.frame_cover, v.rotation, lighting=v.lighting_residual) == "light"
    assert v.confidence <= verify.NOT_ONE_CAPTURE and v.verdict() is Verdict.RESHOT
    assert v.verdict() is v.swapped().verdict()
    reason = "another light" if v.not_one_capture == "light" else "detail the outer one lacks"
    assert any(reason in line for line in why_not_copies(v))
    pairs = copies.copy_pairs([views[a], views[b]])
    assert len(pairs.left) == 0


@pytest.mark.parametrize("edit", ["v345_crop", "v345_bright"])
def test_a_crop_or_a_brightness_edit_of_the_same_photo_stays_a_copy(views, edit: str) -> None:
    v = copies.verify_records(views["v345"], views[edit])
    assert v.lighting_residual < verify.LIGHTING_CAP / 2 and v.not_one_capture is None
    assert v.confidence >= verify.DEFAULT_CONFIDENCE and v.verdict() is Verdict.COPY
