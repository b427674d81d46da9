"""Camera RAW files (imagetwins[raw]: rawpy). The registries hold no RAW samples we may use, so the tests
write small linear DNGs of real photos with tifffile (one with an embedded preview, one without)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main
from imagetwins.io import ImageReadError, find_images, open_image

rawpy = pytest.importorskip("rawpy")
tifffile = pytest.importorskip("tifffile")

_DNG_TAGS = [
    (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
    (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
    (50708, "s", 0, "imagetwins test camera", True),  # UniqueCameraModel
    (50721, "2i", 9, (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1), True),  # ColorMatrix1: identity
    (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
    (50717, "I", 1, 65535, True),  # WhiteLevel
]


def write_dng(photo: Path, out: Path, preview: bool, preview_scale: int = 1) -> Path:
    """A linear DNG of ``photo`` (sRGB undone, 16 bits); with ``preview``, an RGB preview in IFD0 (full size,
    or 1/``preview_scale``)."""
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    small = np.asarray(Image.open(photo).convert("RGB").reduce(preview_scale))
    x = rgb / 255.0
    linear = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    sensor = np.round(linear * 65535).astype(np.uint16)
    with tifffile.TiffWriter(out) as tw:
        if preview:
            tw.write(small, photometric="rgb", subfiletype=1, subifds=1, extratags=_DNG_TAGS)
            tw.write(sensor, photometric=34892, subfiletype=0)  # LinearRaw
        else:
            tw.write(sensor, photometric=34892, subfiletype=0, extratags=_DNG_TAGS)
    return out


@pytest.fixture
def shoot(tmp_path: Path, datasets: Path) -> Path:
    """A card from a camera shooting RAW + JPEG: IMG_1.dng + IMG_1.jpg (same picture), IMG_2.dng alone
    (no preview), and 4 unrelated photos."""
    root = tmp_path / "card"
    root.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    shutil.copy(photos[0], root / "IMG_1.jpg")
    write_dng(photos[0], root / "IMG_1.dng", preview=True)
    write_dng(photos[1], root / "IMG_2.dng", preview=False)
    for p in photos[2:6]:
        shutil.copy(p, root / p.name)
    return root


@pytest.mark.integration
def test_raw_decodes_from_preview_or_demosaic(shoot: Path, datasets: Path) -> None:
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    preview = open_image(shoot / "IMG_1.dng", min_size=192)  # the embedded preview: the photo's own pixels
    assert np.array_equal(np.asarray(preview), np.asarray(Image.open(photos[0]).convert("RGB")))
    demosaiced = open_image(shoot / "IMG_2.dng", min_size=192)  # no preview: LibRaw develops the sensor data
    ref = Image.open(photos[1]).convert("L")
    assert demosaiced.size == ref.size
    grey = np.asarray(demosaiced.convert("L"), np.float32).ravel()
    assert np.corrcoef(grey, np.asarray(ref, np.float32).ravel())[0, 1] > 0.9
    assert str(shoot / "IMG_2.dng") in [str(p) for p in find_images(shoot)]


@pytest.mark.cli
def test_raw_and_its_jpeg_sidecar_group_and_both_stay(tmp_path: Path, shoot: Path) -> None:
    res = CliRunner().invoke(main, ["find", str(shoot), "--no-cache", "--json", "-"])
    assert res.exit_code == 0, res.output
    [group] = json.loads(res.output)["groups"]
    assert sorted(Path(f).name for f in group["files"]) == ["IMG_1.dng", "IMG_1.jpg"]
    assert sorted(Path(f).name for f in [group["keep"], *group["also_keep"]]) == ["IMG_1.dng", "IMG_1.jpg"]
    res = CliRunner().invoke(main, ["remove", str(shoot), "--no-cache", "--apply", "--move-to", str(tmp_path / "q")])
    assert res.exit_code == 0 and "nothing to move" in res.output, res.output


@pytest.mark.cli
def test_a_copy_of_a_raw_is_still_a_duplicate(tmp_path: Path, shoot: Path) -> None:
    (shoot / "backup").mkdir()
    shutil.copy(shoot / "IMG_2.dng", shoot / "backup" / "IMG_2 copy.dng")
    res = CliRunner().invoke(main, ["find", str(shoot), "-r", "--no-cache", "--json", "-"])
    groups = json.loads(res.output)["groups"]
    raw_pair = next(g for g in groups if any(Path(f).name == "IMG_2 copy.dng" for f in g["files"]))
    assert Path(raw_pair["keep"]).name == "IMG_2.dng" and raw_pair["also_keep"] == []


@pytest.mark.unit
def test_not_a_raw_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.nef"
    bad.write_bytes(b"not a raw file at all" * 10)
    with pytest.raises(ImageReadError, match="broken.nef"):
        open_image(bad)


@pytest.mark.cli
def test_raw_pairs_one_keeps_a_single_file(tmp_path: Path, shoot: Path) -> None:
    res = CliRunner().invoke(main, ["remove", str(shoot), "--no-cache", "--raw-pairs", "one", "--apply",
                                    "--move-to", str(tmp_path / "q")])
    assert res.exit_code == 0 and "moved 1 file " in res.output, res.output
    assert (shoot / "IMG_1.dng").exists() and not (shoot / "IMG_1.jpg").exists()  # the camera's RAW is the original


@pytest.mark.integration
def test_keep_rules_see_the_raw_size_not_its_preview(tmp_path: Path, datasets: Path) -> None:
    from imagetwins.keep import file_info

    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    info = file_info(write_dng(photo, tmp_path / "small_preview.dng", preview=True, preview_scale=4))
    assert info.format == "RAW" and (info.width, info.height) == Image.open(photo).size
    big = open_image(tmp_path / "small_preview.dng", min_size=400)  # the preview is too small: developed
    assert big.size == Image.open(photo).size


@pytest.mark.integration
def test_a_dng_is_kept_over_its_camera_jpeg_under_another_name(tmp_path: Path, datasets: Path) -> None:
    """The camera's own JPEG (its EXIF names the camera, its layout is the camera's: ``keep.camera_written``) beats
    any other same-size file but a raw one: beside a DNG of its picture (a synthetic one: no DNG is among the
    datasets) under another name, so not a RAW + JPEG pair, the DNG is the keeper and the JPEG may go."""
    from imagetwins.keep import camera_written, decide_groups, file_info

    jpeg = tmp_path / "IMG_0001.JPG"
    shutil.copy(datasets / "camera-photos" / "images" / "mei__Kodak_DC3400.jpg", jpeg)  # 1760 x 1168, as written
    (tmp_path / "raw").mkdir()
    raw = write_dng(jpeg, tmp_path / "raw" / "DSC_7734.dng", preview=False)
    for p in (jpeg, raw):
        os.utime(p, (1e9, 1e9))
    assert camera_written(str(jpeg)) and file_info(jpeg).camera
    assert (file_info(raw).width, file_info(raw).height) == (file_info(jpeg).width, file_info(jpeg).height)
    [d] = decide_groups([[str(jpeg), str(raw)]])
    assert d.keeper == str(raw) and d.remove == [str(jpeg)]


def write_bayer_dng(photo: Path, out: Path, preview_side: int) -> Path:
    """A DNG as cameras and converters lay them out (``benchmarks/home_library.write_dng``, the home library's):
    a 16-bit RGGB Bayer mosaic of the photo's linear light in a SubIFD, an RGB preview of ``preview_side`` pixels a
    side in IFD0 (0: none, the mosaic alone)."""
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    x = rgb / 255.0
    sensor = np.round(np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4) * 65535).astype(np.uint16)
    h, w = rgb.shape[0] & ~1, rgb.shape[1] & ~1
    cfa = np.empty((h, w), np.uint16)
    cfa[0::2, 0::2], cfa[0::2, 1::2] = sensor[0:h:2, 0:w:2, 0], sensor[0:h:2, 1:w:2, 1]
    cfa[1::2, 0::2], cfa[1::2, 1::2] = sensor[1:h:2, 0:w:2, 1], sensor[1:h:2, 1:w:2, 2]
    srgb = ((32406, -15372, -4986), (-9689, 18758, 415), (557, -2040, 10570))  # XYZ -> linear sRGB, x 10,000
    camera = [(50706, "B", 4, (1, 4, 0, 0), True), (50707, "B", 4, (1, 1, 0, 0), True),
              (50708, "s", 0, "imagetwins test camera", True), (50778, "H", 1, 21, True),
              (50721, "2i", 9, [v for row in srgb for c in row for v in (c, 10000)], True)]
    mosaic = [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True), (50710, "B", 3, (0, 1, 2), True),
              (50711, "H", 1, 1, True), (50717, "I", 1, 65535, True)]
    with tifffile.TiffWriter(out) as tw:
        if preview_side:
            small = Image.open(photo).convert("RGB")
            small.thumbnail((preview_side, preview_side))
            tw.write(np.asarray(small), photometric="rgb", subfiletype=1, subifds=1, extratags=camera)
            tw.write(cfa, photometric=32803, subfiletype=0, extratags=mosaic)
        else:
            tw.write(cfa, photometric=32803, subfiletype=0, extratags=camera + mosaic)
    return out


@pytest.fixture(scope="module")
def bayer_card(tmp_path_factory, datasets: Path) -> Path:
    """IMG_1.jpg and IMG_1.dng (a Bayer DNG of it whose 200 px preview is too small for most methods: they
    demosaic), IMG_2.dng (no preview) and IMG_3.dng (a preview as large as the photo), two other photos."""
    root = tmp_path_factory.mktemp("bayer-card")
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    shutil.copy(photos[0], root / "IMG_1.jpg")
    write_bayer_dng(photos[0], root / "IMG_1.dng", preview_side=200)
    write_bayer_dng(photos[1], root / "IMG_2.dng", preview_side=0)
    write_bayer_dng(photos[2], root / "IMG_3.dng", preview_side=max(Image.open(photos[2]).size))
    for p in photos[3:5]:
        shutil.copy(p, root / p.name)
    return root


@pytest.mark.integration
@pytest.mark.parametrize("method", ["phash", "ahash", "dhash", "whash", "dihedral", "cnn", "copies", "similar"])
def test_every_method_reads_bayer_dngs(bayer_card: Path, method: str) -> None:
    from imagetwins.encoders import encoder_names
    from imagetwins.finder import find_duplicate_groups

    assert method in encoder_names()
    result = find_duplicate_groups(bayer_card, method, workers=2, decisions=False)
    assert not result.failures, result.failures
    assert {Path(f).name for f in result.files} >= {"IMG_1.dng", "IMG_2.dng", "IMG_3.dng", "IMG_1.jpg"}
    if method in ("phash", "copies"):  # the demosaiced DNG is its JPEG's picture
        assert any({"IMG_1.dng", "IMG_1.jpg"} <= {Path(f).name for f in g.files} for g in result.groups), result.groups


# a process that takes over the run's orphans (Linux: PR_SET_CHILD_SUBREAPER) runs the command, then waits for any
_OUTLIVED = """
import ctypes, json, os, resource, subprocess, sys, time
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
    sys.exit("no subreaper")
run = subprocess.run([sys.executable, "-m", "imagetwins", "find", sys.argv[1], "-m", "phash", "-q"],
                     capture_output=True, text=True)
outlived, end = [], time.monotonic() + 5
while time.monotonic() < end:
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid:
        outlived.append(pid)
    else:
        time.sleep(0.02)
print(json.dumps({"exit": run.returncode, "err": run.stderr, "outlived": outlived}))
"""


@pytest.mark.cli
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux's child subreaper")
def test_no_raw_decoder_process_outlives_a_cli_run(tmp_path: Path) -> None:
    """LibRaw's worker processes are ended and waited for when a command ends (its end skips Python's atexit):
    before, they ended by themselves after it, orphans whose CPU time no one counted."""
    import subprocess
    import sys

    from conftest import synthetic_photo

    folder = tmp_path / "raws"
    folder.mkdir()
    for n in range(3):
        synthetic_photo(seed=n).save(tmp_path / f"{n}.png")
        write_bayer_dng(tmp_path / f"{n}.png", folder / f"IMG_{n}.dng", preview_side=0)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", _OUTLIVED, str(folder)], capture_output=True, text=True, env=env,
                         timeout=300, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["exit"] == 0 and "error" not in got["err"], got["err"]
    assert got["outlived"] == []


@pytest.mark.integration
def test_a_scan_sends_each_raw_file_to_libraw_once(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    """A RAW file's bytes (7-25 MB a camera DNG) are pickled down the worker's pipe once per scan: its decode
    answers the displayed size the keep rules' facts need too (was a 'size' request and a 'decode' request)."""
    from imagetwins import raw
    from imagetwins.encoders import get_encoder
    from imagetwins.encoding import encode_files

    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    with_preview = write_dng(photos[0], tmp_path / "a.dng", preview=True)
    developed = write_dng(photos[1], tmp_path / "b.dng", preview=False)
    sent: list[str] = []
    ask = raw._ask
    monkeypatch.setattr(raw, "_ask", lambda op, args, timeout: (sent.append(op), ask(op, args, timeout))[1])
    enc = encode_files([with_preview, developed], [get_encoder("phash")], workers=1, facts=True)
    assert sent == ["decode", "decode"]
    assert not enc.failures
    assert sorted((f.width, f.height, f.format) for f in enc.facts) == sorted(
        (*Image.open(p).size, "RAW") for p in photos[:2])
