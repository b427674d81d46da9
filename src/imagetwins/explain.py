"""Why two files are (or are not) called copies: every method's score for one pair, and a picture.

``imagetwins explain A B`` prints :func:`explain` and saves :func:`match_picture`: the two images side by
side with the feature matches that verification kept drawn between them. Each method is asked for its own
score of the pair (the registry's ``pairs`` at its loosest threshold) and for the look at the pictures
behind it (``Encoder.check_pair``): only a method that verifies (``copies``) has one, so explaining a
hash decodes the two files for that hash alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from imagetwins import verify
from imagetwins.canvas import upright_picture
from imagetwins.copies import COPIES_METHOD, verify_records
from imagetwins.hashing import DECODE_MIN_SIDE
from imagetwins.io import ImageReadError, content_digest, open_image, read_bytes
from imagetwins.pairscores import MemoryPairScores, for_method
from imagetwins.scores import DISTANCE, Mark, ScoreKind, Verdict
from imagetwins.writing import open_output

__all__ = ["Explanation", "MethodScore", "check_picture_name", "explain", "explain_pair", "match_picture",
           "pair_features", "pair_records", "recoloured_line", "verdict_reason", "why_not_copies"]


@dataclass
class MethodScore:
    """One method's view of the pair: its score, its default threshold, and whether it calls them duplicates."""

    method: str
    score: float
    threshold: float
    duplicate: bool
    unit: str  # the score kind's unit: "bits" (smaller is closer), "cosine similarity" / "confidence" (larger)
    kind: ScoreKind = DISTANCE  # what the score means (imagetwins.scores)
    match_name: str = "duplicate"  # what the method calls a pair within its threshold (Encoder.match_name)
    #: why the score is not the verification's confidence (``Encoder.score_basis``: copies' hash-sure pairs score 1
    #: unchecked), or None: the score is the verification's own, one number for the pair
    basis: str | None = None
    #: the method's verdict at its threshold, from its score and the verdict its search keeps with the pair
    #: (:meth:`ScoreKind.verdict`, as ``find --pairs`` writes it); None for a method that does not check the pictures
    verdict: Verdict | None = None

    def to_dict(self) -> dict:
        return {"method": self.method, "score": self.score, "threshold": self.threshold,
                "duplicate": self.duplicate, "match_name": self.match_name, "unit": self.unit, "basis": self.basis,
                **({"verdict": self.verdict} if self.kind.match_verdict is not None else {})}


@dataclass
class Explanation:
    """Every asked method's score for one pair, and the check of the pictures behind the first that verifies.

    ``verification`` is None when no asked method looks at the pictures (hashes, CNN); ``verified_by`` names
    the method that made it and ``rows`` are that method's rows of the two files (what :func:`match_picture`
    draws, so nothing is encoded twice).
    """

    scores: list[MethodScore]
    verification: verify.Verification | None = None
    verified_by: str | None = None
    rows: Any = field(default=None, repr=False)
    #: ``"same file"`` (both names lead to one file: one inode), ``"byte-identical"`` (two files, one SHA-256),
    #: or None: what holds before any method looks at the pictures
    identical: str | None = None

    @property
    def verified_score(self) -> float | None:
        """The verifying method's own score of the pair (0 when its search did not even propose it)."""
        return next((s.score for s in self.scores if s.method == self.verified_by), None)

    @property
    def score_basis(self) -> str | None:
        """Why the verifying method's score is not the verification's confidence (:attr:`MethodScore.basis`)."""
        return next((s.basis for s in self.scores if s.method == self.verified_by), None)


def _identical(path_a: str | os.PathLike, path_b: str | os.PathLike) -> str | None:
    """``"same file"`` when both names lead to one file, ``"byte-identical"`` when two files hold the same bytes."""
    a, b = os.stat(path_a), os.stat(path_b)
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        return "same file"
    if a.st_size == b.st_size and content_digest(read_bytes(path_a)) == content_digest(read_bytes(path_b)):
        return "byte-identical"
    return None


def explain(path_a: str | os.PathLike, path_b: str | os.PathLike, methods: Sequence[str] | None = None
            ) -> Explanation:
    """Each method's score for the pair, judged at its default threshold, and the verification of the first
    method that verifies (none: ``verification`` is None and no picture is looked at).

    Parameters
    ----------
    path_a, path_b : path
        The two image files.
    methods : sequence of str, optional
        Registered method names (default: all of them).

    Raises
    ------
    imagetwins.io.ImageReadError
        If either file cannot be decoded.
    """
    from imagetwins.encoders import encoder_names, get_encoder

    for path in (path_a, path_b):  # one clear error for an unreadable file, before any method
        _drawable(path)  # (one at a time, as small as the method's decode: both whole, 1.7 GB at 170 MP)
    out = Explanation([], identical=_identical(path_a, path_b))
    for name in methods or encoder_names():
        encoder = get_encoder(name)
        enc = encoder.encode_files([path_a, path_b], workers=2, warn=False)
        if enc.failures:
            raise ImageReadError(enc.failures[0].path, enc.failures[0].reason)
        # the search's own store of the pair's score (a method that keeps its pair scores: copies): a pair it
        # checked but that is no match at any threshold (its kept verdict a re-shot) is left out of its pairs, and
        # its score and verdict are read there, as a find's store keeps them
        kept = for_method(encoder, MemoryPairScores(), enc.digests)
        pairs = encoder.pairs(enc.encodings, encoder.loosest_threshold(), workers=1, paths=enc.paths, pair_scores=kept)
        score, marks = encoder.kind.never, 0  # (not even proposed: a method with candidates, such as copies)
        if len(pairs):
            score, marks = float(pairs.score[0]), int(pairs.mark_bits[0])
        elif kept is not None and encoder.kind.match_verdict is not None:
            found, checked_score, checked_marks = kept.kept_checks(np.array([0]), np.array([1]))
            if found[0]:
                score, marks = float(checked_score[0]), int(checked_marks[0])
        kind = encoder.kind
        duplicate = bool(kind.within(score, encoder.default_threshold, marks))
        found = MethodScore(encoder.name, round(score, 4), encoder.default_threshold, duplicate,
                            encoder.score_unit, kind, encoder.match_name,
                            verdict=kind.verdict(score, marks, encoder.default_threshold))
        out.scores.append(found)
        if out.verification is None:
            checked = encoder.check_pair(enc.encodings, paths=enc.paths)
            if checked is not None:
                out.verification, out.verified_by, out.rows = checked, encoder.name, enc.encodings
                if found.score != round(checked.confidence, 4):  # two numbers for one pair: say why
                    found.basis = encoder.score_basis(enc.encodings)
    return out


def explain_pair(path_a: str | os.PathLike, path_b: str | os.PathLike, methods: Sequence[str] | None = None
                 ) -> tuple[list[MethodScore], verify.Verification | None]:
    """:func:`explain` as ``(scores, verification)``; the verification is None when no asked method verifies
    (``methods=["phash"]``: the hash's score alone, nothing else decoded or loaded).

    Raises
    ------
    imagetwins.io.ImageReadError
        If either file cannot be decoded.
    """
    found = explain(path_a, path_b, methods)
    return found.scores, found.verification


def why_not_copies(v: verify.Verification, copies_score: float | None = None,
                   threshold: float = verify.DEFAULT_CONFIDENCE) -> list[str]:
    """Why the check of a pair gives a confidence under ``threshold``: each check that failed, in words, with
    the part of the picture where the aligned images disagree ([] when it does not fall short).

    ``copies_score``: the ``copies`` method's own score of the pair (0 when its hash and CNN did not even
    propose the pair, though the check would pass).
    """
    if v.verdict(threshold) is Verdict.COPY:  # (a pair kept as a re-shot falls short at any threshold)
        if copies_score is not None and copies_score < threshold:
            return ["the hash and the CNN did not propose this pair in a search of these two files "
                    "(the check alone would call them copies)"]
        return []
    if v.different_captures:
        return ["both are camera originals taken at different moments (EXIF capture time): a re-shot of the "
                "scene, never a copy"]
    rule = v.not_one_capture
    why = [] if rule is None else [rule.why(v)]
    if v.pictures_differ:
        why.append(f"small pictures on flat canvases that differ inside their outlines: once aligned, their detail "
                   f"there agrees {max(v.picture_ncc, 0.0):.2f} (a copy: {verify.PICTURE_AGREES:g} or more; 0: too "
                   f"small to tell apart), so the cells that agree are the outline, which two pictures of one shape "
                   f"share (confidence capped at {float(verify.confidence_from(np.zeros(verify.CALIBRATED))):.2g})")
    if v.inliers < verify.QUICK_INLIERS or v.transform is None:
        return ["too few local features match in any one geometric arrangement: the pictures share no "
                "copied part (different photos, or one too small or too flat to match)"]
    if not v.compared:  # (aligned, but not compared cell by cell: verify.FULL_INLIERS, verify.EARLY_PART_COVER)
        return why or [f"only {v.inliers} feature matches agree on one transform (fewer than {verify.FULL_INLIERS}: "
                       "the pictures were not compared cell by cell)"]
    if v.inliers < 20:
        why.append(f"only {v.inliers} feature matches agree on one transform (a copy usually has 40 or more)")
    if min(v.coverage_a, v.coverage_b) < 0.2:
        why.append(f"the shared part is small: {min(v.coverage_a, v.coverage_b):.0%} of one image")
    if v.strict_agreement < 0.85:
        where = ""
        if v.disagreement is not None:
            image = "first" if v.disagreement[0] == 0 else "second"
            # (the threshold said: "82% agrees closely; the cells that disagree (1%)" left a reader asking where
            # the other 17% went: they agree loosely, 0.5 <= NCC < 0.8)
            where = (f"; the cells that disagree outright (NCC < 0.5: {v.disagreement[2]:.0%}) are mostly at the "
                     f"{v.disagreement[1]} of the {image} image")
        why.append(f"once aligned, {v.strict_agreement:.0%} of the textured overlap agrees closely (NCC >= 0.8; a "
                   f"copy: 90 % or more){where}: a different moment or viewpoint, a perspective change the "
                   "affine alignment does not follow, or overlays (text, stickers) over much of the picture")
    if v.lighting_residual > 0.25 and rule is not verify.NotOneCapture.LIGHT:
        why.append(f"the brightness of the overlap does not follow one global brightness/contrast change "
                   f"(residual {v.lighting_residual:.2f}; a copy: under 0.15): lit differently, as a second "
                   "photo of the same thing is")
    if not why:
        why.append(f"all checks are near their limits together (confidence {v.confidence:.3f})")
    return why


def recoloured_line(v: verify.Verification) -> str:
    """The line saying a pair was compared after recolouring (:data:`imagetwins.scores.Mark.RECOLOURED`): how much of
    the picture had its hue turned; what ``--colour-variants apart`` keeps apart."""
    return (f"compared after recolouring: {v.turned:.0%} of the compared picture has its colours turned "
            f"(hue {verify.RECOLOURED_TURN:g} degrees or more); a colour variant, marked {Mark.RECOLOURED} "
            "(--colour-variants apart keeps such pairs apart)")


def verdict_reason(v: verify.Verification, threshold: float = verify.DEFAULT_CONFIDENCE,
                   basis: str | None = None) -> tuple[Verdict, str]:
    """The pair's :class:`~imagetwins.scores.Verdict` at ``threshold`` and why, in one line: which check decided
    it and on which part of the picture. ``basis``: why the method's score is not the check's
    (:attr:`MethodScore.basis`: a hash-sure pair is a copy whatever the check says; the check's confidence is then
    named as the check's)."""
    if basis is not None:
        checked, why = verdict_reason(v, threshold)
        return Verdict.COPY, f"{basis}; the check alone: {checked}: {why}"
    verdict = v.verdict(threshold)
    if verdict is Verdict.COPY:
        image = "first" if v.coverage_a >= v.coverage_b else "second"
        return verdict, (f"one capture: {v.strict_agreement:.0%} of the overlap agrees closely (NCC >= 0.8) once "
                         f"aligned by one {'mirrored ' if v.mirrored else ''}transform, which covers "
                         f"{max(v.coverage_a, v.coverage_b):.0%} of the {image} image (confidence "
                         f"{v.confidence:.3f} >= {threshold:g})")
    why = why_not_copies(v, threshold=threshold) or [f"confidence {v.confidence:.3f} < {threshold:g}"]
    if verdict is Verdict.RESHOT and not v.different_captures:
        return verdict, (f"the same scene ({v.inliers} feature matches in one arrangement over "
                         f"{min(v.coverage_a, v.coverage_b):.0%} or more of each image), another capture: {why[0]}")
    return verdict, why[0]


def pair_records(path_a: str | os.PathLike, path_b: str | os.PathLike, records=None) -> tuple:
    """The two files' ``copies`` records (``records`` when already encoded), so what explain shows is the very
    check ``copies`` made: the same decode, features and, for a picture on a canvas, the picture cut out."""
    if records is None:
        from imagetwins.encoders import get_encoder

        enc = get_encoder(COPIES_METHOD).encode_files([path_a, path_b], workers=2, warn=False)
        if enc.failures:
            raise ImageReadError(enc.failures[0].path, enc.failures[0].reason)
        records = enc.encodings
    return records[0], records[1]


def pair_features(path_a: str | os.PathLike, path_b: str | os.PathLike, records=None
                  ) -> tuple[verify.ImageFeatures, verify.ImageFeatures]:
    """The two files' whole-image verification features as ``copies`` computes them."""
    ra, rb = pair_records(path_a, path_b, records)
    return ra.features, rb.features


#: the long side a picture is drawn from at most (:func:`_drawable`): the features' side a few times over
_DRAWN_SIDE = 4 * verify.FEATURE_SIDE


def _drawable(path: str | os.PathLike) -> Image.Image:
    """``path`` decoded as ``copies`` decodes it for its features (a JPEG at a reduced scale), and where its format has
    no reduced decode (PNG, TIFF, WebP: whole) brought down to :data:`_DRAWN_SIDE` at once: the picture of the
    matches is drawn at the features' size. Both files were decoded whole and held together (``explain`` of a 170 MP
    pair: 1.7 GB, the scan's decode budget 1 GiB). Raises :class:`~imagetwins.io.ImageReadError`."""
    img = open_image(path, min_size=DECODE_MIN_SIDE, min_long_side=verify.FEATURE_SIDE)
    factor = max(img.size) // _DRAWN_SIDE
    return img.reduce(factor) if factor > 1 else img


def check_picture_name(out: str | os.PathLike) -> None:
    """Raise ValueError (one line) where ``out``'s suffix names an image format other than PNG: the picture is a PNG
    (with the mark that lets a re-run replace it), and ``-p why.jpg`` wrote PNG bytes under a JPEG's name, which
    viewers and the scan then took for a broken JPEG. A name with no suffix, or one naming no image format
    (``why.out``, ``/dev/stdout``), is written as PNG."""
    suffix = os.path.splitext(os.fspath(out))[1].lower()
    if suffix == ".png" or not suffix:
        return
    from imagetwins.io import IMAGE_EXTENSIONS

    if suffix in IMAGE_EXTENSIONS or suffix in Image.registered_extensions():
        raise ValueError(f"{os.fspath(out)}: the picture of the matches is written as PNG, and the name says "
                         f"{suffix[1:].upper()}: give a name ending in .png")


def match_picture(path_a: str | os.PathLike, path_b: str | os.PathLike, out: str | os.PathLike,
                  verification: verify.Verification | None = None, side: int = verify.FEATURE_SIDE,
                  records=None) -> None:
    """Save a PNG: A and B side by side at the feature size, each kept match joined by a line (``records``: the two
    files' ``copies`` rows when already encoded, e.g. :attr:`Explanation.rows`). An image at ``out`` that imagetwins
    did not write is never replaced: :class:`imagetwins.writing.ReplacesImage` (an ``OSError``) says so; a name saying
    another image format is a ValueError (:func:`check_picture_name`)."""
    from imagetwins.writing import refuse_picture_target

    refuse_picture_target(out)  # (before any work: a photo at that name stays)
    check_picture_name(out)
    a = _drawable(path_a)
    b = _drawable(path_b)
    ra, rb = pair_records(path_a, path_b, records)
    v = verification if verification is not None and verification.matches else verify_records(
        ra, rb, keep_matches=True)
    # the check may have been made on the picture cut out of a canvas: draw what was compared
    shown = []
    for img, rec, cut in ((a, ra, v.cut_from_canvas[0]), (b, rb, v.cut_from_canvas[1])):
        picture = upright_picture(img) if cut and rec.alt_features is not None else None
        shown.append((img, rec.features) if picture is None else (picture, rec.alt_features))
    (a, fa), (b, fb) = shown
    ia = a.resize(fa.size, Image.Resampling.BILINEAR)
    ib = b.resize(fb.size, Image.Resampling.BILINEAR)
    gap = 8
    canvas = Image.new("RGB", (ia.width + gap + ib.width, max(ia.height, ib.height) + 22), (255, 255, 255))
    canvas.paste(ia, (0, 22))
    canvas.paste(ib, (ia.width + gap, 22))
    draw = ImageDraw.Draw(canvas)
    rng = np.random.default_rng(0)
    step = max(1, len(v.matches) // 80)  # 80 lines say it; more only hide the pictures
    for (xa, ya), (xb, yb) in v.matches[::step]:
        colour = tuple(int(c) for c in rng.integers(40, 256, 3))
        draw.line((xa, ya + 22, xb + ia.width + gap, yb + 22), fill=colour, width=1)
        draw.ellipse((xa - 2, ya + 20, xa + 2, ya + 24), outline=colour)
        draw.ellipse((xb + ia.width + gap - 2, yb + 20, xb + ia.width + gap + 2, yb + 24), outline=colour)
    draw.text((4, 4), f"{v.inliers} matches kept{' (mirrored)' if v.mirrored else ''}, agreeing "
                      f"{v.strict_agreement:.0%} closely, confidence {v.confidence:.3f}", fill=(0, 0, 0))
    from PIL.PngImagePlugin import PngInfo

    from imagetwins.writing import PICTURE_SOFTWARE, replaceable_picture

    mark = PngInfo()  # (what lets a re-run replace this picture, and no photo: writing.refuse_picture_target)
    mark.add_text("Software", PICTURE_SOFTWARE)
    # never through a link planted at that name, nor over a photo saved there meanwhile
    with open_output(out, binary=True, replace_only=replaceable_picture) as fh:
        canvas.save(fh, format="PNG", pnginfo=mark)
