"""What the ``copies`` encoder costs an image, part by part, next to ``phash`` (issue #25): one thread, CPU time.

    nice -n 10 python benchmarks/profile_copies_encode.py FOLDER [--files 60]

The first ``--files`` JPEGs of FOLDER (``bench_home.py``'s library: ``/tmp/imagetwins-home/library-...``) are
decoded as a scan decodes them for ``copies`` (the decode is shared with every method of the run), then each part of
:meth:`imagetwins.encoders.copies.CopiesEncoder.prepare` and ``encode_batch`` is timed on its own (``time.process_time``
around the very functions the encoder calls: the CNN and the learned projection of its vectors,
``models/copies_projection_96.npz``, apart), then the whole ``prepare`` and ``encode_batch`` as a check that the
parts add up; the hashes and vectors the parts give are compared with ``encode_batch``'s rows (a step the encoder
takes and this script does not time shows there). A profiler in the scan's main thread sees only lock waits: the
work is on the decoding threads. Writes nothing.
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

from _common import library_jpegs  # noqa: E402

from imagetwins import canvas, copies, hashing, verify  # noqa: E402
from imagetwins.encoders import copies as copies_encoder  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.facts import image_facts  # noqa: E402
from imagetwins.io import decode_image, decoded_scale  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--files", type=int, default=60)
    a = ap.parse_args()
    paths = library_jpegs(a.folder, a.files, "profile_copies_encode.py")
    enc = get_encoder("copies").for_workers(1)
    phash = get_encoder("phash")
    spent: dict[str, float] = defaultdict(float)

    def timed(part: str, fn, *args, **kw):
        t = time.process_time()
        out = fn(*args, **kw)
        spent[part] += time.process_time() - t
        return out

    verify._require_cv2()
    copies_encoder.project_vectors(enc.embedder.embed_arrays(np.zeros((1, copies.CNN_SIDE, copies.CNN_SIDE, 3),
                                                                      np.uint8)))  # (the session made, the matrix read)
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
        timed("features: spectrum", verify.spectrum,
              verify.spectrum_picture(grey, gray, max(img.size) / decoded_scale(img)))
        timed("features: colour thumbnail", verify.colour_thumbnail, img)
        extracted = verify.extract(img, grey=grey)
        timed("features: to bytes", extracted.to_bytes)
        timed("canvas look", canvas.upright_picture, img, np.ascontiguousarray(thumb))
        timed("dihedral thumbnail", enc.dihedral.thumbnail, grey)
        timed("CNN input", enc.embedder.prepare, img)
        timed("capture stamp", copies.capture_of, img)
        timed("vote block", copies.vote_block, extracted)
        prepared.append(timed("= whole prepare", enc.prepare, img))
    same = True
    for k in range(0, len(prepared), enc.batch_size):
        batch = prepared[k:k + enc.batch_size]
        # (as encode_batch: the images, then the pictures cut from a canvas, in one stack for each part)
        alt = [p[3] for p in batch if p[3] is not None]
        words = timed("dihedral bits", lambda b=batch, c=alt: hashing.bits_to_words(
            enc.dihedral.bits(np.stack([p[0] for p in b] + [x[0] for x in c]))))
        pooled = timed("CNN (one thread)", lambda b=batch, c=alt: enc.embedder.embed_arrays(
            np.stack([p[1] for p in b] + [x[1] for x in c])))
        vectors = timed("CNN projection", copies_encoder.project_vectors, pooled).astype(copies.VECTOR_DTYPE)
        rows = timed("= whole encode_batch", enc.encode_batch, batch)
        # the parts timed are what copies does: they give the very rows encode_batch made
        hashes, vecs, _ = copies.stack(rows)
        owners, alt_hashes, alt_vecs = copies.alternates(rows)
        n = len(batch)
        same &= bool(np.array_equal(words[:n], hashes) and np.array_equal(vectors[:n], vecs)
                     and np.array_equal(words[n:], alt_hashes) and np.array_equal(vectors[n:], alt_vecs))
    print(f"{len(paths)} JPEGs of {a.folder}, CPU ms an image (one thread):")
    for part, seconds in spent.items():
        print(f"  {part:34s} {1000 * seconds / len(paths):7.2f}")
    print("the parts timed give encode_batch's rows: " + ("yes" if same else
                                                          "NO (the encoder does more or other work than timed here)"))


if __name__ == "__main__":
    main()
