"""``--keep original`` keeps a camera's own JPEG over what was made from it at the same size: an AVIF, HEIC or
WebP conversion (with or without the EXIF copied) and a re-save at quality 97 or 100 that keeps the EXIF (what
an editor does). Real camera JPEGs (camera-photos) copied into a temporary folder; every file of a group gets
one modification time, so only the files themselves decide."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from imagetwins.keep import camera_written, decide_groups

pytestmark = pytest.mark.integration

CANON = "mei__Canon_PowerShot_A80.jpg"
# three cameras' own files (two makers, one phone), 2-3 MP: small enough to convert quickly
CAMERAS = (CANON, "mei__Kodak_DX4900_Zoom.jpg", "mei__Apple_iPhone_5.jpg")


def _keeper(files: list[Path]) -> str:
    t = 1_600_000_000
    for f in files:
        os.utime(f, (t, t))
    [decision] = decide_groups([[str(f) for f in files]], rule="original", workers=1)
    return os.path.basename(decision.keeper)


def _camera_copy(datasets: Path, tmp: Path, name: str) -> tuple[Path, bytes]:
    src = tmp / "IMG_0001.JPG"  # (a camera's name; the converted file gets a shorter one below)
    shutil.copyfile(datasets / "camera-photos" / "images" / name, src)
    with Image.open(src) as im:
        return src, im.info.get("exif", b"")


@pytest.mark.parametrize("ext, fmt", [(".avif", "AVIF"), (".heic", "HEIF"), (".webp", "WEBP")])
@pytest.mark.parametrize("with_exif", [True, False])
def test_a_camera_jpeg_beats_its_quality_60_conversion(datasets: Path, tmp_path: Path, ext: str, fmt: str,
                                                       with_exif: bool) -> None:
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    src, exif = _camera_copy(datasets, tmp_path, CANON)
    out = tmp_path / f"a{ext}"
    with Image.open(src) as im:
        size = im.size
        pixels = Image.frombytes(im.mode, im.size, im.tobytes())  # (no info: no plugin copies the EXIF itself)
        # the encoders' fastest settings (x265 'ultrafast', AVIF speed 10): the same kind of file, 2-3 MP converted
        # in 2 CPU s instead of 14 (HEIF) and 0.4 instead of 2.2 (AVIF); the rule reads the file, not its encoder
        fast = {"HEIF": {"enc_params": {"preset": "ultrafast"}}, "AVIF": {"speed": 10}}.get(fmt, {})
        pixels.save(out, format=fmt, quality=60, **fast, **({"exif": exif} if with_exif else {}))
    with Image.open(out) as conv:
        assert conv.size == size
        assert bool(conv.getexif().get(0x010F)) == with_exif  # the Canon EXIF went along (or not)
    assert _keeper([src, out]) == src.name


@pytest.mark.parametrize("name", CAMERAS)
@pytest.mark.parametrize("quality", [97, 100])
def test_a_camera_jpeg_beats_a_finer_resave_that_kept_its_exif(datasets: Path, tmp_path: Path, name: str,
                                                              quality: int) -> None:
    src, exif = _camera_copy(datasets, tmp_path, name)
    resave = tmp_path / "a.jpg"
    with Image.open(src) as im:
        im.save(resave, quality=quality, exif=exif)
    assert camera_written(str(src)) and not camera_written(str(resave))
    assert _keeper([src, resave]) == src.name


def test_a_coarser_messenger_copy_and_a_finer_resave_still_rank_by_fineness(datasets: Path,
                                                                          tmp_path: Path) -> None:
    """Where no file is the camera's own (two re-saves of it), the finer JPEG is kept, as before."""
    src, exif = _camera_copy(datasets, tmp_path, CANON)
    with Image.open(src) as im:
        im.save(tmp_path / "fine.jpg", quality=95, exif=exif)
        im.save(tmp_path / "coarse.jpg", quality=70, exif=exif)
    src.unlink()
    assert _keeper([tmp_path / "coarse.jpg", tmp_path / "fine.jpg"]) == "fine.jpg"


def test_an_editor_named_in_the_exif_is_no_camera(datasets: Path, tmp_path: Path) -> None:
    src, _ = _camera_copy(datasets, tmp_path, CANON)
    with Image.open(src) as im:
        exif = im.getexif()
        exif[0x0131] = "Adobe Photoshop 25.0 (Windows)"
        im.save(tmp_path / "edited.jpg", quality=100, exif=exif.tobytes())
    assert camera_written(str(src))
    assert not camera_written(str(tmp_path / "edited.jpg"))


def test_a_jpeg_declaring_a_huge_size_reads_its_header_without_pillows_warning(tmp_path: Path, datasets: Path) -> None:
    """The keep rules read a JPEG's header (camera EXIF, quantisation tables) with Pillow directly: a JPEG declaring
    96 million pixels (above Pillow's 89 MP warning, below our limit) had Pillow print its DecompressionBombWarning
    to a program using the API (io's decodes were quieted in f368651, these three header reads were not)."""
    import io
    import warnings

    from imagetwins import keep

    data = bytearray((datasets / "camera-photos" / "images" / CANON).read_bytes())
    sof = 2  # the frame header, walked to segment by segment (the EXIF thumbnail holds one of its own)
    while data[sof + 1] not in (0xC0, 0xC1, 0xC2):
        sof += 2 + int.from_bytes(data[sof + 2:sof + 4], "big")
    data[sof + 5:sof + 9] = (8_000).to_bytes(2, "big") + (12_000).to_bytes(2, "big")  # height, width
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(bytes(data))) as im:
            assert im.size == (12_000, 8_000)
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        written = camera_written(str(huge))
        tables = keep._luminance_table(str(huge))
        coarseness = keep._header_marks(str(huge)).coarseness
    assert [str(w.message) for w in shown] == []
    assert written and tables is not None and len(tables) == 64 and coarseness is not None  # (read all the same)
