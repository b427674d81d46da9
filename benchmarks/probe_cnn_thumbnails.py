"""How small a thumbnail the CNN still matches to its photo at its default (0.88), beside phash's 10 bits.

    python benchmarks/probe_cnn_thumbnails.py [--sides 320 240 200 160 120]

A newcomer's shop catalogue held thumbnails a third of 481x321 photos (160x107): ``-m cnn`` paired neither with its
photo (0.875, 0.858) where ``-m phash`` found both at 0 bits. Here each photo (the 23 camera photos, upright, and
photos-public 180-216: no photo any threshold was tuned on) is shrunk to each long side (Lanczos, kept in memory,
no JPEG) and compared with the photo, by ``CNN().encode_image`` (cosine) and ``PHash().encode_image`` (bits).
Prints one line per side: how many pairs fall below the CNN's default and above phash's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, need_datasets  # noqa: E402

from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.methods import CNN, PHash  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[320, 240, 200, 160, 120])
    args = parser.parse_args()
    need_datasets("camera-photos/images", "photos-public/images")
    photos = sorted((DATASETS / "camera-photos" / "images").glob("*.jpg"))
    photos += sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[180:217]
    cnn, phash = CNN(verbose=False), PHash(verbose=False)
    cnn_default, phash_default = get_encoder("cnn").default_threshold, get_encoder("phash").default_threshold
    similarity: dict[int, list[float]] = {side: [] for side in args.sides}
    bits: dict[int, list[int]] = {side: [] for side in args.sides}
    for path in photos:
        photo = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        vector = cnn.encode_image(image_array=np.asarray(photo))[0]
        hashed = phash.encode_image(image_array=np.asarray(photo))
        for side in args.sides:
            small = photo.copy()
            small.thumbnail((side, side), Image.LANCZOS)
            other = cnn.encode_image(image_array=np.asarray(small))[0]
            similarity[side].append(float(vector @ other / np.linalg.norm(vector) / np.linalg.norm(other)))
            bits[side].append(phash.hamming_distance(hashed, phash.encode_image(image_array=np.asarray(small))))
    print(f"{len(photos)} photos; cnn default {cnn_default}, phash default {phash_default}")
    print("long side | cnn min | cnn median | cnn below default | phash max bits | phash above default")
    for side in args.sides:
        s, b = np.array(similarity[side]), np.array(bits[side])
        print(f"{side} px | {s.min():.3f} | {np.median(s):.3f} | {(s < cnn_default).sum()} of {len(s)} | "
              f"{b.max()} | {(b > phash_default).sum()} of {len(b)}")


if __name__ == "__main__":
    main()
