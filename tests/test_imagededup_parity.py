"""What a user migrating from imagededup 0.3 relies on: the same exception types for bad input, both
keyword names of ``evaluate``, and (on request) imagededup's own hashes of EXIF-rotated photos.

The expected exception types were recorded by running imagededup 0.3.3.post2's hashing classes on the
same calls (``ValueError`` for anything that is not an existing file path or an array, and so on); ours
may be a subclass that is also the other types imagededup raised for the same mistake, so every
``except`` clause written for imagededup still catches it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main
from imagetwins.evaluation import evaluate
from imagetwins.hashing import from_hex
from imagetwins.methods import CNN, AHash, DHash, DihedralHash, PHash, WHash

HASHES = [PHash, AHash, DHash, WHash]
ENC = {"a.jpg": "c73c36c2da2f29c9", "b.jpg": "c73c36c2da2f29c8"}


@pytest.fixture(scope="module")
def mixed(datasets: Path) -> Path:
    return datasets / "imagededup-testdata" / "mixed_images"


def _cases(mixed: Path) -> dict:
    photo = Image.open(mixed / "ukbench00120.jpg")
    return {
        # encode_image: anything but an existing path or an array is a ValueError
        "PIL image as image_file": (lambda h: h.encode_image(image_file=photo), ValueError),
        "PIL image as image_array": (lambda h: h.encode_image(image_array=photo), ValueError),
        "nothing": (lambda h: h.encode_image(), ValueError),
        "missing file": (lambda h: h.encode_image(image_file="/no/such.jpg"), ValueError),
        "int as image_file": (lambda h: h.encode_image(image_file=123456), ValueError),
        "bytes path": (lambda h: h.encode_image(image_file=str(mixed / "ukbench00120.jpg").encode()), ValueError),
        "array as image_file": (lambda h: h.encode_image(image_file=np.zeros((8, 8, 3), np.uint8)), ValueError),
        "list as image_array": (lambda h: h.encode_image(image_array=[[1, 2], [3, 4]]), ValueError),
        "4 channels": (lambda h: h.encode_image(image_array=np.zeros((8, 8, 4), np.uint8)), AssertionError),
        "1-d array": (lambda h: h.encode_image(image_array=np.zeros(8, np.uint8)), ValueError),
        "4-d array": (lambda h: h.encode_image(image_array=np.zeros((2, 8, 8, 3), np.uint8)), ValueError),
        # encode_images / find_duplicates: image_dir
        "image_dir None": (lambda h: h.encode_images(), TypeError),
        "image_dir missing": (lambda h: h.encode_images(image_dir="/no/such"), ValueError),
        "image_dir a file": (lambda h: h.encode_images(image_dir=mixed / "ukbench00120.jpg"), ValueError),
        "image_dir a PIL image": (lambda h: h.encode_images(image_dir=photo), TypeError),
        "find: nothing": (lambda h: h.find_duplicates(), ValueError),
        "find: image_dir missing": (lambda h: h.find_duplicates(image_dir="/no/such"), ValueError),
        "to_remove: nothing": (lambda h: h.find_duplicates_to_remove(), ValueError),
        # encoding_map
        "map a list": (lambda h: h.find_duplicates(encoding_map=[("a", "c73c36c2da2f29c9")]), AttributeError),
        "map a string": (lambda h: h.find_duplicates(encoding_map="c73c36c2da2f29c9"), AttributeError),
        "map int values": (lambda h: h.find_duplicates(encoding_map={"a": 5, "b": 6}), TypeError),
        "map bad hex": (lambda h: h.find_duplicates(encoding_map={"a": "zz", "b": "c73c36c2da2f29c9"}), ValueError),
        "map empty": (lambda h: h.find_duplicates(encoding_map={}), ValueError),
        "to_remove: map a list": (lambda h: h.find_duplicates_to_remove(encoding_map=[1]), AttributeError),
        # thresholds
        "threshold float": (lambda h: h.find_duplicates(encoding_map=ENC, max_distance_threshold=10.5), TypeError),
        "threshold str": (lambda h: h.find_duplicates(encoding_map=ENC, max_distance_threshold="10"), TypeError),
        "threshold -1": (lambda h: h.find_duplicates(encoding_map=ENC, max_distance_threshold=-1), ValueError),
        "threshold 65": (lambda h: h.find_duplicates(encoding_map=ENC, max_distance_threshold=65), ValueError),
        # outfile
        "outfile in a missing folder": (lambda h: h.find_duplicates(encoding_map=ENC, outfile="/no/such/x.json"),
                                        FileNotFoundError),
        "outfile a list": (lambda h: h.find_duplicates(encoding_map=ENC, outfile=["x"]), TypeError),
        "to_remove: outfile in a missing folder": (
            lambda h: h.find_duplicates_to_remove(encoding_map=ENC, outfile="/no/such/x.json"), FileNotFoundError),
    }


@pytest.mark.integration
@pytest.mark.parametrize("cls", HASHES, ids=lambda c: c.__name__)
def test_bad_input_raises_what_imagededup_raises(cls, mixed: Path) -> None:
    for name, (call, expected) in _cases(mixed).items():
        with pytest.raises(expected):
            call(cls(verbose=False))
        # one line that says what to fix, never a message from deep inside
        try:
            call(cls(verbose=False))
        except expected as exc:
            assert "\n" not in str(exc).strip() and str(exc), name


@pytest.mark.unit
def test_arrays_imagededup_misread_are_refused_in_one_line() -> None:
    """imagededup hashed any float or empty array as ffffffffffffffff; we say what to convert."""
    rng = np.random.default_rng(0)
    cases = {"floats": rng.random((32, 32, 3)), "no pixels": np.zeros((0, 0, 3), np.uint8),
             "16-bit": (rng.random((32, 32)) * 65535).astype(np.uint16), "negative": -np.ones((8, 8), np.int16)}
    for cls in [*HASHES, DihedralHash]:
        for why, array in cases.items():
            with pytest.raises(ValueError) as err:
                cls(verbose=False).encode_image(image_array=array)
            assert "image_array" in str(err.value) and "\n" not in str(err.value), why
    grey = (rng.random((32, 32)) * 255).astype(np.uint8)
    assert PHash(verbose=False).encode_image(image_array=grey) == PHash(verbose=False).encode_image(
        image_array=np.stack([grey] * 3, axis=2))


@pytest.mark.integration
def test_pil_image_is_a_value_error_for_every_class(mixed: Path) -> None:
    photo = Image.open(mixed / "ukbench00120.jpg")
    for cls in [*HASHES, DihedralHash]:
        with pytest.raises(ValueError, match="image file path or image array"):
            cls(verbose=False).encode_image(image_file=photo)
    cnn = CNN(verbose=False)
    with pytest.raises(ValueError, match="image file path or image array"):
        cnn.encode_image(image_file=photo)
    with pytest.raises((ValueError, AttributeError)):
        cnn.encode_images(image_dir=None)
    with pytest.raises(AttributeError):
        cnn.find_duplicates(encoding_map=["not", "a", "dict"])


@pytest.mark.integration
def test_unreadable_file_gives_none_as_imagededup(mixed: Path) -> None:
    for cls in HASHES:
        with pytest.warns(UserWarning, match="ukbench09268_corrupt.jpg"):
            assert cls(verbose=False).encode_image(image_file=mixed / "ukbench09268_corrupt.jpg") is None
        with pytest.warns(UserWarning):
            assert cls(verbose=False).encode_image(image_file=mixed) is None  # a folder


@pytest.mark.integration
def test_evaluate_takes_duplicate_map_or_retrieved_map(datasets: Path) -> None:
    folder = datasets / "imagededup-testdata" / "mixed_images"
    truth = {"ukbench00120.jpg": ["ukbench00120_hflip.jpg", "ukbench00120_resize.jpg", "ukbench00120_rotation.jpg"]}
    for k, v in list(truth.items()):
        for x in v:
            truth[x] = [k] + [y for y in v if y != x]
    truth["ukbench09268.jpg"] = []
    found = PHash(verbose=False).find_duplicates(image_dir=folder)
    def plain(scores: dict) -> dict:
        return {k: np.asarray(v).tolist() for k, v in scores.items()}

    by_keyword = evaluate(ground_truth_map=truth, duplicate_map=found)
    assert plain(by_keyword) == plain(evaluate(ground_truth_map=truth, retrieved_map=found)) == plain(
        evaluate(truth, found))
    assert 0 < by_keyword["map"] < 1  # the flip and the rotation are missed, the resize found
    assert evaluate(truth, duplicate_map=found, metric="map") == {"map": by_keyword["map"]}
    with pytest.raises(TypeError, match="not both"):
        evaluate(truth, retrieved_map=found, duplicate_map=found)


@pytest.mark.integration
def test_ignore_exif_orientation_reproduces_imagededup_hashes(datasets: Path, imagededup_reference: dict) -> None:
    """ukbench09268.jpg carries EXIF orientation 6; imagededup hashed its stored (sideways) pixels."""
    photo = datasets / "imagededup-testdata" / "mixed_images" / "ukbench09268.jpg"
    stored_as = "imagededup-testdata/base_images/ukbench09268.jpg"  # the same bytes, hashed by imagededup
    assert hashlib.sha256(photo.read_bytes()).digest() == hashlib.sha256(
        (datasets / stored_as).read_bytes()).digest()
    assert Image.open(photo).getexif().get(0x0112) == 6
    for cls in HASHES:
        want = imagededup_reference[cls.method][stored_as]
        assert cls(verbose=False, ignore_exif_orientation=True).encode_image(image_file=photo) == want
        by_dir = cls(verbose=False, ignore_exif_orientation=True).encode_images(image_dir=photo.parent)
        assert by_dir["ukbench09268.jpg"] == want
        # the default turns it upright first, which imagededup did not
        assert cls(verbose=False).encode_image(image_file=photo) != want


@pytest.mark.integration
def test_ignore_exif_orientation_on_camera_photos(datasets: Path, imagededup_reference: dict) -> None:
    with open(datasets / "camera-photos" / "images.csv", newline="") as fh:
        rotated = ["camera-photos/" + r["file"] for r in csv.DictReader(fh)
                   if r["exif_orientation"] not in ("", "1")]
    rotated = [f for f in rotated if f in imagededup_reference["phash"]]
    assert len(rotated) >= 5
    for cls in HASHES:
        by_name = cls(verbose=False, ignore_exif_orientation=True).encode_images(
            image_dir=datasets / "camera-photos" / "images")
        ours = from_hex([by_name[Path(f).name] for f in rotated])
        theirs = from_hex([imagededup_reference[cls.method][f] for f in rotated])
        assert int(np.bitwise_count(ours ^ theirs).max()) <= 2, cls.method  # the reduced JPEG decode
        upright = from_hex([cls(verbose=False).encode_image(image_file=datasets / f) for f in rotated])
        assert int(np.bitwise_count(upright ^ theirs).min()) > 10  # the default really differs here


@pytest.mark.cli
def test_cli_ignore_exif_orientation(tmp_path: Path, datasets: Path) -> None:
    """An EXIF-rotated photo and an upright re-save of it: one group by default, none with the flag."""
    album = tmp_path / "album"
    album.mkdir()
    src = datasets / "imagededup-testdata" / "mixed_images" / "ukbench09268.jpg"
    shutil.copy(src, album / "sideways.jpg")
    from PIL import ImageOps

    ImageOps.exif_transpose(Image.open(src)).save(album / "upright.jpg", quality=92)
    runner = CliRunner()
    plain = runner.invoke(main, ["find", str(album), "-m", "phash", "--json", "-"])
    assert plain.exit_code == 0 and len(json.loads(plain.stdout)["groups"]) == 1
    stored = runner.invoke(main, ["find", str(album), "-m", "phash", "--ignore-exif-orientation", "--json", "-"])
    assert stored.exit_code == 0 and json.loads(stored.stdout)["groups"] == []
    res = runner.invoke(main, ["find", str(album), "--ignore-exif-orientation", "--db", str(tmp_path / "x.db")])
    assert res.exit_code == 2 and "not with --db" in res.output and not (tmp_path / "x.db").exists()


@pytest.mark.integration
def test_cnn_default_threshold_is_imagededups(datasets: Path, tmp_path: Path) -> None:
    """imagededup's CNN().find_duplicates_to_remove() defaults to 0.9: so does ours. Four views of one object
    (ukbench: different photos, not copies) and an exact copy of one of them: only the copy is listed."""
    uk = datasets / "ukbench-600" / "images"
    for k in range(4):
        shutil.copyfile(uk / f"ukbench{400 + k:05d}.jpg", tmp_path / f"view{k}.jpg")
    shutil.copyfile(uk / "ukbench00400.jpg", tmp_path / "view0_copy.jpg")
    cnn = CNN()
    encodings = cnn.encode_images(image_dir=str(tmp_path))
    assert cnn.default_threshold == 0.9
    to_remove = cnn.find_duplicates_to_remove(encoding_map=encodings)
    assert len(to_remove) == 1 and to_remove[0] in ("view0.jpg", "view0_copy.jpg")
    # at the 0.75 this default replaced, views of the object are listed for removal too
    assert len(cnn.find_duplicates_to_remove(encoding_map=encodings, min_similarity_threshold=0.75)) > 1


@pytest.mark.unit
def test_an_outfile_that_cannot_be_written_is_refused_before_any_image_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stranger's find_duplicates(image_dir=..., outfile="/no/such/x.json") encoded the whole folder, then
    failed with FileNotFoundError at the end, the work thrown away. The same error types as imagededup's (an
    ``except`` written for it still catches them), raised before anything is decoded."""
    from imagetwins.methods import Copies

    images = Path(__file__).resolve().parents[1] / "examples" / "images"
    for cls in (PHash, DihedralHash, CNN, Copies):
        monkeypatch.setattr(cls, "_encode_dir", lambda *a, **k: pytest.fail("decoded before the outfile was checked"))
        method = cls(verbose=False) if cls is not Copies else cls()
        for call in (method.find_duplicates, method.find_duplicates_to_remove):
            with pytest.raises(FileNotFoundError, match="the folder /no/such does not exist"):
                call(image_dir=images, outfile="/no/such/x.json")
            with pytest.raises(IsADirectoryError):
                call(image_dir=images, outfile=str(tmp_path))
