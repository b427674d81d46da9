"""What the ``copies`` encoder costs an image, part by part, next to ``phash`` (issue #25): one thread, CPU time.

    nice -n 10 python benchmarks/profile_copies_encode.py FOLDER [--files 60]

The first ``--files`` JPEGs of FOLDER (``bench_home.py``'s library: ``/tmp/imagetwins-home/library-...``) are
decoded as a scan decodes them for ``copies`` (the decode is shared with every method of the run), then each part of
:meth:`imagetwins.encoders.copies.CopiesEncoder.prepare` and ``encode_batch`` is timed on its own (``time.process_time``
around the very functions the encoder calls), then the whole ``prepare`` and ``encode_batch`` as a check that the
parts add up. A profiler in the scan's main thread sees only lock waits: the work is on the decoding threads.
Writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from imagetwins import canvas, copies, hashing, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.facts import image_facts  # noqa: E402
from imagetwins.io import decode_image  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--files", type=int, default=60)
    a = ap.parse_args()
    paths = sorted(p for p in a.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:a.files]
    if not paths:
        sys.exit(f"no JPEG in {a.folder}")
    enc = get_encoder("copies").for_workers(1)
    phash = get_encoder("phash")
    spent: dict[str, float] = defaultdict(float)

    def timed(part: str, fn, *args, **kw):
        t = time.process_time()
        out = fn(*args, **kw)
        spent[part] += time.process_time() - t
        return out

    verify._require_cv2()
    enc.embedder.embed_arrays(np.zeros((1, copies.CNN_SIDE, copies.CNN_SIDE, 3), np.uint8))  # (the session made)
    prepared = []
    for path in paths:
        data = path.read_bytes()
        img, header = timed("decode (shared by every method)", decode_image, data, min_size=enc.min_side,
                            path_for_messages=str(path), min_long_side=enc.min_long_side)
        timed("keep-rule facts (shared)", image_facts, data, str(path), img, header=header)
        timed("phash: prepare", phash.prepare, img)
        grey = timed("grey conversion", img.convert, "L")
        gray = timed("features: scale to 320 px", verify._scaled, grey, verify.FEATURE_SIDE,
                     Image.Resampling.BILINEAR)
        keypoints, found = timed("features: ORB", verify._keypoints, gray)
        timed("features: ORB points in order", verify._ordered, keypoints, found)
        timed("features: ORB of the mirror", verify._mirror_detect, gray, keypoints)
        thumb = timed("features: grey thumbnail", verify._scaled, grey, verify.THUMB_SIDE, Image.Resampling.BOX)
        timed("features: spectrum", verify.spectrum, grey)
        timed("features: colour thumbnail", verify.colour_thumbnail, img)
        extracted = verify.extract(img, grey=grey)
        timed("features: to bytes", extracted.to_bytes)
        timed("canvas look", canvas.upright_picture, img, np.ascontiguousarray(thumb))
        timed("dihedral thumbnail", enc.dihedral.thumbnail, grey)
        timed("CNN input", enc.embedder.prepare, img)
        timed("capture stamp", copies.capture_of, img)
        timed("vote block", copies.vote_block, extracted)
        prepared.append(timed("= whole prepare", enc.prepare, img))
    for k in range(0, len(prepared), enc.batch_size):
        batch = prepared[k:k + enc.batch_size]
        timed("dihedral bits", lambda b=batch: hashing.bits_to_words(enc.dihedral.bits(np.stack([p[0] for p in b]))))
        timed("CNN (one thread)", lambda b=batch: enc.embedder.embed_arrays(np.stack([p[1] for p in b])))
        timed("= whole encode_batch", enc.encode_batch, batch)
    print(f"{len(paths)} JPEGs of {a.folder}, CPU ms an image (one thread):")
    for part, seconds in spent.items():
        print(f"  {part:34s} {1000 * seconds / len(paths):7.2f}")


if __name__ == "__main__":
    main()
