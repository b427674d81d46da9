"""A decode that may take a JPEG at 1/8 with a shorter long side than at the other scales (``eighth_long_side``:
``io.open_image`` and ``encoding.Stage``): photos of 8 times that long decode at 1/8, as the hashes decode them;
every smaller file is decoded as without it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image

from imagetwins.encoding import Stage, encode_files
from imagetwins.io import decoded_scale, open_image


def _jpeg(width: int, height: int, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    synthetic_photo(width, height, seed=seed).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _decoded(data: bytes, eighth: int) -> Image.Image:
    # as copies decodes (the short side at 192, the long one at 320), with a long side of `eighth` enough at 1/8
    return open_image(data, min_size=192, min_long_side=320, eighth_long_side=eighth)


@pytest.mark.unit
@pytest.mark.parametrize(("size", "without", "with_it"), [
    ((2400, 1800), (600, 450), (300, 225)),  # 4:3 of 4.3 MP: 1/4 without, 1/8 with (phash's scale)
    ((1800, 2400), (450, 600), (225, 300)),  # the same, portrait
    ((2048, 1536), (512, 384), (256, 192)),  # the smallest that changes
    ((2559, 1706), (640, 427), (320, 214)),  # 3:2 near the top of the range
    ((2047, 1535), (512, 384), (512, 384)),  # one pixel short: as without
    ((2400, 1350), (600, 338), (600, 338)),  # 16:9: its short side at 1/8 is under 192, as for phash
    ((1200, 900), (600, 450), (600, 450)),  # a 1/2 decode: as without (1/4 would be 300 px long)
    ((1100, 825), (550, 413), (550, 413)),
    ((2600, 1950), (325, 244), (325, 244)),  # 1/8 keeps 320 already
])
def test_the_scale_a_jpeg_is_decoded_at(size, without, with_it) -> None:
    data = _jpeg(*size)
    assert _decoded(data, 0).size == without
    img = _decoded(data, 256)
    assert img.size == with_it
    assert decoded_scale(img) == pytest.approx(with_it[0] / size[0], rel=0.01)


@pytest.mark.unit
def test_no_dct_scale_or_no_shorter_side_at_an_eighth_decodes_as_without() -> None:
    buf = io.BytesIO()
    synthetic_photo(2400, 1800).save(buf, "PNG")
    assert _decoded(buf.getvalue(), 256).size == (2400, 1800)  # (a PNG: full size, as without)
    assert _decoded(_jpeg(2400, 1800), 320).size == (600, 450)  # (not shorter than min_long_side: as without)
    short = _jpeg(2047, 1535)
    assert np.array_equal(np.asarray(_decoded(short, 256)), np.asarray(_decoded(short, 0)))  # the same pixels


class _Sizes(Stage):
    """A stage that keeps each decoded picture's size."""

    name = "sizes"

    def __init__(self, name: str, min_long_side: int, eighth_long_side: int) -> None:
        self.name, self.min_side = name, 192
        self.min_long_side, self.eighth_long_side = min_long_side, eighth_long_side

    def prepare(self, img: Image.Image) -> np.ndarray:
        return np.asarray(img.size)

    def encode_batch(self, prepared: list) -> np.ndarray:
        return np.stack(prepared)

    def empty(self) -> np.ndarray:
        return np.zeros((0, 2), np.int64)


@pytest.mark.unit
def test_one_decode_serves_every_stage_at_the_scale_they_all_take(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(_jpeg(2400, 1800))
    paths = [tmp_path / "a.jpg"]
    at_eighth = _Sizes("at_eighth", 320, 256)
    got = encode_files(paths, [at_eighth], workers=1, warn=False)
    assert got.by_method["at_eighth"].tolist() == [[300, 225]]
    # a stage that needs 320 px at every scale beside it: the decode keeps 320 (1/4)
    got = encode_files(paths, [at_eighth, _Sizes("everywhere", 320, 0)], workers=1, warn=False)
    assert got.by_method["at_eighth"].tolist() == got.by_method["everywhere"].tolist() == [[600, 450]]
    # a stage without a long side (a hash) beside it: 1/8
    got = encode_files(paths, [at_eighth, _Sizes("hash", 0, 0)], workers=1, warn=False)
    assert got.by_method["hash"].tolist() == [[300, 225]]
