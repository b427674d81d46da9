"""Byte-flip fuzzing of camera RAW decoding (LibRaw through rawpy), for a bounded time (not part of the test run).

    python fuzz/fuzz_raw.py --seconds 120 [--seed 0]

Seeds: DNGs written from a real photo (tests/test_raw.py's ``write_dng``): one with an RGB preview, one without,
and one with a JPEG preview. Each case changes 1-4 bytes, most of them in the TIFF structure (the first 2 KB:
IFD entries, sizes, offsets). Every case goes through :func:`imagetwins.io.open_image`, which runs LibRaw in a
worker process: the promise under test is that the fuzzing process itself never dies, and every case is an image
or an ``ImageReadError`` with a reason. Cases whose worker crashed ("decoder crashed: SIGSEGV" ...) are counted
and written to ``fuzz/crashes/`` so that they can be replayed.
"""

from __future__ import annotations

import argparse
import collections
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from imagetwins.io import ImageReadError, open_image  # noqa: E402


def seeds(tmp: Path) -> dict[str, bytes]:
    import tifffile
    from test_raw import _DNG_TAGS, write_dng

    photo = sorted((ROOT.parent / "shared" / "datasets" / "photos-public" / "images").glob("*.jpg"))[0]
    out = {}
    for name, preview in (("rgb-preview", True), ("no-preview", False)):
        out[name] = write_dng(photo, tmp / f"{name}.dng", preview=preview).read_bytes()
    # a JPEG preview (what cameras write): the JPEG's own bytes as the strip, through a stand-in encoder, since
    # tifffile needs imagecodecs to write JPEG
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
    x = rgb / 255.0
    sensor = np.round(np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4) * 65535).astype(np.uint16)
    tifffile._imagecodecs.jpeg_encode = lambda data, *a, **k: buf.getvalue()
    with tifffile.TiffWriter(tmp / "jpeg-preview.dng") as tw:
        tw.write(rgb, photometric="rgb", compression=7, subfiletype=1, subifds=1, extratags=_DNG_TAGS,
                 rowsperstrip=rgb.shape[0])
        tw.write(sensor, photometric=34892, subfiletype=0)
    out["jpeg-preview"] = (tmp / "jpeg-preview.dng").read_bytes()
    return out


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        where = int(rng.integers(0, 2048)) if rng.random() < 0.9 else int(rng.integers(0, len(b)))
        b[where % len(b)] = int(rng.integers(0, 256))
    return bytes(b)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import tempfile

    rng = np.random.default_rng(args.seed)
    crashes = ROOT / "fuzz" / "crashes"
    with tempfile.TemporaryDirectory() as tmp:
        pool = seeds(Path(tmp))
    names = sorted(pool)
    counts: collections.Counter = collections.Counter()
    end = time.monotonic() + args.seconds
    n = 0
    while time.monotonic() < end:
        name = names[n % len(names)]
        case = mutate(pool[name], rng)
        n += 1
        try:
            open_image(case, min_size=None if n % 2 else 192, path_for_messages=f"{name}.dng")
            counts["decoded"] += 1
        except ImageReadError as exc:
            kind = exc.reason.split(":")[0].split("(")[0].strip()
            counts[kind] += 1
            if exc.reason.startswith("decoder crashed"):
                crashes.mkdir(exist_ok=True)
                (crashes / f"raw-{args.seed}-{n}-{name}.dng").write_bytes(case)
        except Exception as exc:  # the promise broken: an exception other than ImageReadError
            counts[f"ESCAPED {type(exc).__name__}"] += 1
            crashes.mkdir(exist_ok=True)
            (crashes / f"raw-{args.seed}-{n}-{name}-escaped.dng").write_bytes(case)
    print(f"{n} cases in {args.seconds:g} s (seed {args.seed}); the fuzzing process survived all of them")
    for kind, k in counts.most_common():
        print(f"  {k:6d}  {kind}")


if __name__ == "__main__":
    main()
