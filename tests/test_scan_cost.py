"""Work the first scan no longer repeats, checked on real photos to give the very answers of the longer way.

The shortcuts (issue #25, first-scan speed): the header read once per file (facts from the decode's own parse),
the CNN run a few images at a time, the canvas rectangle from the region's outline, the features of a record
kept between its checks. Each must change no encoding, fact or verdict.
"""

from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins import canvas, copies, edits, embedding, facts, io, verify
from imagetwins.encoders import get_encoder

pytestmark = pytest.mark.integration


def _camera(datasets: Path) -> list[Path]:
    return sorted((datasets / "camera-photos" / "images").glob("*.jpg"))


def test_facts_from_the_decodes_header_equal_facts_from_parsing_the_file_again(datasets: Path) -> None:
    seen_sideways = 0
    for path in _camera(datasets):
        data = path.read_bytes()
        img, header = io.decode_image(data, min_size=192, min_long_side=320, path_for_messages=path)
        assert header is not None and header.size == Image.open(_io.BytesIO(data)).size  # the stored, full size
        from_header = facts.image_facts(data, str(path), img, header=header)
        parsed_again = facts.image_facts(data, str(path), img)
        assert from_header == parsed_again
        seen_sideways += from_header.width < from_header.height and header.size[0] > header.size[1]
    assert seen_sideways  # an EXIF quarter turn was among them


def test_stored_pixels_and_unreadable_exif_fall_back_to_parsing_the_file(datasets: Path) -> None:
    path = datasets / "camera-photos" / "images" / "mei__Samsung_SM-J327T1.jpg"  # orientation 6
    data = path.read_bytes()
    img, header = io.decode_image(data, min_size=192, exif_orientation=False)
    assert header is not None and header.exif is None  # the orientation was not asked for: nothing parsed
    found = facts.image_facts(data, str(path), img, upright=False, header=header)
    assert found == facts.image_facts(data, str(path), img, upright=False)
    assert found.taken is not None and found.width < found.height


def test_the_cnn_gives_the_same_vectors_to_the_bit_in_runs_of_a_few_images(datasets: Path, monkeypatch) -> None:
    embedder = get_encoder("copies").embedder
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:5] + _camera(datasets)[:6]
    batch = np.stack([embedder.prepare(io.open_image(p, min_size=192)) for p in photos])
    assert len(batch) % embedding.RUN_IMAGES  # the last run is a short one
    together = embedder.embed_arrays(batch)
    alone = np.concatenate([embedder.embed_arrays(batch[k:k + 1]) for k in range(len(batch))])
    monkeypatch.setattr(embedding, "RUN_IMAGES", 64)
    one_run = embedder.embed_arrays(batch)
    assert np.array_equal(together, alone) and np.array_equal(together, one_run)


def _all_pixels_rectangle(img: Image.Image, grey: np.ndarray):
    """The canvas module's rectangle as it was measured before: over every pixel of the picture's region."""
    import cv2

    found = canvas.picture_region(img, grey)
    if found is None:
        return None
    a = cv2.GaussianBlur(np.ascontiguousarray(grey), (0, 0), 1.0)
    h, w = a.shape
    mask = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (255 << 8)
    edge = ([(x, 0) for x in range(0, w, 6)] + [(x, h - 1) for x in range(0, w, 6)]
            + [(0, y) for y in range(0, h, 6)] + [(w - 1, y) for y in range(0, h, 6)])
    for x, y in edge:
        if not mask[y + 1, x + 1]:
            cv2.floodFill(a, mask, (x, y), 0, canvas.TOLERANCE, canvas.TOLERANCE, flags)
    content = (mask[1:-1, 1:-1] == 0).astype(np.uint8)
    for side in (canvas.OPEN, 2 * canvas.OPEN - 1):
        opened = cv2.morphologyEx(content, cv2.MORPH_OPEN, np.ones((side, side), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        ys, xs = np.nonzero(labels == k)
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(np.column_stack([xs, ys]).astype(np.float32))
        s = img.width / w
        if ((cx * s, cy * s), (rw * s, rh * s), float(angle)) == found:
            return found
    return "differs"


def test_the_canvas_rectangle_from_the_outline_is_the_all_pixels_rectangle(datasets: Path, monkeypatch) -> None:
    monkeypatch.setattr(canvas, "FINE_SIDE", canvas.SIDE)  # the rectangle of the 160 px look (as measured then)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[10:22]
    cut = 0
    for k, path in enumerate(photos):
        img = io.open_image(path)
        family = ("rotate_any", "screenshot", "on_background")[k % 3]
        copy = edits.FAMILIES[family](img, np.random.default_rng(k))
        for picture in (img, copy):
            grey = verify.extract(picture).thumbnail
            rect = _all_pixels_rectangle(picture, grey)
            assert rect != "differs", (path.name, family)
            cut += rect is not None
    assert cut >= 8  # most copies were on a canvas


def test_checks_with_the_features_kept_between_pairs_give_the_same_verdicts(datasets: Path, monkeypatch) -> None:
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[30:36]
    images = [io.open_image(p) for p in photos]
    images += [edits.EDITS["crop_half"](images[0], np.random.default_rng(1)),
               edits.FAMILIES["screenshot"](images[1], np.random.default_rng(2))]
    records = [_record(img) for img in images]
    left, right = np.triu_indices(len(records), 1)
    reads = []
    real = copies.CopyRecord.features.fget

    def counted(self):
        reads.append(id(self))
        return real(self)

    monkeypatch.setattr(copies.CopyRecord, "features", property(counted))
    cached = copies.verify_pairs(records, records, left, right, workers=2)
    read_cached = len(reads)
    plain = [copies.verify_records(records[i], records[j]) for i, j in zip(left.tolist(), right.tolist())]
    assert [v.confidence for v in cached] == [v.confidence for v in plain]
    assert max(v.confidence for v in cached) >= verify.DEFAULT_CONFIDENCE  # the copies were among them
    assert read_cached <= len(records) + 2  # each record's features read about once (two threads may race)
    assert len(reads) - read_cached == 2 * len(left)  # without the cache: twice a pair


def _record(img: Image.Image) -> copies.CopyRecord:
    enc = get_encoder("copies")
    return enc.encode_batch([enc.prepare(img)])[0]


def test_the_features_cache_stays_within_its_size(datasets: Path) -> None:
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[40:46]
    records = [_record(io.open_image(p)) for p in photos]
    cache = copies.FeaturesCache(size=3)
    for r in records + records[:2]:
        features, alt = cache.sides(r)
        assert verify.order_key(features) == verify.order_key(r.features)
    assert len(cache._items) == 3
    fresh = records[0].features
    assert fresh._order_key is None and verify.order_key(fresh) == verify.order_key(records[0].features)


def test_a_file_whose_digest_ends_in_a_zero_byte_is_verified_from_the_cache(datasets: Path, tmp_path: Path) -> None:
    import hashlib
    import warnings

    from imagetwins.finder import find_duplicate_groups
    from imagetwins.index import open_folder_cache

    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[50]
    img = io.open_image(photo)
    folder = tmp_path / "album"
    folder.mkdir()
    buf = _io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    data = buf.getvalue()
    k = 0
    while hashlib.sha256(data + k.to_bytes(4, "little")).digest()[15] != 0:  # bytes after the JPEG's end: ignored
        k += 1
    (folder / "original.jpg").write_bytes(data + k.to_bytes(4, "little"))
    edits.EDITS["crop_half"](img, np.random.default_rng(0)).save(folder / "crop.jpg", quality=90)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 'some pairs could not be verified' was the symptom
        with open_folder_cache(folder, ["copies"]) as cache:
            result = find_duplicate_groups(folder, "copies", cache=cache, workers=2)
    assert [sorted(Path(f).name for f in g.files) for g in result.groups] == [["crop.jpg", "original.jpg"]]


def test_the_percentile_of_the_lighting_check_is_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(0)
    for n in [*range(1, 40), 399, 400, 401]:
        for values in (rng.random(n) * 200, rng.integers(0, 4, n).astype(np.float64), np.abs(rng.normal(0, 9, n))):
            for q in (0, 25, 50, 75, 80, 99.9, 100):
                assert verify._percentile(values, q) == np.percentile(values, q), (n, q)
    assert np.isnan(verify._percentile(np.array([1.0, np.nan, 3.0]), 80))


def test_the_median_of_the_dense_check_is_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(1)
    for n in [*range(1, 40), 399, 400, 401]:
        for values in (rng.random(n) * 200, rng.integers(0, 4, n).astype(np.float64), np.abs(rng.normal(0, 9, n)),
                       (rng.random(n) * 2 - 1).astype(np.float32), rng.integers(0, 3, n).astype(np.float32) / 3):
            want = float(np.median(values))
            got = verify._median(values)
            assert got == want and type(got) is float, (n, values.dtype, got, want)
    assert np.isnan(verify._median(np.array([1.0, np.nan, 3.0])))
    assert np.isnan(verify._median(np.array([1.0, np.nan, 3.0], np.float32)))


def _mosaic(photos: list[Image.Image], rng: np.random.Generator, side: int = 400) -> Image.Image:
    """A 2 x 2 mosaic of 40-90 % crops of four photos (as benchmarks/home_library.py makes a home library's)."""
    out = Image.new("RGB", (2 * side, 2 * side))
    for k, photo in enumerate(photos):
        w, h = photo.size
        cw, ch = int(w * rng.uniform(0.4, 0.9)), int(h * rng.uniform(0.4, 0.9))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        out.paste(photo.crop((x, y, x + cw, y + ch)).resize((side, side)), (side * (k % 2), side * (k // 2)))
    return out


def test_the_dense_checks_shortcuts_give_the_full_comparisons_measures(datasets: Path, monkeypatch) -> None:
    # pairs of mosaics sharing a part of one photo: the first scan's costliest checks, where the homography's
    # comparison is cut short (verify._agrees_no_more) and the blurred thumbnails are made once a check
    photos = [io.open_image(p) for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:24]]
    rng = np.random.default_rng(5)
    features = []
    for k in range(8):
        shared = photos[k]
        for m in range(3):
            others = [photos[int(i)] for i in rng.choice(np.arange(8, 24), 3, replace=False)]
            tiles = others[:m % 4] + [shared] + others[m % 4:]
            features.append(verify.extract(_mosaic(tiles, rng)))
    pairs = [(i, j) for i in range(len(features)) for j in range(i + 1, len(features)) if i // 3 == j // 3]
    cut = []
    real_cut, real_dense = verify._agrees_no_more, verify._dense

    def counted(*args):
        cut.append(real_cut(*args))
        return cut[-1]

    monkeypatch.setattr(verify, "_agrees_no_more", counted)
    short = [verify.verify_pair(features[i], features[j]) for i, j in pairs]
    quick = [verify.verify_pair(features[i], features[j], confidence_only=True) for i, j in pairs]
    monkeypatch.setattr(verify, "_agrees_no_more", lambda *args: False)
    monkeypatch.setattr(verify, "_dense", lambda *args, shared_blur=None, **kw: real_dense(*args, **kw))
    for (i, j), s, q in zip(pairs, short, quick):
        full = verify.verify_pair(features[i], features[j])
        assert s.measurements().tobytes() == full.measurements().tobytes(), (i, j)
        assert (s.confidence, s.kept, s.marks, s.verdict()) == (full.confidence, full.kept, full.marks, full.verdict())
        assert q.kept == verify.verify_pair(features[i], features[j], confidence_only=True).kept
    assert sum(cut) >= 3 and not all(cut)  # (cut short and not: both were met)



def test_the_homographys_comparison_is_cut_short_only_where_it_ends_at_or_under_the_bar(datasets: Path,
                                                                                      monkeypatch) -> None:
    # _agrees_no_more's proof read against _dense itself: every keystone comparison of copies with stickers, letters
    # or their colours changed (in colour, and in grey: no colour known, so no recolouring) made in full, and at every
    # bar the early exit would take it, the comparison's final strict agreement at or under that bar. The mosaics of
    # the test above never raise a comparison's agreement over its cells' (no overlay, no colour edit): there, the
    # overlays' and the colours' conditions could be dropped and the answers stayed the same
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[40:52]
    recipes = (("keystone", "stickers"), ("keystone", "colour_shift"), ("colour_shift", "keystone", "stickers"),
               ("meme_text", "keystone"), ("colour_shift", "meme_text", "keystone"))
    real_cut, real_dense = verify._agrees_no_more, verify._dense
    cells, measured = [], []  # (the arguments the early exit read, the comparison's final measures)

    def never_cut(*args):
        cells.append(args[:4])
        return False

    def in_full(a, b, matrix, v, homography=None, departure_read=False, shared_blur=None, to_beat=None):
        if homography is None or departure_read:  # (the affine fit's and the guided refit's: never cut short)
            return real_dense(a, b, matrix, v, homography, departure_read, shared_blur, to_beat)
        cells.clear()
        out = real_dense(a, b, matrix, v, homography, departure_read, shared_blur, 0.0)
        if cells:
            measured.append((cells[0], v.strict_agreement, v.overlay))
        return out

    monkeypatch.setattr(verify, "_agrees_no_more", never_cut)
    monkeypatch.setattr(verify, "_dense", in_full)
    for k, path in enumerate(photos):
        photo = io.open_image(path)
        for r, recipe in enumerate(recipes):
            for grey in (False, True) if "stickers" in recipe else (False,):
                rng = np.random.default_rng([7, k, r])
                original = photo.convert("L").convert("RGB") if grey else photo
                copy = original
                for name in recipe:
                    if not (grey and name == "colour_shift"):
                        copy = getattr(edits, name)(copy, rng)
                verify.verify_pair(verify.extract(original.convert("L") if grey else original), verify.extract(copy))
    raised_by = set()
    for (ncc_cells, textured, compared, coloured), final, overlay in measured:
        own = float((ncc_cells[textured] >= 0.8).mean()) if textured.any() else 0.0
        if final > own:
            raised_by.add("overlays" if overlay else "recoloured")
            raised_by.add("grey" if not coloured else "colour")
        for bar in {*np.linspace(0.0, verify.PERSPECTIVE_BELOW, 91).tolist(), own, (own + final) / 2}:
            assert not real_cut(ncc_cells, textured, compared, coloured, bar) or final <= bar, (own, final, bar)
    assert raised_by == {"overlays", "recoloured", "grey", "colour"}, raised_by  # (both routes, met)

def test_the_frames_clipped_on_python_floats_are_numpys_to_the_bit() -> None:
    def numpy_clip(poly: np.ndarray, width: float, height: float) -> np.ndarray:  # (the clipping before, on NumPy)
        for axis, limit, keep_below in ((0, 0.0, False), (0, width, True), (1, 0.0, False), (1, height, True)):
            if not len(poly):
                break
            inside = poly[:, axis] <= limit + 1e-9 if keep_below else poly[:, axis] >= limit - 1e-9
            out = []
            for k in range(len(poly)):
                p, q = poly[k], poly[(k + 1) % len(poly)]
                pin, qin = inside[k], inside[(k + 1) % len(poly)]
                if pin:
                    out.append(p)
                if pin != qin:
                    t = (limit - p[axis]) / (q[axis] - p[axis])
                    out.append(p + t * (q - p))
            poly = np.array(out, np.float64).reshape(-1, 2)
        return poly

    rng = np.random.default_rng(3)
    for k in range(3000):
        w, h = float(rng.integers(50, 400)), float(rng.integers(50, 400))
        a = rng.normal(0, 0.6, (2, 2)) + np.eye(2)
        poly = np.array([[0, 0], [w, 0], [w, h], [0, h]]) @ a.T + rng.normal(0, 0.5, 2) * [w, h]
        if k % 3 == 0:
            poly[:2, 1] = 0.0  # an edge on the frame's
        elif k % 3 == 1:
            poly[1:3, 0] = w + np.array([1e-12, -1e-12])  # off the frame by rounding: inside (the 1e-9)
        want, got = numpy_clip(poly, w, h), verify._clip_to_rect(poly, w, h)
        assert got.shape == want.shape and got.tobytes() == want.tobytes(), (poly, w, h)
        x, y = poly[:, 0], poly[:, 1]
        assert verify._area(poly) == abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def test_the_lighting_fit_stopped_once_converged_is_the_three_rounds_fit() -> None:
    def three_rounds(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        design = np.column_stack([x, np.ones_like(x)]).astype(np.float64)
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        for _ in range(3):
            r = np.abs(y - design @ coef)
            coef = np.linalg.lstsq(design[r <= verify._percentile(r, 80)], y[r <= verify._percentile(r, 80)],
                                   rcond=None)[0]
        r = np.abs(y - design @ coef)
        return float(min(1.0, verify._percentile(r, 75) / (float(y.std()) + 1.0))), coef

    rng = np.random.default_rng(4)
    for n in (10, 11, 40, 200):
        for _ in range(100):
            x = rng.random(n) * 200
            y = 0.9 * x + 5 + rng.normal(0, 2, n)
            y[: n // 6] += rng.normal(0, 60, n // 6)  # a caption's cells
            got, want = verify._lighting_fit(x, y), three_rounds(x, y)
            assert got[0] == want[0] and got[1].tobytes() == want[1].tobytes()


def test_the_cells_all_of_a_mask_is_the_cells_all() -> None:
    rng = np.random.default_rng(6)
    for shape in ((120, 160), (97, 131), (8, 8), (9, 30)):
        for p in (0.5, 0.99, 1.0):
            mask = rng.random(shape) < p
            assert np.array_equal(verify._cells_all(mask), verify._cells(mask).all(-1))


def _blurred_term_by_term(image: np.ndarray, sigma: float) -> np.ndarray:
    """verify._blurred as it was written before #25's in-place sums: each pass ``sum()`` of the kernel's terms."""
    kernel = verify._gaussian_kernel(sigma)
    r = len(kernel) // 2
    if min(image.shape) <= r:
        return image.copy()
    across = np.pad(image, ((0, 0), (r, r)), mode="reflect")
    rows = sum(weight * across[:, k:k + image.shape[1]] for k, weight in enumerate(kernel))
    down = np.pad(rows, ((r, r), (0, 0)), mode="reflect")
    return sum(weight * down[k:k + image.shape[0]] for k, weight in enumerate(kernel)).astype(np.float32)


def test_the_canvas_blur_summed_in_place_is_the_term_by_term_blur_to_the_bit() -> None:
    """The canvas's blur (verify._blurred: the canvas share and level of every image a check reaches the frames or the
    cells of, and of a hash-sure pair's pages) adds its terms into one array, in the order the sum of new arrays did:
    the same float32 of every pixel (a pairing of the kernel's equal taps, or a sum in another order, is not)."""
    import cv2

    rng = np.random.default_rng(7)
    for shape in ((120, 160), (119, 160), (97, 131), (9, 40), (5, 7), (4, 4)):
        for sigma in (0.5, 1.0, verify.BLUR_SIGMA, 2.3):
            image = (rng.random(shape) * 255).astype(np.float32)
            image[: shape[0] // 3] = np.round(image[: shape[0] // 3])  # (a part of whole grey levels, as thumbnails)
            got, want = verify._blurred(image, sigma), _blurred_term_by_term(image, sigma)
            assert got.dtype == np.float32 and got.shape == image.shape
            assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), (shape, sigma)
    assert np.array_equal(verify._gaussian_kernel(verify.BLUR_SIGMA),
                          cv2.getGaussianKernel(9, verify.BLUR_SIGMA, cv2.CV_32F).ravel())  # (OpenCV's kernel)
    flat = np.full((120, 160), 37.0, np.float32)
    assert verify._canvas_of(flat) == (1.0, 37.0)  # (a flat thumbnail: all canvas, at its level)
