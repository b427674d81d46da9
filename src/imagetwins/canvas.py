"""The picture inside a canvas: a rotated copy's grown canvas, a screenshot's bars, a letterbox, a frame.

A copy that puts the picture on a canvas (rotated by any angle on a grown canvas with uniform corners,
a phone screenshot with its status, app and navigation bars, a letterbox, a uniform frame) looks to a
hash and to a CNN like a new image: the canvas is a third or more of it, and the picture is turned.
:func:`picture_region` finds the picture: the canvas is what a flood fill from the image's edge reaches
within a fixed tolerance of the edge colour; the picture is the largest region left, accepted only when
it is a clean quadrilateral (it fills at least :data:`MIN_FILL` of its smallest enclosing rectangle: a
photo whose own sky or wall touches the edge leaves a ragged region and is left alone) and the canvas
is at least :data:`MIN_CANVAS` of the image. :func:`upright_picture` cuts it out and turns it upright
(by the rectangle's angle, at most 45 degrees either way), so the copies method can propose it with the
hash and the CNN as if it had no canvas. Measured in ``benchmarks/quality.py --families``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["MIN_CANVAS", "MIN_FILL", "picture_region", "upright_picture"]

#: side (px) of the grey image the canvas is looked for in (the copies encoder passes its 160 px thumbnail)
SIDE = 160
#: a canvas pixel is within this many grey levels (each channel) of the edge pixel its fill started from
TOLERANCE = 8
#: the picture must fill this share of its smallest enclosing (rotated) rectangle
MIN_FILL = 0.8
#: the canvas must be at least this share of the image (else the image is its picture)
MIN_CANVAS = 0.15
#: the picture region is opened with a square of this side (px) so that buttons and captions a few pixels
#: off the picture do not join it
OPEN = 4
#: an image whose content (what the canvas leaves) is under this share is mostly canvas (a screen): a wider
#: opening is tried, and a finer look at FINE_SIDE px
MOSTLY_CANVAS = 0.45
#: side (px) of the second, finer look at a mostly-canvas image
FINE_SIDE = 320
#: the picture must be at least this share of the image: a region smaller than that is more often a photo's own
#: bright part (a window, a lamp, an object on a dark cloth) than a picture pasted on a background
MIN_PICTURE = 0.1
#: ... except on a phone screen (a mostly-canvas image shaped as one: long side at least SCREEN_ASPECT times the
#: short, where photos are 4:3 or 3:2) holding a small picture (a 400 x 226 photo on a 1080 x 1920 screen is 4.4 %
#: of it), which must be this share, and no longer than SCREEN_PICTURE_ASPECT times its width (not a caption bar)
MIN_PICTURE_ON_SCREEN = 0.02
SCREEN_ASPECT = 1.7
SCREEN_PICTURE_ASPECT = 3.0
#: a small picture's rectangle, found at FINE_SIDE (a pixel there is 6 of a phone screen's), loses the rows and
#: columns at its edges that are this share canvas-coloured (within TOLERANCE of the image's edge), up to EDGE_TRIM
#: of it a side (the framing rule took them for scene the other image lacks)
EDGE_SHARE, EDGE_TRIM = 0.97, 0.05


def picture_region(img: Image.Image, grey: np.ndarray | None = None
                   ) -> tuple[tuple[float, float], tuple[float, float], float] | None:
    """The picture's rotated rectangle ``((cx, cy), (w, h), angle)`` in ``img``'s pixels, or None when the
    image has no canvas (or none this can tell from the picture's own flat parts).

    ``grey``: a small grey copy of ``img`` already at hand (the verification thumbnail), looked in instead
    of making one (:data:`SIDE`). An image that is mostly canvas (a screenshot) is looked at at
    :data:`FINE_SIDE` first.
    """
    found = _region(img, grey)
    return None if found is None else found[0]


def _region(img: Image.Image, grey: np.ndarray | None):
    """:func:`picture_region`'s rectangle and whether it is a small picture on a phone screen, or None."""
    if grey is None:
        grey = _grey(img, SIDE)
    content = _content(grey)
    if content is None:
        return None
    found, fine_content, small = None, None, False
    if content.mean() < MOSTLY_CANVAS and min(FINE_SIDE, max(img.size)) > max(grey.shape):
        # a screenshot's buttons and caption sit a few screen pixels under its picture: at 160 px the blur joins
        # them to it (the region is no quadrilateral, or one with the buttons in it); at FINE_SIDE they stay apart
        fine = _grey(img, FINE_SIDE)
        fine_content = _content(fine)
        found = None if fine_content is None else _picture_in(fine_content)
        if found is not None:
            grey = fine
    if found is None:
        found = _picture_in(content)
    if found is None and fine_content is not None and max(img.size) >= SCREEN_ASPECT * min(img.size):
        # (last: a picture any look above finds is taken as before) a phone screen holding a small picture
        found = _picture_in(fine_content, MIN_PICTURE_ON_SCREEN)
        if found is not None and max(found[1]) > SCREEN_PICTURE_ASPECT * max(min(found[1]), 1.0):
            found = None  # (a bar, a caption: no picture's shape)
        small = found is not None
        grey = fine
    if found is None:
        return None
    (cx, cy), (rw, rh), angle = found
    s = img.width / grey.shape[1]
    return ((cx * s, cy * s), (rw * s, rh * s), float(angle)), small


def _grey(img: Image.Image, side: int) -> np.ndarray:
    small = img.convert("L")
    small.thumbnail((side, side), Image.Resampling.BOX)
    return np.asarray(small)


def _content(grey: np.ndarray) -> np.ndarray | None:
    """What the flood fill from the edge does not reach (1) in ``grey``, or None when that leaves no canvas."""
    import cv2

    a = cv2.GaussianBlur(np.ascontiguousarray(grey, dtype=np.uint8), (0, 0), 1.0)
    h, w = a.shape[:2]
    if min(h, w) < 16:
        return None
    mask = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (255 << 8)
    step = 6 * max(1, max(h, w) // SIDE)
    edge = ([(x, 0) for x in range(0, w, step)] + [(x, h - 1) for x in range(0, w, step)]
            + [(0, y) for y in range(0, h, step)] + [(w - 1, y) for y in range(0, h, step)])
    for x, y in edge:
        if not mask[y + 1, x + 1]:
            cv2.floodFill(a, mask, (x, y), 0, TOLERANCE, TOLERANCE, flags)
    content = (mask[1:-1, 1:-1] == 0).astype(np.uint8)
    return None if content.mean() > 1 - MIN_CANVAS else content


def _picture_in(content: np.ndarray, min_picture: float = MIN_PICTURE):
    """The picture's rotated rectangle in ``content`` (see :func:`_content`), in its pixels, or None (``min_picture``:
    the smallest share of the image it may be)."""
    import cv2

    # opened so that buttons and captions a few pixels off the picture do not join it; a second, wider opening
    # when they still do (a screenshot's buttons a pixel or two under a small picture, on a screen that is
    # mostly canvas: a photo's own flat parts are rarely so large)
    for side in (OPEN, 2 * OPEN - 1) if content.mean() < MOSTLY_CANVAS else (OPEN,):
        found = _clean_quadrilateral(cv2.morphologyEx(content, cv2.MORPH_OPEN, np.ones((side, side), np.uint8)),
                                     min_picture)
        if found is not None:
            return found
    return None


def _clean_quadrilateral(content: np.ndarray, min_picture: float = MIN_PICTURE):
    """The largest region's rotated rectangle when it is at least ``min_picture`` of the image, fills its rectangle
    (:data:`MIN_FILL`) and leaves a canvas, else None."""
    import cv2

    h, w = content.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(content, connectivity=8)
    if n < 2:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    area = float(stats[k, cv2.CC_STAT_AREA])
    if area < min_picture * h * w:
        return None
    # the region's rectangle is that of its outline: the outer contour's pixels, in the row-major order of the
    # region's own pixels (the same rectangle to the last bit as from all of them, on every dataset image and
    # family copy tried; 0.7 -> 0.15 ms an image)
    outline, _ = cv2.findContours((labels == k).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    xy = np.concatenate(outline).reshape(-1, 2)
    order = np.unique(xy[:, 1].astype(np.int64) * w + xy[:, 0])
    points = np.column_stack([order % w, order // w]).astype(np.float32)
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(points)
    if area / max(rw * rh, 1.0) < MIN_FILL or rw * rh > (1 - MIN_CANVAS) * h * w:
        return None
    return (cx, cy), (rw, rh), angle


def upright_picture(img: Image.Image, grey: np.ndarray | None = None) -> Image.Image | None:
    """The picture of :func:`picture_region`, cut out and turned upright (at most 45 degrees either way), or
    None when the image has no canvas (``grey``: as :func:`picture_region`)."""
    found = _region(img, grey)
    if found is None:
        return None
    ((cx, cy), (rw, rh), angle), small = found
    while angle > 45:  # OpenCV gives [-90, 0) or (0, 90] by version: turn by the smaller angle, sides swapped
        angle -= 90
        rw, rh = rh, rw
    while angle <= -45:
        angle += 90
        rw, rh = rh, rw
    rgb = img.convert("RGB")
    if abs(angle) > 0.5:
        # rotate about the rectangle's centre, then cut the rectangle out
        rgb = rgb.rotate(angle, resample=Image.Resampling.BICUBIC, center=(cx, cy))
    box = (round(cx - rw / 2), round(cy - rh / 2), round(cx + rw / 2), round(cy + rh / 2))
    box = (max(0, box[0]), max(0, box[1]), min(rgb.width, box[2]), min(rgb.height, box[3]))
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        return None
    if not small:
        return rgb.crop(box)
    # a small picture on a screen (EDGE_SHARE): the canvas its rectangle took in at an edge goes
    edge = np.asarray(img.convert("L"), dtype=np.int16)  # (the canvas's colour: of the image before it turned)
    colour = np.median(np.concatenate([edge[0], edge[-1], edge[:, 0], edge[:, -1]]))
    near = np.abs(np.asarray(rgb.crop(box).convert("L"), dtype=np.int16) - colour) <= TOLERANCE
    rows, cols = near.mean(axis=1) >= EDGE_SHARE, near.mean(axis=0) >= EDGE_SHARE
    top, bottom = _run(rows, EDGE_TRIM), _run(rows[::-1], EDGE_TRIM)
    left, right = _run(cols, EDGE_TRIM), _run(cols[::-1], EDGE_TRIM)
    return rgb.crop((box[0] + left, box[1] + top, box[2] - right, box[3] - bottom))


def _run(flags: np.ndarray, most: float) -> int:
    """How many of ``flags`` are true from the start, at most ``most`` of them."""
    n, limit = 0, int(len(flags) * most)
    while n < limit and flags[n]:
        n += 1
    return n
