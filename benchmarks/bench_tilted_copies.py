"""Tilted copies kept at the original's frame size: does ``copies`` call them copies?

    python benchmarks/bench_tilted_copies.py                 # about 6 CPU minutes; prints the table
    python benchmarks/bench_tilted_copies.py --photos 4      # a quick look

A photo turned by a few degrees in an editor without growing its canvas (PIL ``im.rotate(3)``: the corners that
fall outside are cut off and flat wedges, black, white or any fill, come in at the edges) is a copy: nothing in it
is scene the original lacks. Each photo (camera-photos: full-size camera JPEGs, every second one; photos-public: the
first of its files) is turned by each angle (the sign alternating by photo) with and without ``expand`` (a canvas
grown to fit), filled black, white or a colour, and saved as a JPEG (quality 90; one set re-saved at quality 60);
each copy is checked against its original as ``find -m copies`` checks a pair (``copies.check_pairs``: the same
decode, features, canvas cut-outs and look at the files). Recall: the share called a copy at the default confidence.
CPU: user+sys of this process.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.scores import CONFIDENCE  # noqa: E402

ANGLES = (1, 2, 3, 4, 5, 7, 10, 15, 20, 30)
#: (label, expand, fill, JPEG quality(ies) saved in turn)
VARIANTS = (("same size, black", False, (0, 0, 0), (90,)),
            ("same size, white", False, (255, 255, 255), (90,)),
            ("same size, blue", False, (40, 90, 160), (90,)),
            ("same size, black, re-saved q60", False, (0, 0, 0), (90, 60)),
            ("grown canvas, black", True, (0, 0, 0), (90,)),
            ("grown canvas, white", True, (255, 255, 255), (90,)))


def photos(count: int) -> list[Path]:
    camera = sorted((DATASETS / "camera-photos" / "images").glob("*.jpg"))[::2]
    public = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))
    half = (count + 1) // 2
    return camera[:half] + public[:count - half]


def jpeg_saved(out: Image.Image, qualities: tuple) -> bytes:
    """``out`` saved as a JPEG at each of ``qualities`` in turn (each save decoded again): the last file's bytes."""
    data = b""
    for q in qualities:
        buf = io.BytesIO()
        out.save(buf, format="JPEG", quality=q)
        data = buf.getvalue()
        out = Image.open(io.BytesIO(data))
    return data


def drafted(photo: Path) -> Image.Image:
    """``photo`` decoded as RGB at most ~2,048 px (a 12 MP photo turned at full size takes seconds; the check decodes
    less)."""
    img = Image.open(photo)
    img.draft("RGB", (2048, 2048))
    return img.convert("RGB")


def checked_against_first(encoder, files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``files[1:]`` checked against ``files[0]`` as the search checks a pair: whether it is called a copy at
    the default confidence, and its confidence."""
    enc = encoder.encode_files(files, workers=2, warn=False)
    assert not enc.failures, enc.failures
    with copies.naming(enc.paths):
        got = copies.check_pairs(enc.encodings, np.zeros(len(files) - 1, np.int64), np.arange(1, len(files)),
                                 workers=2)
    return CONFIDENCE.within(got.score, encoder.default_threshold, got.mark_bits), got.score


def checked_cases(encoder, folder: Path, k: int, img: Image.Image, made: Iterable[tuple[tuple, bytes, str]],
                  called: dict) -> list[tuple[tuple, float]]:
    """``img`` saved as photo ``k``'s original (JPEG at 95) in ``folder``, each ``(case, data, suffix)`` of ``made``
    written beside it and checked against it (:func:`checked_against_first`): whether each was called a copy is
    appended to ``called[case]``; returned, the cases not called one with their confidence."""
    files = [folder / f"{k}.jpg"]
    img.save(files[0], quality=95)
    cases = []
    for case, data, suffix in made:
        files.append(folder / f"{k}_{len(files)}.{suffix}")
        files[-1].write_bytes(data)
        cases.append(case)
    found, scores = checked_against_first(encoder, files)
    for case, is_copy in zip(cases, found):
        called.setdefault(case, []).append(bool(is_copy))
    return [(case, score) for case, is_copy, score in zip(cases, found, scores) if not is_copy]


def called_table(heading: tuple[str, str], rows: Iterable[tuple[str, str]], columns: Sequence, names: Sequence[str],
                 called: dict) -> str:
    """``called`` (case -> whether each copy was called one) as a table: a row for each of ``rows`` that has copies in
    its first column, a column for each of ``columns`` (headed by ``names``), then all of the row's copies."""
    lines = [f"| {heading[0]} | {heading[1]} | " + " | ".join(names) + " | all |",
             "| --- | --- |" + " ---: |" * (len(names) + 1)]
    for first, second in rows:
        cells = [called.get((first, second, c), []) for c in columns]
        if not cells[0]:
            continue
        every = [x for c in cells for x in c]
        lines.append(f"| {first} | {second} | " + " | ".join(f"{sum(c)}/{len(c)}" for c in cells)
                     + f" | {sum(every)}/{len(every)} |")
    return "\n".join(lines)


def tilted(img: Image.Image, angle: float, expand: bool, fill: tuple, qualities: tuple) -> bytes:
    return jpeg_saved(img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=fill), qualities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=12, help="photos turned (half camera-photos, half photos-public)")
    parser.add_argument("--angles", default=",".join(map(str, ANGLES)), help="comma-separated angles in degrees")
    args = parser.parse_args()
    need_datasets("camera-photos/images", "photos-public/images")
    angles = [float(a) for a in args.angles.split(",")]
    encoder = get_encoder(copies.COPIES_METHOD)
    c0 = time.process_time()
    called: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, photo in enumerate(photos(args.photos)):
            img = drafted(photo)
            sign = 1 if k % 2 == 0 else -1
            checked_cases(encoder, Path(tmp), k, img, (((label, angle), tilted(img, sign * angle, expand, fill,
                                                                                   qualities), "jpg")
                                                       for label, expand, fill, qualities in VARIANTS
                                                       for angle in angles), called)
            print(f"{photo.name}: done ({time.process_time() - c0:.0f} CPU s)", file=sys.stderr, flush=True)
    print(f"\nCalled a copy at the default confidence, of {args.photos} photos each "
          f"({time.process_time() - c0:.0f} CPU s)\n")
    print("| copy | " + " | ".join(f"{a:g} deg" for a in angles) + " |")
    print("| --- |" + " --- |" * len(angles))
    for label, *_ in VARIANTS:
        cells = [f"{sum(called[label, a])}/{len(called[label, a])}" for a in angles]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
