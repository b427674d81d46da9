"""Does ``--keep original`` keep the original? Labelled groups of an original and one copy made the way copies
are made in real libraries, with "largest file" (Immich's rule) beside it.

    python benchmarks/bench_keeper.py                 # all groups, writes the BENCHMARKS.md section
    python benchmarks/bench_keeper.py --limit 40      # a quick look, nothing written
    python benchmarks/bench_keeper.py --kinds "AVIF q60, EXIF kept"   # one kind of copy, nothing written
    python benchmarks/bench_keeper.py --fresh         # the second held-out split (holidays-half), its own section

Originals, held out from what the keep rules were tuned on (``bench_keep_upscale.py`` chose its
thresholds on the first 10 photos-public and the first 8 camera-photos, sorted by name; those are left
out here): camera-photos 9-23 (real camera and phone JPEGs with their EXIF, every kind but padded and
upscaled; each made half as wide and high first, its EXIF block kept and its recorded size set to the new
one, so that it is still "a camera's own file": the benchmark ran on a shared 2-core machine),
photos-public 11-250 (no EXIF; two kinds each), the first view of each of the 150 ukbench objects (no
EXIF; one kind each). Copies, made with Pillow in a
temporary folder:

- ``re-export, metadata stripped``: the same pixels saved again as JPEG (quality 88), no EXIF (camera originals);
- ``HEIC original -> JPEG``: the original is a HEIC (pillow-heif; a camera photo's EXIF carried into it),
  the copy its JPEG conversion (quality 90) keeping the EXIF, and (``..., stripped``) without it;
- ``messenger``: longer side to 1280 px (never enlarged), JPEG quality 70, EXIF stripped;
- ``screenshot``: the photo shown full width on a 1170 x 2532 phone screen (black, a status bar with the time),
  saved as PNG;
- ``padded``: a 10 % white or black border on every side, JPEG 90;
- ``upscaled``: enlarged 2x (Lanczos), JPEG 90;
- ``PNG re-save``: the same pixels as PNG;
- ``AVIF q60, EXIF kept`` and ``editor re-save q97, EXIF kept`` (camera originals only, at full size: the
  camera's own file, not the halved re-save above): the camera JPEG converted to AVIF at quality 60 with its
  EXIF copied, and saved again as JPEG at quality 97 keeping its EXIF (what an editor does; finer tables than
  the camera's). Added with the camera-JPEG rule (``keep.camera_written``), which was checked, not fitted (it
  has no threshold), on all 23 camera-photos, these 15 included.
- ``DNG (synthetic) + its camera JPEG`` (camera originals only, at full size): the original is a DNG, the copy
  the camera's own JPEG, untouched. The datasets hold no DNG, so the DNG is **synthetic**: a real DNG 1.4 file
  (a 16-bit RGGB Bayer mosaic, written with tifffile, naming the JPEG's camera; LibRaw decodes it) made from
  the JPEG's own pixels, standing for the raw file a camera in RAW+JPEG mode writes beside its JPEG. What it
  checks is the rule (a raw file over the same-size JPEG, ``--raw-pairs`` aside: the names differ), not how a
  real sensor's raw file reads.
- ``cut-out PNG (alpha) -> JPEG on white`` (camera originals, halved, and the ukbench views, beside their kind
  above): the original is a PNG whose alpha channel cuts an ellipse out of the photo (a product on a transparent
  ground, feathered edge), the copy that picture flattened on white as a JPEG (quality 90). The alpha holds what the
  copy lacks, so the PNG is the one to keep (the rule `FileInfo.translucent`; no threshold).

Every file of a group gets the same modification time and a random name of the same length, so neither a
date nor a name gives the answer away: only the pictures and their EXIF do. A group is one original and
one copy, decided by :func:`imagetwins.keep.decide_groups` (the same decision ``find``, ``report`` and
``remove`` make). The split is explicit: :func:`held_out` (these originals) and ``tune_keeper.tuning`` (where
thresholds were chosen) share no file, which :func:`sources` checks.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS as DATA  # noqa: E402
from _common import need_datasets  # noqa: E402

from imagetwins import keep  # noqa: E402

DNG_KIND = "DNG (synthetic) + its camera JPEG"
CUT_OUT_KIND = "cut-out PNG (alpha) -> JPEG on white"
KINDS = ["re-export, metadata stripped", "HEIC original -> JPEG", "HEIC original -> JPEG, stripped", "messenger",
         "screenshot", "padded", "upscaled", "PNG re-save", "AVIF q60, EXIF kept", "editor re-save q97, EXIF kept",
         DNG_KIND, CUT_OUT_KIND]
# only where the original has EXIF
EXIF_KINDS = {"re-export, metadata stripped", "HEIC original -> JPEG", "AVIF q60, EXIF kept",
              "editor re-save q97, EXIF kept", DNG_KIND}
# the camera's own file is the original (or, for the DNG, the camera JPEG its pixels came from)
FULL_SIZE_KINDS = {"AVIF q60, EXIF kept", "editor re-save q97, EXIF kept", DNG_KIND}


def held_out() -> tuple[list[Path], list[Path], list[Path]]:
    """The held-out split: camera-photos 9-23, photos-public 11-250, the first ukbench view of each object.
    The keep rules' thresholds were chosen on other files: ``bench_keep_upscale.py`` on the first 10
    photos-public and the first 8 camera-photos, ``tune_keeper.py`` on :func:`tune_keeper.tuning` (those, the
    second ukbench views and holidays-half photos); :func:`sources` checks that none of those is here."""
    camera = sorted((DATA / "camera-photos" / "images").glob("*.jpg"))[8:]
    public = sorted((DATA / "photos-public" / "images").glob("*.jpg"))[10:]
    ukbench = sorted((DATA / "ukbench-600" / "images").glob("*.jpg"))[::4]
    return camera, public, ukbench


def sources() -> list[tuple[Path, list[str]]]:
    """(original, the kinds of copy made of it), of the held-out split only."""
    from tune_keeper import tuning

    camera, public, ukbench = held_out()
    overlap = set(camera + public + ukbench) & set(tuning())
    if overlap:
        raise SystemExit(f"the held-out split holds tuning files: {sorted(overlap)[:3]}")
    plain = [k for k in KINDS if k not in EXIF_KINDS and k != CUT_OUT_KIND]
    # (camera files: not padded or enlarged 2x, which makes 50-megapixel copies of 12-megapixel photos; the small
    # originals below cover those)
    out = [(p, [k for k in KINDS if k not in ("padded", "upscaled")]) for p in camera]
    out += [(p, [plain[(2 * i + j) % len(plain)] for j in range(2)]) for i, p in enumerate(public)]
    out += [(p, [plain[(i + 3) % len(plain)], CUT_OUT_KIND]) for i, p in enumerate(ukbench)]
    return out


def fresh_sources() -> list[tuple[Path, list[str]]]:
    """A second held-out split, looked at by nobody while the rules were written (``--fresh``): the holidays-half
    photos that are not in the tuning split (392 of 422: real photos of scenes, ~400 x 530 px, no camera EXIF),
    one kind of copy each, the kinds that need no EXIF taken in turn."""
    from tune_keeper import tuning

    tuned = set(tuning())
    photos = [p for p in sorted((DATA / "holidays-half" / "images").glob("*.jpg")) if p not in tuned]
    plain = [k for k in KINDS if k not in EXIF_KINDS and k != CUT_OUT_KIND]
    return [(p, [plain[i % len(plain)]]) for i, p in enumerate(photos)]


def _exif(img: Image.Image) -> bytes:
    return img.info.get("exif", b"")


def make_group(src: Path, kind: str, folder: Path, rng: random.Random) -> tuple[Path, Path]:
    """(original, copy) of one kind in ``folder``, every name random, both with one modification time."""
    def name(ext: str) -> Path:
        return folder / (f"{rng.getrandbits(40):010x}" + ext)

    if src.parent.parent.name == "camera-photos" and kind not in FULL_SIZE_KINDS:
        src = _halved(src, folder)
    with Image.open(src) as im:
        exif = _exif(im)
        upright = ImageOps.exif_transpose(im).convert("RGB")
    if kind == CUT_OUT_KIND:
        alpha = Image.new("L", upright.size, 0)
        w, h = upright.size
        ImageDraw.Draw(alpha).ellipse((w // 10, h // 10, w - w // 10, h - h // 10), fill=255)
        alpha = alpha.filter(ImageFilter.GaussianBlur(3))  # a feathered edge, as a cut-out's
        cut = upright.copy()
        cut.putalpha(alpha)
        original = name(".png")
        cut.save(original)
        white = Image.new("RGB", upright.size, "white")
        white.paste(upright, mask=alpha)
        copy = name(".jpg")
        white.save(copy, quality=90)
    elif kind == DNG_KIND:
        original = name(".dng")
        _synthetic_dng(upright, exif, original)
        copy = name(".jpg")
        os.link(src, copy) if src.stat().st_dev == folder.stat().st_dev else copy.write_bytes(src.read_bytes())
    elif kind.startswith("HEIC"):
        import pillow_heif

        pillow_heif.register_heif_opener()
        original = name(".heic")
        carried = _without_orientation(exif)
        # (quality 50: a phone's HEIC is smaller than its JPEG export, which is why "largest" keeps the export)
        upright.save(original, quality=50, **({"exif": carried} if carried else {}))
        with Image.open(original) as h:
            converted = h.convert("RGB")
            kept = h.info.get("exif") or b""
        copy = name(".jpg")
        converted.save(copy, quality=90, **({"exif": kept} if kept and not kind.endswith("stripped") else {}))
    else:
        original = name(".jpg")
        os.link(src, original) if src.stat().st_dev == folder.stat().st_dev else original.write_bytes(src.read_bytes())
        copy = name({"screenshot": ".png", "PNG re-save": ".png", "AVIF q60, EXIF kept": ".avif"}.get(kind, ".jpg"))
        if kind == "AVIF q60, EXIF kept":
            upright.save(copy, quality=60, speed=8, **({"exif": _without_orientation(exif)} if exif else {}))
        elif kind == "editor re-save q97, EXIF kept":
            with Image.open(original) as im:  # (stored pixels, EXIF as it was: orientation and all)
                im.save(copy, quality=97, exif=exif)
        elif kind == "re-export, metadata stripped":
            upright.save(copy, quality=88)
        elif kind == "messenger":
            scale = min(1.0, 1280 / max(upright.size))
            small = upright.resize((round(upright.width * scale), round(upright.height * scale)), Image.LANCZOS)
            small.save(copy, quality=70)
        elif kind == "screenshot":
            _screenshot(upright).save(copy)
        elif kind == "padded":
            pad = round(0.1 * max(upright.size))
            ImageOps.expand(upright, pad, fill=rng.choice(["white", "black"])).save(copy, quality=90)
        elif kind == "upscaled":
            upright.resize((2 * upright.width, 2 * upright.height), Image.LANCZOS).save(copy, quality=90)
        elif kind == "PNG re-save":
            upright.save(copy)
        else:
            raise ValueError(kind)
    t = time.time() - 86400
    for p in (original, copy):
        os.utime(p, (t, t))
    return original, copy


def _synthetic_dng(upright: Image.Image, exif: bytes, out: Path) -> None:
    """A real DNG 1.4 (:func:`home_library.write_dng`: a 16-bit RGGB Bayer mosaic, no preview) made from a camera
    JPEG's displayed pixels, naming the camera the JPEG's EXIF names: what a camera in RAW+JPEG mode leaves beside
    its JPEG, except that its pixels came from the JPEG (no DNG is among the datasets). LibRaw (rawpy) decodes it,
    so imagetwins reads its size as it reads a camera's."""
    from home_library import write_dng

    e = Image.Exif()
    if exif:
        e.load(exif)
    make = str(e.get(0x010F) or "Camera").strip(" \x00") or "Camera"
    model = str(e.get(0x0110) or "Model").strip(" \x00") or "Model"
    write_dng(upright, make, model, out, preview_side=0)


def _halved(src: Path, folder: Path) -> Path:
    """A camera file at half its width and height, its EXIF kept, the size it records made the new one."""
    out = folder / "halved-source.jpg"
    with Image.open(src) as im:
        exif = im.getexif()
        small = im.reduce(2)
        inner = exif.get_ifd(0x8769)
        if 0xA002 in inner and 0xA003 in inner:
            inner[0xA002], inner[0xA003] = small.width, small.height
        small.save(out, quality=95, exif=exif.tobytes())
    return out


def _without_orientation(exif: bytes) -> bytes:
    if not exif:
        return b""
    e = Image.Exif()
    e.load(exif)
    e.pop(0x0112, None)  # the pixels are upright already
    return e.tobytes()


def _screenshot(img: Image.Image) -> Image.Image:
    screen = Image.new("RGB", (1170, 2532), "black")
    shown = img.resize((1170, max(1, round(img.height * 1170 / img.width))), Image.LANCZOS)
    if shown.height > 2300:
        shown = img.resize((max(1, round(img.width * 2300 / img.height)), 2300), Image.LANCZOS)
    screen.paste(shown, ((1170 - shown.width) // 2, (2532 - shown.height) // 2))
    draw = ImageDraw.Draw(screen)
    draw.text((60, 40), "9:41", fill="white")  # the status bar
    draw.rectangle((1000, 45, 1080, 70), outline="white")
    return screen


NOTES = """313 CPU s (930 groups) on a shared 2-core machine under load ~20 (765 groups before the cut-out kind: 135
CPU s). The cut-out kind was added with the rule that a translucent file is no re-save (`FileInfo.translucent`: an
alpha that leaves some pixel less than opaque; no threshold), its groups drawn from a stream of their own so that
every other group is the very files it was: before the rule `--keep original` kept the JPEG on white in all 165
(0 of 165, the PNG taken for its re-save; `--kinds 'cut-out PNG (alpha) -> JPEG on white'` on main 6d348a7, 23 CPU
s), now the PNG in all; the other 765 groups keep the same keepers as before (765 of 765). Before this rule set
(the same 750 groups, the DNG kind not yet there): 731 of 750 (97.5 %); the 19 lost
were 2x enlargements of small photos (12: 8 ukbench objects, 4 photos-public) and padded copies and screenshots
of photos whose own edge is a flat sky (7: bsds 120093, 302008, 347031, 393035). Now none is lost. Two pieces of
evidence changed, both measured on the tuning split first (`python benchmarks/tune_keeper.py`), whose table
says how the threshold sits: (1) the enlargement score takes the larger JPEG's own noise floor off (what the
best-fitting enlargement differs by once saved with the larger file's luminance table; not where that table is
coarser than libjpeg's quality 75, where a quality-50 original's fine detail is no more than that noise), and
the threshold moved from 0.1 to 0.05 on that corrected score: on the tuning split 2x/1.5x Lanczos and bicubic
enlargements at q75-q90 score at most 0.070 (323 of 324 below 0.05), originals beside their 0.5x and 0.7x
copies at least 0.240, also when the original itself is a quality-50 or -65 JPEG (756 pairs, none below);
enlargements by kernels the score does not try (Hamming, nearest) are not caught, as before, which keeps the
enlargement (it holds the picture); (2) a padded copy's inner picture may have the shape of the plain file's
whole frame, not only of what lies inside the plain file's own border (a flat sky at the photo's edge reads as
a bar in the original and lies inside the copy's padding), and then padding across sides where the plain file
has no border counts however large the sky bar was; no new threshold (5 % of the area and 3 % of the aspect as
before, 2 % of a side as "no border" set beforehand). These rules were written after looking at the 19 held-out
failures named above (which the issue listed), so this split is no longer blind to them; the tuning split is
where their one number (0.05) was chosen. Largest file loses every HEIC (a HEIC is smaller than its JPEG
export), every screenshot, enlargement and PNG re-save. The DNG kind is synthetic (see the script): what it
measures is the rule, a raw file over its same-size camera JPEG, which both rules get right."""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="only the first N originals (a quick look; writes nothing)")
    ap.add_argument("--seed", type=int, default=26)
    ap.add_argument("--kinds", nargs="+", choices=KINDS, metavar="KIND",
                    help="only these kinds of copy (writes nothing); e.g. --kinds 'AVIF q60, EXIF kept'")
    ap.add_argument("--fresh", action="store_true",
                    help="the second held-out split (holidays-half photos outside the tuning split; writes its own "
                         "section)")
    args = ap.parse_args()
    need_datasets("camera-photos/images", "photos-public/images", "ukbench-600/images", "holidays-half/images")
    rng = random.Random(args.seed)
    later_rng = random.Random(args.seed + 1)
    dng_rng = random.Random(args.seed + 2)
    cut_rng = random.Random(args.seed + 3)
    todo = fresh_sources() if args.fresh else sources()
    if args.kinds:
        todo = [(p, [k for k in kinds if k in args.kinds]) for p, kinds in todo]
        todo = [(p, kinds) for p, kinds in todo if kinds]
    if args.limit:
        todo = todo[:: max(1, len(todo) // args.limit)][: args.limit]
    ours = dict.fromkeys(KINDS, 0)
    largest = dict.fromkeys(KINDS, 0)
    count = dict.fromkeys(KINDS, 0)
    wrong: list[str] = []
    start = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        for n, (src, kinds) in enumerate(todo):
            for kind in kinds:
                folder = Path(tmp) / f"{n}-{KINDS.index(kind)}"
                folder.mkdir()
                # (the kinds added later draw their names from a stream of their own: the others' groups stay
                # the very files they were before them)
                stream = (dng_rng if kind == DNG_KIND else cut_rng if kind == CUT_OUT_KIND
                          else later_rng if kind in FULL_SIZE_KINDS else rng)
                original, copy = make_group(src, kind, folder, stream)
                group = [str(original), str(copy)]
                count[kind] += 1
                got = keep.decide_groups([group], rule="original", workers=1)[0].keeper
                ours[kind] += got == str(original)
                largest[kind] += keep.decide_groups([group], rule="largest", workers=1)[0].keeper == str(original)
                if got != str(original):
                    wrong.append(f"{kind}: {src.parent.parent.name}/{src.name}")
                for p in folder.iterdir():
                    p.unlink()
            print(f"\r{n + 1}/{len(todo)} originals", end="", file=sys.stderr)
    print(file=sys.stderr)
    total = sum(count.values())
    rows = ["| copy | groups | `--keep original` keeps the original | largest file (Immich) keeps it |",
            "| --- | ---: | ---: | ---: |"]
    for k in KINDS:
        if count[k]:
            rows.append(f"| {k} | {count[k]} | {ours[k]} ({100 * ours[k] / count[k]:.1f} %) | "
                        f"{largest[k]} ({100 * largest[k] / count[k]:.1f} %) |")
    rows.append(f"| **all** | **{total}** | **{sum(ours.values())} ({100 * sum(ours.values()) / total:.1f} %)** | "
                f"**{sum(largest.values())} ({100 * sum(largest.values()) / total:.1f} %)** |")
    table = "\n".join(rows)
    print(table)
    print(f"{time.process_time() - start:.0f} CPU s in this process", file=sys.stderr)
    for w in wrong:
        print("  original lost:", w, file=sys.stderr)
    if not args.limit and not args.kinds and args.fresh:
        from _common import write_section

        write_section("keeper-fresh", "Which file is kept, on photos nobody looked at (`bench_keeper.py --fresh`)",
                      "Command: `python benchmarks/bench_keeper.py --fresh`. A second held-out split, made after the "
                      "rules were written and never looked at while writing them: the 392 holidays-half photos "
                      "outside the tuning split (real photos of scenes, ~400 x 530 px, no camera EXIF), one copy "
                      "each, the kinds that need no EXIF in turn, made as in the main table. "
                      f"{time.process_time() - start:.0f} CPU s on a shared, loaded 2-core machine.\n\n" + table
                      + "\n\n" + "\n".join(f"Lost: {w}" for w in wrong))
    elif not args.limit and not args.kinds:
        from _common import write_section

        write_section("keeper", "Which file is kept (`benchmarks/bench_keeper.py`)",
                      "Command: `python benchmarks/bench_keeper.py`. **Held-out split** (`held_out()`): camera-photos "
                      "9-23, photos-public 11-250, the first ukbench view of each object. The thresholds were chosen "
                      "on the **tuning split** only (`benchmarks/tune_keeper.py`: photos-public 1-10, camera-photos "
                      "1-8, the second ukbench view of 60 objects, every 14th holidays-half photo; the script checks "
                      "that the two share no file). Each group is one original and one copy, every name random and "
                      "both files with one modification time, so only pixels and EXIF decide (see the script's "
                      "docstring for how each copy is made). The DNG is synthetic: the datasets hold none, so a real "
                      "DNG file (Bayer mosaic, LibRaw decodes it) is written from the camera JPEG's pixels.\n\n"
                      + table + "\n\n" + NOTES)


if __name__ == "__main__":
    main()
