"""Everyday edits no other benchmark makes: does ``copies`` (the default method) find them as copies?

    python benchmarks/bench_everyday_edits.py --workdir /tmp/everyday            # ~4 min wall; the table
    python benchmarks/bench_everyday_edits.py --workdir /tmp/everyday --photos 3 # a quick look

The guide's rule "measure on data you did not tune on": the edits here are the ones people make every day with a
phone or a social app, none of them in ``imagetwins.edits`` (``EDITS``, ``FAMILIES``), ``quality.py --families``,
``bench_tilted_copies.py``, ``bench_screenshot_crops.py``, ``bench_dark_turns.py``, ``bench_straightened_copies.py``
or ``bench_colour_marks.py``, each drawn over the whole range users meet (seeded), not the range that passes:

- ``square_filter``: a social-media square crop (60-100 % of the short side, anywhere), at 1,080 px, with one or two
  filters (warm/cool tone, faded blacks, vignette, saturation), JPEG 70-92;
- ``messenger``: a messenger re-send: long side 1,280/1,600/2,048 px (never enlarged), JPEG 60-75 with 4:2:0 chroma,
  EXIF gone, forwarded once more (a second re-send) one time in three;
- ``story``: a 9:16 story (1,080 x 1,920): the photo 70-100 % of the width over a blurred, zoomed copy of itself or a
  solid colour, a caption of 1-2 lines above or below it;
- ``caption_bar``: a meme caption bar (white, 12-35 % of the picture's height) with black text above the picture;
- ``stock_watermark``: a stock-photo watermark: semi-transparent text (15-45 %) tiled diagonally over the whole photo;
- ``framed_shadow``: the photo on a coloured card (55-85 % of it) in a thick white border (3-10 %) with a drop shadow;
- ``before_after``: a before/after pair side by side (or one above the other): the photo and the photo filtered,
  labelled, a divider between them (every pixel from the one capture);
- ``film_print``: a print look: black-and-white or sepia, film grain (sd 6-25 levels), a contrast curve;
- ``hdr_clarity``: a heavy HDR/clarity filter: local contrast (unsharp mask of radius 2-6 % of the size, amount
  0.5-2.5) and saturation x1.1-1.6;
- ``rounded_png``: an app export with rounded corners (3-15 % of the short side) left transparent, saved as PNG.

Each source gives ``--photos`` distinct originals spread over its files (ukbench-600: one view of a group apart;
holidays-half: the first photo of a group apart); where the source has them, another capture of each original's
scene (ukbench-600's second view, holidays-half's second photo) sits beside it as a re-shot. Each source's folder
(originals, their copies, the re-shots) is searched as ``find -m copies`` searches it (``encoder.pairs``, then the
groups at the default confidence, ``search.connected_components``). A copy is *found* when the groups put it with its
original (``direct``: the pair itself called a copy), *re-shot* when not found and the pair's kept verdict says
re-shot, else *missed*; a pair the search did not return is checked alone (``copies.check_pairs``) to tell a
proposer miss (the check alone calls it a copy) from a verification miss. False copies: copies of one original
grouped with those of another (each pair of files counted once; the groups are ``find``'s before its keep stage).
Every case's line goes to ``WORKDIR/cases.tsv`` (paths for ``imagetwins explain``). CPU: user+sys of this process
(the verification's workers are children, not counted).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402
from bench_tilted_copies import drafted  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.edits import _font  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.scores import CONFIDENCE, Verdict  # noqa: E402
from imagetwins.search import connected_components  # noqa: E402

SOURCES = ("photos-public", "ukbench-600", "camera-photos", "holidays-half")
CAPTIONS = ("when the weekend finally hits", "me pretending to be ok", "Sunday mood", "best day ever!!",
            "can't stop thinking about this", "who else remembers this", "not me doing this again",
            "POV: you said one more photo", "#tbt", "link in bio")


def _jpeg(img: Image.Image, quality: int, subsampling: int = 2) -> tuple[bytes, str]:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=int(quality), subsampling=subsampling)
    return buf.getvalue(), "jpg"


def _fit(img: Image.Image, width: int, height: int) -> Image.Image:
    """``img`` scaled to fit inside ``width`` x ``height``, its aspect kept."""
    s = min(width / img.width, height / img.height)
    return img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))), Image.Resampling.LANCZOS)


def _tone(img: Image.Image, rng: np.random.Generator, count: int) -> Image.Image:
    """``count`` of the filters social apps offer, each at a strength drawn over its whole range."""
    a = np.asarray(img, np.float32)
    for name in rng.choice(["warm_cool", "faded", "vignette", "saturation", "curve"], count, replace=False):
        if name == "warm_cool":
            g = float(rng.uniform(0.10, 0.25)) * float(rng.choice([-1, 1]))
            a = a * np.array([1 + g, 1 + g / 4, 1 - g], np.float32)
        elif name == "faded":
            lift = float(rng.uniform(15, 60))
            a = lift + a * (255 - lift) / 255
        elif name == "vignette":
            h, w = a.shape[:2]
            y, x = np.mgrid[0:h, 0:w]
            r = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2)) / np.sqrt(2)
            a = a * (1 - float(rng.uniform(0.2, 0.7)) * r ** 2)[..., None]
        elif name == "saturation":
            grey = a.mean(axis=2, keepdims=True)
            a = grey + (a - grey) * float(rng.uniform(0.6, 1.4))
        else:  # an S curve (or its inverse) of strength 0.2-0.6
            k = float(rng.uniform(0.2, 0.6)) * float(rng.choice([-1, 1]))
            t = np.clip(a, 0, 255) / 255
            a = 255 * (t + k * t * (1 - t) * (2 * t - 1))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def square_filter(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    side = round(min(img.size) * rng.uniform(0.6, 1.0))
    x, y = int(rng.integers(0, img.width - side + 1)), int(rng.integers(0, img.height - side + 1))
    sq = img.crop((x, y, x + side, y + side)).resize((1080, 1080), Image.Resampling.LANCZOS)
    return _jpeg(_tone(sq, rng, int(rng.integers(1, 3))), int(rng.integers(70, 93)))


def messenger(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    data = b""
    for _ in range(2 if rng.random() < 1 / 3 else 1):
        long_side = int(rng.choice([1280, 1600, 2048]))
        if max(img.size) > long_side:
            img = _fit(img, long_side, long_side)
        data, _ = _jpeg(img, int(rng.integers(60, 76)), subsampling=2)
        img = Image.open(io.BytesIO(data)).convert("RGB")
    return data, "jpg"


def _caption(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, size: int, fill) -> None:
    """``text`` centred in ``box`` (wrapped in two lines where it is long)."""
    font = _font(size)
    words = text.split()
    lines = [text] if draw.textlength(text, font=font) < box[2] - box[0] else [
        " ".join(words[:len(words) // 2]), " ".join(words[len(words) // 2:])]
    y = (box[1] + box[3]) / 2 - len(lines) * size * 0.6
    for line in lines:
        draw.text(((box[0] + box[2]) / 2, y), line, fill=fill, font=font, anchor="ma")
        y += size * 1.2


def story(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    width, height = 1080, 1920
    shown = _fit(img, round(width * rng.uniform(0.7, 1.0)), round(height * 0.7))
    if rng.random() < 0.5:  # a blurred, zoomed copy of the photo behind it
        s = max(width / img.width, height / img.height)
        back = img.resize((round(img.width * s) + 1, round(img.height * s) + 1), Image.Resampling.BILINEAR)
        x0, y0 = (back.width - width) // 2, (back.height - height) // 2
        back = back.crop((x0, y0, x0 + width, y0 + height))
        back = back.filter(ImageFilter.GaussianBlur(float(rng.uniform(20, 60))))
    else:
        back = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 256, 3)))
    x = (width - shown.width) // 2
    y = int(rng.integers(height // 6, height - shown.height - height // 8))
    back.paste(shown, (x, y))
    draw = ImageDraw.Draw(back)
    size = int(rng.integers(40, 81))
    top = rng.random() < 0.5
    box = (40, max(0, y - 3 * size), width - 40, y) if top else (40, y + shown.height, width - 40,
                                                                 min(height, y + shown.height + 3 * size))
    _caption(draw, box, str(rng.choice(CAPTIONS)), size, (255, 255, 255) if rng.random() < 0.6 else (0, 0, 0))
    return _jpeg(back, int(rng.integers(80, 91)))


def caption_bar(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    bar = round(img.height * rng.uniform(0.12, 0.35))
    out = Image.new("RGB", (img.width, img.height + bar), (255, 255, 255))
    out.paste(img, (0, bar))
    _caption(ImageDraw.Draw(out), (img.width // 20, 0, img.width - img.width // 20, bar), str(rng.choice(CAPTIONS)),
             max(10, round(bar * rng.uniform(0.22, 0.32))), (0, 0, 0))
    return _jpeg(out, int(rng.integers(75, 91)))


def stock_watermark(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    size = max(10, round(img.width * rng.uniform(0.04, 0.10)))
    layer = Image.new("RGBA", (img.width * 2, img.height * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    alpha = round(255 * rng.uniform(0.15, 0.45))
    ink = (255, 255, 255, alpha) if rng.random() < 0.7 else (0, 0, 0, alpha)
    text = str(rng.choice(["(c) PHOTOSTOCK", "SAMPLE", "shutterpix", "preview only", "DREAMSTOCK"]))
    step_x, step_y = round(size * rng.uniform(6, 10)), round(size * rng.uniform(3, 5))
    for row, y in enumerate(range(0, layer.height, step_y)):
        for x in range(-(row % 2) * step_x // 2, layer.width, step_x):
            draw.text((x, y), text, fill=ink, font=_font(size))
    layer = layer.rotate(float(rng.uniform(20, 40)), resample=Image.Resampling.BICUBIC)
    layer = layer.crop((img.width // 2, img.height // 2, img.width // 2 + img.width, img.height // 2 + img.height))
    return _jpeg(Image.alpha_composite(img.convert("RGBA"), layer), int(rng.integers(80, 93)))


def framed_shadow(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    aspect = float(rng.choice([1.0, 0.8, img.width / img.height]))
    width = 1600
    height = round(width / aspect)
    card = tuple(int(v) for v in rng.choice([(236, 236, 236), (242, 232, 214), (40, 40, 44), (120, 160, 190)]))
    out = Image.new("RGB", (width, height), card)
    shown = _fit(img, round(width * rng.uniform(0.55, 0.85)), round(height * rng.uniform(0.55, 0.85)))
    pad = round(min(shown.size) * rng.uniform(0.03, 0.10))
    fw, fh = shown.width + 2 * pad, shown.height + 2 * pad
    x, y = (width - fw) // 2, (height - fh) // 2
    off = round(width * rng.uniform(0.01, 0.03))
    shadow = Image.new("L", (width, height), 0)
    ImageDraw.Draw(shadow).rectangle((x + off, y + off, x + off + fw, y + off + fh), fill=int(rng.integers(90, 200)))
    shadow = shadow.filter(ImageFilter.GaussianBlur(off))
    out = Image.composite(Image.new("RGB", (width, height), (0, 0, 0)), out, shadow)
    out.paste(Image.new("RGB", (fw, fh), (255, 255, 255)), (x, y))
    out.paste(shown, (x + pad, y + pad))
    return _jpeg(out, int(rng.integers(85, 94)))


def before_after(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    after = _tone(img, rng, int(rng.integers(1, 3)))
    if rng.random() < 0.3:
        after = ImageOps.grayscale(after).convert("RGB")
    gap = round(max(img.size) * rng.uniform(0.0, 0.03))
    if img.width <= img.height or rng.random() < 0.5:  # side by side
        out = Image.new("RGB", (2 * img.width + gap, img.height), (255, 255, 255))
        out.paste(img, (0, 0))
        out.paste(after, (img.width + gap, 0))
    else:
        out = Image.new("RGB", (img.width, 2 * img.height + gap), (255, 255, 255))
        out.paste(img, (0, 0))
        out.paste(after, (0, img.height + gap))
    draw = ImageDraw.Draw(out)
    size = max(10, round(min(img.size) * 0.07))
    draw.text((size // 2, size // 2), "BEFORE", fill=(255, 255, 255), font=_font(size), stroke_width=2,
              stroke_fill=(0, 0, 0))
    second = (img.width + gap, 0) if out.width > img.width else (0, img.height + gap)
    draw.text((second[0] + size // 2, second[1] + size // 2), "AFTER", fill=(255, 255, 255), font=_font(size),
              stroke_width=2, stroke_fill=(0, 0, 0))
    out = _fit(out, 2048, 2048) if max(out.size) > 2048 else out
    return _jpeg(out, int(rng.integers(80, 93)))


def film_print(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    grey = np.asarray(ImageOps.grayscale(img), np.float32)
    k = float(rng.uniform(0.1, 0.5))
    t = grey / 255
    grey = 255 * (t + k * t * (1 - t) * (2 * t - 1))
    grain = rng.normal(0, float(rng.uniform(6, 25)), grey.shape).astype(np.float32)
    if rng.random() < 0.5:  # coarser grain, as film's
        g = Image.fromarray(np.clip(grain + 128, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
        grain = (np.asarray(g, np.float32) - 128) * 2
    grey = grey + grain
    if rng.random() < 0.5:
        a = grey[..., None] * np.array([1.07, 0.92, 0.72], np.float32) + np.array([18, 10, 0], np.float32)
    else:
        a = np.repeat(grey[..., None], 3, axis=2)
    return _jpeg(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), int(rng.integers(80, 93)))


def hdr_clarity(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    radius = max(img.size) * float(rng.uniform(0.02, 0.06))
    a = np.asarray(img, np.float32)
    blurred = np.asarray(img.filter(ImageFilter.GaussianBlur(radius)), np.float32)
    a = a + float(rng.uniform(0.5, 2.5)) * (a - blurred)
    grey = a.mean(axis=2, keepdims=True)
    a = grey + (a - grey) * float(rng.uniform(1.1, 1.6))
    return _jpeg(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), int(rng.integers(85, 94)))


def rounded_png(img: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    if rng.random() < 0.5 and img.width > 1080:
        img = _fit(img, 1080, 4000)
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, img.width - 1, img.height - 1),
                                           round(min(img.size) * rng.uniform(0.03, 0.15)), fill=255)
    out = img.convert("RGBA")
    out.putalpha(mask)
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue(), "png"


EDITS: dict[str, Callable[[Image.Image, np.random.Generator], tuple[bytes, str]]] = {
    "square_filter": square_filter, "messenger": messenger, "story": story, "caption_bar": caption_bar,
    "stock_watermark": stock_watermark, "framed_shadow": framed_shadow, "before_after": before_after,
    "film_print": film_print, "hdr_clarity": hdr_clarity, "rounded_png": rounded_png}


def originals(source: str, count: int) -> list[tuple[Path, Path | None]]:
    """``count`` distinct photos spread over ``source``, each with another capture of its scene where the source has
    one (else None)."""
    if source == "ukbench-600":
        files = sorted((DATASETS / source / "images").glob("*.jpg"))
        groups = [files[g:g + 4] for g in range(0, len(files) - 3, 4)]
        step = max(1, len(groups) // count)
        return [(g[0], g[1]) for g in groups[::step][:count]]
    if source == "holidays-half":
        truth = json.loads((DATASETS / source / "groundtruth_groups.json").read_text())
        groups = [sorted(truth[g]) for g in sorted(truth)]
        step = max(1, len(groups) // count)
        return [(DATASETS / source / "images" / g[0], DATASETS / source / "images" / g[1])
                for g in groups[::step][:count]]
    files = sorted((DATASETS / source / "images").glob("*.jpg"))
    step = max(1, len(files) // count)
    return [(f, None) for f in files[::step][:count]]


def build(work: Path, source: str, count: int, seed: int) -> list[dict]:
    """The source's folder made in ``work/source`` (made once): one row per file."""
    folder = work / source
    listing = folder / "files.json"
    if listing.is_file():
        return json.loads(listing.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for k, (photo, reshot) in enumerate(originals(source, count)):
        img = drafted(photo)
        original = folder / f"{k:02d}_original.jpg"
        img.save(original, quality=95)
        rows.append({"path": str(original), "photo": k, "case": "original", "from": photo.name})
        if reshot is not None:
            out = folder / f"{k:02d}_reshot.jpg"
            drafted(reshot).save(out, quality=95)
            rows.append({"path": str(out), "photo": k, "case": "re-shot", "from": reshot.name})
        for e, (name, edit) in enumerate(EDITS.items()):
            data, suffix = edit(img, np.random.default_rng([seed, SOURCES.index(source), k, e]))
            out = folder / f"{k:02d}_{name}.{suffix}"
            out.write_bytes(data)
            rows.append({"path": str(out), "photo": k, "case": name, "from": photo.name})
    listing.write_text(json.dumps(rows))
    return rows


def judged(encoder, rows: list[dict]) -> tuple[list[dict], int, int]:
    """Each non-original row with its answer (found / direct / re-shot / missed, and the pair's confidence and
    verdict), the false copies (pairs of files of different photos grouped) and the true pairs checked."""
    paths = [r["path"] for r in rows]
    enc = encoder.encode_files(paths, workers=2, warn=False)
    assert not enc.failures and list(enc.paths) == paths, enc.failures
    p = encoder.pairs(enc.encodings, encoder.loosest_threshold(), workers=2, paths=paths)
    kept = CONFIDENCE.within(p.score, encoder.default_threshold, p.mark_bits)
    labels = connected_components(len(rows), p.left[kept], p.right[kept])
    scored = {(int(a), int(b)): (float(s), int(m)) for a, b, s, m in zip(p.left, p.right, p.score, p.mark_bits)}
    scored.update({(b, a): v for (a, b), v in list(scored.items())})
    first = {r["photo"]: i for i, r in enumerate(rows) if r["case"] == "original"}
    unproposed = [(first[r["photo"]], i) for i, r in enumerate(rows) if r["case"] != "original"
                  and (first[r["photo"]], i) not in scored]
    if unproposed:
        left, right = np.array([a for a, _ in unproposed]), np.array([b for _, b in unproposed])
        with copies.naming(paths):
            alone = copies.check_pairs(enc.encodings, left, right, workers=2)
        checked = {(int(a), int(b)): (float(s), int(m)) for a, b, s, m in zip(left, right, alone.score,
                                                                               alone.mark_bits)}
    else:
        checked = {}
    out = []
    for i, r in enumerate(rows):
        if r["case"] == "original":
            continue
        o = first[r["photo"]]
        proposed = (o, i) in scored
        score, marks = scored[o, i] if proposed else checked[o, i]
        verdict = Verdict.of_bits(marks)
        copy_alone = bool(CONFIDENCE.within(np.array([score], np.float32), encoder.default_threshold,
                                            np.array([marks], np.uint8))[0])
        if labels[i] == labels[o]:
            answer = "found"
        elif verdict is Verdict.RESHOT:
            answer = "re-shot"
        else:
            answer = "missed"
        out.append({**r, "original": rows[o]["path"], "answer": answer, "direct": proposed and copy_alone,
                    "unproposed_copy": not proposed and copy_alone, "confidence": score, "verdict": str(verdict)})
    photo = np.array([r["photo"] for r in rows])
    false_copies = 0
    for lab in np.unique(labels):
        members = photo[labels == lab]
        _, counts = np.unique(members, return_counts=True)
        false_copies += (len(members) * (len(members) - 1) - int((counts * (counts - 1)).sum())) // 2
    return out, false_copies, len(rows) * (len(rows) - 1) // 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="folder for the made sets and cases.tsv")
    parser.add_argument("--photos", type=int, default=10, help="originals per source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated, of " + ", ".join(SOURCES))
    args = parser.parse_args()
    sources = [s for s in args.sources.split(",") if s]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        parser.error(f"unknown source {unknown[0]!r}: one of {', '.join(SOURCES)}")
    need_datasets(*(f"{s}/images" for s in sources), script="bench_everyday_edits.py")
    work = args.workdir / f"seed{args.seed}-n{args.photos}"
    encoder = get_encoder(copies.COPIES_METHOD)
    c0 = time.process_time()
    results: dict[str, tuple[list[dict], int, int]] = {}
    for source in sources:
        rows = build(work, source, args.photos, args.seed)
        results[source] = judged(encoder, rows)
        print(f"{source}: done ({time.process_time() - c0:.0f} CPU s)", file=sys.stderr, flush=True)
    with open(work / "cases.tsv", "w") as f:
        f.write("source\tcase\tanswer\tdirect\tunproposed_copy\tconfidence\tverdict\toriginal\tcopy\tfrom\n")
        for source, (cases, _, _) in results.items():
            for c in cases:
                f.write(f"{source}\t{c['case']}\t{c['answer']}\t{c['direct']}\t{c['unproposed_copy']}\t"
                        f"{c['confidence']:.3f}\t{c['verdict']}\t{c['original']}\t{c['path']}\t{c['from']}\n")
    print(f"\nEveryday edits, {args.photos} originals a source, seed {args.seed} "
          f"({time.process_time() - c0:.0f} CPU s): found as a copy / called re-shot / missed (found: grouped with "
          "its original at the default confidence; in brackets, of the missed, the pairs the search did not return "
          "that a check of the pair alone calls a copy: the proposer's misses); the re-shot row: grouped as a copy "
          "(wrong) / called re-shot / neither\n")
    print("| edit | " + " | ".join(sources) + " | all |")
    print("| --- |" + " ---: |" * (len(sources) + 1))
    for case in [*EDITS, "re-shot"]:
        cells, every = [], []
        for source in sources:
            got = [c for c in results[source][0] if c["case"] == case]
            every += got
            cells.append(_cell(got))
        if every:
            print(f"| {case} | " + " | ".join(cells) + f" | {_cell(every)} |")
    print("| false copies (pairs of files of different photos grouped) / pairs | "
          + " | ".join(f"{results[s][1]} / {results[s][2]}" for s in sources) + " | "
          + f"{sum(results[s][1] for s in sources)} / {sum(results[s][2] for s in sources)} |")
    print(f"\nCases: {work / 'cases.tsv'}")


def _cell(got: list[dict]) -> str:
    if not got:
        return ""
    found = sum(c["answer"] == "found" for c in got)
    reshot = sum(c["answer"] == "re-shot" for c in got)
    missed = [c for c in got if c["answer"] == "missed"]
    unproposed = sum(c["unproposed_copy"] for c in missed)
    return f"{found} / {reshot} / {len(missed)}" + (f" ({unproposed})" if unproposed else "")


if __name__ == "__main__":
    main()
