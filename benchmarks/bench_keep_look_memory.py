"""Peak memory of the keep stage's look at a huge framed PNG (keepbound, session 15).

    python benchmarks/bench_keep_look_memory.py [--workdir DIR] [--baseline-src OLD/src] [--side 12000]

A camera photo (``camera-photos``' ``cartridgeocr__PXL_20210515_181305750.jpg``, 4,032 x 3,024, turned upright) saved
as a PNG beside a PNG canvas of ``--side`` x ``--side * 19 // 24`` px holding it enlarged 2.6x on a flat grey: the
keep stage asks whether the canvas's picture is the photo enlarged (``copies._enlarged_area``), and a PNG has no
reduced-scale decode. Each source runs ``find DIR --no-cache --timings`` in a fresh process; printed: the keeper,
the peak RSS (``wait4``), the scan's and the keep stage's peak and CPU. The images are made in a child process, so
this one stays small.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, ROOT, need_datasets, run_imagetwins  # noqa: E402

PHOTO = "camera-photos/images/cartridgeocr__PXL_20210515_181305750.jpg"
MAKE = """
import sys
from PIL import Image, ImageOps
Image.MAX_IMAGE_PIXELS = None
photo, out, side = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = ImageOps.exif_transpose(Image.open(photo)).convert("RGB")
b.save(out + "/b.png", compress_level=1)
big = b.resize((int(b.width * 2.6), int(b.height * 2.6)), Image.Resampling.BICUBIC)
canvas = Image.new("RGB", (side, side * 19 // 24), (250, 250, 250))
canvas.paste(big, ((canvas.width - big.width) // 2, (canvas.height - big.height) // 2))
canvas.save(out + "/a_framed.png", compress_level=1)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="where the two PNGs and the caches go")
    parser.add_argument("--baseline-src", type=Path, default=None, help="another checkout's src, run the same")
    parser.add_argument("--side", type=int, default=12000, help="the canvas's long side (px)")
    args = parser.parse_args()
    need_datasets("camera-photos/images", script="bench_keep_look_memory.py")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="keep-look-"))
    folder = work / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", MAKE, str(DATASETS / PHOTO), str(folder), str(args.side)], check=True)
    sources = [("this checkout", ROOT / "src")]
    if args.baseline_src is not None:
        sources.insert(0, ("baseline", args.baseline_src))
    print("| source | keeper | peak RSS | scan peak | keep peak | keep CPU |")
    print("|---|---|---|---|---|---|")
    for name, src in sources:
        lines: list[str] = []
        code, err, out = run_imagetwins(["find", str(folder), "--no-cache", "--timings"], work / "cache", src,
                                        stdout=lines)
        if code != 0:
            print(f"| {name} | exit {code}: {err.strip().splitlines()[-1:]} | | | | |")
            continue
        keeper = next((line.split()[-1] for line in lines if line.strip().startswith("keep ")), "?")
        stages = out["stages"]
        print(f"| {name} | {Path(keeper).name} | {out['rss']:.0f} MB | {stages.get('scan', {}).get('rss', 0):.0f} MB "
              f"| {stages.get('keep', {}).get('rss', 0):.0f} MB | {stages.get('keep', {}).get('cpu', 0):.2f} s |")


if __name__ == "__main__":
    main()
