"""Mutational fuzzing of the decode-and-hash path, for a bounded time (not part of the test run).

    python fuzz/fuzz_decode.py --seconds 300 [--seed 0]

Seeds are real photos from ../shared/datasets re-encoded as JPEG, PNG, GIF, WebP, TIFF and BMP.
Each case flips bytes, cuts the file, repeats or inserts chunks, or rewrites header fields; the
promise under test: ``open_image`` + every hash either succeeds or raises ``ImageReadError`` with a
reason; nothing else escapes, and no case takes longer than the per-file time limit. Crashing inputs
are written to ``fuzz/crashes/`` (add them to tests/badinput once fixed).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import traceback
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from imagetwins.hashing import DECODE_TIMEOUT, HASH_METHODS, hash_image  # noqa: E402
from imagetwins.io import ImageReadError, open_image, quiet_decoder_warnings  # noqa: E402


def seeds() -> list[bytes]:
    photos = sorted((ROOT.parent / "shared" / "datasets" / "photos-public" / "images").glob("*.jpg"))[:4]
    out = []
    for p in photos:
        img = Image.open(p).convert("RGB").resize((160, 107))
        for fmt in ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"):
            buf = io.BytesIO()
            img.save(buf, format=fmt)
            out.append(buf.getvalue())
        out.append(p.read_bytes())
    return out


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 6))):
        op = rng.integers(0, 6)
        if op == 0 and b:  # flip random bytes
            for i in rng.integers(0, len(b), size=int(rng.integers(1, 16))):
                b[i] = int(rng.integers(0, 256))
        elif op == 1 and len(b) > 8:  # cut
            b = b[: int(rng.integers(1, len(b)))]
        elif op == 2 and b:  # repeat a chunk
            i = int(rng.integers(0, len(b)))
            b[i:i] = b[i: i + int(rng.integers(1, 512))]
        elif op == 3:  # insert random bytes
            i = int(rng.integers(0, len(b) + 1))
            b[i:i] = rng.bytes(int(rng.integers(1, 64)))
        elif op == 4 and len(b) > 32:  # rewrite a header field with an extreme value
            i = int(rng.integers(0, min(64, len(b) - 4)))
            b[i: i + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
        elif op == 5 and len(b) > 16:  # delete a span
            i = int(rng.integers(0, len(b) - 8))
            del b[i: i + int(rng.integers(1, 256))]
    return bytes(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    pool = seeds()
    crashes_dir = ROOT / "fuzz" / "crashes"
    stats = {"cases": 0, "decoded": 0, "rejected": 0, "crashes": 0, "slow": 0}
    reasons: dict[str, int] = {}
    end = time.time() + args.seconds
    with quiet_decoder_warnings():
        while time.time() < end:
            data = mutate(pool[int(rng.integers(0, len(pool)))], rng)
            stats["cases"] += 1
            t0 = time.perf_counter()
            try:
                img = open_image(data, min_size=192)
                for m in HASH_METHODS:
                    hash_image(img, m)
                stats["decoded"] += 1
            except ImageReadError as exc:
                stats["rejected"] += 1
                key = exc.reason.split(" (")[0]
                reasons[key] = reasons.get(key, 0) + 1
            except Exception:
                stats["crashes"] += 1
                crashes_dir.mkdir(exist_ok=True)
                name = crashes_dir / f"crash-{args.seed}-{stats['cases']}.bin"
                name.write_bytes(data)
                print(f"CRASH {name}\n{traceback.format_exc()}", file=sys.stderr)
            if time.perf_counter() - t0 > DECODE_TIMEOUT:
                stats["slow"] += 1
    print(f"{args.seconds:.0f} s, seed {args.seed}: {stats}")
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6d}  {reason}")


if __name__ == "__main__":
    main()
