"""The keep rules (imagetwins.keep) on small synthetic pictures, through the library: which file a group keeps.

The same rules on real camera files and full-size photos are in test_keep.py (integration), and the CLI's
``--keep`` / ``--keep-in`` there too (cli).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image, ImageDraw, ImageFont

from imagetwins import edits
from imagetwins.encoders import BitsEncoder, registered
from imagetwins.keep import KEEP_RULES, choose_keeper, decide_groups, enlargement_score, file_info

pytestmark = pytest.mark.unit

DAY = 86400.0


def _keeper(files: list[Path], rule: str = "original", keep_in: tuple[Path, ...] = ()) -> str:
    [decision] = decide_groups([[str(f) for f in files]], keep_in=keep_in, rule=rule)
    return os.path.basename(decision.keeper)


def _set_time(path: Path, t: float) -> None:
    os.utime(path, (t, t))


def test_a_jpeg_beats_its_png_resave_unless_asked_for_the_largest(tmp_path: Path) -> None:
    synthetic_photo(seed=1).save(tmp_path / "IMG_1.jpg", quality=92)
    with Image.open(tmp_path / "IMG_1.jpg") as im:
        im.reduce(4).save(tmp_path / "small.jpg")
        im.save(tmp_path / "a.png")  # same resolution, lossless, larger, shorter name
    _set_time(tmp_path / "IMG_1.jpg", 1e9 + DAY)  # the JPEG is even newer on disk
    _set_time(tmp_path / "a.png", 1e9)
    files = [tmp_path / n for n in ("a.png", "small.jpg", "IMG_1.jpg")]
    assert (tmp_path / "a.png").stat().st_size > (tmp_path / "IMG_1.jpg").stat().st_size
    assert _keeper(files) == "IMG_1.jpg"
    assert _keeper(files, "largest") == "a.png"
    assert _keeper(files, "smallest") == "small.jpg"


def test_capture_date_beats_file_time_and_newest_oldest(tmp_path: Path) -> None:
    picture = synthetic_photo(seed=2)
    for name, taken in (("later.jpg", "2004:02:01 13:59:31"), ("b.jpg", "2005:02:01 13:59:31")):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = taken  # DateTimeOriginal
        picture.save(tmp_path / name, exif=exif, quality=95)
    _set_time(tmp_path / "later.jpg", 2e9)  # file time says later.jpg is the newer one
    _set_time(tmp_path / "b.jpg", 1e9)
    info = file_info(tmp_path / "later.jpg")
    assert info.taken is not None and info.captured < file_info(tmp_path / "b.jpg").captured
    files = [tmp_path / "b.jpg", tmp_path / "later.jpg"]
    assert _keeper(files) == "later.jpg"  # older capture, longer name
    assert _keeper(files, "oldest") == "later.jpg"
    assert _keeper(files, "newest") == "b.jpg"


def test_newest_and_oldest_fall_back_to_file_times(tmp_path: Path) -> None:
    synthetic_photo(seed=3).save(tmp_path / "x.jpg")
    for name, t in (("x.jpg", 1e9), ("y.jpg", 1e9 + DAY), ("zz.jpg", 1e9 + 2 * DAY)):
        if name != "x.jpg":
            shutil.copy(tmp_path / "x.jpg", tmp_path / name)
        _set_time(tmp_path / name, t)
    files = [tmp_path / n for n in ("zz.jpg", "x.jpg", "y.jpg")]
    [d] = decide_groups([[str(f) for f in files]], rule="newest")
    assert os.path.basename(d.keeper) == "zz.jpg" and len(d.remove) == 2
    assert _keeper(files, "oldest") == "x.jpg"
    assert _keeper(files) == "x.jpg"  # byte copies: the older file (to the minute), then the shorter name


def test_a_reference_folder_keeps_its_best_file_and_all_of_its_files(tmp_path: Path) -> None:
    album, ref = tmp_path / "album", tmp_path / "album" / "master"
    ref.mkdir(parents=True)
    synthetic_photo(seed=4).save(album / "beach.jpg", quality=92)  # full size, outside the reference folder
    shutil.copy(album / "beach.jpg", ref / "beach_copy.jpg")
    with Image.open(album / "beach.jpg") as im:
        im.reduce(2).save(ref / "beach_small.jpg")
    files = [str(album / "beach.jpg"), str(ref / "beach_small.jpg"), str(ref / "beach_copy.jpg")]
    [d] = decide_groups([files], keep_in=[ref])
    assert d.keep == [str(ref / "beach_copy.jpg"), str(ref / "beach_small.jpg")]  # the best inside it first
    assert d.remove == [str(album / "beach.jpg")]
    [d] = decide_groups([files])
    assert os.path.basename(d.keeper) == "beach.jpg" and len(d.remove) == 2  # without it: the shorter name


def _enlarged_watermarked(src: Path, out: Path, scale: float = 2.0) -> None:
    with Image.open(src) as im:
        im = im.convert("RGB")
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    ImageDraw.Draw(im).text((im.width // 20, im.height * 5 // 6), "(c) stock-photos.example", fill=(255, 255, 255),
                            font=ImageFont.load_default(size=im.height // 12))
    im.save(out, quality=90)


def test_an_enlarged_watermarked_copy_does_not_outrank_its_original(tmp_path: Path) -> None:
    """Pixels alone (no EXIF on either): a 2x enlargement with a caption ranks after the file it was made
    from, and the original still ranks before its own half-size copy; ``largest`` is what it says."""
    for seed in range(3):
        original, hd, half = (tmp_path / f"{seed}{n}.jpg" for n in ("", "_hd", "_half"))
        synthetic_photo(seed=10 + seed).save(original, quality=92)
        _enlarged_watermarked(original, hd)
        with Image.open(original) as im:
            im.reduce(2).save(half, quality=90)
        infos = [file_info(hd), file_info(original), file_info(half)]
        assert enlargement_score(infos[0], infos[1]) < 0.1 < enlargement_score(infos[1], infos[2])
        assert choose_keeper(infos).path == str(original)
        assert choose_keeper(infos, rule="largest").path == str(hd)


@pytest.mark.parametrize("edit", ["border", "letterbox"])
def test_a_padded_copy_does_not_outrank_its_original(tmp_path: Path, edit: str) -> None:
    """A border adds pixels, not picture; the copy has the same file time, so the rule alone decides."""
    for k in range(3):
        original, copy = tmp_path / f"{k}.jpg", tmp_path / f"{k}_{edit}.jpg"
        picture = synthetic_photo(seed=20 + k)
        picture.save(original, quality=92)
        edits.EDITS[edit](picture, np.random.default_rng(k)).save(copy, quality=90)
        _set_time(original, 1e9)
        _set_time(copy, 1e9)
        infos = [file_info(copy), file_info(original)]
        assert infos[0].pixels > infos[1].pixels
        assert choose_keeper(infos).path == str(original), (edit, k)


def test_a_name_a_copy_gets_does_not_win_on_length(tmp_path: Path) -> None:
    """Byte-identical files of one minute: 'Kyocera copy.jpg' is shorter than the camera's own name but is the
    name a file manager gives a copy; names that merely contain 'copy' are not."""
    synthetic_photo(seed=5).save(tmp_path / "mei__Kyocera_FC-S3.jpg")
    for name in ("Kyocera copy.jpg", "mei__Kyocera_FC-S3 (1).jpg", "Copy of K.jpg", "photocopy.jpg"):
        shutil.copy(tmp_path / "mei__Kyocera_FC-S3.jpg", tmp_path / name)
    for p in tmp_path.iterdir():
        _set_time(p, 1e9)
    infos = [file_info(tmp_path / n) for n in ("Kyocera copy.jpg", "mei__Kyocera_FC-S3 (1).jpg", "Copy of K.jpg",
                                               "mei__Kyocera_FC-S3.jpg")]
    assert choose_keeper(infos).path == str(tmp_path / "mei__Kyocera_FC-S3.jpg")
    both = [file_info(tmp_path / "mei__Kyocera_FC-S3.jpg"), file_info(tmp_path / "photocopy.jpg")]
    assert choose_keeper(both).path == str(tmp_path / "photocopy.jpg")  # shorter, and not a copy's name


def test_report_marks_the_same_keeper_as_find(tmp_path: Path) -> None:
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.report import report_data

    synthetic_photo(seed=30).save(tmp_path / "a.jpg", quality=92)
    shutil.copy(tmp_path / "a.jpg", tmp_path / "a_copy.jpg")
    with Image.open(tmp_path / "a.jpg") as im:
        im.reduce(2).save(tmp_path / "a_small.jpg", quality=90)
    synthetic_photo(seed=31).save(tmp_path / "b.jpg", quality=92)
    with Image.open(tmp_path / "b.jpg") as im:
        im.save(tmp_path / "b.png")
    synthetic_photo(seed=32).save(tmp_path / "c.jpg", quality=92)
    for k, p in enumerate(sorted(tmp_path.iterdir())):
        _set_time(p, 1e9 + k * DAY)
    result = find_duplicate_groups(tmp_path)
    assert sorted(len(g.files) for g in result.groups) == [2, 3]
    for rule in KEEP_RULES:
        page = report_data(result, keep_rule=rule)
        decided = decide_groups([g.files for g in result.groups], rule=rule)
        kept = [[g["files"][k]["path"] for k in [g["keep"], *g["also_keep"]]] for g in page["groups"]]
        assert kept == [[os.path.basename(p) for p in d.keep] for d in decided]


def test_an_unknown_rule_is_refused(tmp_path: Path) -> None:
    synthetic_photo(seed=6).save(tmp_path / "a.jpg")
    with pytest.raises(ValueError, match="unknown keep rule 'prettiest'"):
        decide_groups([[str(tmp_path / "a.jpg")]], rule="prettiest")
    with pytest.raises(ValueError, match="unknown keep rule"):
        choose_keeper([file_info(tmp_path / "a.jpg")], rule="prettiest")


class PixelBits(BitsEncoder):
    """A method for tests whose 64-bit hash is the picture itself: its 8 x 8 blocks, bright = 1, so that a test
    sets the distances between files exactly."""

    name = "pixelbits"
    nbits = 64
    default_threshold = 10
    min_side = 8

    def prepare(self, img: Image.Image) -> np.ndarray:
        return np.asarray(img.convert("L").resize((8, 8), Image.Resampling.NEAREST)) > 127

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        bits = np.stack(prepared).reshape(len(prepared), 64)
        return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)

    def identity(self) -> dict:
        return {"method": self.name, "version": 1}


def _bits_picture(path: Path, ones: int) -> None:
    """A 64 x 64 PNG whose PixelBits hash has its first ``ones`` bits set."""
    bits = np.zeros(64, bool)
    bits[:ones] = True
    Image.fromarray(np.kron(bits.reshape(8, 8), np.ones((8, 8), bool)).astype(np.uint8) * 255).save(path)


def test_a_group_is_a_star_around_its_keeper_not_a_chain(tmp_path: Path) -> None:
    """A ~ B ~ C with A and C farther apart than the threshold (8, 8 and 16 bits at 10): the search connects all
    three. Kept in a reference folder, A keeps only B, its own match: C is nobody's copy here. Left to the rule,
    B is kept (its path sorts first) and both others match it, so both may go."""
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.keep import decide_result

    (tmp_path / "ref").mkdir()
    a, b, c = tmp_path / "ref" / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    for path, ones in ((a, 0), (b, 8), (c, 16)):
        _bits_picture(path, ones)
        _set_time(path, 1e9)
    with registered(PixelBits()):
        for keep_in, kept, removed in (([tmp_path / "ref"], [a], [b]), ([], [b], [c, a])):
            result = find_duplicate_groups(tmp_path, method="pixelbits", recursive=True)
            assert [sorted(Path(f).name for f in g.files) for g in result.groups] == [["a.png", "b.png", "c.png"]]
            [d] = decide_result(result, keep_in=keep_in)
            assert (d.keep, sorted(d.remove)) == ([str(p) for p in kept], sorted(str(p) for p in removed))


def test_a_reference_folder_given_as_one_path_or_mistyped_is_never_silently_ignored(tmp_path: Path) -> None:
    """``imagetwins.find(..., keep="original", keep_in="photos/originals")`` (one folder, as a string) was taken for
    its characters: no file lies in a folder named ``p``, so the original in the reference folder was the file to
    remove; a ``Path`` was "'PosixPath' object is not iterable", bytes a TypeError about an int; a mistyped folder
    protected nothing, silently. One folder in any path type is that folder now, and the library's ``find`` refuses a
    name that is no folder (as the command line's ``--keep-in``) before any work."""
    import imagetwins
    from imagetwins.keep import decide_keepers

    ref, new = tmp_path / "ref", tmp_path / "new"
    ref.mkdir()
    new.mkdir()
    picture = synthetic_photo(seed=5)
    picture.reduce(2).save(ref / "small.png")
    picture.save(new / "big.png")  # the original rule would keep this one: more pixels
    small, big = str(ref / "small.png"), str(new / "big.png")
    for keep_in in (str(ref), ref, os.fsencode(ref), [ref]):
        result = imagetwins.find(tmp_path, "phash", recursive=True, keep="original", keep_in=keep_in, cache=False,
                                 decisions=False)
        assert [(d.keeper, d.remove) for d in result.decisions] == [(small, [big])], keep_in
    result = imagetwins.find(tmp_path, "phash", recursive=True, cache=False, decisions=False)
    assert [(d.keeper, d.remove) for d in decide_keepers(result, str(ref)).decisions] == [(small, [big])]
    [d] = decide_groups([[small, big]], keep_in=str(ref))
    assert d.keeper == small
    for wrong in (tmp_path / "reff", [ref, tmp_path / "reff"], ref / "small.png"):
        with pytest.raises(ValueError, match="is not a folder"):
            imagetwins.find(tmp_path, "phash", recursive=True, keep="original", keep_in=wrong, cache=False)
