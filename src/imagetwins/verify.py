"""Geometric verification: is one picture a copy of the other, or only a picture of the same kind of thing?

Hashes and CNN vectors say two images *look* alike. Copies (crops, padding, resizes, mirrors, quarter
turns, small rotations, grey, captions) share more than looks: the same pixels, in a fixed geometric
relation. This module checks that relation for one pair:

1. **Local features**, computed once per image (:func:`extract`) at a bounded size: ORB keypoints and
   binary descriptors of the image *and of its mirror* (ORB is rotation- but not mirror-invariant),
   plus a small grey thumbnail and a smaller colour one (chroma). :class:`ImageFeatures` serialises to bytes
   for the index cache.
2. **Matching** with a ratio test, then a RANSAC fit of a full affine transform (crops, padding,
   aspect changes, rotations, mirrors and quarter turns are all affine). Where that finds no copy on few inliers
   (a crop blown up past what the keypoints match, a flat or repetitive picture), the thumbnails are also aligned
   by their pixels alone (:func:`_pixel_alignment`: a scale and a shift, what a crop in an editor is).
3. **Dense check**: the thumbnail of one image is warped onto the other with that transform and the
   two are compared cell by cell (normalised cross-correlation). Different photos that carry the same
   caption or logo, or the same flat object photographed twice, can give dozens of consistent
   inliers; they rarely agree over the whole overlap, pixel for pixel. Copies do. The cells' mean brightness
   must follow one global change: of brightness and contrast, or of colour (one image's grey cells against the
   other's colour cells: a hue turn, a tint, sepia), which a second photo of a flat object under other light
   does not. Where the colours themselves moved (a colour edit), the cells are compared again on the picture
   recoloured by that change: a hue turn swaps which of two colours is the lighter, and the grey texture with it.

The verdict is one **confidence** in [0, 1], a logistic model of those measurements fitted by
``benchmarks/quality.py`` on photos-public edits and half of ukbench-600's look-alikes, and measured
on the other sources (BENCHMARKS.md). :data:`DEFAULT_CONFIDENCE` is the threshold that says "copy".
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import struct
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np
from PIL import Image

from imagetwins.hashing import DECODE_MIN_SIDE
from imagetwins.io import (
    ImageReadError,
    ReadFailure,
    content_digest,
    decoded_scale,
    load_stored_npz,
    open_image,
    quiet_decoder_warnings,
    read_bytes,
)
from imagetwins.matching import nearest_two, nearest_two_each
from imagetwins.scores import Mark, Verdict, stored_score

cv2 = None  # imported on first use: OpenCV takes about a second to import, and hash-only runs never need it

__all__ = [
    "DEFAULT_CONFIDENCE",
    "FEATURE_SIDE",
    "ImageFeatures",
    "LookFailed",
    "NotOneCapture",
    "QuickLooks",
    "Verification",
    "VERDICT_VERSION",
    "Verdict",
    "extract",
    "features_for_files",
    "is_page",
    "off_camera_axes",
    "order_key",
    "verdict_version",
    "verify_pair",
    "look_at_files",
    "unexplained_detail",
]

#: long side (px) the image is scaled to before features are detected (small images are scaled up)
FEATURE_SIDE = 320
#: keypoints kept per orientation
MAX_FEATURES = 500
#: long side (px) of the grey thumbnail used by the dense check
THUMB_SIDE = 160
#: long side (px) of the colour thumbnail: the image's chroma (Cb, Cr), for the colour lighting fit
#: (:func:`_colour_lighting_residual`); the grey thumbnail gives the luma
COLOUR_SIDE = 40
#: the colour lighting fit (:func:`_colour_lighting_residual`): a copy whose colours were changed (a hue turn, a tint,
#: saturation, sepia) keeps its picture's structure, but each colour's grey level moves its own way, which the grey
#: fit cannot follow. Its residual replaces the grey fit's where it leaves at most COLOUR_GAIN of it (a colour change
#: explains most of what the grey fit leaves; a look-alike's or a re-shot's other light is explained a little by any
#: two more coefficients: on the fit split of ``benchmarks/quality.py --families``, the copies it lifts over the
#: default keep 0.12-0.57 of the grey residual, the ukbench look-alikes 0.81 or more; re-shots of one scene (even
#: holidays-half groups) 0.46-0.63, none of them lifted over the default), and is tried only where the cells agree as
#: much as COLOUR_FIT_AGREEMENT (strict agreement: under it, no lighting makes a copy at the default, and most pairs
#: checked are not copies: the fit's cost stays on copies)
COLOUR_GAIN = 0.6
COLOUR_FIT_AGREEMENT = 0.75
#: where the colours changed (:func:`_colour_change` of the aligned cells' chroma at least COLOUR_CHANGE: a hue turn,
#: sepia, a tint, as a colour edit gives; a re-shot or a second view of one object keeps its colours, under the same
#: light or another), the colour fit does more: it is tried from a strict agreement of COLOUR_CHANGED_AGREEMENT (a hue
#: turn changes the grey texture itself where two colours meet: the grey NCC counts fewer cells agreeing than there
#: are), its design is quadratic in the colour (:func:`_colour_design`: the grey levels of a hue turn and a gamma bend
#: with the colour, where a linear mix of the colour can only tilt them), the cells are compared again on the picture
#: the fit recoloured, pixel by pixel (:func:`_recoloured`), and overlays over such a copy are the cells that disagree
#: once recoloured. The fit split's negatives whose colour fit ran before (holidays-half's even groups, ukbench 0-74
#: without EXIF, strict agreement 0.75 or more: 215 checks) move their colours 0.43 at most (0.12 and 0.08 for the
#: re-shot and the view pair that an ungated quadratic fit made copies), and of the 10 that pass the gate from an
#: agreement of 0.5 none is over 0.44 or moved; the combinations of photos-public photos with a colour shift move
#: theirs 0.23-1.75 (all but 2 of their misses 0.37 or more). Chosen on the fit split: 2 x 210 random
#: combinations of photos-public photos 40-249 against their originals 318 -> 329 copies (the quadratic fit +4, the
#: recoloured comparison and the lower agreement +4, the overlays +2, the recoloured cell means' lighting residual +1),
#: no fit negative's confidence moved; measured in BENCHMARKS.md
COLOUR_CHANGE = 0.35
COLOUR_CHANGED_AGREEMENT = 0.5
#: where the colours changed, the colour fit's residual is also measured with the hue's harmonics (the chroma's angle
#: times COLOUR_HARMONICS, each scaled by the chroma's length: :func:`_colour_harmonics`) in its design, and the smaller
#: kept. A hue turn in HSV moves each colour's grey level by a periodic function of its hue, times its chroma: the
#: quadratic terms give it the second harmonic at the chroma's square only. The recolouring (:func:`_recoloured`) keeps
#: the quadratic fit's coefficients: read pixel by pixel, a hue's angle is noise where the colour is faint. Chosen on
#: the fit split (``benchmarks/probe_combo_fit.py``, 6 x 210 random combinations of photos-public photos 40-249 against
#: their originals: +3 copies; the 1,642 fit negatives called copies unchanged, two re-shots of holidays-half's even
#: groups 0.006-0.02 -> 0.18-0.21); measured in BENCHMARKS.md
COLOUR_HARMONICS = (2, 3)
#: a cell of a copy whose colours were changed agrees where it agrees recoloured (:func:`_recoloured`) *or* in grey:
#: the recolouring reads the colour from a thumbnail a quarter of the grey one's side, so where two colours meet
#: within a cell, or where the colour fit's curve misses a colour the picture has little of, it predicts the grey
#: level wrong where the grey texture itself agrees (a colour the edit left about as light as it was); the share of
#: cells agreeing had been the larger of the two shares, each over every cell. Only where the colours changed and the
#: colour fit explains the light (:data:`COLOUR_CHANGE`, :data:`COLOUR_GAIN`): 4 of the 1,651 fit negatives get there
#: (re-shots of holidays-half's even groups, 0.006-0.21), and none of their confidences moved. Chosen on the fit split
#: (``benchmarks/probe_combo_fit.py``, 6 x 210 random combinations of photos-public photos 40-249 against their
#: originals: 934 -> 936 copies, 40 confidences up, none down); measured in BENCHMARKS.md
RECOLOURED_OR_GREY = True
#: the mark ``recoloured`` (:attr:`Verification.recoloured`, :data:`imagetwins.scores.Mark.RECOLOURED`): one picture is
#: the other with its colours turned, on the whole picture or on a part (a product shown in another colour): at least
#: RECOLOURED_SHARE of the compared cells agree in grey (or are flat) and are coloured on both sides (chroma
#: RECOLOURED_CHROMA or more, of 128) with hues RECOLOURED_TURN degrees apart or more. Never a confidence's input: the
#: same confidences with it. On copies of 37 photos (photos-public 200-224, ukbench 300-599 every 24th) by every edit
#: family of ``imagetwins.edits`` found at the default: of 373 copies of the families that keep the colours, one has
#: 0.069 of its cells turned (stickers over a coloured part), the others 0; a hue turned on an ellipse over 28 % of
#: a photos-public photo turns 0.20-0.27 of its cells (one photo with little colour there: 0.046), a whole-picture
#: hue turn 0.17-0.90
RECOLOURED_SHARE = 0.1
RECOLOURED_CHROMA = 12.0
RECOLOURED_TURN = 40.0
#: a picture whose colours follow its grey level within RECOLOURED_TONED of their spread is toned (sepia: 0.05-0.07 on
#: 5 photos-public photos, their originals and hue-turned copies 0.4-0.95): a toned copy of a photo in colours is not
#: recoloured (its colours were replaced by one, not turned)
RECOLOURED_TONED = 0.2
#: a hash-sure pair (a copy without a check) is checked for its marks alone where the two images' colour signatures
#: (:func:`colour_signature`) are SIGNATURES_DIFFER or more apart (L1 of the hue bins) and both images are coloured
#: (RECOLOURED_SHARE / 2 of their pixels or more): a hue turned on RECOLOURED_SHARE of the picture moves at least
#: that share of its colours by RECOLOURED_TURN, more than one bin, so at least twice that share of the bins' weight
#: (at least RECOLOURED_SHARE of it is coloured: 0.2 of the colour) apart
SIGNATURES_DIFFER = 0.1
SIGNATURE_BINS = 12
#: The colour fit follows a gamma too: one more coefficient, for the square of the source's grey level (a colour edit
#: often changes the gamma as well, which bends the grey levels where a linear fit can only tilt them). Chosen on the
#: fit split (210 random combinations of photos-public photos 40-249 verified against their originals: 151 -> 154
#: copies; holidays-half and ukbench look-alikes called copies unchanged); held-out numbers in BENCHMARKS.md
#: Lowe's ratio test
RATIO = 0.8
#: RANSAC reprojection tolerance, in pixels of the FEATURE_SIDE frame
RANSAC_PIXELS = 4.0
#: fewer ratio-test matches than this and no transform is fitted
MIN_MATCHES = 8
#: a match in one orientation with this many inliers needs no try in the other
CONFIDENT_INLIERS = 40
#: quick first look: the 64 strongest keypoints of one image against the 256 strongest of the other, both
#: ways and in both orientations, with a RANSAC fit. Most proposed pairs are different pictures; this costs
#: at most a quarter of a full match and turns half to two thirds of them away. A pair goes on to the full
#: match only with at least ``QUICK_INLIERS`` inliers there. Sizes chosen on the fit split of
#: ``benchmarks/quality.py`` (64 keypoints halve the time of 128 and lose no copy there; fewer keypoints
#: also mean fewer chance inliers); held-out numbers are in BENCHMARKS.md.
QUICK_A = 64
QUICK_B = 256
QUICK_INLIERS = 4
#: a pair the quick look leaves one match short (three: any three matches fit an affine map, so they say nothing
#: either way) gets a second, wider look: the QUICK_WIDE_A strongest keypoints against QUICK_WIDE_B, both ways, and
#: goes on to the full match with QUICK_WIDE_INLIERS there (more keypoints, more chance inliers: a higher bar).
#: Overlays (stickers, letters) and a copy's own resampling take the strongest places of the quick look. Chosen on the
#: fit split (``benchmarks/quality.py --families``: 210 random combinations of photos-public photos 40-249 against
#: their originals, 159 -> 160 copies, and fam-photos-public's combo 16 -> 17 of 20; the candidate pairs of
#: holidays-half, ukbench-600 without EXIF and fam-photos-public, 6,396 checks: 1,371 wider looks of 12,792 quick
#: looks (one per orientation), 91 more pairs on to the full match (needing 4 there: 691; 5: 220), none of them
#: called a copy)
QUICK_WIDE_A = 128
QUICK_WIDE_B = 500
QUICK_WIDE_INLIERS = 6
#: the full match from b to a as well, where a to b (the canonical order's) leaves the pair short of the default with
#: fewer than CONFIDENT_INLIERS inliers. The ratio test keeps a's descriptors clearly nearest one of b's; a crop blown
#: up, overlays or a colour edit on one side leave other descriptors clear from b's side, and RANSAC draws from those
#: (the quick look looks both ways already; the full match did not). The check of the other fit is kept where its
#: confidence is higher (over NOT_ONE_CAPTURE) and it is an alignment a copy gives: one frame (nearly) whole inside
#: the other, padding counted (FRAMING_COVER), at any rotation; a second fit is a second chance for a re-shot's chance
#: alignment too (a holidays-half re-shot of the tuning half, 112403/112408, aligned on its mountains with the lake
#: left out as overlays: 0.97, neither frame inside the other). Chosen on the fit split (``benchmarks/
#: probe_combo_fit.py``: 6 x 210 random combinations of photos-public photos 40-249 against their originals 924 ->
#: 949 copies; no confidence of the 1,642 fit negatives, holidays-half's even groups and ukbench 0-74 without EXIF,
#: moved by more than 0.005); measured in BENCHMARKS.md ("The full match both ways"). Off: held out it found no more
#: copies (combo 30/36 either way, every family cell the same) and made a check 21-24 % dearer (holidays-half's
#: candidate pairs 2.83 -> 3.43 CPU ms), against #24's "no slower per image" and #25's verification budget; kept for
#: ``probe_combo_fit.py`` and a wider quick look that might make it pay
REVERSE_FIT = False
#: the full match (500 keypoints against 500, both orientations where the quick look found either) needs this many
#: inliers before the pictures are compared cell by cell (:func:`_dense`, ~2 ms with the lighting fits): three are any
#: three matches, and a copy's full match finds more than the wide look asks (QUICK_WIDE_INLIERS). Fewer: the
#: calibrated model's answer with nothing compared (about 0). Chosen on the fit split (``/tmp/gate`` probes, reported
#: in BENCHMARKS.md "Cheaper to turn away"): of the 2,301 checks reaching the default among 1,260 combinations of
#: photos-public photos 40-249 against their originals, fam-photos-public's 1,560 copy pairs, the fit negatives and
#: their candidate pairs, the fewest inliers was 6; checks with 3-5 inliers are 15 % of an incremental run's pairs
#: (the rig of 1,000 new into 100,000) and 7 % of a first scan's (camera photos), each ~2.3 ms of dense check saved
FULL_INLIERS = 6
#: a plain crop blown up past what the keypoints match (one keeping 60 % of each side or less: the crop's keypoints at
#: 320 px are finer detail than the other's, their descriptors unlike; or a picture with few keypoints at all, bubbles
#: in a blue sky) leaves the keypoints' fit too few inliers, or a wrong one, though the crop aligned right is a copy
#: cell by cell. Where the keypoints' fit found no copy with fewer than this many inliers, the two grey thumbnails are
#: aligned by their pixels alone (:func:`_pixel_alignment`: one scaled by PIXEL_SCALES and slid over the other, no
#: turn, no mirror: what a crop in an editor is) and the pair is compared under that alignment, kept where it says more
PIXEL_ALIGN_BELOW = 15
#: the pixels are aligned only for a pair the quick look let through to the full match (the crops it turns away are
#: left: most of a search's checks are look-alikes turned away there, and an alignment costs ~1-3 ms), or one of whose
#: pictures holds fewer keypoints than this (a flat picture: few in a library)
PIXEL_FEW_KEYPOINTS = 150
#: the scales of one thumbnail tried inside the other (a crop keeping 45 % to 100 % of each side), on the thumbnails
#: reduced PIXEL_COARSE times; the best refined at full size in the rounds of PIXEL_FINE
PIXEL_SCALES = tuple(float(x) for x in np.geomspace(0.45, 1.0, 16))
PIXEL_COARSE = 4
#: the rounds at full size: the scales tried (times the best so far) and how far the place is searched round it (px)
PIXEL_FINE = ((tuple(float(x) for x in np.geomspace(0.88, 1.12, 5)), 8),
              (tuple(float(x) for x in np.geomspace(0.97, 1.03, 5)), 3))
#: the thumbnails' correlation (the scaled one against the part of the other it lies on) from which the pair is
#: compared cell by cell under that alignment
PIXEL_NCC = 0.8
#: the correlation of the reduced thumbnails under which the coarse search ends the look
PIXEL_COARSE_NCC = 0.7
#: the least side (reduced thumbnail pixels) and spread (grey levels) of a scaled thumbnail slid over the other
PIXEL_MIN_SIDE = 6
PIXEL_MIN_SPREAD = 2.0
#: the part rule (PART_COVER) read before the pixels are compared, under the full match's affine map: where neither
#: frame lies EARLY_PART_COVER or more inside the other, and neither reaches beyond the other's with padding only
#: (:func:`_padding_beyond`: a crop of a picture set on a background), the two share a part at most, and the frame
#: rules would cap the pair at NOT_ONE_CAPTURE whatever its cells say; it is not compared cell by cell (the calibrated
#: model's answer with nothing compared, about 0; the frames and the rule recorded). Below PART_COVER by a margin for
#: a homography (PERSPECTIVE_BELOW) that could move a frame. Chosen on the fit split (as FULL_INLIERS): the affine
#: cover of every check reaching the default was 0.60 or more but for crops of a picture on a background (0.50-0.55,
#: padded); checks sharing a part are ~8 % of an incremental run's CPU (mosaics of crops of shared photos, 10+
#: inliers, ~12 ms each with the perspective fit and the frames) and ~10 % of a first scan's
EARLY_PART_COVER = 0.5
#: a perspective (homography) alignment is tried when fewer cells than this agree closely under the affine one
#: and the affine fit has at least PERSPECTIVE_INLIERS inliers (a keystone copy: a photo of a screen or print)
PERSPECTIVE_BELOW = 0.9
PERSPECTIVE_INLIERS = 15
#: where the homography of the affine fit's inliers still leaves PERSPECTIVE_BELOW, it is refitted to every match it
#: explains (:func:`_guided_homography`, at most GUIDED_ROUNDS times) and the refit kept where more of the picture
#: agrees and the alignment is one a copy gives: the cells' brightness departs from one lighting change (the colour
#: fit's, where the check keeps that one: a copy whose colours were changed departs from the grey fit by its colours;
#: fit split, ``benchmarks/probe_combo_fit.py``: +2 copies, no fit negative moved) only as
#: resampling moves it (in proportion to each cell's contrast, OVERLAY_REST_TEXTURE: other light moves flat cells
#: too) and one frame holds the other (FRAMING_COVER, padding counted: a copy is part of the other or holds all of
#: it). A second photo of a flat object is a homography of the first too: without these two conditions the refit made
#: 4 more of ukbench 0-74's views of one object copies (EXIF dropped); with them none of the fit negatives' confidences
#: moves. Chosen on the fit split: 2 x 210 random combinations of photos-public photos 40-249 against their originals
#: 295 -> 318 copies; measured in BENCHMARKS.md
GUIDED_ROUNDS = 3
#: the refit is tried only where it may make a copy: where the alignment so far leaves at least GUIDED_AGREEMENT of
#: the cells agreeing (:attr:`Verification.agreement`, NCC >= 0.5) and its calibrated confidence is GUIDED_FROM or
#: more. A keystone the homography of the affine fit's inliers bends away from still agrees that much (the fit pools'
#: pairs the refit lifts over the default: agreement 0.76 or more, confidence 0.19 or more), where most pairs that
#: are no copies do not: of the fit split's candidate pairs that reach the refit (holidays-half, ukbench 0-74 without
#: EXIF, fam-photos-public), 1,081 -> 433 are refitted, and none of the lifts is left out. Measured in BENCHMARKS.md
GUIDED_AGREEMENT = 0.75
GUIDED_FROM = 0.1
#: dense check: cell size (px, in the thumbnail) and the blur that makes it tolerant of resampling and JPEG
CELL = 8
BLUR_SIGMA = 1.0
#: overlays (stickers, emoji, meme letters, a logo) hide part of a copy's picture under something of their own: the
#: cells they cover disagree, and a copy with stickers over a third of it fell under the default. Cells are
#: *off* where they disagree (NCC < 0.5) or their mean brightness is more than OVERLAY_OFF of the picture's spread
#: off the global lighting fit; the overlays are the off cells and their neighbours (partly covered). They are
#: left out of the strict agreement and the lighting residual when (1) they cover OVERLAY_MIN to OVERLAY_MAX of
#: the compared cells (less, the calibration tolerates already: a clean copy passes with 81 % agreeing), (2) at
#: least OVERLAY_FLAT_SHARE of the off cells are flat on one side only (contrast under OVERLAY_FLAT of the other
#: side's: a sticker's flat fill over the picture's texture; a person who moved between two shots is textured on
#: both), and (3) the rest agrees as a clean copy does (strict agreement >= OVERLAY_REST_AGREES, lighting residual
#: <= OVERLAY_REST_LIGHTING: a copy's rest follows one brightness change within 0.01 as a rule; two photos of one
#: flat object under other light, their backgrounds taken for overlays, left 0.03-0.05: 0.05 lifted 9 of 60 overlaid
#: keystoned, turned or shrunk copies of photos-public photos but made 5 pairs of held-out ukbench views of one object
#: (their EXIF dropped) copies at 0.97, so it stays), or each cell's departure from the rest's lighting fit is small
#: against the cell's own contrast (median of |residual| / (contrast + 2) <= OVERLAY_REST_TEXTURE): a copy that was
#: resampled (turned, keystoned, shrunk: the rest 0.02-0.07 off one brightness change) moves a cell's mean in
#: proportion to its texture, where other light moves flat cells as much as textured ones (fit split of
#: ``benchmarks/quality.py --families``: overlaid copies lifted by it 0.03-0.09, re-shots and ukbench views of one
#: object that pass every other overlay condition 0.25 or more). Measured in BENCHMARKS.md. The lighting is that of
#: the grey fit; where it finds no overlays, that of the colour fit (:func:`_colour_lighting_residual`): stickers or
#: letters over a copy whose colours were changed too, where the grey fit counts every cell whose colour moved its
#: own way as off and its rest never follows one brightness change (fit split: 210 + 210 random combinations of
#: photos-public photos 40-249 against their originals, 290 -> 295 copies; the fit negatives' confidences unchanged)
OVERLAY_OFF = 0.25
OVERLAY_MIN = 0.2
OVERLAY_MAX = 0.6
OVERLAY_FLAT = 0.35
OVERLAY_FLAT_SHARE = 0.3
OVERLAY_REST_AGREES = 0.97
OVERLAY_REST_LIGHTING = 0.02
OVERLAY_REST_TEXTURE = 0.1
#: and (4) the part left out is not one region inside the compared area, clear of its edge, that holds more than
#: OVERLAY_DETAIL of *both* pictures' detail (each side's cell contrast summed over the compared cells): two
#: different photos in one frame template (a card, a white border, a drop shadow: ``benchmarks/
#: bench_everyday_edits.py``'s framed print) disagree over both photos and agree on the template's card and edges
#: alone, and the photos were left out as overlays: called a copy at 0.98 (ukbench-600 photos framed alike: 0.58-0.99
#: of both pictures' detail in the part left out, 5 of 5 enclosed; photos-public 109053 / 118035: 0.84). Overlays
#: over a copy that stay clear of the edge are stickers over the picture's own detail, which the rest holds: 0.39 of
#: it at most (the 8 such of 727 overlays left out: the --families sets' pairs at 0.9 or more, and photos-public
#: 40-99 with text_overlay, watermark, meme_text, stickers, downscale_small+text_overlay, combo); overlays at the
#: edge (captions, meme letters, a corner logo, stickers there) are not held by this rule. A template whose photo
#: nearly fills the card (the part left out reaching the edge: 1 of the 6 measured) is not caught
OVERLAY_DETAIL = 0.5
#: the version of the features' definition; stored with cached features, which are recomputed when it changes
FEATURES_VERSION = 6  # 2: keypoints stored strongest first (the quick look takes the first ones); 3: a colour
# thumbnail (COLOUR_SIDE); 4: the picture's long side in the file's own pixels and its grey spectrum (SPECTRUM_SIDE);
# 5: the mirror's descriptors made at the mirrored keypoints (a bit of one descriptor in ~1 % of pictures differs from
# a detection of the mirror: ORB's angle rounded another way), the spectrum transformed at a padded size
# 6: a large file's spectrum measured on the keypoints' picture (SPECTRUM_FROM_FEATURES; #25)
#: the version of what :func:`verify_pair` computes from given features: part of :func:`verdict_version`, which
#: keys the confidences the index keeps per pair. Bump it with any change of the code that changes a confidence
#: (the module's constants, FEATURES_VERSION and CALIBRATION included, and OpenCV's version are in the key already)
VERDICT_VERSION = 37  # 2: the quick look before the full match; 3: the lighting fit refitted until a caption drops
# out; 4: symmetric (the pair is checked in one canonical order), keypoints at the stored (half float) precision;
# 5: a perspective alignment where the affine one leaves part of the picture disagreeing; 6: overlays left out
# (OVERLAY_MAX); 7: two framings of one scene and pictures sharing only a part are not copies (FRAMING_COVER,
# PART_COVER); 8: the colour lighting fit (COLOUR_GAIN); 9: another light is not one capture (LIGHTING_CAP); 10: padding
# looked for clear of the frame's edge inside too (PADDING_MARGIN), overlays over a resampled copy
# (OVERLAY_REST_TEXTURE); 11: the colour fit follows a gamma, padding may be a gradient (PADDING_GRADIENT_CONTINUES),
# a wider quick look for a pair one match short (QUICK_WIDE_A); 12: overlays found off the colour fit too (OVERLAY_OFF);
# 13: the homography refitted to every match it explains (GUIDED_ROUNDS) where the pair may be a copy; 14: where the
# colours changed, the colour fit quadratic, tried from a lower agreement, the cells compared recoloured (COLOUR_CHANGE)
# 15: the lighting residual of the recoloured cell means too
# 16: a picture inside the other that holds detail finer than the other file holds is not made from it (DETAIL_CAP)
# 17: the full match from b to a too where a to b leaves the pair short with few inliers (REVERSE_FIT)
# 18: REVERSE_FIT off again (no held-out gain for +21-24 % a check)
# 19: the mark recoloured kept with the confidence (RECOLOURED_SHARE; the sign of a kept score, scores.stored_score);
# no confidence changed
# 20: a full match with fewer than FULL_INLIERS inliers, or whose frames share a part at most (EARLY_PART_COVER), is
# not compared cell by cell (cheaper to turn away: their confidences, all under NOT_ONE_CAPTURE, become ~0)
# 21: the colour fit's residual with the hue's harmonics where the colours changed (COLOUR_HARMONICS), the guided
# refit's departure from the colour fit where that one is kept, a background in a gradient is no scene
# (DETAIL_SCENE_GRADIENT)
# 22: where the colours changed and the colour fit explains the light, a cell agrees recoloured or in grey
# (RECOLOURED_OR_GREY)
# 23: the framing rule's angle measured from the nearest quarter turn (a camera held upright or on its side:
# FRAMING_ANGLE), the detail rule's reference band moved below an enlargement's roll-off (DETAIL_BELOW, DETAIL_CAP)
# 24: small pictures on flat canvases are compared inside their outlines (SMALL_PICTURE, PICTURE_AGREES)
# 25: noise added to a blown-up crop is no finer detail: the detail rule passes an inner picture whose spectrum past
# the other file's resolution is flat like noise (NOISE_SLOPE)
# 26: a thin frame round one of two small pictures (a border) no longer makes them differ: their detail is also
# compared FRAME_MARGIN px clear of both outlines (FRAME_MARGIN, FRAME_MIN_PIXELS)
# 27: pages (PAGE_CANVAS): content on one where the other is blank is another page (ADDED_CAP), blank page beyond a
# frame is padding, a page holding content beyond the other is no surround for the detail rule
# 28: a pair the detail rule leaves undecided (DETAIL_LOOK) is looked at in its files (look_at_files, UNEXPLAINED_CAP)
# 29: not where its colours moved as an edit moves them (colour_moved >= COLOUR_CHANGE): a grey look cannot tell
# 30: a keystone kept by its homography takes all its dense measures (pages, added, colour_moved were the affine fit's)
# 31: a hash-sure pair checked in the band (copies._check_sure_band) is looked at in its files too: it was kept at 1
# 32: a thin part beyond the other's frame (the wedges of fill a photo turned at its own frame size brings in) is
# looked at 1 px clear of the edge (WEDGE_MARGIN, WEDGE_MIN_PIXELS)
# 33: a picture cut from its canvas is not checked against a whole image where its own file shows a scene of its own
# around it that disagrees with the other's (scene_around_cut: a mosaic's tile taken for a picture on a canvas)
# 34: a flat fill's continuation counted within the fill's own spread (FILL_SPREAD_MIN: black wedges beside a dark
# scene), a bar of one colour with marks drawn on it is padding (BAR_FLAT: a phone screenshot's status bar)
# 35: ... where only the fill's (or bar's) own spread finds the band not continuing it, the band must not continue its
# plane (a smooth sky beyond a re-shot's frame, birds in it) nor, for a fill, much of it (dark silhouettes)
# 36: where the keypoints' fit finds no copy on few inliers, the thumbnails aligned by their pixels (a plain crop blown
# up past what ORB matches, or of a flat picture: PIXEL_ALIGN_BELOW)
# 37: overlays are not left out where they would hold most of both pictures' detail (two photos in one frame
# template: OVERLAY_DETAIL)

#: logistic model behind :attr:`Verification.confidence` (fitted by ``benchmarks/quality.py --fit`` with each
#: weight's sign fixed: more agreement can only raise the confidence, a lighting mismatch only lower it):
#: intercept, then the weights of :meth:`Verification.measurements` in order. The fit kept two: the share of
#: cells agreeing at NCC >= 0.8 and the lighting residual; a perfect copy scores 0.985.
CALIBRATION = (-4.536, 0.0, 0.0, 0.0, 8.633, 0.0, 0.0, -10.31)
#: confidence at or above which a pair is called a copy: the smallest with >= 99.5 % precision on the fit split
#: of ``benchmarks/quality.py`` (pairs and groups alike); held-out numbers are in BENCHMARKS.md
DEFAULT_CONFIDENCE = 0.92
#: two rules the calibrated model cannot see, on the frames of the two images once aligned (``frame_cover_*``: the
#: share of each image's frame inside the other's, exact from the transform). A copy is made from one capture: its
#: picture is part of the other's (a crop) or holds all of it (a frame, a canvas, a caption band), so it covers
#: (nearly) all of at least one of the two frames. (1) *Two framings*: neither frame covers FRAMING_COVER of the
#: other, at a rotation under FRAMING_ANGLE degrees from upright or from a quarter turn (a camera held on its side
#: for one of the shots; :func:`off_camera_axes`) and no mirror: each picture shows part of the scene the other
#: lacks, as a camera moved between two shots does (holidays-half re-shots, even groups: 8 of the 14 called copies
#: at 0.92, and 119604/119605 turned 90.8 degrees; no copy of photos-public's edits, whose same-size rotations
#: start at 5 degrees and reach 25; a copy turned by any angle on a grown canvas holds all of the other's frame,
#: one cropped inside the turned picture lies inside it). (2) *A shared part*:
#: neither covers PART_COVER of the other (two collages sharing one picture). Either caps the confidence at
#: NOT_ONE_CAPTURE (measured in BENCHMARKS.md, "Re-shots called copies")
FRAMING_COVER = 0.985
FRAMING_ANGLE = 5.0
PART_COVER = 0.6
NOT_ONE_CAPTURE = 0.5
#: a third rule, on the light: cells whose brightness does not follow one global brightness or colour change within
#: LIGHTING_CAP of the picture's spread (:attr:`Verification.lighting_residual`, whatever the calibrated model makes
#: of it with the other measurements) are *another light*: a second photo of the thing, lamp or camera moved, not a
#: copy of one capture. The calibrated model let a pair whose cells agree everywhere through up to 0.16; views of one
#: flat object without camera stamps (ukbench groups 0-74, EXIF dropped: fit) called copies left 0.056-0.157. The
#: cap is the 99.5th percentile of the residual the fit split's checked copies leave (fam-photos-public and
#: photos-public edits, 1,287 pairs called copies: 0.139), as the default is the confidence with 99.5 % precision
#: there. Caps at NOT_ONE_CAPTURE (measured in BENCHMARKS.md, "Another light")
LIGHTING_CAP = 0.14
#: a frame's part beyond the other's is *padding*, not more of the scene, when at least PADDING_FLAT of its thumbnail
#: pixels (PADDING_MARGIN px clear of the other's frame, PADDING_MIN_PIXELS at least) lie within PADDING_SPREAD grey
#: levels of their median, and at most PADDING_CONTINUES of the picture's pixels in a band as wide along the edge
#: inside, as clear of it, do (the picture does not go on in that colour; the band at the edge itself mixes the two:
#: a keystoned copy's frame, placed by a fit of matches inside it, is a pixel or two off): a keystoned copy (a photo
#: of a screen or print) cropped shows its surround beyond the original, and the framing rule capped it. The frame
#: rules then count that frame as covered. A smooth gradient (a plane of grey levels, fitted robustly) is padding too,
#: where at most PADDING_GRADIENT_CONTINUES of the band continue it: a crop of a picture set on a background (a
#: gradient, as designers use) shows some of the background. Chosen on the fit split: 210 random combinations of
#: photos-public photos 40-249 against their originals, 154 -> 159 copies, those crops continuing the gradient
#: 0.02-0.27; a re-shot of ukbench's fit half (00062/00063, the camera moved over a plain counter) 0.46
PADDING_SPREAD = 6
PADDING_FLAT = 0.95
PADDING_CONTINUES = 0.5
PADDING_GRADIENT_CONTINUES = 0.3
PADDING_MARGIN = 2
PADDING_MIN_PIXELS = 100
#: ... and a thin one is padding too: where fewer than PADDING_MIN_PIXELS pixels lie PADDING_MARGIN px clear of the
#: other's frame, the pixels WEDGE_MARGIN px clear of it, WEDGE_MIN_PIXELS at least, are looked at the same way (one
#: flat level, which the picture along the edge does not continue). A photo turned by a few degrees at its own frame
#: size (an editor's rotate without growing the canvas) brings in flat wedges of fill, black, white or any colour, at
#: its edges, and loses the original's corners: each frame then covers ~97 % of the other, under FRAMING_COVER, and
#: the wedges, a few pixels wide in the thumbnail, hold 5-60 pixels 2 px clear of the edge (under 1.5 degrees the
#: frames cover FRAMING_COVER without them; from 4 degrees they hold PADDING_MIN_PIXELS), 25-180 pixels 1 px clear
#: of it, within PADDING_SPREAD of their level after a JPEG save at quality 60 (``benchmarks/bench_tilted_copies.py``)
WEDGE_MARGIN = 1
WEDGE_MIN_PIXELS = 20
#: a flat fill's continuation along the edge inside is counted within the fill's own spread (the PADDING_FLAT
#: percentile of its pixels' distance from its level, FILL_SPREAD_MIN to PADDING_SPREAD grey levels), not within
#: PADDING_SPREAD: a photo dark along its edge turned at its own frame size with black fill (camera-photos'
#: mei__Canon_PowerShot_S400.jpg, a motorbike at night) has ~55 % of that band within PADDING_SPREAD of black, over
#: PADDING_CONTINUES, but 12 % within 2 levels of it; the wedges of fill, JPEG saved at quality 60 included, lie within
#: 2 levels of theirs, where a dark scene beyond a re-shot's frame has the spread of its own noise and texture
#: (``benchmarks/bench_dark_turns.py``)
FILL_SPREAD_MIN = 2
#: ... and a bar of one colour with marks drawn on it is padding too: a phone screenshot's status bar (the time and the
#: signal, wifi and battery icons) above a photo shown at the screen's width, its bottom cut off by the screen, reaches
#: beyond the original's frame while the original reaches beyond the screenshot's (the part cut off), and the framing
#: rule read two framings; the icons and the time leave 0.88-0.91 of the bar within PADDING_SPREAD of its level in the
#: thumbnail, under PADDING_FLAT. Padding where at least BAR_FLAT of the part beyond lies within PADDING_SPREAD of its
#: level, MARKS_FAR of the rest more than MARK_CONTRAST grey levels off it (drawn marks, not scene shading into the
#: fill), the part beyond at most BAR_MOST of the thumbnail (a bar, not a re-shot's view beyond the other's frame), and
#: the picture along the edge does not continue it (as a flat fill: PADDING_CONTINUES within the bar's own spread).
#: Chosen on photos-public and camera-photos screenshots (``benchmarks/bench_screenshot_crops.py``)
BAR_FLAT = 0.8
MARK_CONTRAST = 40
MARKS_FAR = 0.5
BAR_MOST = 0.3
#: a fourth rule, on detail (issue 24: a copy is a file that can be made from the other): where one picture lies inside
#: the other's frame (its frame cover FRAMING_COVER or more, the other's under DETAIL_OUTER_COVER and not padding: the
#: other shows more of the scene; tuning re-shots 0.13-0.75, where a screenshot's picture cut out against its original
#: leaves 0.93-0.95; and what the other shows beyond it is scene, not a surround: at most DETAIL_SCENE_FLAT of its
#: thumbnail pixels within PADDING_SPREAD grey levels of their median, where the tuning re-shots have 0.02-0.16 and the
#: fit split's originals inside a screenshot, a keystone with stickers or a combination on a canvas 0.55-0.93)
#: and shows the shared part at DETAIL_MIN_SCALE or more of the other file's own pixels (the files' stored sizes,
#: not the decoded ones: a crop of a large photo keeps its pixels), the inner picture cannot be that other file's crop
#: unless it was blown up: then it holds nothing finer than the other file's pixels, and its grey spectrum falls off a
#: cliff at the frequency the other file resolves. Real detail beyond it (a zoomed second shot of the scene) keeps
#: the spectrum going: the mean power times f^2 just above that frequency (DETAIL_ABOVE) over that well below it
#: (DETAIL_BELOW: clear of the roll-off an enlargement's interpolation already puts on the band just below the
#: frequency, which made a zoomed re-shot of a hazy or dark scene look like a blown-up crop: VERDICT_VERSION 23, was
#: 0.7-0.95 of it with DETAIL_CAP -0.30), in log10, at DETAIL_CAP or more says the inner picture has detail the outer
#: lacks: neither file can be made from the other (the outer shows more of the scene), so the pair is capped at
#: NOT_ONE_CAPTURE and its verdict is re-shot. Each image keeps the radial power spectrum of its grey picture (long
#: side at most SPECTRUM_SIDE, SPECTRUM_BINS bins up to the Nyquist frequency, a Hann window). Chosen on the tuning
#: split (``benchmarks/probe_inner_detail.py``; measured in BENCHMARKS.md, "A picture finer than the other file")
DETAIL_MIN_SCALE = 1.12
DETAIL_OUTER_COVER = 0.85
DETAIL_SCENE_FLAT = 0.35
#: ... nor is a background in a gradient scene: where DETAIL_SCENE_GRADIENT or more of those pixels lie within
#: PADDING_SPREAD grey levels of the plane fitted to them (:func:`_gradient`), the rule is not applied (a picture set
#: on a background in a gradient, then shown in a screenshot or keystoned: the cut picture keeps the background, which
#: no flat colour fits). Chosen on the fit split (``benchmarks/probe_combo_fit.py``: the fit negatives the rule caps,
#: re-shots of holidays-half's even groups and ukbench 0-74 views without EXIF, 0.07-0.49; the copies it capped on a
#: gradient 0.52-0.93: +5 copies, no fit negative's confidence moved); measured in BENCHMARKS.md
DETAIL_SCENE_GRADIENT = 0.65
#: (the plane is fitted to every GRADIENT_STRIDE-th of those pixels, in row order: a share needs no more)
GRADIENT_STRIDE = 3
DETAIL_BELOW = (0.5, 0.7)
DETAIL_ABOVE = (1.05, 1.4)
DETAIL_TOP = 0.47
DETAIL_CAP = -0.55
#: ... unless what lies past that frequency is noise, not scene (issue 24: a crop blown up, then given blur and noise,
#: an everyday edit, was capped in 33 of 33 tuning pairs): noise added to a picture is white, its power flat across
#: the top bands (slope ~0), where a photo's detail falls (a lens, the sensor's own filter, JPEG). The slope of the
#: inner picture's log power against log frequency from DETAIL_ABOVE[0] times that frequency up to DETAIL_TOP (at
#: least NOISE_MIN_BINS bins, power over 10^NOISE_MIN_POWER: not an empty picture's floor) above NOISE_SLOPE passes
#: the pair. Chosen on the tuning split (``benchmarks/probe_added_noise.py``): the capped holidays re-shots fall at
#: -3.37 or steeper, photos at their own pixels (photos-public, holidays-half, ukbench; past 0.2-0.35 cycles a pixel)
#: over -2 in 1 % or fewer, the tuning blown-up crops given blur + noise at -4.6 to +0.5 (those saved at a low JPEG
#: quality steep: JPEG takes the noise back out); measured in BENCHMARKS.md, "Noise is no finer detail"
NOISE_SLOPE = -2.0
NOISE_MIN_BINS = 4
NOISE_MIN_POWER = 2.0
#: ... and where the spectrum alone cannot decide, the files can (issue 24: holidays-half 126400/126402, a zoomed
#: re-shot of a dark sunset, read -0.63 and was called a copy at 0.971; blown-up crops reach -0.43): a pair whose
#: detail lies within DETAIL_LOOK..DETAIL_CAP, still scored over NOT_ONE_CAPTURE, is looked at in both files' own pixels
#: (:func:`look_at_files`, where the caller can read them: ``copies`` for the pairs of a scan, ``explain``). The outer
#: picture is brought onto the inner's pixels (the check's map, refined by OpenCV's ECC), the LOOK_RADIUS filter that
#: best makes the inner picture of it is fitted (least squares), and that prediction saved as a JPEG at each of
#: LOOK_QUALITIES; what the best of them leaves of the inner's high band (the picture less its blur by half the
#: scale), over that high band, is the *unexplained detail*: a blown-up crop is the outer's pixels interpolated,
#: perhaps sharpened and saved at some JPEG quality, which a filter and a save make again (tuning crops <= 0.41, those
#: re-saved at JPEG 15-30 after the enlargement <= 0.44: without the save 0.68); a second capture holds detail of its
#: own (holidays re-shots 0.45-1.22, 126400/126402 0.55). UNEXPLAINED_CAP or more caps the pair at NOT_ONE_CAPTURE
#: (NotOneCapture.DETAIL). Files decoded with their long side at LOOK_SIDE or more (JPEG's reduced-scale decode; the
#: other file at the same reduction or less). Chosen on the tuning split, held-out sources reported
#: (``benchmarks/probe_unexplained_detail.py``; BENCHMARKS.md, "The last re-shot called a copy")
DETAIL_LOOK = -0.70
UNEXPLAINED_CAP = 0.50
LOOK_RADIUS = 3
LOOK_QUALITIES = (15, 20, 25, 30, 40, 50, 60, 75, 90)
LOOK_SIDE = 640
#: (ECC runs on the shared part's box, this many px wider each way than its blur's reach: ECC's own 5 px filter, its
#: masks' and gradients' reach and the drift of its map; a map drifting farther is no alignment)
LOOK_ECC_MARGIN = 24
#: (the keep stage's look, ``boxed``: ECC first on the pictures at half size, 80 steps, where the box is
#: LOOK_ECC_HALF_MIN px a side or more, then LOOK_ECC_FINE steps at the look's size: the answers where ECC aligns the
#: same to the third decimal, a catalogue's looks 3.4x less CPU, most where 80 steps at full size did not converge (a
#: card against a thumbnail: 1-3 CPU s a look); ``benchmarks/bench_keep_catalogue.py``, BENCHMARKS.md)
LOOK_ECC_HALF_MIN = 128
LOOK_ECC_FINE = 10
#: (... and a shared part whose high band on the check's map, before ECC, is under LOOK_MIN_DETAIL is flat: where ECC
#: aligns the band moves by under 1 %, and where it does not, on a flat part's few gradients, it drifts onto the
#: picture's edge (a card's 3.8 read 12.3 after ECC, and the look over 1))
#: (... and the keep stage's question (is the framed picture the other file enlarged?) has an answer where the part is
#: flat at LOOK_FLAT_SCALE or more of the outer file's pixels a side: the inner picture holds no detail a person sees
#: (a high band of under 2 grey levels) that the outer file lacks, so it counts at the outer's size. A product card
#: enlarged from a soft product photo reads 0.4-3.9, genuine pictures at 1.33-2x a smaller copy's side 6.3 or more
#: (ukbench views, held out), 6.5 (holidays-half), 17.8 (photos-public): BENCHMARKS.md. Under it (a file decoded at
#: half for the look, its picture then at about the outer's pixels) any picture reads flat: no answer)
LOOK_FLAT_SCALE = 1.25
#: (... so the keep stage's look decodes the framed file larger than LOOK_SIDE where that is what holds its picture at
#: LOOK_FLAT_SCALE or more of the plain file's pixels a side (a product card 1,300-1,700 px wide, decoded at half,
#: held its picture at 1.0-1.2x the product's: 9 of ``bench_keep_catalogue``'s 40 cards had no answer), up to
#: LOOK_MAX_SIDE on its long side decoded (about 4 MP), the plain file then whole; past it that look is not made
#: (``copies._look_sides``). A flat part there is no answer: genuine camera photos at 1,024 px shown at 2x and 1.33x
#: their smaller copy read 2.5-3.9, and answered flat, their screenshots were kept 20 and 19 of 23, not 23
#: (``bench_keep_enlarged_framed.py --source camera-photos``: BENCHMARKS.md, "A second look at the plain file's own
#: pixels"); 2,048 itself is a bound on cost, not measured against another)
LOOK_MAX_SIDE = 2048
#: the bytes a pixel of the two files' decodes costs at the peak of the keep stage's look (each decoded, its grey float
#: copy, the outer warped onto the inner, masks, filters): measured 23.6 (``ru_maxrss``/``VmHWM`` of the keep stage
#: alone, a 12,000 x 9,500 PNG framing its 4,032 x 3,024 PNG original enlarged 2.6x: 2.98 GB over 126 MP decoded). A
#: look whose decodes would cost more than :data:`~imagetwins.io.DEFAULT_MAX_DECODED_BYTES` so counted is not made
#: (``copies._enlarged_area``): a PNG, TIFF or WebP is decoded whole for a look at LOOK_SIDE (that one took 3.2 GB,
#: the scan of the two 0.8 GB)
LOOK_BYTES_PER_PIXEL = 24
#: (the fit: every LOOK_STRIDE-th pixel of the shared part each way, at least LOOK_MIN_PIXELS of them in all, with a
#: ridge, LOOK_RIDGE of the taps' mean power)
LOOK_STRIDE = 2
LOOK_MIN_PIXELS = 5000
LOOK_RIDGE = 1e-4
#: (the inner picture's high band over the shared part must hold LOOK_MIN_DETAIL grey levels squared or more: under
#: it, a flat part whose fine detail is a JPEG's noise, the ratio says nothing; the pair keeps the features' answer)
LOOK_MIN_DETAIL = 4.0
SPECTRUM_SIDE = 512
SPECTRUM_BINS = 40
#: a file of at least this many pixels on its long side has its spectrum measured on the keypoints' picture
#: (FEATURE_SIDE, already made) where that is a reduction of the decode, instead of the decode at up to SPECTRUM_SIDE
#: (FEATURES_VERSION 6; 1.7 -> 0.6 CPU ms a camera photo, issue #25). The detail rule reads such a spectrum only where
#: the other file is small against it: the outer file's Nyquist lies in the spectrum's range (DETAIL_ABOVE,
#: DETAIL_TOP) only for inner_scale >= 1.12 x native / spectrum side, which for a 1,024 px file moves from 2.2 (a
#: 512 px decode) to 3.6, and for a 4,000 px camera photo from 8.9 (its 500 px decode) to 14; the tuning sets'
#: pictures (holidays-half, photos-public, ukbench, 320-640 px) keep theirs to the bit
SPECTRUM_FROM_FEATURES = 1024
#: a fifth rule, on small pictures on a flat canvas (a shop's product thumbnails, 60-160 px on an 800 px white page):
#: the cells that show anything are then few, and most of them straddle the picture's outline, where the canvas meets
#: it; the outline agrees between any two pictures of one shape (an affine map fits any rectangle onto any other), so
#: two different products agreed in 100 % of their textured cells, the white page against white, and were copies at
#: 0.98. Where both images are pages: at least 1 - SMALL_PICTURE of their thumbnail cells flat and within CANVAS_BAND
#: grey levels of one level (:func:`_canvas`; a sky or a wall drifts more: a bird in a clear sky 0.15-0.24, pages
#: holding pictures up to 300 px 0.7-0.97), the two pictures are compared inside their outlines
#: (:func:`_inside_pictures`): each picture is what lies off its page's level by more than CANVAS_SPREAD; the
#: smaller share of either picture within the other's outline (INSIDE_MARGIN px of tolerance), and the correlation of
#: their detail inside both outlines (INSIDE_MARGIN px clear of them; each picture less its blur of PICTURE_DETAIL px,
#: blurred within the pictures alone: the outline's step would correlate any two) if smaller, is
#: :attr:`Verification.picture_ncc`; under PICTURE_AGREES the pictures differ: the confidence is capped at the
#: calibrated model's answer where no cell agrees (its intercept's: :func:`confidence_from`, 0.011) and the pair is
#: unrelated, not a re-shot. 0 where that inside holds under PICTURE_MIN_PIXELS pixels (too small to tell apart) or
#: shows detail (PICTURE_FLAT) on one side only; where neither side does (plain fills: a logo's, whose shape is its
#: outline), the shares alone, if the fills' grey levels are within PICTURE_TONE. Chosen on the fit split
#: (``benchmarks/probe_small_pictures.py``'s photos-public 0-124 sets and ``tests/test_small_pictures.py``'s
#: catalogue): the different pictures' agreement 0.92 at most (a logo pair; photos 0.85), the copies' 0.934 or more;
#: measured in BENCHMARKS.md ("Small pictures on a flat canvas"). None of ``benchmarks/quality.py``'s pairs (plain and
#: ``--families``) is measured: their numbers are unchanged. A thin frame round one picture (a 6 px black border on a
#: 400 px product photo) is part of its outline, and the blurs carry its dark ring a few pixels into the picture:
#: where the detail there agrees under PICTURE_AGREES, it is compared again FRAME_MARGIN px clear of both outlines
#: (where that inside holds FRAME_MIN_PIXELS or more), the higher kept: ukbench product photos against themselves
#: framed 0.74-0.90 -> 0.94-0.96 (``tests/test_small_pictures.py``), probe_small_pictures.py's rows unchanged
SMALL_PICTURE = 0.2
CANVAS_BAND = 3
CANVAS_SPREAD = 10
INSIDE_MARGIN = 2
PICTURE_MIN_PIXELS = 12
PICTURE_DETAIL = 1.5
PICTURE_FLAT = 1.5
PICTURE_TONE = 16
PICTURE_AGREES = 0.93
FRAME_MARGIN = 5
FRAME_MIN_PIXELS = 200
#: a sixth rule, on pages (documents, forms, a shop's catalogue pages): content on a blank part of one page is
#: information the other lacks. Where both images are pages of one paper (at least PAGE_CANVAS of their thumbnail cells
#: are their canvas, :func:`_canvas`, as :data:`SMALL_PICTURE` reads it; photos-public, ukbench, camera-photos: 0.34 at
#: most; text pages 0.71-0.80; their canvas levels within ADDED_PAPER grey levels: a picture on two surrounds, a
#: screenshot's white and a background's colour, is no one page), the compared overlap's pixels off one page's canvas by
#: more than ADDED_CONTENT with nothing off the other's by more than ADDED_BLANK within ADDED_MARGIN px
#: (:func:`_added_content`, :attr:`Verification.added`) make, from ADDED_CAP of the thumbnail's pixels on, another
#: version of the page: a signature under a form, a second product in a page's blank quarter (the cells compared were
#: only those textured on both sides, so such content was never looked at: copy 0.984). The pair is capped at
#: NOT_ONE_CAPTURE, NotOneCapture.ADDED, verdict re-shot (one page, two versions: a person picks). Two more reads of a
#: page: what one shows beyond the other's frame is padding where it is blank (nothing off its canvas by ADDED_CONTENT
#: on ADDED_CAP of its pixels), however the canvas goes on inside (the same product placed elsewhere on another page, or
#: on a page of other proportions, was capped by the frame rules); and where it holds content (a second product), it is
#: page, not a surround, for the detail rule (:data:`DETAIL_SCENE_FLAT`): a page holding a product 3x larger mapped
#: whole into a two-product page is no copy of it. Chosen on the pages of ukbench-600 groups 0-50 and photos-public
#: (BENCHMARKS "Pages that differ by content on a blank part"): the copies' added pixels 0 exactly, content added
#: 5-42 x 10^-3; measured on ``benchmarks/probe_pages.py``'s held-out split and ``probe_small_pictures.py``
PAGE_CANVAS = 0.5
ADDED_CONTENT = 20
ADDED_BLANK = 5
ADDED_MARGIN = 2
ADDED_CAP = 0.002
ADDED_PAPER = 20
#: the calibrated measurements (:meth:`Verification.measurements` gives these, then the frame cover and rotation
#: the rules above read, then the small-picture rule's 1 - picture_ncc, then the inner picture's detail)
CALIBRATED = 7
#: a pair that is not a copy shows one scene (:attr:`Verification.same_scene`, a re-shot) with at least this many
#: feature matches in one arrangement, covering at least SCENE_COVERAGE of each image (measured in BENCHMARKS.md,
#: "Re-shots")
SCENE_INLIERS = 15
SCENE_COVERAGE = 0.2


#: what to tell a user without OpenCV
OPENCV_MISSING = ('the copies method and explain need OpenCV, a dependency of imagetwins that is missing here: '
                  'pip install opencv-python-headless')


def opencv_available() -> bool:
    """Whether OpenCV (``opencv-python-headless``) is installed: found, not imported (a run that verifies nothing
    new, such as a warm re-run, never imports it; it costs ~0.03 CPU s and 17 MB). An installation found that then
    fails to import says so where it is first used (:data:`OPENCV_MISSING`, one line)."""
    if cv2 is not None:
        return True
    import importlib.util

    try:
        return importlib.util.find_spec("cv2") is not None
    except (ImportError, ValueError):  # (sys.modules["cv2"] set to None: imports of it are refused)
        return False


def opencv_imports() -> bool:
    """Whether OpenCV can be imported (it is, if it was not already): where it is about to be used anyway."""
    try:
        _require_cv2()
    except ImportError:
        return False
    return True


def _opencv_version() -> str:
    """OpenCV's version, read from its package (``cv2/version.py`` of the pip wheels, the first three numbers: its
    ``cv2.__version__``) without importing it; else from the module itself; "none" without OpenCV. The same answer
    whether or not OpenCV was imported already, so a stored confidence's version does not depend on it."""
    import importlib.util
    import re

    try:
        spec = importlib.util.find_spec("cv2")
    except (ImportError, ValueError):
        spec = None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        try:
            with open(os.path.join(folder, "version.py"), encoding="utf-8") as version_file:
                text = version_file.read(4096)
        except OSError:
            continue
        found = re.search(r'^opencv_version\s*=\s*["\']([0-9]+(?:\.[0-9]+){0,2})', text, re.MULTILINE)
        if found:
            return found.group(1)
    try:
        return _require_cv2().__version__
    except ImportError:
        return "none"


#: constants that do not change a confidence (a threshold applied to it afterwards), left out of verdict_version
_NOT_IN_VERDICT = frozenset({"DEFAULT_CONFIDENCE", "SCENE_INLIERS", "SCENE_COVERAGE"})


def verdict_version() -> str:
    """What a stored confidence was computed with: changes whenever :func:`verify_pair` may answer otherwise.

    A hash of this module's constants (:data:`VERDICT_VERSION`, :data:`FEATURES_VERSION`, :data:`CALIBRATION`,
    the matching and dense check parameters: any constant added later is in it too) and OpenCV's version
    (its ORB and RANSAC are part of the answer).
    """
    import hashlib

    opencv = _opencv_version()
    constants = sorted((k, v) for k, v in globals().items() if k.isupper() and not k.startswith("_")
                       and k not in _NOT_IN_VERDICT and isinstance(v, (int, float, tuple)))
    definition = repr((constants, opencv))
    return f"{VERDICT_VERSION}-{hashlib.sha256(definition.encode()).hexdigest()[:16]}"


def _require_cv2():
    global cv2
    if cv2 is None:
        try:
            import cv2 as _cv2
        except ImportError:
            raise ImportError(OPENCV_MISSING) from None
        # imagetwins runs OpenCV on its own threads, one image or pair per thread; OpenCV's own pool on top
        # only adds hand-offs (two threads extracting ORB features: 1.76x one thread with the pool, 1.95x
        # without). Process-wide: it also applies to the importing program's OpenCV calls.
        _cv2.setNumThreads(0)
        cv2 = _cv2
    return cv2


@dataclass
class ImageFeatures:
    """What verification needs of one image: keypoints of it and of its mirror, a grey thumbnail and a colour one.

    Keypoint coordinates are in a frame whose long side is :data:`FEATURE_SIDE` pixels (``size``);
    mirrored keypoints are already mapped back into the unmirrored frame, so a fit against them is an
    affine transform with a reflection.
    """

    size: tuple[int, int]  # (width, height) of the feature frame
    points: np.ndarray  # (n, 2) float32
    descriptors: np.ndarray  # (n, 32) uint8
    mirror_points: np.ndarray
    mirror_descriptors: np.ndarray
    thumbnail: np.ndarray  # (h, w) uint8, long side THUMB_SIDE
    #: (h, w, 2) uint8, the chroma (Cb, Cr) with the long side COLOUR_SIDE; None: no colour known (the colour
    #: lighting fit is not tried for a pair with such an image)
    colour: np.ndarray | None = None
    #: the picture's long side in the pixels of the file it came from (a JPEG decoded at 1/8 holds 8 times more than
    #: the features saw); 0: not known (the detail rule, :data:`DETAIL_CAP`, is not tried for a pair with it)
    native_side: float = 0.0
    #: (SPECTRUM_BINS,) float16: log10 of the radial power spectrum of the grey picture scaled to ``spectrum_side`` on
    #: its long side (at most :data:`SPECTRUM_SIDE`), bin k holding the frequencies k/2B to (k+1)/2B cycles a pixel;
    #: None: not known
    spectrum: np.ndarray | None = None
    spectrum_side: int = 0
    #: :func:`order_key` of these features, made on first use (the same features meet several partners in a run)
    _order_key: bytes | None = field(default=None, init=False, repr=False, compare=False)
    #: :func:`_canvas` of these features, made on first use
    _canvas: tuple[float, float] | None = field(default=None, init=False, repr=False, compare=False)

    def to_bytes(self) -> bytes:
        """Compact serialisation (about 40 KB) for a cache; read back with :meth:`from_bytes`.

        A fixed header (:data:`_HEADER`: magic, version, frame size, keypoint counts, descriptor width,
        thumbnail shape, colour thumbnail shape) and the raw little-endian arrays: reading 600 of them takes
        milliseconds, where ``np.load`` of an ``.npz`` (the format before, still read) took about a second.
        """
        mp, md = self.mirror_points, self.mirror_descriptors
        th, tw = self.thumbnail.shape
        ch, cw = (0, 0) if self.colour is None else self.colour.shape[:2]
        bins = 0 if self.spectrum is None else len(self.spectrum)
        head = _HEADER.pack(_MAGIC, FEATURES_VERSION, int(self.size[0]), int(self.size[1]), len(self.points),
                            len(mp), self.descriptors.shape[1] if self.descriptors.ndim == 2 else 32, th, tw, ch, cw,
                            int(self.spectrum_side) if bins else 0, bins, float(self.native_side))
        parts = [head, self.points.astype("<f2").tobytes(), np.ascontiguousarray(self.descriptors).tobytes(),
                 mp.astype("<f2").tobytes(), np.ascontiguousarray(md).tobytes(),
                 np.ascontiguousarray(self.thumbnail).tobytes()]
        if self.colour is not None:
            parts.append(np.ascontiguousarray(self.colour, dtype=np.uint8).tobytes())
        if bins:
            parts.append(np.asarray(self.spectrum, dtype="<f2").tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageFeatures:
        """Inverse of :meth:`to_bytes`; ``ValueError`` for bytes of another version or not features at all."""
        data = bytes(data)
        if data[:2] == b"PK":  # an .npz, as written before the raw format
            return cls._from_npz(data)
        (width, height, n, m, d, th, tw, ch, cw, side, bins, native), parts = _stored_parts(data)
        colour = np.frombuffer(parts[5], np.uint8).reshape(ch, cw, 2) if ch else None
        spectrum = np.frombuffer(parts[6], "<f2") if bins else None
        if spectrum is not None and not np.all(np.isfinite(spectrum)):
            raise ValueError("not image features made here (a spectrum that is not finite)")
        return cls((width, height), np.frombuffer(parts[0], "<f2").reshape(n, 2).astype(np.float32),
                   np.frombuffer(parts[1], np.uint8).reshape(n, d), np.frombuffer(parts[2], "<f2").reshape(m, 2)
                   .astype(np.float32), np.frombuffer(parts[3], np.uint8).reshape(m, d),
                   np.frombuffer(parts[4], np.uint8).reshape(th, tw), colour, float(native), spectrum, side)

    @staticmethod
    def colour_from_bytes(data: bytes) -> np.ndarray | None:
        """The colour thumbnail (:attr:`colour`) of serialised features alone, checked as :meth:`from_bytes` checks
        them (the same ``ValueError``), nothing else parsed: what :func:`colour_signature` reads."""
        if data[:2] == b"PK":
            return ImageFeatures.from_bytes(data).colour
        fields, parts = _stored_parts(data)
        ch, cw = fields[7], fields[8]
        return np.frombuffer(parts[5], np.uint8).reshape(ch, cw, 2) if ch else None

    @staticmethod
    def thumbnail_from_bytes(data: bytes) -> np.ndarray:
        """The grey thumbnail (:attr:`thumbnail`) of serialised features alone, checked as :meth:`from_bytes` checks
        them, nothing else parsed: what :func:`is_page` reads."""
        if data[:2] == b"PK":
            return ImageFeatures.from_bytes(data).thumbnail
        fields, parts = _stored_parts(data)
        return np.frombuffer(parts[4], np.uint8).reshape(fields[5], fields[6])

    @classmethod
    def _from_npz(cls, data: bytes) -> ImageFeatures:
        try:
            with load_stored_npz(data) as z:  # (an edited row cannot unpack to gigabytes)
                if int(z["version"]) != FEATURES_VERSION:
                    raise ValueError(f"features version {int(z['version'])}, expected {FEATURES_VERSION}")
                return cls((int(z["size"][0]), int(z["size"][1])), z["points"].astype(np.float32),
                           z["descriptors"], z["mirror_points"].astype(np.float32), z["mirror_descriptors"],
                           z["thumbnail"], z["colour"] if "colour" in z.files else None)
        except ValueError:
            raise
        except Exception as exc:  # zipfile.BadZipFile, OSError, KeyError, EOFError ...: damaged bytes
            raise ValueError(f"not serialised image features ({type(exc).__name__}: {exc})") from exc


#: :meth:`ImageFeatures.to_bytes`'s header: magic, features version, frame width and height, keypoints of the
#: image and of its mirror, descriptor bytes, thumbnail height and width, colour thumbnail height and width, the
#: spectrum's picture side and bins, the picture's long side in the file's pixels
_HEADER = struct.Struct("<4s12If")
_MAGIC = b"ITF\x00"


def _stored_parts(data: bytes) -> tuple[tuple, list[memoryview]]:
    """The header's fields (frame width and height, keypoints, descriptor bytes, thumbnail height and width, colour
    thumbnail height and width, spectrum side and bins, native side) and the arrays' bytes in place (points,
    descriptors, mirror points, mirror descriptors, thumbnail, colour, spectrum) of :meth:`ImageFeatures.to_bytes`'s
    raw format, checked: ``ValueError`` for bytes of another version, or not such features at all."""
    if len(data) < 8 or data[:4] != _MAGIC:
        raise ValueError("not serialised image features")
    version = _stored_version(data)
    if version != FEATURES_VERSION:  # before the colour thumbnail (2), the header was shorter: not read on
        raise ValueError(f"features version {version}, expected {FEATURES_VERSION}")
    if len(data) < _HEADER.size:
        raise ValueError("not serialised image features")
    _, version, width, height, n, m, d, th, tw, ch, cw, side, bins, native = _HEADER.unpack_from(data)
    # what extract() can make, no more: a well-formed but odd header (descriptors of another width, an empty
    # thumbnail, a zero frame) made OpenCV or numpy raise in the middle of a run's verification
    if d != 32 or not (0 < width <= 4 * FEATURE_SIDE and 0 < height <= 4 * FEATURE_SIDE) \
            or not (0 < th <= 4 * THUMB_SIDE and 0 < tw <= 4 * THUMB_SIDE) or max(n, m) > 4 * MAX_FEATURES \
            or not ((ch, cw) == (0, 0) or (0 < ch <= 4 * COLOUR_SIDE and 0 < cw <= 4 * COLOUR_SIDE)) \
            or not ((side, bins) == (0, 0) or (0 < side <= 4 * SPECTRUM_SIDE and 0 < bins <= 4 * SPECTRUM_BINS)) \
            or not (np.isfinite(native) and 0 <= native < 2 ** 24):
        raise ValueError(f"not image features made here (frame {width}x{height}, {n}+{m} keypoints of {d} bytes, "
                         f"thumbnail {tw}x{th}, colour {cw}x{ch}, spectrum {bins} at {side}, side {native})")
    sizes = [4 * n, d * n, 4 * m, d * m, th * tw, 2 * ch * cw, 2 * bins]
    if _HEADER.size + sum(sizes) != len(data):
        raise ValueError("not serialised image features (wrong length)")
    parts, at, view = [], _HEADER.size, memoryview(data)  # (views: the arrays are read in place, not copied)
    for size in sizes:
        parts.append(view[at:at + size])
        at += size
    return (width, height, n, m, d, th, tw, ch, cw, side, bins, native), parts


def _stored_version(head: bytes) -> int:
    """The features version of a raw header (the word after the magic, in every version's header)."""
    return int.from_bytes(head[4:8], "little")


def verify_header_bytes() -> int:
    """Bytes of the fixed header of :meth:`ImageFeatures.to_bytes`."""
    return _HEADER.size


def features_keypoints(head: bytes) -> int | None:
    """The keypoints of serialised features whose header is ``head`` (None: not such a header, as
    :func:`features_length`)."""
    fields = _header_fields(head)
    return None if fields is None else int(fields[4])


def features_length(head: bytes) -> int | None:
    """The whole length of serialised features (:meth:`ImageFeatures.to_bytes`) whose header is ``head``, or None
    when ``head`` is not such a header (too short, another format or features version: nothing can be said from
    it; reading them says why they cannot be used)."""
    fields = _header_fields(head)
    if fields is None:
        return None
    _, _, _, _, n, m, d, th, tw, ch, cw, _, bins, _ = fields
    return _HEADER.size + 4 * n + d * n + 4 * m + d * m + th * tw + 2 * ch * cw + 2 * bins


def _header_fields(head: bytes) -> tuple | None:
    """The fields of a features header ``head`` of this :data:`FEATURES_VERSION` (None: too short, another format or
    features version)."""
    if len(head) < _HEADER.size or head[:4] != _MAGIC or _stored_version(head) != FEATURES_VERSION:
        return None
    return _HEADER.unpack_from(head)


@dataclass
class Verification:
    """The geometric check of one pair of images.

    Attributes
    ----------
    inliers : int
        Feature matches consistent with the fitted transform.
    inlier_ratio : float
        ``inliers`` over the matches that passed the ratio test.
    coverage_a, coverage_b : float
        Share of each image's area that lies inside the other once aligned (a crop covers all of
        itself and part of its original).
    agreement, strict_agreement : float
        Share of the textured overlap cells whose pixels agree after alignment (NCC >= 0.5, >= 0.8).
    median_ncc : float
        Median NCC of the textured overlap cells.
    lighting_residual : float
        How far the cells' mean brightness is from one global brightness/contrast change (robust
        linear fit, 75th percentile of the residuals over the spread of the image): near 0 for a copy,
        however edited; larger for a second photo of a flat object, lit differently.
    mirrored : bool
        The match needed a mirror image.
    transform : numpy.ndarray or None
        2 x 3 affine map from ``a``'s feature frame to ``b``'s.
    confidence : float
        Calibrated probability-like score in [0, 1] that one image is a copy of the other.
    """

    inliers: int = 0
    inlier_ratio: float = 0.0
    coverage_a: float = 0.0
    coverage_b: float = 0.0
    agreement: float = 0.0
    strict_agreement: float = 0.0
    median_ncc: float = 0.0
    lighting_residual: float = 1.0
    mirrored: bool = False
    transform: np.ndarray | None = None
    confidence: float = 0.0
    #: the inlier matches as ``((xa, ya), (xb, yb))``, each point in its own image's feature frame (mirrored
    #: keypoints already mapped back), kept when asked for (``keep_matches``)
    matches: list[tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=list, repr=False)
    #: whether the check was made on the picture cut out of a canvas (``imagetwins.canvas``) rather than on the
    #: whole image, for ``a`` and for ``b`` (set by ``imagetwins.copies.verify_records``)
    cut_from_canvas: tuple[bool, bool] = (False, False)
    #: both images are camera originals of different moments (``imagetwins.copies.different_captures``):
    #: a re-shot, never a copy, whatever the pictures show
    different_captures: bool = False
    #: where the aligned pictures disagree most: ``(image, region, share)``: 0 for ``a``, 1 for ``b`` (the image
    #: the comparison was made on), the region ("top left" ... "bottom right", "centre"), and the share of the
    #: compared cells that disagree (NCC < 0.5); None when they all agree or nothing was compared
    disagreement: tuple[int, str, float] | None = None
    #: share of the compared cells left out as overlays (stickers, meme letters: see :data:`OVERLAY_MAX`); when
    #: above 0, ``strict_agreement`` and ``lighting_residual`` are measured on the rest of the picture
    overlay: float = 0.0
    #: share of ``a``'s and of ``b``'s frame inside the other's once aligned, exact from the transform (the
    #: coverage above is measured on the thumbnails' pixels); 0 when nothing was aligned
    frame_cover_a: float = 0.0
    frame_cover_b: float = 0.0
    #: rotation between the two pictures, in degrees (0-180; a mirrored match: 180, never a camera's framing)
    rotation: float = 0.0
    #: where each image's frame reaches beyond the other's once aligned ("left", "top right" ...; None where it
    #: lies inside): for ``a``, then for ``b``
    beyond: tuple[str | None, str | None] = (None, None)
    #: whether what each image shows beyond the other's frame is one flat colour that the picture inside does not
    #: continue (:data:`PADDING_SPREAD`): the surround of a photographed screen or print, a padding, not more of the
    #: scene; for ``a``, then for ``b``. The frame rules count such a frame as covered
    padded: tuple[bool, bool] = (False, False)
    #: the detail rule (:data:`DETAIL_CAP`): the picture lying inside the other's frame (0: ``a``, 1: ``b``; None where
    #: neither does, or the rule could not be measured), how many of its file's pixels span one of the other file's
    #: (``inner_scale``), and how its spectrum goes on past the frequency the other file resolves (``inner_detail``,
    #: log10; -inf where not measured: it is, only where the calibrated confidence is over :data:`NOT_ONE_CAPTURE`)
    inner: int | None = None
    inner_scale: float = 0.0
    inner_detail: float = float("-inf")
    #: what :func:`look_at_files` measured of the pair in the files' own pixels (:data:`UNEXPLAINED_CAP`): -inf where
    #: not looked (only pairs the detail rule leaves undecided are, :attr:`wants_files`)
    unexplained: float = float("-inf")
    #: the share of the compared cells whose colour was turned (:func:`_turned_share`); :attr:`recoloured` reads it
    turned: float = 0.0
    #: how far the aligned cells' colours moved (:func:`_colour_change`; :data:`COLOUR_CHANGE` or more: as a colour
    #: edit moves them), where measured (the colour fit's gate, or the overlays' colour model); NaN where not.
    #: :attr:`wants_files` reads it: the files' look compares grey levels, which a colour edit bends pixel by pixel
    colour_moved: float = float("nan")
    #: whether the aligned pictures were compared cell by cell (:func:`_dense`): not where no transform was fitted, the
    #: full match found fewer than :data:`FULL_INLIERS` inliers, or the frames share a part at most
    #: (:data:`EARLY_PART_COVER`); the agreements and the lighting residual are then not measured
    compared: bool = False
    #: the small-picture rule (:data:`SMALL_PICTURE`): the correlation of the two pictures' grey levels inside their
    #: outlines, aligned; inf where not measured (the pictures are not small on a flat canvas, or their inside too
    #: small or flat to tell)
    picture_ncc: float = float("inf")
    #: whether both images are pages (:data:`PAGE_CANVAS`), measured where they were compared cell by cell
    pages: bool = False
    #: the page rule (:data:`PAGE_CANVAS`): the share of the compared thumbnail's pixels where one page shows content
    #: and the other is blank (:func:`_added_content`); 0 where not measured
    added: float = 0.0

    @property
    def recoloured(self) -> bool:
        """Whether one picture is the other with its colours turned (:data:`RECOLOURED_SHARE`): a colour variant
        of the same capture (a product shown in another colour). Read by the mark
        :data:`imagetwins.scores.Mark.RECOLOURED`; the confidence does not read it. A grey or sepia copy is not:
        its colours were taken away or toned into one, not turned."""
        return self.turned >= RECOLOURED_SHARE

    @property
    def marks(self) -> int:
        """The pair's marks (:class:`~imagetwins.scores.Mark` bits): RECOLOURED where :attr:`recoloured`."""
        return Mark.RECOLOURED.bit if self.recoloured else 0

    @property
    def kept(self) -> float:
        """The confidence, the marks and the kept verdict as a pair-score store keeps them
        (:func:`imagetwins.scores.stored_score`)."""
        return stored_score(self.confidence, self.marks | self.kept_verdict.bits)

    @property
    def kept_verdict(self) -> Verdict:
        """The verdict kept with the confidence, whatever the threshold: :data:`Verdict.RESHOT` or
        :data:`Verdict.UNRELATED` (as :meth:`verdict` says it below the threshold) where the two are never one capture:
        camera originals of different moments, a not-one-capture rule that capped a confidence the calibrated model put
        over :data:`NOT_ONE_CAPTURE` (:attr:`not_one_capture`, a :class:`NotOneCapture`), small pictures that
        differ inside their outlines (:attr:`pictures_differ`); else :data:`Verdict.COPY`, and the confidence decides at
        a threshold. Read alike by a search's check (``confidence_only``: the frames are measured wherever the model is
        over :data:`NOT_ONE_CAPTURE`) and by ``explain``'s, and the same either way round."""
        if self.different_captures:
            return Verdict.RESHOT
        if self.pictures_differ:
            return Verdict.UNRELATED
        if self.not_one_capture is not None and self.calibrated_confidence > NOT_ONE_CAPTURE:
            return self._not_a_copy()
        return Verdict.COPY

    @property
    def calibrated_confidence(self) -> float:
        """The calibrated model's confidence from the measurements so far (:func:`confidence_from` of the first
        :data:`CALIBRATED`), before any rule caps it: whether a not-one-capture rule can matter (it caps at
        :data:`NOT_ONE_CAPTURE`, never lower) and whether it capped a copy's confidence."""
        return float(confidence_from(self.measurements()[:CALIBRATED]))

    @property
    def not_one_capture(self) -> NotOneCapture | None:
        """The rule (:class:`NotOneCapture`: part, framing, added, detail, light, read in that order) that says the two
        pictures are not one capture, whatever the calibrated model makes of their pixels, or None."""
        return _not_one_capture(self.frame_cover, self.rotation, self.transform is None, self.lighting_residual,
                                self.inner_detail, self.added, self.unexplained)

    @property
    def wants_files(self) -> bool:
        """Whether the detail rule is left undecided by the stored features (:data:`DETAIL_LOOK`): the pair is
        scored over :data:`NOT_ONE_CAPTURE` with its inner picture's detail just under :data:`DETAIL_CAP`, and has
        not been looked at in its files (:func:`look_at_files`) yet. Only a check of the whole images is, and not
        one whose colours moved as a colour edit moves them (:attr:`colour_moved`): the look compares grey levels,
        and a hue turn, sepia or a tint makes grey detail, pixel by pixel, that no filter of the other file's grey
        makes (held-out enlarged crops given a colour shift, then JPEG 15-30, measured up to 0.77 there and were
        capped: ``benchmarks/probe_look_margin.py``); such a pair keeps the features' answer."""
        return (self.inner is not None and DETAIL_LOOK <= self.inner_detail < DETAIL_CAP
                and not np.isfinite(self.unexplained) and self.confidence > NOT_ONE_CAPTURE
                and not self.colour_moved >= COLOUR_CHANGE
                and self.transform is not None and not self.mirrored and self.cut_from_canvas == (False, False))

    @property
    def frame_cover(self) -> float:
        """The larger of the two frame covers the frame rules read: a frame whose part beyond the other's is padding
        (:attr:`padded`) counts as covered."""
        covers = [1.0 if pad and cover > 0 else cover
                  for cover, pad in zip((self.frame_cover_a, self.frame_cover_b), self.padded)]
        return max(covers)

    def swapped(self) -> Verification:
        """The same check seen from the other image: ``b`` against ``a``."""
        transform = None if self.transform is None else _require_cv2().invertAffineTransform(self.transform)
        return replace(self, coverage_a=self.coverage_b, coverage_b=self.coverage_a, transform=transform,
                       frame_cover_a=self.frame_cover_b, frame_cover_b=self.frame_cover_a, beyond=self.beyond[::-1],
                       padded=self.padded[::-1], inner=None if self.inner is None else 1 - self.inner,
                       matches=[(q, p) for p, q in self.matches], cut_from_canvas=self.cut_from_canvas[::-1],
                       disagreement=None if self.disagreement is None else (1 - self.disagreement[0],
                                                                            *self.disagreement[1:]))

    @property
    def same_scene(self) -> bool:
        """Whether the two pictures show one scene: another capture by the camera's stamp, or enough feature
        matches in one geometric arrangement (:data:`SCENE_INLIERS`) over a part of each image
        (:data:`SCENE_COVERAGE`), unless they are small pictures that differ inside their outlines
        (:attr:`pictures_differ`: the matches are the outlines'). A copy is of one scene too; :meth:`verdict` tells
        the two apart."""
        return self.different_captures or (self.inliers >= SCENE_INLIERS and not self.pictures_differ
                                           and min(self.coverage_a, self.coverage_b) >= SCENE_COVERAGE)

    @property
    def pictures_differ(self) -> bool:
        """Whether the two are small pictures on a flat canvas that differ inside their outlines (:data:`SMALL_PICTURE`,
        :attr:`picture_ncc`): different pictures of one shape, whatever their cells say."""
        return 1.0 - self.picture_ncc > 1.0 - PICTURE_AGREES  # (as confidence_from reads it)

    @property
    def pages_differ(self) -> bool:
        """Whether the two are pages that hold different content, whatever a part of them says: small pictures that
        differ inside their outlines (:attr:`pictures_differ`), or one holding content the other lacks
        (:data:`NotOneCapture.ADDED`, :data:`ADDED_CAP`: where the other is blank, or beyond a page the other shows
        larger). A picture cut from either page (a search's second look, ``imagetwins.copies.verify_records``) leaves
        that content out, and a hash-sure pair of pages is no copy then."""
        return self.pictures_differ or (self.pages and self.not_one_capture is NotOneCapture.ADDED)

    def verdict(self, threshold: float = DEFAULT_CONFIDENCE) -> Verdict:
        """The three answers (:class:`~imagetwins.scores.Verdict`) at ``threshold`` (the copies threshold).

        :data:`Verdict.COPY` when the confidence reaches ``threshold`` and nothing rules a copy out
        (:attr:`kept_verdict`: two camera originals of different moments, a pair the not-one-capture rules capped,
        are never copies, whatever the threshold); else :data:`Verdict.RESHOT` when the pictures show one scene
        (:attr:`same_scene`); else :data:`Verdict.UNRELATED`. The same either way round:
        ``v.verdict() == v.swapped().verdict()``.
        """
        kept = self.kept_verdict
        if kept is not Verdict.COPY:
            return kept
        if self.confidence >= threshold:
            return Verdict.COPY
        return self._not_a_copy()

    def _not_a_copy(self) -> Verdict:
        """Re-shot or unrelated: what the pair is when it is no copy (camera originals of two moments are re-shots
        before any rule: :attr:`kept_verdict`)."""
        rule = self.not_one_capture
        if rule is not None and rule.no_copy is not None and not self.different_captures:
            return rule.no_copy
        return Verdict.RESHOT if self.same_scene else Verdict.UNRELATED

    def measurements(self) -> np.ndarray:
        """The inputs of :func:`confidence_from`: the calibrated model's in :data:`CALIBRATION` order (without the
        intercept; :data:`CALIBRATED` of them), then the frame rules' (the larger frame cover, the rotation), then the
        small-picture rule's (1 - :attr:`picture_ncc`: -inf where not measured, so that 0 is a pair the rule passes,
        as rows measured before it read), then the detail rule's (:attr:`inner_detail`), the pages' rule's
        (:attr:`added`) and the files' look's (:attr:`unexplained`)."""
        return np.array([np.log1p(self.inliers), self.inlier_ratio, self.agreement, self.strict_agreement,
                         self.median_ncc, min(self.coverage_a, self.coverage_b), self.lighting_residual,
                         self.frame_cover, self.rotation, 1.0 - self.picture_ncc, self.inner_detail, self.added,
                         self.unexplained],
                        dtype=np.float64)

    def to_dict(self) -> dict:
        return {"confidence": round(self.confidence, 4), "inliers": self.inliers,
                "inlier_ratio": round(self.inlier_ratio, 3), "coverage_a": round(self.coverage_a, 3),
                "coverage_b": round(self.coverage_b, 3), "agreement": round(self.agreement, 3),
                "strict_agreement": round(self.strict_agreement, 3),
                "lighting_residual": round(self.lighting_residual, 3), "mirrored": self.mirrored,
                "overlay": round(self.overlay, 3), "frame_cover_a": round(self.frame_cover_a, 3),
                "frame_cover_b": round(self.frame_cover_b, 3), "rotation": round(self.rotation, 1),
                "not_one_capture": self.not_one_capture, "beyond": list(self.beyond), "padded": list(self.padded),
                "cut_from_canvas": list(self.cut_from_canvas),
                "inner": None if self.inner is None else "ab"[self.inner], "inner_scale": round(self.inner_scale, 3),
                "inner_detail": None if not np.isfinite(self.inner_detail) else round(self.inner_detail, 3),
                "unexplained_detail": None if not np.isfinite(self.unexplained) else round(self.unexplained, 3),
                "picture_ncc": None if not np.isfinite(self.picture_ncc) else round(self.picture_ncc, 3),
                "pictures_differ": self.pictures_differ, "added": round(self.added, 4),
                "pages_differ": self.pages_differ,
                "different_captures": self.different_captures,
                "turned": round(self.turned, 3), "recoloured": self.recoloured,
                "verdict": self.verdict(),
                "disagreement": None if self.disagreement is None else {
                    "image": "ab"[self.disagreement[0]], "region": self.disagreement[1],
                    "share": round(self.disagreement[2], 3)}}


def confidence_from(measurements: np.ndarray, calibration: Sequence[float] | None = None) -> np.ndarray:
    """The logistic model: ``measurements`` (n, 7) or (7,) -> confidence in [0, 1] (default :data:`CALIBRATION`);
    given the frame rules' inputs too ((n, 9) or (9,), :meth:`Verification.measurements`), a pair that is not one
    capture (:data:`FRAMING_COVER`, :data:`PART_COVER`, :data:`LIGHTING_CAP`; with the detail rule's input too,
    (n, 11), :data:`DETAIL_CAP`; the pages' (n, 12), :data:`ADDED_CAP`; the files' look's (n, 13),
    :data:`UNEXPLAINED_CAP`) is capped at :data:`NOT_ONE_CAPTURE`; given the small-picture rule's input ((n, 10)
    or more), small pictures that differ inside their outlines (:data:`PICTURE_AGREES`) are capped at the model's
    answer where no cell agrees (its intercept's)."""
    w = np.asarray(CALIBRATION if calibration is None else calibration, dtype=np.float64)
    m = np.asarray(measurements, dtype=np.float64)
    z = w[0] + m[..., :len(w) - 1] @ w[1:]
    conf = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
    if m.shape[-1] > len(w) - 1:
        cover, rotation = m[..., len(w) - 1], m[..., len(w)]
        capped = (cover < PART_COVER) | ((cover < FRAMING_COVER) & (off_camera_axes(rotation) < FRAMING_ANGLE))
        capped |= m[..., CALIBRATED - 1] >= LIGHTING_CAP  # (the lighting residual: see Verification.measurements)
        if m.shape[-1] > len(w) + 2:
            capped |= m[..., len(w) + 2] >= DETAIL_CAP  # (-inf where not measured: never)
        if m.shape[-1] > len(w) + 3:
            capped |= m[..., len(w) + 3] >= ADDED_CAP  # (0 where not measured: never)
        if m.shape[-1] > len(w) + 4:
            capped |= m[..., len(w) + 4] >= UNEXPLAINED_CAP  # (the files' look: -inf where not looked)
        capped &= cover > 0  # nothing aligned: the model's answer (0) stands
        conf = np.where(capped, np.minimum(conf, NOT_ONE_CAPTURE), conf)
    if m.shape[-1] > len(w) + 1:
        conf = _small_pictures_capped(conf, m[..., len(w) + 1], w)
    return conf


def _small_pictures_capped(conf, picture_apart, calibration: np.ndarray):
    """``conf`` capped where small pictures differ inside their outlines (``picture_apart``, 1 - their agreement,
    over 1 - :data:`PICTURE_AGREES`; -inf where not measured: never) at the calibrated model's answer where no cell
    agrees."""
    nothing_agrees = 1.0 / (1.0 + np.exp(-float(calibration[0])))
    return np.where(np.asarray(picture_apart) > 1.0 - PICTURE_AGREES, np.minimum(conf, nothing_agrees), conf)


def _area(poly: np.ndarray) -> float:
    """Area of a simple polygon ((n, 2), any orientation): the shoelace formula."""
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    # (np.roll(y, -1), without its general code: a third of the call)
    return abs(float(np.dot(x, np.concatenate((y[1:], y[:1]))) - np.dot(y, np.concatenate((x[1:], x[:1]))))) / 2


def _clip_to_rect(poly: np.ndarray, width: float, height: float) -> np.ndarray:
    """The part of a convex polygon inside ``[0, width] x [0, height]`` (Sutherland-Hodgman, one side at a time;
    exact where two frames share an edge, which OpenCV's intersectConvexConvex is not). On Python floats: the very
    IEEE operations NumPy's scalars made, a fifth of their time (#25: ~0.2 ms a call, four in a check that reaches
    :func:`_frames`: three there, the frames' cover and what lies beyond each, one before it)."""
    points = np.asarray(poly, np.float64).reshape(-1, 2).tolist()
    sides = ((0, 0.0, False), (0, float(width), True), (1, 0.0, False), (1, float(height), True))
    for axis, limit, keep_below in sides:
        if not points:
            break
        bound = limit + 1e-9 if keep_below else limit - 1e-9
        inside = [p[axis] <= bound for p in points] if keep_below else [p[axis] >= bound for p in points]
        out = []
        n = len(points)
        for k in range(n):
            p, q = points[k], points[(k + 1) % n]
            pin, qin = inside[k], inside[(k + 1) % n]
            if pin:
                out.append(p)
            if pin != qin:
                t = (limit - p[axis]) / (q[axis] - p[axis])
                out.append([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])])
        points = out
    return np.array(points, np.float64).reshape(-1, 2)


def _beyond(shared: np.ndarray, width: float, height: float) -> str | None:
    """The sides of a ``width`` x ``height`` frame that reach beyond ``shared`` (the part of it the other image
    covers) by more than 2 % of the frame: "left", "top and right" ..., "all round"; None when none does."""
    if len(shared) < 3:
        return "all round"
    gaps = {"top": shared[:, 1].min() / height, "bottom": 1 - shared[:, 1].max() / height,
            "left": shared[:, 0].min() / width, "right": 1 - shared[:, 0].max() / width}
    sides = [side for side, gap in gaps.items() if gap > 0.02]
    if not sides:
        return None
    return "all round" if len(sides) == 4 else " and ".join(sides)


def off_camera_axes(rotation: float | np.ndarray) -> float | np.ndarray:
    """Degrees from upright or from a quarter turn either way, whichever is nearer, of a rotation in 0-180 (a float or
    an array): a camera held on its side for one shot turns the scene by about 90 degrees. A mirrored match (180)
    stays 90 away: never a camera's framing."""
    return np.minimum(rotation, np.abs(np.subtract(rotation, 90.0)))


class NotOneCapture(str, Enum):
    """A rule that says two pictures are not one capture, whatever the calibrated model makes of their pixels
    (:attr:`Verification.not_one_capture`): each caps the confidence at :data:`NOT_ONE_CAPTURE` and keeps the pair
    as no copy (:attr:`Verification.kept_verdict`). A ``str``: its name in outputs (``explain --json``'s
    ``not_one_capture``); :meth:`why` says it for people (``explain``, :func:`imagetwins.explain.why_not_copies`)."""

    #: they share only a part (:data:`PART_COVER`): two collages holding one picture
    PART = "part"
    #: two framings of one scene: each shows part of it the other lacks, as a camera moved between two shots
    #: (:data:`FRAMING_COVER`, :data:`FRAMING_ANGLE`)
    FRAMING = "framing"
    #: two pages, one holding content where the other is blank, or beyond a page the other shows larger: another
    #: version of the page (:data:`ADDED_CAP`)
    ADDED = "added"
    #: the picture inside the other holds detail finer than the other file: not made from it, a zoomed second shot
    #: (:data:`DETAIL_CAP`; in the files' own pixels, :data:`UNEXPLAINED_CAP`)
    DETAIL = "detail"
    #: the cells' brightness follows no one global change: another light (:data:`LIGHTING_CAP`)
    LIGHT = "light"

    def __str__(self) -> str:
        return self.value

    @property
    def no_copy(self) -> Verdict | None:
        """What a pair this rule rules out as a copy is: :data:`Verdict.UNRELATED` (:data:`PART`: pictures holding
        one picture in common are no re-shots), :data:`Verdict.RESHOT` (:data:`DETAIL`, :data:`ADDED`: measured only
        where the pixels agree as a copy's, one scene, but neither file can be made from the other), or None (whether
        the pictures show one scene decides: :attr:`Verification.same_scene`)."""
        return _NO_COPY.get(self)

    def why(self, v: Verification) -> str:
        """Why this rule says the pair checked in ``v`` is no copy, in one sentence for people."""
        which = (f"once aligned, {v.frame_cover_a:.0%} of the first image's frame lies inside the second's and "
                 f"{v.frame_cover_b:.0%} of the second's inside the first's")
        # (the rules keep a pair apart at every threshold only where they capped it: under the cap already, a
        # threshold below it can still call the pair a copy, Verification.kept_verdict)
        capped = (f"confidence capped at {NOT_ONE_CAPTURE:g}" if v.calibrated_confidence > NOT_ONE_CAPTURE else
                  f"confidence under the cap of {NOT_ONE_CAPTURE:g} already")
        if self is NotOneCapture.FRAMING:
            parts = [f"the {name} at its {side}" for name, side in zip(("first", "second"), v.beyond) if side]
            where = f" ({' and '.join(parts)})" if parts else ""
            turn = " (the camera on its side for one shot)" if v.rotation >= 45 else ""
            return (f"two framings of one scene: {which}, at a rotation of {v.rotation:.1f} degrees{turn}, so each "
                    f"shows part of the scene the other lacks{where}, as a camera moved between two shots; a copy's "
                    f"picture is part of the other's or holds all of it ({capped})")
        if self is NotOneCapture.PART:
            return (f"they share only a part: {which} (a copy covers at least {PART_COVER:.0%} of one of them; two "
                    f"collages holding one picture do not; {capped})")
        if self is NotOneCapture.DETAIL:
            inner, outer = ("first", "second") if v.inner == 0 else ("second", "first")
            if v.inner_detail >= DETAIL_CAP:
                finer = (f"its spectrum goes on past the {outer}'s resolution: {v.inner_detail:.2f}, where a crop "
                         f"blown up falls under {DETAIL_CAP:g}")
            else:  # (the spectrum left it undecided: the files were looked at)
                finer = (f"in the files' own pixels, {v.unexplained:.2f} of its fine detail is made by no filter of "
                         f"the {outer} file and JPEG save, where a crop blown up leaves under {UNEXPLAINED_CAP:g}; "
                         f"its spectrum past the {outer}'s resolution, {v.inner_detail:.2f}, was too near a blown-up "
                         f"crop's to tell")
            return (f"the inner picture has detail the outer one lacks: not made from it. The {inner} image lies "
                    f"inside the {outer}'s frame ({which}) and spans {v.inner_scale:.2f} of its file's pixels for "
                    f"each of the {outer}'s, with detail finer than the {outer} file holds ({finer}); so it is not "
                    f"cut from the {outer}, and the {outer} shows more of the scene than the {inner}: neither file "
                    f"can be made from the other, a zoomed second shot ({capped})")
        if self is NotOneCapture.ADDED:
            return (f"two pages, one holding content the other lacks (a signature or a second product where the other "
                    f"is blank, or beyond a page the other shows larger): {v.added:.1%} of a page shows it (a copy: "
                    f"none; {ADDED_CAP:.1%} or more is another page), so they are two versions of a page, not copies "
                    f"({capped})")
        return (f"another light: once aligned, the brightness of the overlap follows no one global brightness or "
                f"colour change (residual {v.lighting_residual:.2f}; copies leave under {LIGHTING_CAP:g}): a second "
                f"photo of the same thing under its own light, not a copy of one capture ({capped})")


_NO_COPY = {NotOneCapture.PART: Verdict.UNRELATED, NotOneCapture.DETAIL: Verdict.RESHOT,
            NotOneCapture.ADDED: Verdict.RESHOT}


def _not_one_capture(cover: float, rotation: float, unaligned: bool = False, lighting: float = 0.0,
                     detail: float = float("-inf"), added: float = 0.0,
                     unexplained: float = float("-inf")) -> NotOneCapture | None:
    if unaligned or cover <= 0:
        return None
    if cover < PART_COVER:
        return NotOneCapture.PART
    if cover < FRAMING_COVER and off_camera_axes(rotation) < FRAMING_ANGLE:
        return NotOneCapture.FRAMING
    if added >= ADDED_CAP:
        return NotOneCapture.ADDED
    if detail >= DETAIL_CAP or unexplained >= UNEXPLAINED_CAP:
        return NotOneCapture.DETAIL
    if lighting >= LIGHTING_CAP:
        return NotOneCapture.LIGHT
    return None


def _homogeneous(transform: np.ndarray) -> np.ndarray:
    """A fitted transform as a 3 x 3 matrix: an affine one (2 x 3) with its last row added, a homography as it is."""
    if transform.shape == (2, 3):
        return np.vstack([transform, [0.0, 0.0, 1.0]])
    return np.asarray(transform, np.float64)


def _frame_covers(a: ImageFeatures, b: ImageFeatures, h: np.ndarray):
    """The frames under ``h`` (3 x 3, a's feature frame -> b's): (a's corners in b's frame, b's corners in a's frame
    with their homogeneous coordinate (None where ``h`` is singular), the share of a's frame inside b's, the share of
    b's inside a's), or None where ``h`` sends a corner to infinity or a's frame to nothing."""
    (wa, ha), (wb, hb) = a.size, b.size
    corners_a = np.array([[0, 0, 1], [wa, 0, 1], [wa, ha, 1], [0, ha, 1]], np.float64)
    mapped = corners_a @ h.T
    if not np.all(np.isfinite(mapped)) or np.any(mapped[:, 2] <= 1e-9):  # a fit that sends a corner to infinity
        return None
    mapped = mapped[:, :2] / mapped[:, 2:]
    area_a = _area(mapped)
    shared = _area(_clip_to_rect(mapped, float(wb), float(hb)))
    if area_a <= 0 or not np.isfinite(shared):
        return None
    try:
        back = np.array([[0, 0, 1], [wb, 0, 1], [wb, hb, 1], [0, hb, 1]], np.float64) @ np.linalg.inv(h).T
    except np.linalg.LinAlgError:
        back = None
    return mapped, back, min(1.0, shared / area_a), min(1.0, shared / float(wb * hb))


def _one_frame_holds_the_other(a: ImageFeatures, b: ImageFeatures, h: np.ndarray) -> bool:
    """Whether :attr:`Verification.frame_cover` under ``h`` (3 x 3) reaches :data:`FRAMING_COVER`, as :func:`_frames`
    would measure it, with the padding (the costly part) looked for only where the frames alone do not say."""
    covers = _frame_covers(a, b, h)
    return covers is not None and _holds(a, b, covers, FRAMING_COVER)


def _holds(a: ImageFeatures, b: ImageFeatures, covers: tuple, least: float) -> bool:
    """Whether one frame of :func:`_frame_covers`' ``covers`` lies ``least`` or more inside the other, or reaches
    beyond it with padding only (:func:`_padding_beyond`, the costly part: looked for only where the frames alone do
    not say)."""
    mapped, back, cover_a, cover_b = covers
    if max(cover_a, cover_b) >= least:
        return True
    return (back is not None and cover_a > 0 and _padding_beyond(a, back[:, :2] / back[:, 2:])) \
        or (cover_b > 0 and _padding_beyond(b, mapped))


def _frames(a: ImageFeatures, b: ImageFeatures, transform: np.ndarray, mirrored: bool, v: Verification
            ) -> _Frames | None:
    """``frame_cover_a/b`` and ``rotation`` of ``v`` from ``transform`` (2 x 3 affine or 3 x 3 homography, a's
    feature frame -> b's): the frames as polygons, intersected exactly. Returns what :func:`_inner_detail` reads of
    them (None where the frames could not be measured)."""
    h = _homogeneous(transform)
    (wa, ha), (wb, hb) = a.size, b.size
    covers = _frame_covers(a, b, h)
    if covers is None:
        return None
    mapped, back, v.frame_cover_a, v.frame_cover_b = covers
    frames = _Frames(mapped, back)
    beyond_a = None
    if back is not None and np.all(back[:, 2] > 1e-9):
        beyond_a = _beyond(_clip_to_rect(back[:, :2] / back[:, 2:], float(wa), float(ha)), float(wa), float(ha))
    v.beyond = (beyond_a, _beyond(_clip_to_rect(mapped, float(wb), float(hb)), float(wb), float(hb)))
    v.padded = (back is not None and v.frame_cover_a < FRAMING_COVER
                and _padding_beyond(a, frames.quad(1), frames.outside(0, a)),
                v.frame_cover_b < FRAMING_COVER and _padding_beyond(b, mapped, frames.outside(1, b)))
    lin = h[:2, :2] / h[2, 2]
    if mirrored:
        v.rotation = 180.0
    else:
        v.rotation = abs(float(np.degrees(np.arctan2(lin[1, 0] - lin[0, 1], lin[0, 0] + lin[1, 1]))))
    return frames


class _Frames:
    """The frames :func:`_frames` measured, for :func:`_inner_detail` too: ``a``'s corners in ``b``'s feature frame
    (``mapped``), ``b``'s in ``a``'s with their homogeneous coordinate (``back``, None where the map is singular), and
    each image's pixels beyond the other's frame (:func:`_outside`), made once for the padding and the detail rule."""

    def __init__(self, mapped: np.ndarray, back: np.ndarray | None) -> None:
        self.mapped, self.back = mapped, back
        self._outside: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def quad(self, k: int) -> np.ndarray:
        """Image ``k``'s frame (0: ``a``, 1: ``b``) in the other's feature frame, as the frame rules take it."""
        return self.mapped if k == 0 else self.back[:, :2] / self.back[:, 2:]

    def corners(self, k: int) -> np.ndarray | None:
        """:meth:`quad`, or None where its corners are no finite points (``b``'s through a map that sends one to
        infinity; ``a``'s are finite, or :func:`_frame_covers` measured nothing)."""
        if k == 1 and (self.back is None or not np.all(np.isfinite(self.back)) or np.any(self.back[:, 2] <= 1e-9)):
            return None
        return self.quad(k)

    def outside(self, k: int, x: ImageFeatures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_outside` of ``x`` (image ``k``) and the other image's frame."""
        region = self._outside.get(k)
        if region is None:
            region = self._outside[k] = _outside(x, self.quad(1 - k))
        return region


def _inner_detail(a: ImageFeatures, b: ImageFeatures, transform: np.ndarray, v: Verification,
                  frames: _Frames) -> None:
    """The detail rule's measurements (:data:`DETAIL_CAP`) of ``v``: ``inner``, ``inner_scale``, ``inner_detail``,
    from the frames (``v.frame_cover_a/b``, ``v.padded``, and ``frames``, :func:`_frames`' answer, measured first)
    and ``transform`` (a's feature frame -> b's)."""
    covers = (v.frame_cover_a, v.frame_cover_b)
    k = int(covers[1] > covers[0])  # the picture inside the other's frame, if one is
    inner, outer = (a, b) if k == 0 else (b, a)
    if covers[k] < FRAMING_COVER or covers[1 - k] >= DETAIL_OUTER_COVER or v.padded[1 - k] \
            or inner.spectrum is None or inner.native_side <= 0 or outer.native_side <= 0:
        return
    h = _homogeneous(transform)
    try:
        hab = h if k == 0 else np.linalg.inv(h)  # the inner's feature frame -> the outer's
    except np.linalg.LinAlgError:
        return
    if frames.corners(k) is None:  # (the inner's corners in the outer's frame, mapped by hab in _frame_covers)
        return
    region = frames.outside(1 - k, outer)
    flat = _flat_share(region)
    if flat is None or flat > DETAIL_SCENE_FLAT:
        return  # what the outer shows beyond the inner is a surround (a screenshot's bars, a keystone's), no scene
    scale = _file_scale(inner, outer, hab)
    if scale is None:
        return
    v.inner, v.inner_scale = k, scale
    if scale < DETAIL_MIN_SCALE:
        return
    # the outer file's Nyquist frequency, in cycles per pixel of the inner's spectrum picture
    cutoff = 0.5 * (inner.native_side / inner.spectrum_side) / scale
    bins = len(inner.spectrum)
    freq = (np.arange(bins) + 0.5) / bins * 0.5
    above = (freq >= DETAIL_ABOVE[0] * cutoff) & (freq <= min(DETAIL_ABOVE[1] * cutoff, DETAIL_TOP))
    below = (freq >= DETAIL_BELOW[0] * cutoff) & (freq <= DETAIL_BELOW[1] * cutoff)
    if not above.any() or not below.any():
        return
    weighted = 10.0 ** inner.spectrum.astype(np.float64) * freq ** 2  # (a natural picture's power falls as 1/f^2)
    detail = float(np.log10(max(weighted[above].mean(), 1e-30) / max(weighted[below].mean(), 1e-30)))
    if detail >= DETAIL_CAP and _noise_past(inner.spectrum, freq, cutoff):
        return  # what the inner picture holds past the outer's resolution is noise added to it, no finer scene
    if detail >= DETAIL_CAP and _gradient_share(region) >= DETAIL_SCENE_GRADIENT:
        # a background in a gradient (a picture set on one, as designers do) is no scene either: as a flat surround
        # (looked at only where the rule would cap: the plane's fit costs ~3 ms)
        v.inner, v.inner_scale = None, 0.0
        return
    v.inner_detail = detail


def _file_scale(inner: ImageFeatures, outer: ImageFeatures, hab: np.ndarray) -> float | None:
    """How many of the inner file's pixels span one of the outer file's over the shared part (``hab``: the inner's
    feature frame -> the outer's, 3 x 3; the files' stored sizes, not the decoded ones), at the inner's centre; None
    where the map says nothing there."""
    centre = np.array([inner.size[0] / 2, inner.size[1] / 2, 1.0])
    p = hab @ centre
    if not np.all(np.isfinite(p)) or abs(p[2]) < 1e-9:
        return None
    jacobian = (hab[:2, :2] * p[2] - np.outer(p[:2], hab[2, :2])) / p[2] ** 2
    spread = float(np.sqrt(abs(np.linalg.det(jacobian))))  # outer feature pixels per inner feature pixel
    if not np.isfinite(spread) or spread <= 0:
        return None
    return (inner.native_side / max(inner.size)) / (spread * outer.native_side / max(outer.size))


def _page_beyond(a: ImageFeatures, b: ImageFeatures, transform: np.ndarray, v: Verification, frames: _Frames) -> None:
    """The page rule beyond the frames (:data:`PAGE_CANVAS`): where one page lies inside the other's frame (its blank
    part beyond counted inside, as :attr:`Verification.frame_cover` counts padding), the other holds content beyond it
    (a second product: :func:`_content_beyond`) and the inner shows the shared part at :data:`DETAIL_MIN_SCALE` or more
    of the outer file's pixels, neither page can be made from the other (the outer holds content the inner lacks, the
    inner more pixels of what they share than the outer holds): ``v.added`` is raised to that content's share of the
    outer's thumbnail. A page cut from the other (a crop at its pixels or fewer) is a copy still. The stored spectrum
    (:data:`SPECTRUM_SIDE`) cannot tell a page's finer detail from a blow-up where its product fills a part of it."""
    covers = [1.0 if pad and cover > 0 else cover for cover, pad in zip((v.frame_cover_a, v.frame_cover_b), v.padded)]
    k = int(covers[1] > covers[0])  # the page inside the other's frame, if one is
    inner, outer = (a, b) if k == 0 else (b, a)
    if covers[k] < FRAMING_COVER or v.padded[1 - k] or inner.native_side <= 0 or outer.native_side <= 0 \
            or frames.corners(k) is None:
        return
    content = _content_beyond(frames.outside(1 - k, outer), _canvas(outer)[1])
    if not content:
        return
    h = _homogeneous(transform)
    try:
        hab = h if k == 0 else np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return
    scale = _file_scale(inner, outer, hab)
    if scale is not None and scale >= DETAIL_MIN_SCALE:
        v.added = max(v.added, content)


def _noise_past(power: np.ndarray, freq: np.ndarray, cutoff: float) -> bool:
    """Whether a spectrum (log10 power at ``freq``) is flat like noise past ``cutoff`` (:data:`NOISE_SLOPE`)."""
    top = (freq >= DETAIL_ABOVE[0] * cutoff) & (freq <= DETAIL_TOP)
    if top.sum() < NOISE_MIN_BINS:
        return False
    p = power[top].astype(np.float64)
    if p.min() <= NOISE_MIN_POWER:
        return False
    return float(np.polyfit(np.log10(freq[top]), p, 1)[0]) > NOISE_SLOPE


def look_at_files(v: Verification, a: ImageFeatures, b: ImageFeatures, source_a: str | os.PathLike | bytes,
                  source_b: str | os.PathLike | bytes) -> Verification | None:
    """``v`` (the check of ``a`` and ``b``) with the detail rule decided in the files' own pixels where the stored
    features left it undecided (:attr:`Verification.wants_files`; else ``v`` itself): :attr:`Verification.unexplained`
    measured (:data:`UNEXPLAINED_CAP`), the confidence capped at :data:`NOT_ONE_CAPTURE` where it reaches the cap.
    ``source_a``, ``source_b``: the two files (paths or their bytes). None where the look failed: a file cannot be
    read (unreadable, a FIFO, a remote path) or no longer holds the picture its features were made of. Such a pair is
    undecided: its features' answer (``v``) serves this run and is not kept, so a run that can read the files looks
    again. Symmetric: ``look_at_files(v.swapped(), b, a, ...)`` is the swapped answer (measured from the inner
    picture's side, the map rounded)."""
    if not v.wants_files:
        return v
    try:
        u = unexplained_detail(v, a, b, source_a, source_b)
    except (ImageReadError, OSError, ValueError, np.linalg.LinAlgError):
        return None
    if u is None:
        return v
    conf = min(v.confidence, NOT_ONE_CAPTURE) if u >= UNEXPLAINED_CAP else v.confidence
    return replace(v, unexplained=u, confidence=conf)


def unexplained_detail(v: Verification, a: ImageFeatures, b: ImageFeatures, source_a: str | os.PathLike | bytes,
                       source_b: str | os.PathLike | bytes, boxed: bool = False,
                       inner_side: int | None = None) -> float | None:
    """:func:`look_at_files`' measure of a pair whose check put one picture inside the other (``v.inner``), whatever
    its detail: the inner file's high band no filter of the outer file's pixels and JPEG save makes, over that band
    (:data:`UNEXPLAINED_CAP`); None where nothing was aligned, the match is mirrored or the shared part is too small.
    Raises :class:`~imagetwins.io.ImageReadError` (or ValueError: a file changed since its features were made;
    :class:`LookFailed`, one: OpenCV failed on the files' pixels, said in one warning naming both files).
    ``boxed``: OpenCV's ECC refines the map on the shared part's box alone (:data:`LOOK_ECC_MARGIN`), not the inner
    file's whole frame: the keep stage's look at a framed picture (a screenshot's bars, a product card's frame lie
    outside it), 1.1-2.2x less CPU; the same measure to the third decimal where ECC aligns (20 product cards:
    0.094-0.578 the same, 0.094 -> 0.097), within ~0.15 where it does not (measures over 1); and ECC aligns the
    pictures at half size first, then :data:`LOOK_ECC_FINE` steps at the look's (:func:`_ecc`), and the fit and saves
    read the box alone: 3.4x less CPU on a catalogue's 67 looks, no answer on either side of
    :data:`~imagetwins.copies.FRAMED_ENLARGED_BELOW` moved on 248. A part flat on the check's map
    (:data:`LOOK_MIN_DETAIL`) is answered without ECC: 0 (nothing past the outer file's pixels) where the inner
    picture holds :data:`LOOK_FLAT_SCALE` or more of them a side, else None. ``inner_side`` (the keep stage's second
    look, ``copies._look_sides``): the inner file decoded with its long side at this or more (default
    :data:`LOOK_SIDE`, the outer then at the same reduction) and the outer file whole (its own pixels: at a reduced
    decode an enlargement of them holds detail past it); a flat part decoded larger than :data:`LOOK_SIDE` is no
    answer (camera photos at 1,024 px, genuine pictures at 2x their half-size copy, read 2.5-3.9). Not the find
    stage's look (:func:`look_at_files`): its verdicts stay as stored."""
    if v.inner is None or v.transform is None or v.mirrored:
        return None
    k = v.inner
    inner_f, outer_f = (a, b) if k == 0 else (b, a)
    inner_src, outer_src = (source_a, source_b) if k == 0 else (source_b, source_a)
    # the map from the inner's feature frame to the outer's, rounded: the same either way round
    t = np.vstack([v.transform, [0.0, 0.0, 1.0]]).astype(np.float64)
    if k == 1:
        t = np.linalg.inv(t)
    try:
        return _unexplained(inner_src, outer_src, inner_f, outer_f, np.round(t, 6), boxed, inner_side)
    except _require_cv2().error as exc:  # (OpenCV's own failure on the files' pixels: out of memory, an assertion)
        raise LookFailed(_said_look_failure(source_a, source_b, exc)) from None


class LookFailed(ValueError):
    """OpenCV failed inside the look at two files (:func:`unexplained_detail`), said in one warning naming both: the
    look failed, as where a file changed since its scan (a ValueError), not the stored features."""


#: the looks whose OpenCV failure was said already (the two files and the reason): one line each, however often the
#: pair is looked at (the search, then the keep stage)
_looks_said: set[tuple[str, str, str]] = set()
_looks_said_lock = threading.Lock()


def _said_look_failure(source_a, source_b, exc: BaseException) -> str:
    """One warning naming both files of a look OpenCV failed in and its reason (``error: (-4:Insufficient memory)
    ...``, not OpenCV's source file and line), the first time; the reason returned."""
    from imagetwins.io import warn_line

    text = str(exc).strip()
    reason = "OpenCV: " + (text.split(" error: ", 1)[1] if " error: " in text else text or type(exc).__name__)
    reason = reason.splitlines()[0] if reason.splitlines() else reason
    names = tuple(os.fsdecode(src) if isinstance(src, (str, os.PathLike)) else "a picture given as bytes"
                  for src in (source_a, source_b))
    with _looks_said_lock:
        if (*names, reason) in _looks_said:
            return reason
        _looks_said.add((*names, reason))
    warn_line(f"copies: the look at {names[0]} and {names[1]} in their files failed ({reason}): nothing resting on "
              "their stored features alone is kept, and the next run looks again")
    return reason


def _grey_file(source: str | os.PathLike | bytes, features: ImageFeatures, long_side: int) -> tuple[np.ndarray, float]:
    """The file's grey picture decoded with its long side at ``long_side`` or more (JPEG's reduced-scale decode) and
    the file's own pixels per decoded pixel; ValueError where the file no longer holds the picture of ``features``
    (another aspect or long side: changed since it was scanned)."""
    img = open_image(source, min_size=1, min_long_side=int(long_side))
    reduced = features.native_side / max(img.size)
    aspect_f = features.size[0] / features.size[1]
    if abs(img.size[0] / img.size[1] - aspect_f) > 0.02 * aspect_f or not 0.99 <= reduced <= 8.5:
        raise ValueError("the file changed since its features were made")
    return np.asarray(img.convert("L"), np.float32), reduced


def _unexplained(inner_src, outer_src, inner_f: ImageFeatures, outer_f: ImageFeatures,
                 to_outer: np.ndarray, boxed: bool = False, inner_side: int | None = None) -> float | None:
    """:func:`look_at_files`' measure (:data:`UNEXPLAINED_CAP`): the inner file's detail that no filter of the outer
    file's pixels and JPEG save makes, or None where the shared part is too small to tell (``boxed``,
    ``inner_side``: :func:`unexplained_detail`'s)."""
    cv2 = _require_cv2()
    inner, reduced = _grey_file(inner_src, inner_f, inner_side or min(LOOK_SIDE, inner_f.native_side))
    # (inner_side, the keep stage's second look: the outer at its own pixels; else at the inner's reduction)
    outer, _ = _grey_file(outer_src, outer_f, int(outer_f.native_side if inner_side else
                                                  np.ceil(outer_f.native_side / reduced)))
    si, so = inner.shape[1] / inner_f.size[0], outer.shape[1] / outer_f.size[0]
    to_inner = np.linalg.inv(np.diag([so, so, 1.0]) @ to_outer @ np.diag([1 / si, 1 / si, 1.0]))
    scale = float(np.sqrt(abs(np.linalg.det(to_inner[:2, :2]))))  # inner pixels per outer pixel
    size = (inner.shape[1], inner.shape[0])
    up = cv2.warpPerspective(outer, to_inner, size, flags=cv2.INTER_CUBIC)
    ones = np.ones_like(outer)
    inside = cv2.warpPerspective(ones, to_inner, size, flags=cv2.INTER_NEAREST) > 0
    blur = max(1.0, 0.5 * scale)
    # (boxed: ECC on the shared part's box and a margin wider than both blurs and any drift it makes: ECC was ~70 %
    # of a look's time, much of it over a screenshot's bars or a card's frame, which the mask leaves out of its sums)
    y0, y1, x0, x1 = (_box(inside, int(np.ceil(4 * blur)) + LOOK_ECC_MARGIN) if boxed else
                      (0, inside.shape[0], 0, inside.shape[1]))
    if boxed and _own_detail(inner[y0:y1, x0:x1], inside[y0:y1, x0:x1], scale) < LOOK_MIN_DETAIL:
        # (flat on the check's map: ECC, on a flat part's few gradients, may drift off; decoded larger, no answer)
        return None if inner_side and inner_side > LOOK_SIDE else _flat(scale)
    template = cv2.GaussianBlur(inner, (0, 0), blur)[y0:y1, x0:x1]
    moving = cv2.GaussianBlur(np.where(inside, up, 0).astype(np.float32), (0, 0), blur)[y0:y1, x0:x1]
    refine = _ecc(template, moving, inside[y0:y1, x0:x1].astype(np.uint8), boxed)
    refine = refine.astype(np.float64)  # (the box's map in the whole frame's: x -> A (x - o) + t + o)
    refine[:, 2] += np.array([x0, y0], np.float64) - refine[:, :2] @ np.array([x0, y0], np.float64)
    full = np.linalg.inv(np.vstack([refine.astype(np.float64), [0.0, 0.0, 1.0]])) @ to_inner  # one resampling
    up = cv2.warpPerspective(outer, full, size, flags=cv2.INTER_CUBIC)
    inside = cv2.warpPerspective(ones, full, size, flags=cv2.INTER_NEAREST) > 0
    if boxed:  # (what follows reads the shared part and a margin: cut on JPEG's 8 px grid, the same sums and blocks)
        y0, y1, x0, x1 = _box(inside, LOOK_ECC_MARGIN)
        y0, x0 = y0 - y0 % 8, x0 - x0 % 8
        inner, up, inside = inner[y0:y1, x0:x1], up[y0:y1, x0:x1], inside[y0:y1, x0:x1]
    r = LOOK_RADIUS
    inside, core = _look_parts(inside)
    fit = np.zeros_like(inside)  # (every LOOK_STRIDE-th row and column of the shared part)
    fit[::LOOK_STRIDE, ::LOOK_STRIDE] = inside[::LOOK_STRIDE, ::LOOK_STRIDE]
    if fit.sum() < LOOK_MIN_PIXELS:
        return None
    # the outer picture shifted by each of the filter's taps: the shared part lies 2r + 4 px or more
    # clear of the picture's edge, so the padding never enters
    padded = np.pad(up, r, mode="edge")
    h, w = inner.shape
    # (views of the padded picture, not one (taps, h, w) stack: 49 copies of a 1,000 px picture were ~200 MB and a
    # tenth of a look's time)
    shifted = [padded[r + dy:r + dy + h, r + dx:r + dx + w] for dy in range(-r, r + 1) for dx in range(-r, r + 1)]
    if boxed:  # (the fit's pixels read on the stride's grid alone: the same rows, a quarter of the reads)
        grid = fit[::LOOK_STRIDE, ::LOOK_STRIDE]
        x = np.ones((int(grid.sum()), len(shifted) + 1))
        for k, tap in enumerate(shifted):
            x[:, k] = tap[::LOOK_STRIDE, ::LOOK_STRIDE][grid]
    else:
        x = np.concatenate([np.stack([tap[fit] for tap in shifted], 1).astype(np.float64),
                            np.ones((int(fit.sum()), 1))], 1)
    xtx = x.T @ x
    # (a ridge of LOOK_RIDGE of the taps' mean power: a smooth picture's taps are nearly collinear, and the exact
    # least squares filter then pairs huge weights of opposite sign, which amplify at the pixels it was not fitted on)
    ridge = LOOK_RIDGE * float(np.trace(xtx)) / len(xtx)
    coef = np.linalg.solve(xtx + ridge * np.eye(len(xtx)), x.T @ inner[fit].astype(np.float64))
    if boxed:  # (the filter as one correlation, OpenCV's in float64: a pass instead of 49)
        made_by_filter = cv2.filter2D(up.astype(np.float64), cv2.CV_64F, coef[:-1].reshape(2 * r + 1, 2 * r + 1),
                                      borderType=cv2.BORDER_REPLICATE) + coef[-1]
    else:
        made_by_filter = np.full(inner.shape, coef[-1])
        for k in range(len(shifted)):  # (in float64, a tap at a time: no (taps, h, w) float64 array)
            made_by_filter += coef[k] * shifted[k]
    # (outside the shared part the inner itself: a JPEG save's blocks there see it)
    predicted = np.where(inside, made_by_filter, inner)
    own = _own_detail(inner, inside, scale, core)
    if own < LOOK_MIN_DETAIL:  # (a high band at a JPEG's noise level: a flat part, nothing to tell by)
        return None
    saved = np.clip(np.round(predicted), 0, 255).astype(np.uint8)
    left = float("inf")
    for quality in LOOK_QUALITIES:
        buf = io.BytesIO()
        Image.fromarray(saved).save(buf, format="JPEG", quality=quality)
        made = np.asarray(Image.open(buf), np.float64)
        rest = np.where(inside, inner - made, 0.0)
        left = min(left, float((rest - cv2.GaussianBlur(rest, (0, 0), 0.5 * scale))[core].var()))
    return left / own


def _flat(scale: float) -> float | None:
    """The keep stage's look at a flat part (:data:`LOOK_MIN_DETAIL`): 0 (nothing past the outer file's pixels) where
    the inner picture holds :data:`LOOK_FLAT_SCALE` or more of them a side, else None (nothing to tell by)."""
    return 0.0 if scale >= LOOK_FLAT_SCALE else None


def _own_detail(inner: np.ndarray, inside: np.ndarray, scale: float, core: np.ndarray | None = None) -> float:
    """The variance of ``inner``'s high band (the picture less its blur by half ``scale``, the outer file's pixel in
    the inner's) over ``core`` (default: :func:`_look_parts`' core of ``inside``, as :func:`_unexplained` reads)."""
    cv2 = _require_cv2()
    if core is None:
        core = _look_parts(inside)[1]
        if not core.any():
            return float("inf")  # (too small a part: :func:`_unexplained` says so itself)
    own_picture = np.where(inside, inner, 0.0).astype(np.float64)
    return float((own_picture - cv2.GaussianBlur(own_picture, (0, 0), 0.5 * scale))[core].var())


def _look_parts(inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The files' look's parts of the shared part ``inside`` (bool): that part :data:`LOOK_RADIUS` + 4 px clear of its
    edge (where the filter's taps never reach past it), and its core 4 px further in (where the high bands are read)."""
    cv2 = _require_cv2()
    part = cv2.erode(inside.astype(np.uint8), np.ones((2 * LOOK_RADIUS + 9,) * 2, np.uint8),
                     borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return part, cv2.erode(part.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0


def _ecc(template: np.ndarray, moving: np.ndarray, mask: np.ndarray, boxed: bool) -> np.ndarray:
    """OpenCV's ECC map (affine, 2 x 3) taking ``template``'s grid onto ``moving`` (both blurred) over ``mask``: 80
    steps; the identity where it fails. ``boxed`` (the keep stage's look): first at half the size
    (:data:`LOOK_ECC_HALF_MIN`), then :data:`LOOK_ECC_FINE` steps at the full one from there (the half size's map
    where those fail; the 80 steps at the full size where the half size's fail)."""
    cv2 = _require_cv2()
    refine = np.eye(2, 3, dtype=np.float32)
    steps = 80
    if boxed and min(template.shape) >= LOOK_ECC_HALF_MIN:
        h, w = template.shape[0] // 2, template.shape[1] // 2
        half = [cv2.resize(x[:2 * h, :2 * w], (w, h), interpolation=cv2.INTER_AREA)
                for x in (template, moving, mask * np.uint8(255))]
        try:
            _, coarse = cv2.findTransformECC(half[0], half[1], refine.copy(), cv2.MOTION_AFFINE,
                                             (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 80, 1e-6),
                                             (half[2] == 255).astype(np.uint8), 5)  # (the pixels whose four are in)
            a = coarse[:, :2].astype(np.float64)
            # (a half-size pixel's centre is at 2 x + 0.5 in the full size's)
            t = 2 * coarse[:, 2].astype(np.float64) + 0.5 * (1.0 - a.sum(1))
            refine, steps = np.hstack([a, t[:, None]]).astype(np.float32), LOOK_ECC_FINE
        except cv2.error:  # (no alignment at half size: the 80 steps at the full one, as before)
            pass
    try:  # ECC's map takes the inner's grid onto the outer brought up
        _, refine = cv2.findTransformECC(template, moving, refine, cv2.MOTION_AFFINE,
                                         (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, steps, 1e-6), mask, 5)
    except cv2.error:
        pass
    return refine


def _box(mask: np.ndarray, margin: int) -> tuple[int, int, int, int]:
    """The rows and columns ``(y0, y1, x0, x1)`` of ``mask``'s true pixels, ``margin`` px wider each way within the
    array (the whole array where none is true)."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return 0, mask.shape[0], 0, mask.shape[1]
    return (max(0, int(rows[0]) - margin), min(mask.shape[0], int(rows[-1]) + 1 + margin),
            max(0, int(cols[0]) - margin), min(mask.shape[1], int(cols[-1]) + 1 + margin))


def _outside(x: ImageFeatures, other: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`_padding_beyond` and :func:`_flat_share` look at: ``x``'s thumbnail, its pixels inside ``other`` (a
    quadrilateral in ``x``'s feature frame; 1 inside, 0 out) and those :data:`PADDING_MARGIN` px clear of it outside
    (bool: where the alignment and the blur do not mix the two)."""
    thumb = x.thumbnail
    scale = thumb.shape[1] / x.size[0]
    poly = np.round(other * scale * 16).astype(np.int32)  # 4 bits of sub-pixel precision for fillConvexPoly
    inside = np.zeros(thumb.shape, np.uint8)
    cv2.fillConvexPoly(inside, poly, 1, lineType=cv2.LINE_8, shift=4)
    kernel = np.ones((2 * PADDING_MARGIN + 1, 2 * PADDING_MARGIN + 1), np.uint8)
    return thumb, inside, cv2.dilate(inside, kernel) == 0


def _content_beyond(region: tuple[np.ndarray, np.ndarray, np.ndarray], level: float) -> float:
    """The content a page shows outside the other's frame (``region``: :func:`_outside`'s), as the share of its
    thumbnail's pixels off its canvas ``level`` by more than :data:`ADDED_CONTENT` (:func:`_added_content`'s measure;
    1 where the level is not known), where that share is :data:`ADDED_CAP` or more (content: a second product, a
    signature); 0.0 where it is less (blank page: padding, :func:`_padding_beyond`). The one test of both page rules
    beyond a frame (:func:`_page_beyond` raises :attr:`Verification.added` to the share)."""
    thumb, _, outside = region
    if not np.isfinite(level):
        return 1.0
    share = int((np.abs(thumb[outside].astype(np.float32) - level) > ADDED_CONTENT).sum()) / float(thumb.size)
    return share if share >= ADDED_CAP else 0.0


def _flat_share(region: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float | None:
    """The share of what an image shows outside the other's frame (``region``: :func:`_outside`'s), looked at in its
    thumbnail :data:`PADDING_MARGIN` px clear of the edge, that lies within :data:`PADDING_SPREAD` grey levels of its
    median (None: fewer than :data:`PADDING_MIN_PIXELS` such pixels)."""
    thumb, _, outside = region
    if outside.sum() < PADDING_MIN_PIXELS:
        return None
    values = thumb[outside].astype(np.float64)
    return float((np.abs(values - _median(values)) <= PADDING_SPREAD).mean())


def _gradient_share(region: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """As :func:`_flat_share` (of a region it measured), the share within :data:`PADDING_SPREAD` grey levels of the
    plane of grey levels fitted to it (:func:`_plane`: every :data:`GRADIENT_STRIDE`-th pixel, a share tells as well,
    on the normal equations, a third of lstsq's time)."""
    thumb, _, outside = region
    try:
        values, design, coef = _plane(thumb, outside, GRADIENT_STRIDE, normal=True)
        level = design @ coef
    except np.linalg.LinAlgError:  # the pixels on one line: lstsq's least-norm plane
        values = thumb[outside].astype(np.float64)
        level = _gradient(thumb, outside)(outside)
    return float((np.abs(values - level) <= PADDING_SPREAD).mean())


def _padding_beyond(x: ImageFeatures, other: np.ndarray,
                    region: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> bool:
    """Whether what ``x`` shows outside ``other`` (the other image's frame, a quadrilateral in ``x``'s feature frame)
    is padding: one flat colour or gradient (:data:`PADDING_SPREAD`) that the picture just inside does not continue.
    Looked at in ``x``'s thumbnail, :data:`PADDING_MARGIN` px clear of the frame's edge (where the alignment and the
    blur mix the two). ``region``: :func:`_outside` of ``x`` and ``other``, where it was made already."""
    thumb, inside, outside = region if region is not None else _outside(x, other)
    if _canvas(x)[0] >= PAGE_CANVAS and outside.sum() >= PADDING_MIN_PIXELS \
            and not _content_beyond((thumb, inside, outside), _canvas(x)[1]):
        # a page (PAGE_CANVAS): what it shows beyond the other's frame is more of the page; blank, it holds nothing the
        # other lacks, however far the canvas goes on inside (a product placed elsewhere on another page)
        return True
    kernel = np.ones((2 * PADDING_MARGIN + 1, 2 * PADDING_MARGIN + 1), np.uint8)
    # the picture's band PADDING_MARGIN px clear of the edge inside, as the outside is clear of it outside
    clear = cv2.erode(inside, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1) > 0
    strip = clear & ~(cv2.erode(clear.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1) > 0)
    if strip.sum() < PADDING_MIN_PIXELS:
        return False
    if outside.sum() < PADDING_MIN_PIXELS:
        return _flat_wedges(thumb, inside, strip)
    values = thumb[outside].astype(np.float64)
    masks = (thumb, outside, strip)
    if _flat_fill(values, thumb[strip], masks) or _marked_bar(values, thumb[strip], len(values) / thumb.size, masks):
        return True
    if _no_plane_holds(thumb, outside, len(values)):
        return False
    # a gradient: the plane fitted (~3 ms) only where one can hold PADDING_FLAT of the pixels; the picture along the
    # edge is not the same gradient going on (a sky seen further by a re-shot)
    level = _gradient(thumb, outside)
    return float((np.abs(values - level(outside)) <= PADDING_SPREAD).mean()) >= PADDING_FLAT and \
        float((np.abs(thumb[strip] - level(strip)) <= PADDING_SPREAD).mean()) <= PADDING_GRADIENT_CONTINUES


def _flat_fill(values: np.ndarray, band: np.ndarray,
               masks: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> bool:
    """Whether ``values`` (float64: the thumbnail's pixels beyond the other's frame) are one flat fill that the
    picture's ``band`` along the edge inside does not continue: :data:`PADDING_FLAT` of them within
    :data:`PADDING_SPREAD` grey levels of their median, and at most :data:`PADDING_CONTINUES` of the band within the
    fill's own spread of it (:data:`FILL_SPREAD_MIN`: a wall or sky a re-shot sees further goes on along the edge; a
    black fill beside a dark scene is flatter than the scene). Where only the fill's own spread (not
    :data:`PADDING_SPREAD`) finds the band not continuing it and ``masks`` are given (the thumbnail, the part beyond
    and the band; without them, a turn's thin wedges, the spread alone tells), the band must not continue the fill
    much at all (:data:`PADDING_GRADIENT_CONTINUES` of it within its spread) nor go on along the plane of grey levels
    fitted to it: a smooth sky or haze beyond a re-shot's frame shades a few levels across the edge (holidays-half
    108400, photos-public bsds_120093), dark silhouettes beyond it are as flat as a fill along half of the band
    (holidays-half 126401/126402 in the 125 pairs of VERDICT_VERSION 35's measure; in
    ``tests/test_screenshot_crops.py``'s construction the plane alone refuses 126402: no test holds the share)."""
    level = _median(values)
    off = np.abs(values - level)
    if float((off <= PADDING_SPREAD).mean()) < PADDING_FLAT:
        return False
    spread = min(float(PADDING_SPREAD), max(float(FILL_SPREAD_MIN), _percentile(off, 100 * PADDING_FLAT)))
    within = float((np.abs(band - level) <= spread).mean())
    if within > PADDING_CONTINUES:
        return False
    if spread >= PADDING_SPREAD or float((np.abs(band - level) <= PADDING_SPREAD).mean()) <= PADDING_CONTINUES:
        return True  # (as PADDING_SPREAD reads it)
    if masks is None:  # (a turn's thin wedges: too few pixels for a plane, and no re-shot's view)
        return True
    if within > PADDING_GRADIENT_CONTINUES:
        return False
    thumb, outside, strip = masks
    plane = _gradient(thumb, outside)
    return float((np.abs(band - plane(strip)) <= spread).mean()) <= PADDING_GRADIENT_CONTINUES


def _marked_bar(values: np.ndarray, band: np.ndarray, share: float,
                masks: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bool:
    """Whether ``values`` (float64: the thumbnail's pixels beyond the other's frame, ``share`` of the thumbnail) are a
    bar of one colour with marks drawn on it, which the picture's ``band`` along the edge inside does not continue:
    :data:`BAR_FLAT` of them within :data:`PADDING_SPREAD` grey levels of their median, the rest mostly marks
    (:data:`MARKS_FAR` of them more than :data:`MARK_CONTRAST` levels off it), a thin part of the image
    (:data:`BAR_MOST`), and at most :data:`PADDING_CONTINUES` of the band within the bar's own spread of its level;
    where only that spread (not :data:`PADDING_SPREAD`) finds the band not continuing it, the band does not go on
    along the plane fitted to the bar's flat part either (birds in a sky shading across the edge beyond a re-shot's
    frame, holidays-half 108400: as :func:`_flat_fill`). ``masks``: the thumbnail, the part beyond and the band (as
    :func:`_flat_fill`'s; not :func:`_padding_beyond`'s ``region``, the thumbnail, the other's frame and the part
    beyond)."""
    if share > BAR_MOST:
        return False
    level = _median(values)
    off = np.abs(values - level)
    flat = off <= PADDING_SPREAD
    if float(flat.mean()) < BAR_FLAT:
        return False
    marks = off[~flat]
    if len(marks) and float((marks > MARK_CONTRAST).mean()) < MARKS_FAR:
        return False
    spread = min(float(PADDING_SPREAD), max(float(FILL_SPREAD_MIN), _percentile(off[flat], 100 * PADDING_FLAT)))
    if float((np.abs(band - level) <= spread).mean()) > PADDING_CONTINUES:
        return False
    thumb, outside, strip = masks
    if float((np.abs(band - level) <= PADDING_SPREAD).mean()) <= PADDING_CONTINUES:
        return True  # (as PADDING_SPREAD reads it)
    bar = outside.copy()
    bar[outside] = flat
    plane = _gradient(thumb, bar)
    return float((np.abs(band - plane(strip)) <= spread).mean()) <= PADDING_CONTINUES


def _flat_wedges(thumb: np.ndarray, inside: np.ndarray, strip: np.ndarray) -> bool:
    """:func:`_padding_beyond`'s test of a thin part beyond the other's frame (``inside``: that frame in ``thumb``;
    ``strip``: the picture's band along its edge inside): the wedges a turn at the frame's own size brings in, looked
    at :data:`WEDGE_MARGIN` px clear of the edge, :data:`WEDGE_MIN_PIXELS` at least, are padding where
    they are one flat fill the band does not continue (:func:`_flat_fill`; no gradient: too few pixels to fit a plane
    to)."""
    kernel = np.ones((2 * WEDGE_MARGIN + 1, 2 * WEDGE_MARGIN + 1), np.uint8)
    outside = cv2.dilate(inside, kernel) == 0
    if outside.sum() < WEDGE_MIN_PIXELS:
        return False
    return _flat_fill(thumb[outside].astype(np.float64), thumb[strip])


#: the pixel offsets (x, y) :func:`_no_plane_holds` compares, the next only where the one before could not tell
_PLANE_OFFSETS = ((1, 0), (0, 1), (4, 0), (0, 4))


def _no_plane_holds(thumb: np.ndarray, where: np.ndarray, n: int) -> bool:
    """Whether no plane of grey levels, whatever its coefficients, lies within :data:`PADDING_SPREAD` levels of
    :data:`PADDING_FLAT` of ``thumb``'s ``n`` pixels ``where`` (uint8): :func:`_padding_beyond`'s gradient test then
    fails whatever :func:`_gradient` fits, and that fit (three least-squares solves over every pixel) is not made.

    Two pixels an offset (dx, dy) apart that both lie within the spread of a plane ``c0 + c1 x + c2 y`` differ by
    ``c1 dx + c2 dy`` give or take twice the spread: by one of ``4 * PADDING_SPREAD + 2`` consecutive integers (the
    one more for the rounding of the plane's float levels). A pixel off the plane spoils at most two such pairs of one
    offset (as its first and as its second), so where at most ``(1 - PADDING_FLAT) n + 1`` are off, all but twice that
    many of the pairs of both pixels ``where`` lie in one window of that many differences: a textured part (the scene
    a re-shot shows beyond the other's frame, every such look of the home library's first scan) has no such window.
    Thumbnails of another type are fitted as before."""
    if thumb.dtype != np.uint8:
        return False
    spoilt = 2 * (int((1.0 - PADDING_FLAT) * n) + 1)
    width = int(4 * PADDING_SPREAD) + 2
    grey = thumb.astype(np.int16)
    h, w = where.shape
    for dx, dy in _PLANE_OFFSETS:
        if dx >= w or dy >= h:  # (no pair so far apart; a negative slice end would count from the other side)
            continue
        both = where[:h - dy, :w - dx] & where[dy:, dx:]
        differences = (grey[dy:, dx:] - grey[:h - dy, :w - dx])[both]
        if len(differences) <= spoilt:
            continue
        running = np.cumsum(np.bincount(differences + 255, minlength=511))
        most = int(max(running[width - 1], (running[width:] - running[:-width]).max()))
        if most < len(differences) - spoilt:
            return True
    return False


def _plane(image: np.ndarray, where: np.ndarray, stride: int = 1, normal: bool = False
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plane of grey levels ``a + b x + c y`` that fits ``image`` over the pixels ``where`` (every ``stride``-th),
    least squares refitted twice on the closest nine tenths (a few stray pixels do not tilt it): (the pixels' levels,
    their design rows ``1, x, y``, the coefficients). ``normal``: solved on the normal equations (``LinAlgError``
    where the pixels lie on one line), else by lstsq."""
    ys, xs = np.nonzero(where)
    ys, xs = ys[::stride], xs[::stride]
    values = image[ys, xs].astype(np.float64)
    design = np.column_stack([np.ones_like(values), xs, ys])
    if normal:
        coef = np.linalg.solve(design.T @ design, design.T @ values)
    else:
        coef = np.linalg.lstsq(design, values, rcond=None)[0]
    for _ in range(2):
        off = np.abs(values - design @ coef)
        near = off <= max(_percentile(off, 90), 1.0)
        if normal:
            sub = np.ascontiguousarray(design[near].T)
            coef = np.linalg.solve(sub @ sub.T, sub @ values[near])
        else:
            coef = np.linalg.lstsq(design[near], values[near], rcond=None)[0]
    return values, design, coef


def _gradient(image: np.ndarray, where: np.ndarray):
    """The plane of grey levels that fits ``image`` over the pixels ``where`` (:func:`_plane`, by lstsq) as a
    function of a mask of pixels (their levels on it, in the mask's order)."""
    coef = _plane(image, where)[2]

    def level(mask: np.ndarray) -> np.ndarray:
        my, mx = np.nonzero(mask)
        return coef[0] + coef[1] * mx + coef[2] * my

    return level


_per_thread = threading.local()  # OpenCV's detector objects are not documented as thread-safe


def _orb():
    orb = getattr(_per_thread, "orb", None)
    if orb is None:
        orb = _per_thread.orb = _require_cv2().ORB_create(nfeatures=MAX_FEATURES, fastThreshold=10)
    return orb


def _scaled(grey: Image.Image, side: int, resample) -> np.ndarray:
    w, h = grey.size
    s = side / max(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(grey.resize(size, resample))


def _detect(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (strongest first) and their descriptors."""
    return _ordered(*_keypoints(gray))


def _keypoints(gray: np.ndarray) -> tuple[list, np.ndarray]:
    """ORB's keypoints (OpenCV's objects, in its order) and their descriptors; none on a sliver."""
    if min(gray.shape[:2]) < 2 * _orb().getEdgeThreshold():
        # a sliver (a 1 x 500 picture) has no room for a keypoint, and OpenCV's pyramid fails on it: none
        return [], np.zeros((0, 32), np.uint8)
    keypoints, descriptors = _orb().detectAndCompute(gray, None)
    if descriptors is None or not keypoints:
        return [], np.zeros((0, 32), np.uint8)
    return keypoints, descriptors


def _ordered(keypoints, descriptors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points (strongest first) and their descriptors."""
    if not len(keypoints):
        return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
    # (the responses and points read without a Python list of each: ~0.4 of a 5 ms extraction)
    responses = np.fromiter((k.response for k in keypoints), np.float32, len(keypoints))
    order = np.argsort(-responses, kind="stable")
    # at the precision ImageFeatures.to_bytes stores (half floats: a quarter pixel at most in a 320 px frame), so
    # features extracted now and features read back from a cache give the very same verdict
    points = _require_cv2().KeyPoint_convert(keypoints)[order].astype(np.float16).astype(np.float32)
    return points, descriptors[order]


def _mirror_detect(gray: np.ndarray, keypoints) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_detect` of the mirrored picture ``gray[:, ::-1]``, given ``gray``'s keypoints: ORB finds the mirror
    image of each of them there (its FAST test, integer Harris response and pyramid are symmetric), so they are
    mirrored (at their pyramid level, whose width OpenCV rounds) and only described there, not looked for again:
    2.9 instead of 4.8 CPU ms a 320 px picture, the same points (tests/test_encode_parity.py on real photos) and the
    same descriptors but for a bit or two of one descriptor in ~1 % of pictures, where ORB's float32 angle rounds
    another way (why FEATURES_VERSION 5); where ORB keeps another number of them, the mirror is looked for as before.

    ``keypoints`` are turned in place (their point and angle; the caller is done with them): 0.19 -> 0.11 CPU ms a
    picture against a new KeyPoint made for each (#25; the same points and angles, as float32, to the bit). The
    mirrored picture by ``cv2.flip`` (the same bytes as numpy's contiguous copy of ``gray[:, ::-1]``, 0.04 -> 0.02 CPU
    ms a 320 px picture). Its ``compute`` builds and blurs the mirror's own pyramid: the flipped pyramid and blur of
    ``gray`` to the byte, but OpenCV keeps neither ORB's pyramid nor a pattern of one's choosing, and a BRIEF sampled
    in numpy costs ~2.9 ms an orientation against OpenCV's ~0.55 (BENCHMARKS.md, #25's ORB and its mirror)."""
    mirrored = _require_cv2().flip(gray, 1)
    if not len(keypoints):
        return _detect(mirrored)
    level_scale = _orb().getScaleFactor()  # (1.2 as a float32, as OpenCV holds it)
    scales = [level_scale ** level for level in range(_orb().getNLevels())]
    last = [round(gray.shape[1] / scale) - 1 for scale in scales]  # each level's last column (OpenCV's cvRound)
    for k in keypoints:
        level = k.octave
        scale = scales[level]
        x, y = k.pt
        k.pt = ((last[level] - x / scale) * scale, y)
        k.angle = (180.0 - k.angle) % 360.0
    described, descriptors = _orb().compute(mirrored, keypoints)
    if descriptors is None or len(described) != len(keypoints):
        return _detect(mirrored)
    return _ordered(described, descriptors)


def spectrum(grey: Image.Image) -> tuple[np.ndarray, int]:
    """The radial power spectrum of a grey picture (its long side scaled to at most :data:`SPECTRUM_SIDE`, a Hann
    window, the mean taken out): (log10 of the mean power in each of :data:`SPECTRUM_BINS` equal bins from 0 to half a
    cycle a pixel, as float16; the long side it was measured at)."""
    g = _scaled(grey, SPECTRUM_SIDE, Image.Resampling.BOX) if max(grey.size) > SPECTRUM_SIDE else np.asarray(grey)
    h, w = g.shape
    padded = _windowed(g)
    which, count = _spectrum_grid(*padded.shape)
    power = _half_power(padded, h)
    # the frequencies beyond half a cycle fall in one more bin, dropped: each bin sums its own
    total = np.bincount(which, power.ravel(), SPECTRUM_BINS + 1)[:SPECTRUM_BINS]
    return np.log10(total / count + 1e-3).astype(np.float16), max(w, h)


def _windowed(g: np.ndarray) -> np.ndarray:
    """A grey picture (uint8, h x w) less its mean, times a Hann window along each side, padded with zeros to
    :func:`_fast_side` sides: float64, to the last bit numpy's ``(g - g.mean()) * hanning(h)[:, None] *
    hanning(w)[None, :]`` in that order (each step rounded as there: tests/test_encode_parity.py).

    The windowed picture is transformed padded with zeros to sides of 2, 3 and 5 only (FEATURES_VERSION 5): the same
    power at each frequency, sampled more finely, for ~40 % less of the transform's time on sides with large prime
    factors (a 512 x 383 picture), which a library's scaled decodes have. Made cheaper (#25: 0.15-0.2 of a camera
    photo's 1.5 CPU ms spectrum): the mean from the pixels' integer sum (exact in any order, then divided as numpy's
    mean divides), the subtraction a look-up of the 256 grey levels less the mean, the window on a contiguous array (on
    a view into the padded one numpy copied each row through a buffer), then the zeros padded on."""
    cv2 = _require_cv2()
    h, w = g.shape
    levels = cv2.LUT(np.ascontiguousarray(g, dtype=np.uint8), _GREY_LEVELS - cv2.sumElems(g)[0] / g.size)
    levels *= _hann(h)[:, None]
    levels *= _hann(w)[None, :]
    padded_h, padded_w = _fast_side(h), _fast_side(w)
    if (padded_h, padded_w) != (h, w):
        levels = cv2.copyMakeBorder(levels, 0, padded_h - h, 0, padded_w - w, cv2.BORDER_CONSTANT, value=0)
    return levels.reshape(padded_h, padded_w)


def _half_power(padded: np.ndarray, rows: int) -> np.ndarray:
    """The power of ``padded``'s 2-D transform (float64, its rows past ``rows`` zeros) at the rows 0 .. M/2 of numpy's
    ``rfft2`` layout (M x (N/2 + 1) for an M x N picture), each row 0 < u < M/2 holding the power of its frequency and
    of the one M - u rows on (the same distance from 0: the same bin).

    OpenCV's real transform (packed: 'CCS') takes about half the time of numpy's ``rfft2`` here, and the bins are
    summed over a quarter of the values instead of a half: a camera photo's spectrum 3.6-3.7 -> 2.7-2.9 CPU ms within
    a whole ``prepare`` (``profile_copies_encode.py``, the 290 JPEGs of ``bench_home.py``'s library, one thread;
    2.2-3.0 -> 1.7-2.2 computed alone, warm). The bins' sums are numpy's to the last bits of a double (another order
    of sums): the stored float16 spectra are the very same on 2,355 pictures (1,933 real photos, the rest random of
    every side from 1 px; tests/test_encode_parity.py), so FEATURES_VERSION stays."""
    cv2 = _require_cv2()
    m, n = padded.shape
    packed = cv2.dft(padded, nonzeroRows=rows if n > 1 else 0)  # (OpenCV refuses the hint for one column)
    packed *= packed
    half = m // 2 + 1
    pairs = (n - 1) // 2  # the columns 1 .. 2 * pairs hold (re, im) of the horizontal frequencies 1 .. pairs
    out = np.empty((half, n // 2 + 1))
    inner = packed[:, 1:2 * pairs + 1]
    inner[1:(m + 1) // 2] += inner[m - 1:m // 2:-1]  # row u and row M - u: the same vertical distance
    np.add(inner[:half, 0::2], inner[:half, 1::2], out=out[:, 1:pairs + 1])
    # the columns of horizontal frequency 0 (and N/2, N even) are packed along the rows as well: row 0 the real
    # value at 0; rows 2u - 1, 2u the real and imaginary parts at u (and M - u, its conjugate); row M - 1 the real
    # value at M/2 (M even)
    for column, k in ((0, 0), (n - 1, n // 2)) if n % 2 == 0 else ((0, 0),):
        c, u = packed[:, column], (m - 1) // 2
        out[0, k] = c[0]
        out[1:u + 1, k] = 2 * (c[1:2 * u:2] + c[2:2 * u + 1:2])
        if m % 2 == 0:
            out[m // 2, k] = c[m - 1]
    return out


@functools.lru_cache(maxsize=1024)
def _fast_side(n: int) -> int:
    """The least number >= n whose only prime factors are 2, 3 and 5."""
    best, two = 2 * n, 1
    while two < best:
        three = two
        while three < best:
            five = three
            while five < best:
                if five >= n:
                    best = five
                five *= 5
            three *= 3
        two *= 2
    return best


#: the 256 grey levels, as float64 (spectrum: each level less the mean, looked up)
_GREY_LEVELS = np.arange(256, dtype=np.float64)


@functools.lru_cache(maxsize=1024)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n)


@functools.lru_cache(maxsize=64)
def _spectrum_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """For an h x w transform: the bin of each frequency of :func:`_half_power`'s layout (SPECTRUM_BINS: beyond half a
    cycle a pixel) and how many frequencies of the whole ``rfft2`` layout each of the SPECTRUM_BINS bins holds (at
    least 1). (64 sizes: a library's mix of cameras, padded)"""
    radius = np.sqrt(np.fft.rfftfreq(w)[None, :] ** 2 + np.fft.fftfreq(h)[:, None] ** 2)
    # (bytes: 64 grids of 512 x 257 take 8 MB)
    which = np.minimum((radius * (2 * SPECTRUM_BINS)).astype(np.int64), SPECTRUM_BINS).astype(np.uint8)
    count = np.maximum(np.bincount(which.ravel(), None, SPECTRUM_BINS + 1)[:SPECTRUM_BINS], 1)
    return np.ascontiguousarray(which[:h // 2 + 1]).ravel(), count


def extract(image: Image.Image | np.ndarray, grey: Image.Image | None = None, scale: float | None = None
            ) -> ImageFeatures:
    """Features of one image (PIL image or ``(H, W[, 3])`` uint8 array), at a bounded size; ``grey``: the image
    already converted to grey ("L"), when the caller has it; ``scale``: its pixels per pixel of the file it came from
    (default: :func:`imagetwins.io.decoded_scale`, 1 for a picture that came from no file here)."""
    _require_cv2()
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if scale is None:
        scale = decoded_scale(image)
    if grey is None:
        grey = image if image.mode == "L" else image.convert("L")  # once, for the features and the thumbnail
    gray = _scaled(grey, FEATURE_SIDE, Image.Resampling.BILINEAR)
    keypoints, found = _keypoints(gray)
    points, descriptors = _ordered(keypoints, found)
    mirror_points, mirror_descriptors = _mirror_detect(gray, keypoints)
    mirror_points[:, 0] = (gray.shape[1] - 1 - mirror_points[:, 0]).astype(np.float16)
    thumb = _scaled(grey, THUMB_SIDE, Image.Resampling.BOX)
    power, side = spectrum(spectrum_picture(grey, gray, max(image.size) / scale))
    return ImageFeatures((gray.shape[1], gray.shape[0]), points, descriptors, mirror_points, mirror_descriptors,
                         np.ascontiguousarray(thumb), colour_thumbnail(image), max(image.size) / scale, power, side)


def spectrum_picture(grey: Image.Image, gray: np.ndarray, native_side: float) -> Image.Image:
    """The picture :func:`extract` measures the spectrum on: the keypoints' (``gray``, :data:`FEATURE_SIDE`) where it
    is a reduction of the decoded ``grey`` and the file's long side (``native_side``) is
    :data:`SPECTRUM_FROM_FEATURES` or more, else ``grey`` (``benchmarks/profile_copies_encode.py`` times the same)."""
    if max(grey.size) > max(gray.shape) and native_side >= SPECTRUM_FROM_FEATURES:
        return Image.fromarray(gray)
    return grey


def colour_thumbnail(image: Image.Image) -> np.ndarray | None:
    """The chroma of ``image`` (Cb, Cr as JPEG defines them, the luma being the grey thumbnail's) with the long side
    :data:`COLOUR_SIDE`: (h, w, 2) uint8; None for a grey image ("L", "1", "I;16" ...: nothing to fit)."""
    if Image.getmodebase(image.mode) == "L":  # grey, bilevel, 16-bit or float grey
        return None
    w, h = image.size
    s = COLOUR_SIDE / max(w, h)
    small = (image if image.mode == "RGB" else image.convert("RGB")).resize(
        (max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BOX)
    return np.ascontiguousarray(np.asarray(small.convert("YCbCr"))[:, :, 1:])


def colour_signature(features: ImageFeatures) -> np.ndarray:
    """How the colour thumbnail's colours fall into :data:`SIGNATURE_BINS` hue bins, each pixel weighted by its
    chroma (so a change of brightness, contrast or saturation, which scales the chroma, leaves it), the bins summing
    to 1; then the share of its pixels coloured as :data:`RECOLOURED_CHROMA` asks. A grey picture (or none known):
    zeros. Blind to where the colours are: a flipped, turned or slightly cropped copy keeps it, a hue turn moves it
    (:data:`SIGNATURES_DIFFER`)."""
    return colour_signature_of(features.colour)


def colour_signature_of(colour: np.ndarray | None) -> np.ndarray:
    """:func:`colour_signature` of a colour thumbnail (:attr:`ImageFeatures.colour`; None: zeros)."""
    out = np.zeros(SIGNATURE_BINS + 1)
    if colour is None:
        return out
    c = colour.reshape(-1, 2).astype(np.float64) - 128.0
    chroma = np.hypot(c[:, 0], c[:, 1])
    weight = np.where(chroma >= RECOLOURED_CHROMA / 2, chroma, 0.0)  # (a grey pixel's hue is noise)
    if weight.sum() > 0:
        hue = np.arctan2(c[:, 1], c[:, 0])
        bins = np.floor((hue + np.pi) / (2 * np.pi) * SIGNATURE_BINS).astype(np.int64) % SIGNATURE_BINS
        out[:SIGNATURE_BINS] = np.bincount(bins, weight, SIGNATURE_BINS) / weight.sum()
    out[SIGNATURE_BINS] = float((chroma >= RECOLOURED_CHROMA).mean())
    return out


def _fit(pa: np.ndarray, da: np.ndarray, pb: np.ndarray, db: np.ndarray, min_matches: int = MIN_MATCHES,
         iterations: int = 2000, nearest: tuple[np.ndarray, np.ndarray] | None = None):
    """Ratio-test matches a -> b and a RANSAC affine fit: (matrix, inlier mask, matched index pairs) or None.
    ``nearest``: :func:`~imagetwins.matching.nearest_two` of ``da`` against ``db``, where it was made already."""
    if len(da) < 2 or len(db) < 2:
        return None
    # the two nearest descriptors of each of a's, as arrays: the ratio test is one comparison (OpenCV's
    # batchDistance's very numbers, from one integer matrix product: imagetwins.matching)
    dist, nearest = nearest_two(da, db) if nearest is None else nearest
    good = _ratio_passed(dist)
    if int(good.sum()) < min_matches:
        return None
    qi = np.flatnonzero(good)
    ti = nearest[good]
    if _two_places_at_most(pa[qi]) or _two_places_at_most(pb[ti]):
        return None  # what OpenCV's RANSAC answers after 10,000 draws (see _two_places_at_most)
    matrix, mask = cv2.estimateAffine2D(pa[qi], pb[ti], method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS,
                                        maxIters=iterations, confidence=0.99)
    if matrix is None or mask is None:
        return None
    mask = mask.ravel().astype(bool)
    return matrix, mask, qi, ti


def _ratio_passed(dist: np.ndarray) -> np.ndarray:
    """The ratio test on :func:`~imagetwins.matching.nearest_two`'s distances ``(n, 2)``: which matches are clearly
    nearer their first neighbour than their second (:data:`RATIO`)."""
    return dist[:, 0] < RATIO * dist[:, 1]


def _two_places_at_most(points: np.ndarray) -> bool:
    """Whether the matched keypoints ``points`` ((n, 2) float32, n >= 3) lie at two places or fewer (several of one
    image's keypoints matched to one of the other's; keypoints of two pyramid levels at one place). Every three of
    them then hold two at one place, which OpenCV's RANSAC refuses as a sample (``haveCollinearPoints``: their cross
    product is exactly 0), so it draws 10,000 samples and fits nothing: :func:`_fit` answers None without it (~1.7 ms
    of a quick look's RANSAC, on one quick fit in ten of the look-alikes a search proposes). Places are told apart by
    their bits (0.0 and -0.0 count as two: at worst RANSAC is asked)."""
    places = np.ascontiguousarray(points, np.float32).view(np.uint64).ravel()
    others = places[places != places[0]]
    return not len(others) or bool((others == others[0]).all())


def _cells(x: np.ndarray) -> np.ndarray:
    hc, wc = x.shape[0] // CELL, x.shape[1] // CELL
    return x[: hc * CELL, : wc * CELL].reshape(hc, CELL, wc, CELL).transpose(0, 2, 1, 3).reshape(hc, wc, -1)


def _centred_cells(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The terms of a cell-by-cell normalised cross-correlation (:func:`_cell_ncc`): :func:`_cells` of ``x`` less each
    cell's mean, those means, and each cell's spread (the root mean square of its centred values)."""
    cells = _cells(x)
    mean = cells.mean(-1)
    cells = cells - mean[..., None]
    return cells, mean, np.sqrt((cells * cells).mean(-1))


def _cell_ncc(ca: np.ndarray, sa: np.ndarray, cb: np.ndarray, sb: np.ndarray) -> np.ndarray:
    """The normalised cross-correlation of each pair of cells, from :func:`_centred_cells`' centred cells and spreads of
    the two sides (a flat cell's spread floored, its correlation ~0)."""
    return (ca * cb).mean(-1) / np.maximum(sa * sb, 1e-6)


def _cells_all(mask: np.ndarray) -> np.ndarray:
    """``_cells(mask).all(-1)`` of a bool mask, without the copy :func:`_cells` makes of it (a logical and in any order
    is the same; ~0.1 ms of each dense comparison)."""
    hc, wc = mask.shape[0] // CELL, mask.shape[1] // CELL
    return mask[: hc * CELL, : wc * CELL].reshape(hc, CELL, wc, CELL).all(axis=(1, 3))


#: what :func:`_dense` measures of a pair under one alignment: all of it is taken from the homography where
#: :func:`_perspective` keeps that (a measure left out stayed the affine fit's: pages, added and colour_moved did)
_DENSE_MEASURES = ("coverage_a", "coverage_b", "agreement", "strict_agreement", "median_ncc", "lighting_residual",
                   "disagreement", "overlay", "turned", "picture_ncc", "pages", "added", "colour_moved")


def _dense(a: ImageFeatures, b: ImageFeatures, matrix: np.ndarray, v: Verification,
           homography: np.ndarray | None = None, departure_read: bool = False, shared_blur: dict | None = None,
           to_beat: float | None = None) -> float | None:
    """Warp one thumbnail onto the other and compare them cell by cell; fills coverage and agreement in ``v``.

    The image that shows the shared content larger is the one warped (shrunk) onto the other, so a
    half crop is compared at the original's scale rather than the original blown up to the crop's.
    ``homography`` (3 x 3, a's feature frame -> b's): warp with it instead of the affine ``matrix``
    (which still decides the direction and the blur).

    Returns how far the cells' means are from the global grey lighting fit against their own contrast (the median
    of ``|residual| / (contrast + 2)``, as :data:`OVERLAY_REST_TEXTURE` reads it): small where the alignment is right
    and only resampling moves them; 1.0 where nothing was compared. ``departure_read``: the caller reads it (the
    guided refit), so where the check keeps the colour fit's lighting, the departure from that one is measured too.
    ``shared_blur``: a dict kept by the caller across the comparisons of one check (the affine fit's, then its
    homographies', :func:`_perspective`): the blurred thumbnails and the destination's cells, which depend on ``a``,
    ``b`` and ``matrix`` alone, are made once there (the same arrays). ``to_beat``: the comparison is wanted only where
    its strict agreement ends over that (under :data:`OVERLAY_REST_AGREES`): None, ``v`` left half measured, where
    the cells' own agreements show that it cannot (:func:`_agrees_no_more`), before the lighting, colour and overlay
    measures.
    """
    ta, tb = a.thumbnail, b.thumbnail
    sa_, sb_ = ta.shape[1] / a.size[0], tb.shape[1] / b.size[0]
    m = matrix.astype(np.float64).copy()  # a -> b in thumbnail pixels
    m[:, :2] *= sb_ / sa_
    m[:, 2] *= sb_
    swap = abs(float(np.linalg.det(m[:, :2]))) > 1.0
    src, dst = (tb, ta) if swap else (ta, tb)
    if swap:
        m = cv2.invertAffineTransform(m)
    det = abs(float(np.linalg.det(m[:, :2])))  # <= 1: the source shrinks
    h, w = dst.shape
    key = (id(a), id(b), matrix.tobytes())
    if shared_blur is not None and shared_blur.get("key") == key:
        fs, fd, (cb, mean_b, sb) = shared_blur["blurred"]
    else:
        fs = cv2.GaussianBlur(src.astype(np.float32), (0, 0), BLUR_SIGMA / max(np.sqrt(det), 0.05))  # no aliasing
        fd = cv2.GaussianBlur(dst.astype(np.float32), (0, 0), BLUR_SIGMA)
        cb, mean_b, sb = _centred_cells(fd)
        if shared_blur is not None:
            for x in (fs, fd, cb, mean_b, sb):
                x.flags.writeable = False  # (shared by the check's comparisons: none may change them)
            shared_blur["key"], shared_blur["blurred"] = key, (fs, fd, (cb, mean_b, sb))
    if homography is None:
        warped = cv2.warpAffine(fs, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        inside = cv2.warpAffine(np.ones_like(fs), m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    else:
        hm = np.diag([sb_, sb_, 1.0]) @ homography @ np.diag([1 / sa_, 1 / sa_, 1.0])  # a -> b in thumbnails
        if swap:
            hm = np.linalg.inv(hm)
        warped = cv2.warpPerspective(fs, hm, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        inside = cv2.warpPerspective(np.ones_like(fs), hm, (w, h), flags=cv2.INTER_NEAREST, borderValue=0) > 0
        m = hm
    overlap = float(inside.sum())
    cover_dst = overlap / inside.size
    cover_src = min(1.0, overlap / max(det * src.size, 1.0))
    v.coverage_a, v.coverage_b = (cover_dst, cover_src) if swap else (cover_src, cover_dst)
    # compare only cells clear of the overlap's edge: there the blur and the resampling mix in what lies
    # outside (a border, the warp's empty corners), which says nothing about the pictures
    core = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT,
                     borderValue=0) > 0
    cm = _cells_all(core)
    if not cm.any():
        return 1.0
    ca, mean_a, sa = _centred_cells(warped)
    textured = cm & (sa > 3) & (sb > 3)  # flat cells (sky, walls) say nothing either way
    colours = (b.colour, a.colour) if swap else (a.colour, b.colour)
    coloured = colours[0] is not None and colours[1] is not None
    ncc_cells = _cell_ncc(ca, sa, cb, sb)
    if to_beat is not None and _agrees_no_more(ncc_cells, textured, cm, coloured, to_beat):
        return None
    v.lighting_residual, lighting = _lighting_fit(mean_a[cm], mean_b[cm])
    departure = 1.0 if lighting is None else _median(
        np.abs(mean_b[cm] - (lighting[0] * mean_a[cm] + lighting[1])) / (np.maximum(sa, sb)[cm] + 2.0))
    # both rules below need both images mostly canvas: one that is not (a photo) leaves the other's canvas unmade
    # (~0.3 ms an image, kept on its features: the one made already is read first)
    first = b if a._canvas is None and b._canvas is not None else a
    if _canvas(first)[0] >= min(PAGE_CANVAS, 1.0 - SMALL_PICTURE):
        canvases = (_canvas(b), _canvas(a)) if swap else (_canvas(a), _canvas(b))  # (the warped side's, the other's)
        canvas_share = min(canvases[0][0], canvases[1][0])
        levels = [canvases[0][1], canvases[1][1]]
        if canvas_share >= 1.0 - SMALL_PICTURE:  # small pictures on flat canvases
            v.picture_ncc = _inside_pictures(warped, fd, core, levels)
        if canvas_share >= PAGE_CANVAS and abs(levels[0] - levels[1]) <= ADDED_PAPER:
            v.pages = True  # two pages of one paper (documents, catalogue pages; not a picture on two surrounds)
            v.added = _added_content(warped, fd, core, levels)
    if not textured.any():
        return departure
    ncc = ncc_cells[textured]
    bad = textured & (ncc_cells < 0.5)
    if bad.any():  # where, for explain: the centre of the disagreeing cells, in thirds of the compared image
        rows, cols = np.nonzero(bad)
        vert = ("top", "middle", "bottom")[min(2, int(3 * (rows.mean() + 0.5) / bad.shape[0]))]
        horiz = ("left", "centre", "right")[min(2, int(3 * (cols.mean() + 0.5) / bad.shape[1]))]
        where = "centre" if (vert, horiz) == ("middle", "centre") else (
            vert if horiz == "centre" else horiz if vert == "middle" else f"{vert} {horiz}")
        v.disagreement = (0 if swap else 1, where, float(bad.sum() / textured.sum()))
    v.agreement = float((ncc >= 0.5).mean())
    v.strict_agreement = float((ncc >= 0.8).mean())
    v.median_ncc = _median(ncc)
    chroma_src = chroma_dst = None
    if coloured:  # the cells' chroma, read once: the mark, the colour fit and the overlays' colour model
        chroma_src, chroma_dst = _chroma_cells(*colours, src.shape, dst.shape, cm.shape, m)
        # (the same either way round: what the mark reads)
        v.turned = _turned_share(chroma_src, chroma_dst, mean_a, mean_b, cm & ~(textured & (ncc_cells < 0.5)), cm)
    changed = None  # whether the colours moved as a colour edit moves them (COLOUR_CHANGE), once measured
    fitted = recoloured = None  # the colour fit's (direction, coefficients) and the cells' NCC recoloured by it
    if v.strict_agreement >= min(COLOUR_FIT_AGREEMENT, COLOUR_CHANGED_AGREEMENT) and coloured:
        v.colour_moved = _colour_change(chroma_src[cm], chroma_dst[cm])
        changed = v.colour_moved >= COLOUR_CHANGE
        if v.strict_agreement >= COLOUR_FIT_AGREEMENT or changed:
            colour, direction, coef = _colour_fit(mean_a[cm], chroma_src[cm], mean_b[cm], chroma_dst[cm], changed)
            fitted = (direction, coef)
            if colour <= COLOUR_GAIN * v.lighting_residual:
                v.lighting_residual = colour
                if departure_read:
                    # the departure from the lighting this check keeps: a copy whose colours were changed departs
                    # from the grey fit by its colours, not by resampling
                    target, source = (mean_b[cm], (mean_a[cm], chroma_src[cm])) if direction == 0 else \
                        (mean_a[cm], (mean_b[cm], chroma_dst[cm]))
                    departure = min(departure, _median(np.abs(target - _colour_design(*source, changed) @ coef)
                                                       / (np.maximum(sa, sb)[cm] + 2.0)))
                if changed:
                    recoloured = _recoloured(v, colours, src.shape, m, warped, fd, textured, cm, direction, coef,
                                             ncc_cells)
    if lighting is not None and v.strict_agreement < OVERLAY_REST_AGREES:
        grey = (mean_b, np.stack([mean_a, np.ones_like(mean_a)], -1), lighting)
        # overlays over a copy whose colours were changed too: the cells off the *colour* change are the overlays
        # (the grey fit puts every cell whose colour moved its own way among them), and the rest follows it. Tried
        # where the grey model finds none, unless the cells that disagree alone cover too much already
        if not _outside_overlays(v, ncc_cells, textured, cm, sa, sb, grey) and coloured \
                and _overlay_share(textured & (ncc_cells < 0.5), cm) <= OVERLAY_MAX:
            if changed is None:
                v.colour_moved = _colour_change(chroma_src[cm], chroma_dst[cm])
                changed = v.colour_moved >= COLOUR_CHANGE
            model = _colour_model(mean_a, chroma_src, mean_b, chroma_dst, cm, changed, fitted)
            if changed:  # the overlays are the cells that disagree once recoloured
                ncc_cells = recoloured if recoloured is not None else \
                    _recoloured_ncc(colours, src.shape, m, warped, fd, model[3], model[2])[0]
            _outside_overlays(v, ncc_cells, textured, cm, sa, sb, model)
    return departure


def _agrees_no_more(ncc_cells: np.ndarray, textured: np.ndarray, compared: np.ndarray, coloured: bool,
                    to_beat: float) -> bool:
    """Whether :func:`_dense`'s strict agreement, from these cells (its grid of NCCs, the textured and the compared
    cells; ``coloured``: both images' colour known), ends at ``to_beat`` or under whatever the lighting, colour and
    overlay measures after them find (``to_beat`` < :data:`OVERLAY_REST_AGREES`). The cells' own strict agreement is
    raised by two things only: the cells compared recoloured (:func:`_recoloured`, from
    :data:`COLOUR_CHANGED_AGREEMENT` of them up, and only with both colours known), and overlays left out
    (:func:`_outside_overlays`, which gives :data:`OVERLAY_REST_AGREES` or more), which both the grey model's and the
    colour model's look for only where the cells that disagree and their neighbours cover :data:`OVERLAY_MAX` of the
    compared cells at most (they are among the overlays' cells, whatever the model: their share is the least the
    overlays can cover, and the colour model is not tried over it)."""
    if to_beat >= OVERLAY_REST_AGREES:
        return False  # (overlays left out may end at or under it)
    if not textured.any():
        return to_beat >= 0.0  # (no textured cell: nothing agrees, 0)
    strict = float((ncc_cells[textured] >= 0.8).mean())
    if strict > to_beat or (coloured and strict >= min(COLOUR_FIT_AGREEMENT, COLOUR_CHANGED_AGREEMENT)):
        return False
    return _overlay_share(textured & (ncc_cells < 0.5), compared) > OVERLAY_MAX


def _canvas(x: ImageFeatures) -> tuple[float, float]:
    """:func:`_canvas_of` ``x``'s thumbnail, kept on the features."""
    if x._canvas is None:
        x._canvas = _canvas_of(x.thumbnail)
    return x._canvas


def _canvas_of(thumbnail: np.ndarray) -> tuple[float, float]:
    """The share of a thumbnail's cells (blurred as :func:`_dense` blurs them) that are its canvas, flat (as
    :func:`_dense` counts a flat cell) and within :data:`CANVAS_BAND` grey levels of the flat cells' median, and that
    level (nan where no cell is flat). A page holding small pictures is mostly one level; a sky or a wall drifts.
    NumPy alone (OpenCV's Gaussian blur, its kernel and border): a search's hash-sure pairs ask it (:func:`is_page`),
    where a warm run imports no OpenCV."""
    cells = _cells(_blurred(np.asarray(thumbnail, np.float32), BLUR_SIGMA))
    means, flat = cells.mean(-1), cells.std(-1) <= 3
    if not flat.any():
        return 0.0, float("nan")
    level = _median(means[flat])
    return float((flat & (np.abs(means - level) <= CANVAS_BAND)).mean()), level


def _gaussian_kernel(sigma: float) -> np.ndarray:
    """The float32 Gaussian kernel :func:`_blurred` weighs its terms by: OpenCV's for ``sigma`` (its side
    ``round(8 sigma + 1) | 1``, normalised in float64)."""
    side = int(round(sigma * 8 + 1)) | 1
    kernel = np.exp(-((np.arange(side) - side // 2) ** 2) / (2 * sigma * sigma))
    return (kernel / kernel.sum()).astype(np.float32)


def _blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    """``cv2.GaussianBlur(image, (0, 0), sigma)`` of a float32 image in NumPy: the same kernel (its side
    ``round(8 sigma + 1) | 1``) and border (reflected about the edge pixel); an image with a side of ``side // 2``
    pixels or fewer (4 at BLUR_SIGMA: the thumbnail of an extreme panorama) is returned unblurred, a copy, where OpenCV
    would blur it."""
    kernel = _gaussian_kernel(sigma)
    side = len(kernel)
    r = side // 2
    if min(image.shape) <= r:
        return image.copy()
    height, width = image.shape
    padded = np.pad(image, ((0, 0), (r, r)), mode="reflect")
    # each pass the sum of the kernel's terms in its order, added into one array (the very float32 sums of
    # sum(kernel[k] * padded[...]), without a new array for each term and each partial sum: ~0.1 ms of ~0.2)
    rows = padded[:, :width] * kernel[0]
    term = np.empty_like(rows)
    for k in range(1, side):
        np.multiply(padded[:, k:k + width], kernel[k], out=term)
        rows += term
    padded = np.pad(rows, ((r, r), (0, 0)), mode="reflect")
    out = padded[:height] * kernel[0]
    for k in range(1, side):
        np.multiply(padded[k:k + height], kernel[k], out=term)
        out += term
    return out.astype(np.float32, copy=False)


def is_page(thumbnail: np.ndarray) -> bool:
    """Whether an image whose grey thumbnail (:attr:`ImageFeatures.thumbnail`) this is, is a page holding small
    pictures (:data:`SMALL_PICTURE`): the check compares two such images inside their pictures' outlines. A first
    look at the most common grey level turns most photos away at once."""
    t = np.asarray(thumbnail)
    if t.size == 0:
        return False
    counts = np.bincount(t.ravel().astype(np.uint8), minlength=256)
    top = int(counts.argmax())
    if counts[max(top - 2 * CANVAS_BAND, 0):top + 2 * CANVAS_BAND + 1].sum() < PAGE_CANVAS * 0.8 * t.size:
        return False
    return _canvas_of(t)[0] >= PAGE_CANVAS


def _inside_pictures(warped: np.ndarray, fd: np.ndarray, core: np.ndarray, levels: list[float]) -> float:
    """How far two small pictures on flat canvases agree (:data:`SMALL_PICTURE`): ``warped`` and ``fd`` the aligned
    blurred thumbnails, ``core`` the pixels compared, ``levels`` the two canvases' grey levels. Each picture is what
    lies off its canvas's level (:data:`CANVAS_SPREAD`): the smaller share of either picture within the other's
    outline (:data:`INSIDE_MARGIN` px of tolerance), and the correlation of the two pictures' detail inside both
    outlines (that margin clear of them) if smaller; 0 where that inside is under :data:`PICTURE_MIN_PIXELS` (too
    small to tell) or one side shows detail there and the other none (:data:`PICTURE_FLAT`); where neither does (plain
    fills), the shares alone, if the fills' grey levels are within :data:`PICTURE_TONE`. inf where neither side shows
    a picture in the overlap (:data:`PICTURE_MIN_PIXELS`), or a canvas's level is not known."""
    if not (np.isfinite(levels[0]) and np.isfinite(levels[1])):
        return float("inf")
    off = [core & (np.abs(image - level) > CANVAS_SPREAD) for image, level in zip((warped, fd), levels)]
    shown = [int(o.sum()) for o in off]
    if max(shown) < PICTURE_MIN_PIXELS:
        return float("inf")
    masks = [o.astype(np.uint8) for o in off]
    kernel = np.ones((2 * INSIDE_MARGIN + 1, 2 * INSIDE_MARGIN + 1), np.uint8)
    grown = [cv2.dilate(m, kernel) > 0 for m in masks]
    agrees = min(float((off[0] & grown[1]).sum()) / max(shown[0], 1),
                 float((off[1] & grown[0]).sum()) / max(shown[1], 1))
    # inside both outlines, clear of the band where the blur mixes the canvas into the picture
    inside = (cv2.erode(masks[0], kernel) > 0) & (cv2.erode(masks[1], kernel) > 0)
    if inside.sum() < PICTURE_MIN_PIXELS:
        return 0.0  # pictures too small to tell apart: a few pixels' blobs
    # the detail (each picture less its blur): the pictures' broad shading (a dark top, a light bottom) is alike in
    # many different products, and correlates by chance; blurred within both pictures alone (normalised), or the
    # outline's step, which any two pictures of one shape share, would be part of it
    both = (off[0] & off[1]).astype(np.float32)
    ncc = _picture_detail_ncc(warped, fd, both, inside)
    if ncc is None:  # plain fills on both sides (a logo's): the outline is the picture
        tone = abs(_median(warped[inside]) - _median(fd[inside]))
        return agrees if tone <= PICTURE_TONE else 0.0
    # a thin frame round one picture (a border: a dark ring the other lacks) is part of its outline, and the blurs
    # carry it a few pixels into the picture: the detail FRAME_MARGIN px clear of both outlines, where higher
    if ncc < PICTURE_AGREES:
        frame = np.ones((2 * FRAME_MARGIN + 1, 2 * FRAME_MARGIN + 1), np.uint8)
        deep = (cv2.erode(masks[0], frame) > 0) & (cv2.erode(masks[1], frame) > 0)
        if deep.sum() >= FRAME_MIN_PIXELS:
            ncc = max(ncc, _picture_detail_ncc(warped, fd, both, deep) or 0.0)
    return min(agrees, ncc)


def _added_content(warped: np.ndarray, fd: np.ndarray, core: np.ndarray, levels: list[float]) -> float:
    """The content one of two aligned pages shows where the other is blank (:data:`PAGE_CANVAS`): the pixels of the
    compared overlap ``core`` (:data:`FRAME_MARGIN` px clear of its edge) off one page's canvas level by more than
    :data:`ADDED_CONTENT` with nothing off the other's by more than :data:`ADDED_BLANK` within :data:`ADDED_MARGIN` px,
    the larger count of the two sides, as a share of the compared thumbnail's pixels; 0 where a canvas's level is not
    known."""
    if not (np.isfinite(levels[0]) and np.isfinite(levels[1])):
        return 0.0
    kernel = np.ones((2 * ADDED_MARGIN + 1, 2 * ADDED_MARGIN + 1), np.uint8)
    # FRAME_MARGIN px clear of the overlap's edge: a frame round one page (a black border) blurs a few pixels into it
    core = cv2.erode(core.astype(np.uint8), np.ones((2 * FRAME_MARGIN + 1, 2 * FRAME_MARGIN + 1), np.uint8),
                     borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    shown, near = [], []
    for image, level in zip((warped, fd), levels):
        off = np.abs(image - level)
        shown.append(core & (off > ADDED_CONTENT))
        near.append(cv2.dilate((core & (off > ADDED_BLANK)).astype(np.uint8), kernel) > 0)
    added = max(int((shown[0] & ~near[1]).sum()), int((shown[1] & ~near[0]).sum()))
    return added / float(core.size)


def _picture_detail_ncc(warped: np.ndarray, fd: np.ndarray, both: np.ndarray, inside: np.ndarray) -> float | None:
    """The correlation of two aligned pictures' detail (each less its blur of :data:`PICTURE_DETAIL` px within
    ``both``, normalised) over ``inside``; 0 where one side shows detail there and the other none
    (:data:`PICTURE_FLAT`), None where neither does."""
    weight = cv2.GaussianBlur(both, (0, 0), PICTURE_DETAIL)[inside]
    x, y = (image[inside].astype(np.float64) - cv2.GaussianBlur(image * both, (0, 0), PICTURE_DETAIL)[inside] / weight
            for image in (warped, fd))
    x -= x.mean()
    y -= y.mean()
    sx, sy = float(np.sqrt((x * x).mean())), float(np.sqrt((y * y).mean()))
    if max(sx, sy) < PICTURE_FLAT:
        return None
    if min(sx, sy) < PICTURE_FLAT:
        return 0.0
    return float((x * y).mean() / (sx * sy))


def _outside_overlays(v: Verification, ncc_cells: np.ndarray, textured: np.ndarray, cm: np.ndarray,
                      sa: np.ndarray, sb: np.ndarray, model: tuple) -> bool:
    """Leave overlays out of ``v``'s strict agreement and lighting residual where the rules of
    :data:`OVERLAY_MAX` hold (cell grids of :func:`_dense`: NCC, textured and compared cells, each side's cell
    contrasts; ``model``: the lighting model, (the cell means it predicts, the cells' design rows, the global fit's
    coefficients), and for the colour model which way it looks). Returns whether it did."""
    target, design, coef = model[:3]
    spread = float(target[cm].std()) + 1.0
    off = (textured & (ncc_cells < 0.5)) | (cm & (np.abs(target - design @ coef) > OVERLAY_OFF * spread))
    if not off.any():
        return False
    flat_one_side = np.minimum(sa, sb) < OVERLAY_FLAT * np.maximum(sa, sb)
    if float(flat_one_side[off].mean()) < OVERLAY_FLAT_SHARE:
        return False
    covered = _covered(off, cm)
    share = float(covered.sum() / cm.sum())
    rest = textured & ~covered
    if not OVERLAY_MIN <= share <= OVERLAY_MAX or rest.sum() < 10:
        return False
    if _enclosed(covered, cm) and \
            min(_detail_share(sa, covered, cm), _detail_share(sb, covered, cm)) > OVERLAY_DETAIL:
        return False  # the pictures themselves would be left out: two pictures in one frame, not overlays
    strict = float((ncc_cells[rest] >= 0.8).mean())
    if strict < OVERLAY_REST_AGREES or strict < v.strict_agreement:
        return False
    kept = cm & ~covered
    residual, fit = _model_fit(design[kept], target[kept])
    if residual > OVERLAY_REST_LIGHTING:
        if fit is None:
            return False
        # a resampled copy's cell means move with their texture; other light moves the flat cells too
        off_fit = np.abs(target[kept] - design[kept] @ fit)
        if _median(off_fit / (np.maximum(sa, sb)[kept] + 2.0)) > OVERLAY_REST_TEXTURE:
            return False
    v.strict_agreement, v.lighting_residual, v.overlay = strict, min(residual, v.lighting_residual), share
    return True


def _covered(off: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """The cells an overlay covers: the ``off`` cells and their neighbours (partly covered), of ``cells``."""
    return (cv2.dilate(off.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & cells


def _enclosed(part: np.ndarray, cells: np.ndarray) -> bool:
    """Whether ``part`` lies inside ``cells`` clear of their edge (no cell of it on the edge of the compared area)."""
    inner = cv2.erode(cells.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                      borderValue=0) > 0
    return not (part & cells & ~inner).any()


def _detail_share(contrast: np.ndarray, part: np.ndarray, cells: np.ndarray) -> float:
    """The share of one picture's detail (its cells' ``contrast`` summed over ``cells``) that lies in ``part``."""
    return float(contrast[part & cells].sum() / max(float(contrast[cells].sum()), 1e-6))


def _overlay_share(off: np.ndarray, cells: np.ndarray) -> float:
    return float(_covered(off, cells).sum() / max(int(cells.sum()), 1))


def _model_fit(design: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray | None]:
    """The robust fit of ``y ~ design @ coef`` (``design`` (n, c)): (residual, coef), as :func:`_lighting_fit`
    (that one, for the grey model ``(x, 1)``) and :func:`_robust_residuals` (any other)."""
    if design.shape[1] == 2:
        return _lighting_fit(design[:, 0], y)
    if len(y) < 10:
        return 1.0, None
    residual, coef = _robust_residuals(design[None], y[None], coefficients=True)
    return float(residual[0]), coef[0]


def _colour_model(grey_a: np.ndarray, chroma_a: np.ndarray, grey_b: np.ndarray, chroma_b: np.ndarray,
                  cells: np.ndarray, quadratic: bool = False, fitted: tuple[int, np.ndarray] | None = None) -> tuple:
    """The colour lighting model over the grid (as :func:`_outside_overlays` takes a model): the direction of
    :func:`_colour_lighting_residual`'s two with the smaller residual over ``cells`` (``quadratic``: see
    :func:`_colour_design`), and which it is (0: ``b``'s grey from ``a``'s colour, 1: the other way). ``fitted``:
    that fit's (direction, coefficients) where :func:`_colour_fit` made it already over these cells (the same rows:
    the same numbers), so only the chosen direction's design rows are made."""
    if fitted is not None:
        k, coef = fitted
        grey, chroma, target = (grey_a, chroma_a, grey_b) if k == 0 else (grey_b, chroma_b, grey_a)
        return target.astype(np.float64), _colour_design(grey, chroma, quadratic), coef, k
    designs = [_colour_design(grey_a, chroma_a, quadratic), _colour_design(grey_b, chroma_b, quadratic)]
    targets = [grey_b.astype(np.float64), grey_a.astype(np.float64)]
    residual, coef = _robust_residuals(np.stack([d[cells] for d in designs]), np.stack([t[cells] for t in targets]),
                                       coefficients=True)
    k = int(np.argmin(residual))
    return targets[k], designs[k], coef[k], k


def _colour_design(grey: np.ndarray, chroma: np.ndarray, quadratic: bool = False) -> np.ndarray:
    """Design rows of the colour lighting fit (:func:`_colour_lighting_residual`): grey, chroma, 1, grey² / 255 (a
    gamma change: the grey level's square over 255, the same range as the grey level, for the normal equations);
    ``quadratic`` (where the colours changed, :data:`COLOUR_CHANGE`): the other second-order terms of the colour too
    (the chroma's squares and product, and each times the grey level; chroma about its neutral 128), scaled alike."""
    grey = grey.astype(np.float64)
    columns = [grey[..., None], chroma.astype(np.float64), np.ones_like(grey)[..., None], (grey ** 2 / 255)[..., None]]
    if quadratic:
        cb, cr = chroma[..., 0].astype(np.float64) - 128, chroma[..., 1].astype(np.float64) - 128
        columns.append(np.stack([cb * cb / 128, cr * cr / 128, cb * cr / 128, grey * cb / 255, grey * cr / 255], -1))
    return np.concatenate(columns, -1)


def _colour_change(chroma_a: np.ndarray, chroma_b: np.ndarray) -> float:
    """How far the colours of aligned cells moved ((n, 2) chroma each): the median distance between the cells' chroma
    once their median shift (a white balance) is taken off, over the chroma spread of the more colourful picture (+1).
    A colour edit moves the colours (a hue turn 30-180 degrees: 0.4 or more as a rule); a second photo of the thing
    keeps them (see :data:`COLOUR_CHANGE`). Symmetric."""
    shift = chroma_b.astype(np.float64) - chroma_a
    shift -= np.median(shift, 0)
    spread = max(float(np.sqrt(((c - c.mean(0)) ** 2).sum(1).mean())) for c in (chroma_a.astype(np.float64),
                                                                                  chroma_b.astype(np.float64)))
    return _median(np.linalg.norm(shift, axis=1)) / (spread + 1.0)


def _turned_share(chroma_src: np.ndarray, chroma_dst: np.ndarray, grey_src: np.ndarray, grey_dst: np.ndarray,
                  agreeing: np.ndarray, compared: np.ndarray) -> float:
    """The share of the ``compared`` cells (bool grid) whose hue was turned (:data:`RECOLOURED_TURN`): among the
    ``agreeing`` ones (their grey texture agrees, or they are flat), those coloured on both sides
    (:data:`RECOLOURED_CHROMA`) whose hue differs by RECOLOURED_TURN or more (a part turned one way, the rest
    another: two variants of one picture), unless one side is toned and the other is not (:data:`RECOLOURED_TONED`:
    sepia). Grey cells count on neither
    side: a grey copy has no hue to turn. ``grey_*``: the cells' grey means. Symmetric in the two sides. 0 where
    nothing was compared."""
    total = int(compared.sum())
    if not total:
        return 0.0
    src = chroma_src[agreeing].astype(np.float64) - 128.0
    dst = chroma_dst[agreeing].astype(np.float64) - 128.0
    coloured = (np.hypot(*src.T) >= RECOLOURED_CHROMA) & (np.hypot(*dst.T) >= RECOLOURED_CHROMA)
    turn = np.arctan2(dst[coloured, 1], dst[coloured, 0]) - np.arctan2(src[coloured, 1], src[coloured, 0])
    turned = np.abs(np.angle(np.exp(1j * turn))) >= np.radians(RECOLOURED_TURN)
    if not turned.any():
        return 0.0
    tones = [_toned(c, g[agreeing]) for c, g in ((src, grey_src), (dst, grey_dst))]
    if min(tones) <= RECOLOURED_TONED < max(tones):  # one side toned (sepia, a duotone), the other in colours
        return 0.0
    return float(turned.sum() / total)


def _toned(chroma: np.ndarray, grey: np.ndarray) -> float:
    """How far cells' chroma ((n, 2), centred) is from a linear function of their grey level ((n,)), over its spread
    (+1): near 0 for a toned picture (sepia, a duotone: each grey level has its one colour), 0.4 or more for a
    photo's colours (:data:`RECOLOURED_TONED`)."""
    design = np.stack([grey.astype(np.float64), np.ones(len(grey))], -1)
    rest = chroma - design @ np.linalg.lstsq(design, chroma, rcond=None)[0]
    return float(np.sqrt((rest ** 2).sum(1).mean()) / (np.sqrt(((chroma - chroma.mean(0)) ** 2).sum(1).mean()) + 1.0))


def _recoloured_ncc(colours: tuple[np.ndarray, np.ndarray], src_shape: tuple[int, int], warp: np.ndarray,
                    warped: np.ndarray, fd: np.ndarray, direction: int,
                    coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NCC of :func:`_dense`'s cells compared again, one side recoloured by the quadratic colour fit (``direction``
    0: the source's grey and colour predict the destination's grey, 1: the other way; ``coef``: the fit's, see
    :func:`_colour_design`), pixel by pixel (the colour thumbnail read between its pixels: colour changes slowly over
    a picture). A hue turn swaps which of two colours is the lighter, and a cell where they meet no longer correlates
    in grey; recoloured, it does again. ``colours``: the colour thumbnails of the source and the destination, ``warp``
    the source's grey thumbnail -> the destination's (2 x 3 or 3 x 3), ``warped`` and ``fd`` the two blurred grey
    thumbnails on the destination's grid. Returns the grid of cell NCCs (as :func:`_dense`'s), and the cell means of
    the recoloured side and of the other."""
    h, w = fd.shape
    if direction == 0:
        hm = _homogeneous(warp)
        chroma = cv2.warpPerspective(colours[0].astype(np.float32), hm @ _colour_to_grey(colours[0], src_shape),
                                     (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        predicted, other = _colour_design(warped, chroma, True) @ coef, fd
    else:
        chroma = cv2.resize(colours[1].astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        predicted, other = _colour_design(fd, chroma, True) @ coef, warped
    ca, cb = _cells(predicted.astype(np.float32)), _cells(other)
    mean_a, mean_b = ca.mean(-1), cb.mean(-1)
    ca = ca - mean_a[..., None]
    cb = cb - mean_b[..., None]
    return (ca * cb).mean(-1) / np.maximum(np.sqrt((ca * ca).mean(-1) * (cb * cb).mean(-1)), 1e-6), mean_a, mean_b


def _recoloured(v: Verification, colours: tuple[np.ndarray, np.ndarray], src_shape: tuple[int, int],
                warp: np.ndarray, warped: np.ndarray, fd: np.ndarray, textured: np.ndarray, compared: np.ndarray,
                direction: int, coef: np.ndarray, grey_ncc: np.ndarray) -> np.ndarray:
    """Raise ``v``'s agreements and median NCC where more of the ``textured`` cells agree recoloured
    (:func:`_recoloured_ncc`, the same arguments) or in grey (``grey_ncc``, the grid of the cells' grey NCC), cell by
    cell (:data:`RECOLOURED_OR_GREY`), and lower its lighting residual where the recoloured cells' means follow one
    brightness change more closely (the grey fit's, over the ``compared`` cells): the colour fit is made on cell means,
    and the grey levels of a colour edit bend within a cell too, which the means of the picture recoloured pixel by
    pixel follow."""
    grid, mean_a, mean_b = _recoloured_ncc(colours, src_shape, warp, warped, fd, direction, coef)
    light = _lighting_residual(mean_a[compared], mean_b[compared])
    ncc = (np.maximum(grid, grey_ncc) if RECOLOURED_OR_GREY else grid)[textured]
    strict = float((ncc >= 0.8).mean())
    if strict > v.strict_agreement:
        v.strict_agreement = strict
        v.agreement = max(v.agreement, float((ncc >= 0.5).mean()))
        v.median_ncc = max(v.median_ncc, _median(ncc))
    v.lighting_residual = min(v.lighting_residual, light)
    return grid


def _percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (its default, linear method), the very same float, for a 1-D float array:
    numpy's general quantile code cost 37 µs a call, four calls a dense check, for what is one partition and one
    interpolation (written out as numpy 2 does it: tests/test_scan_cost.py holds them equal)."""
    n = len(values)
    if n == 0 or np.isnan(values).any():
        return float(np.percentile(values, q))
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:
        return float(values.max())
    below = int(np.floor(virtual))
    part = np.partition(values, (below, below + 1))
    a, b, t = float(part[below]), float(part[below + 1]), virtual - below
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def _median(values: np.ndarray) -> float:
    """``float(np.median(values))``, the very same float, for a 1-D float array: numpy's general code (its NaN check
    and indexing around one partition and a mean) cost ~0.1 ms a call, four or five calls a dense check (tests/
    test_scan_cost.py holds them equal). The middle one, or the mean of the middle two as numpy takes it (in the
    array's own type)."""
    n = len(values)
    if n == 0 or np.isnan(values).any():
        return float(np.median(values))
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return float(part[k - 1:k + 1].mean())


def _lighting_residual(x: np.ndarray, y: np.ndarray) -> float:
    """Residual of ``y ~ a x + b`` over cell means, refitted without the worst fifth (captions, logos)."""
    return _lighting_fit(x, y)[0]


def _lighting_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray | None]:
    """:func:`_lighting_residual` and the fit's ``(a, b)`` (None with fewer than 10 cells)."""
    if len(x) < 10:
        return 1.0, None
    design = np.column_stack([x, np.ones_like(x)]).astype(np.float64)
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    kept = None
    for _ in range(3):  # a caption band pulls the first fit; refitting on the rest converges on the picture
        r = np.abs(y - design @ coef)
        keep = r <= _percentile(r, 80)
        if kept is not None and np.array_equal(keep, kept):
            break  # converged: the same cells fitted again give the same coefficients, and every round after them too
        coef = np.linalg.lstsq(design[keep], y[keep], rcond=None)[0]
        kept = keep
    r = np.abs(y - design @ coef)
    return float(min(1.0, _percentile(r, 75) / (float(y.std()) + 1.0))), coef


def _robust_residuals(design: np.ndarray, y: np.ndarray, coefficients: bool = False):
    """For each of k fits ``y[i] ~ design[i] @ coef`` (``design`` (k, n, c), ``y`` (k, n)): the residual of the
    least-squares fit refitted without the worst fifth of the rows until it converges on the picture (captions,
    logos), the 75th percentile of the absolute residuals over the spread of ``y[i]``: what :func:`_lighting_fit`
    measures, for several fits at once (1.0 with fewer than 10 rows). Solved on the normal equations, with a
    ridge too small to matter but where a column is constant (a grey picture's chroma: no colour to fit)."""
    k, n, c = design.shape
    if n < 10:
        return (np.ones(k), np.zeros((k, c))) if coefficients else np.ones(k)
    keep = np.ones((k, n))
    for _ in range(4):  # a caption band pulls the first fit; refitting on the rest converges on the picture
        weighted = design * keep[..., None]
        normal = weighted.transpose(0, 2, 1) @ design
        normal += np.eye(c) * (1e-9 * normal.diagonal(axis1=1, axis2=2).max(axis=1))[:, None, None]
        coef = np.linalg.solve(normal, (weighted.transpose(0, 2, 1) @ y[..., None]))
        r = np.abs(y - (design @ coef)[..., 0])
        keep = (r <= _percentiles(r, 80)[:, None]).astype(np.float64)
    residual = np.minimum(1.0, _percentiles(r, 75) / (y.std(axis=1) + 1.0))
    return (residual, coef[..., 0]) if coefficients else residual


def _percentiles(values: np.ndarray, q: float) -> np.ndarray:
    """:func:`_percentile` of each row of a 2-D float array without NaN, at once (the same floats)."""
    n = values.shape[1]
    virtual = (n - 1) * (q / 100)
    below = min(int(np.floor(virtual)), n - 2)
    part = np.partition(values, (below, below + 1), axis=1)
    a, b, t = part[:, below], part[:, below + 1], virtual - below
    if t >= 1:
        return b
    return np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)


def _colour_to_grey(colour: np.ndarray, grey_shape: tuple[int, int]) -> np.ndarray:
    """The 3 x 3 map from a colour thumbnail's pixel coordinates to its grey thumbnail's (``grey_shape``): both show
    the whole picture, pixel centres at whole numbers (OpenCV's convention)."""
    (ch, cw), (gh, gw) = colour.shape[:2], grey_shape
    return np.array([[gw / cw, 0.0, 0.5 * gw / cw - 0.5], [0.0, gh / ch, 0.5 * gh / ch - 0.5], [0.0, 0.0, 1.0]])


#: grey thumbnail pixels -> cell indices: cell k's pixels are CELL k ... CELL k + CELL - 1, its centre at k
_GREY_TO_CELLS = np.array([[1 / CELL, 0.0, -(CELL - 1) / (2 * CELL)], [0.0, 1 / CELL, -(CELL - 1) / (2 * CELL)],
                           [0.0, 0.0, 1.0]])


def _chroma_cells(colour_src: np.ndarray, colour_dst: np.ndarray, src_shape: tuple[int, int],
                  dst_shape: tuple[int, int], cells: tuple[int, int],
                  warp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chroma (Cb, Cr) of the two images at the centres of :func:`_dense`'s grid of ``cells`` (rows, columns),
    each a (rows, cols, 2) float array: the destination's colour thumbnail read at its cells' centres, the source's
    through ``warp`` (the dense check's map of the source's grey thumbnail, ``src_shape``, onto the destination's,
    ``dst_shape``: 2 x 3 affine or 3 x 3 homography). A colour thumbnail is a quarter of the grey one (colour
    changes slowly over a picture): a cell is two of its pixels, read between them (their mean)."""
    rows, cols = cells
    h = _homogeneous(warp)
    to_dst = _GREY_TO_CELLS @ _colour_to_grey(colour_dst, dst_shape)
    to_src = _GREY_TO_CELLS @ h @ _colour_to_grey(colour_src, src_shape)
    dst = cv2.warpAffine(colour_dst.astype(np.float32), to_dst[:2], (cols, rows), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    if warp.shape == (2, 3):
        src = cv2.warpAffine(colour_src.astype(np.float32), to_src[:2], (cols, rows), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
    else:
        src = cv2.warpPerspective(colour_src.astype(np.float32), to_src, (cols, rows), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    return src, dst


def _colour_lighting_residual(grey_a: np.ndarray, chroma_a: np.ndarray, grey_b: np.ndarray,
                              chroma_b: np.ndarray, quadratic: bool = False) -> float:
    """How far two aligned pictures' cell means are from one *colour* change (a hue turn, a tint, saturation,
    a channel mixer): one image's grey cell means against the other's colour cell means (luma ``grey_*`` (n,) and
    chroma ``chroma_*`` (n, 2): the span of R, G, B; four coefficients with the offset, and one for the grey level's
    square: a gamma change, see :data:`COLOUR_GAIN`; ``quadratic``: every second-order term, see
    :data:`COLOUR_CHANGE`), fitted as robustly as the grey fit (:func:`_robust_residuals`), both ways; the smaller
    residual.

    A colour edit moves each colour's grey level its own way (a hue turn darkens the reds and lightens the
    blues), which one brightness change over the grey cells cannot follow; the copy's grey is still (nearly) a
    linear mix of the original's R, G and B, a re-shot's is not.
    """
    return _colour_fit(grey_a, chroma_a, grey_b, chroma_b, quadratic)[0]


def _colour_fit(grey_a: np.ndarray, chroma_a: np.ndarray, grey_b: np.ndarray, chroma_b: np.ndarray,
                quadratic: bool = False) -> tuple[float, int, np.ndarray]:
    """:func:`_colour_lighting_residual`, the direction it took (0: ``b``'s grey from ``a``'s colour, 1: the other
    way) and that fit's coefficients (of :func:`_colour_design`)."""
    design = np.stack([_colour_design(grey_a, chroma_a, quadratic), _colour_design(grey_b, chroma_b, quadratic)])
    targets = np.stack([grey_b, grey_a]).astype(np.float64)
    residual, coef = _robust_residuals(design, targets, coefficients=True)
    k = int(np.argmin(residual))
    if not quadratic or not COLOUR_HARMONICS:
        return float(residual[k]), k, coef[k]
    # the hue's harmonics too (COLOUR_HARMONICS), for the residual alone: the recolouring keeps the quadratic fit
    harmonics = np.concatenate([design, np.stack([_colour_harmonics(chroma_a), _colour_harmonics(chroma_b)])], -1)
    return min(float(residual[k]), float(_robust_residuals(harmonics, targets).min())), k, coef[k]


def _colour_harmonics(chroma: np.ndarray) -> np.ndarray:
    """The hue's harmonics of :data:`COLOUR_HARMONICS` as design columns ((n, 2) chroma -> (n, 2 x harmonics)): the
    cosine and sine of each multiple of the chroma's angle, times the chroma's length (0 at grey: no hue there)."""
    cb, cr = chroma[..., 0].astype(np.float64) - 128, chroma[..., 1].astype(np.float64) - 128
    length, angle = np.hypot(cb, cr), np.arctan2(cr, cb)
    return np.stack([length * f(k * angle) for k in COLOUR_HARMONICS for f in (np.cos, np.sin)], -1)


def _quick_inliers(a: ImageFeatures, b: ImageFeatures, mirrored: bool, look: _QuickLook | None = None) -> int:
    """Inliers of a fit between the strongest keypoints only (see :data:`QUICK_A`), tried both ways: a
    crop blown up shows the original's strongest structures at a coarser scale, so one direction can
    miss what the other finds. ``look``: the pair's :class:`_QuickLook` (its nearest descriptors, both orientations)."""
    best = _quick_fit(a, b, mirrored, QUICK_A, QUICK_B, QUICK_INLIERS, look)
    if best == QUICK_INLIERS - 1:  # one short: a wider look (QUICK_WIDE_A), with a higher bar
        wide = _quick_fit(a, b, mirrored, QUICK_WIDE_A, QUICK_WIDE_B, QUICK_WIDE_INLIERS)
        if wide >= QUICK_WIDE_INLIERS:
            return wide
    return best


def _quick_fit(a: ImageFeatures, b: ImageFeatures, mirrored: bool, strongest: int, against: int, enough: int,
               look: _QuickLook | None = None) -> int:
    """The most inliers of a fit between the ``strongest`` keypoints of one image and the ``against`` strongest of the
    other, ``a`` to ``b`` first, then ``b`` to ``a`` unless that found ``enough``. ``look``: where the nearest
    descriptors of those keypoints are made (:class:`_QuickLook`), else here."""
    best = 0
    for x, y in ((a, b), (b, a)):
        pb, db = (y.mirror_points, y.mirror_descriptors) if mirrored else (y.points, y.descriptors)
        fit = _fit(x.points[:strongest], x.descriptors[:strongest], pb[:against], db[:against],
                   min_matches=QUICK_INLIERS, iterations=500,
                   nearest=None if look is None else look.nearest(x is a, mirrored, strongest, against))
        best = max(best, 0 if fit is None else int(fit[1].sum()))
        if best >= enough:
            break
    return best


def _quick_bases(y: ImageFeatures) -> tuple[np.ndarray, np.ndarray] | None:
    """What the quick look matches against in ``y``: its :data:`QUICK_B` strongest descriptors and its mirror's, or
    None where the two differ in length or are too short for a ratio test (the pair is then looked at by :func:`_fit`
    matching itself)."""
    bases = (y.descriptors[:QUICK_B], y.mirror_descriptors[:QUICK_B])
    return bases if len(bases[0]) == len(bases[1]) >= 2 else None


class _QuickLook:
    """The nearest descriptors the quick look (:data:`QUICK_A` x :data:`QUICK_B`) reads of a pair: one image's strongest
    against the other's and against the other's mirror in one product (:func:`~imagetwins.matching.nearest_two_each`),
    made when the first of the two is asked. The quick look asks both for ``a``'s (both orientations are looked at),
    and for ``b``'s unless ``a``'s found a fit: every look-alike turned away there, ~4 in 5 of the pairs a home
    library's first scan checks; the two products of an image cost ~30 us less than one then the other."""

    def __init__(self, a: ImageFeatures, b: ImageFeatures) -> None:
        self.a, self.b = a, b
        self._made: dict[bool, list | None] = {}

    def nearest(self, of_a: bool, mirrored: bool, strongest: int = QUICK_A,
                against: int = QUICK_B) -> tuple[np.ndarray, np.ndarray] | None:
        """:func:`~imagetwins.matching.nearest_two` of ``a``'s (``of_a``, else ``b``'s) strongest descriptors against
        the other's (``mirrored``: its mirror's), or None where the two bases differ in length or are too short, or
        the look asked is another than :data:`QUICK_A` x :data:`QUICK_B` (the wider look: :func:`_fit` then matches
        them itself)."""
        if (strongest, against) != (QUICK_A, QUICK_B):
            return None
        if of_a not in self._made:
            x, y = (self.a, self.b) if of_a else (self.b, self.a)
            bases = _quick_bases(y)
            query = x.descriptors[:QUICK_A]
            usable = len(query) >= 2 and bases is not None
            self._made[of_a] = nearest_two_each(query, bases) if usable else None
        made = self._made[of_a]
        return None if made is None else made[int(mirrored)]

    def turned_away(self) -> bool:
        """Whether the quick look is known to find no fit: both images' nearest descriptors made already (by
        :class:`QuickLooks`) and, both ways and in both orientations, fewer than :data:`QUICK_INLIERS` of them pass the
        ratio test, so that :func:`_fit` answers None for each of the four (no RANSAC drawn) and the wider look is
        not asked (it follows a fit one inlier short). Made nearest descriptors are needed: a look that makes its own
        on the way answers False."""
        if len(self._made) < 2:
            return False
        for made in self._made.values():
            if made is None:
                return False
            for dist, _ in made:
                if int(_ratio_passed(dist).sum()) >= QUICK_INLIERS:  # (_fit's ratio test and bar)
                    return False
        return True


#: partners of one image matched in one product by :class:`QuickLooks` (their strongest descriptors stacked against
#: its bases: CPU us a partner, 64 x 2 x 256 descriptors, on the shared 2-core machine: 92 alone, 63 with 2, 43-47 with
#: 4-32); the product's output is 128 KB a partner
QUICK_PARTNERS = 16


class QuickLooks:
    """The quick looks (:class:`_QuickLook`) of many pairs made together: for each image, the :data:`QUICK_A`
    strongest descriptors of up to :data:`QUICK_PARTNERS` of its partners, stacked, against its :data:`QUICK_B`
    strongest and its mirror's in one product (:func:`~imagetwins.matching.nearest_two_each`: each query row's two
    nearest in each base are its own, the very integers of one product a pair). An image is in ~10 pairs of a first
    scan (the CNN's look-alikes), and most pairs are turned away by the quick look alone, where the products, the calls
    around them and four ratio tests were most of a check (:meth:`_QuickLook.turned_away` answers those without a call
    to :func:`_fit`).

    ``pairs``: (features, features), each pair checked later by :func:`verify_pair` with ``looks=`` this object, which
    keeps the features it was given (a pair is known by their identity). A pair not among them, or whose bases are
    too short or differ in length, is looked at as without it: the same answers either way."""

    def __init__(self, pairs: Iterable[tuple[ImageFeatures, ImageFeatures]]) -> None:
        self._held: dict[int, ImageFeatures] = {}
        partners: dict[int, dict[int, ImageFeatures]] = {}
        for x, y in pairs:
            if x is y:
                continue
            for p, q in ((x, y), (y, x)):
                self._held[id(p)] = p
                partners.setdefault(id(p), {})[id(q)] = q
        self._made: dict[tuple[int, int], list] = {}  # (query image, base image) -> [(dist, first), mirrored's]
        for key, others in partners.items():
            with contextlib.suppress(Exception):  # (features no extract() made: their checks say why, as without)
                self._look(self._held[key], list(others.values()))

    def _look(self, y: ImageFeatures, others: list[ImageFeatures]) -> None:
        """The nearest descriptors of each of ``others`` in ``y`` and in its mirror, as :class:`_QuickLook` makes
        them, into ``_made``."""
        bases = _quick_bases(y)
        if bases is None:
            return
        others = [x for x in others if len(x.descriptors[:QUICK_A]) >= 2]
        for k in range(0, len(others), QUICK_PARTNERS):
            chunk = others[k:k + QUICK_PARTNERS]
            queries = [x.descriptors[:QUICK_A] for x in chunk]
            made = nearest_two_each(np.concatenate(queries), bases)
            at = 0
            for x, query in zip(chunk, queries):
                rows = slice(at, at + len(query))
                self._made[(id(x), id(y))] = [(dist[rows], first[rows]) for dist, first in made]
                at = rows.stop

    def of(self, a: ImageFeatures, b: ImageFeatures) -> _QuickLook:
        """The :class:`_QuickLook` of ``a`` against ``b``, with what was made of them here."""
        look = _QuickLook(a, b)
        if self._held.get(id(a)) is a and self._held.get(id(b)) is b:
            for of_a, (x, y) in ((True, (a, b)), (False, (b, a))):
                made = self._made.get((id(x), id(y)))
                if made is not None:
                    look._made[of_a] = made
        return look


_dtype_names: dict[np.dtype, bytes] = {}


def _dtype_name(dtype: np.dtype) -> bytes:
    """``str(dtype).encode()``, kept: numpy makes the name anew each time (a third of :func:`order_key`)."""
    name = _dtype_names.get(dtype)
    if name is None:
        name = _dtype_names[dtype] = str(dtype).encode()
    return name


def order_key(features: ImageFeatures) -> bytes:
    """A digest of every array of ``features``: :func:`verify_pair` checks a pair in the order of these keys.

    Equal keys mean equal features (SHA-256), for which the order does not matter either. Kept on the object
    once made (an image is checked against several candidates, and each check hashed both images' arrays
    again): features are not changed after they are made. The colour thumbnail's digest comes after that of the
    rest, so it decides only between features alike in all else: the order of every other pair is the one it was
    before features held colour (the RANSAC draws of a check depend on it).
    """
    if features._order_key is not None:
        return features._order_key
    h = hashlib.sha256(np.asarray(features.size, dtype=np.int64).tobytes())
    for arr in (features.points, features.descriptors, features.mirror_points, features.mirror_descriptors,
                features.thumbnail):
        arr = np.ascontiguousarray(arr)
        h.update(_dtype_name(arr.dtype) + np.asarray(arr.shape, dtype=np.int64).tobytes())
        h.update(arr.data)  # (the bytes of tobytes(), without copying them)
    colour = hashlib.sha256() if features.colour is None else hashlib.sha256(np.ascontiguousarray(features.colour).data)
    features._order_key = h.digest() + colour.digest()
    return features._order_key


def verify_pair(a: ImageFeatures, b: ImageFeatures, keep_matches: bool = False, *,
                confidence_only: bool = False, looks: QuickLooks | None = None) -> Verification:
    """Check whether one of ``a`` and ``b`` is a geometric copy of the other. Symmetric, exactly.

    The ratio test and the RANSAC fit look from one image to the other, so checking ``a`` against ``b`` and
    ``b`` against ``a`` can differ a little (before VERDICT_VERSION 4: by more than 0.01 on 12 of 400
    candidate pairs, flipping the decision at the default on 2). The pair is therefore always checked in
    one canonical order, that of :func:`order_key` (a digest of the features: no file name or argument
    order enters), and the answer is given back from ``a``'s side: ``verify_pair(a, b)`` is
    ``verify_pair(b, a).swapped()``, with the same confidence.

    Parameters
    ----------
    a, b : ImageFeatures
        From :func:`extract` (or a cache).
    keep_matches : bool
        Keep the inlier matches (:attr:`Verification.matches`) for a picture.
    confidence_only : bool
        Only the ``confidence`` is wanted (a search's pair scores): the frames (:attr:`Verification.frame_cover_a`
        ... :attr:`Verification.padded`, :attr:`Verification.rotation`) are left unmeasured where they cannot
        change it, a pair whose calibrated confidence is :data:`NOT_ONE_CAPTURE` or less (the frame rules only cap
        a confidence at that). The confidence is the very one of a full check.
    looks : QuickLooks, optional
        The quick looks of many pairs, this one among them, made together (:class:`QuickLooks`): the same check,
        with the quick look's products read from there.

    Returns
    -------
    Verification
        ``confidence`` 0 when the quick look (:data:`QUICK_A`) finds too few consistent matches in either
        orientation, or no transform could be fitted.
    """
    if order_key(b) < order_key(a):
        return _verify_ordered(b, a, keep_matches, confidence_only, looks).swapped()
    return _verify_ordered(a, b, keep_matches, confidence_only, looks)


def _verify_ordered(a: ImageFeatures, b: ImageFeatures, keep_matches: bool = False,
                    confidence_only: bool = False, looks: QuickLooks | None = None) -> Verification:
    """Check ``a`` against ``b`` in that order (see :func:`verify_pair`): by the keypoints' fit
    (:func:`_keypoint_check`), then, where that finds no copy on few inliers (:data:`PIXEL_ALIGN_BELOW`), under the
    alignment of the two thumbnails' pixels (:func:`_pixel_check`), kept where that finds a copy."""
    v, matched = _keypoint_check(a, b, keep_matches, confidence_only, looks)
    if v.confidence < DEFAULT_CONFIDENCE and v.inliers < PIXEL_ALIGN_BELOW \
            and (matched or min(len(a.points), len(b.points)) < PIXEL_FEW_KEYPOINTS):
        w = _pixel_check(a, b, keep_matches, confidence_only)
        # kept only where it finds a copy (every other answer stays the keypoints': a pair is no worse placed by it)
        # that agrees cell by cell all over, none of its cells left out as an overlay, which the keypoints' fit allows
        # a copy with a caption (a picture a canvas finder cut from a re-shot, its climber moved, aligned so)
        if w is not None and w.confidence >= DEFAULT_CONFIDENCE and not w.overlay:
            return w
    return v


def _keypoint_check(a: ImageFeatures, b: ImageFeatures, keep_matches: bool = False,
                    confidence_only: bool = False, looks: QuickLooks | None = None
                    ) -> tuple[Verification, bool]:
    """The check of ``a`` against ``b`` by their keypoints: the quick look, the full match, the dense comparison; and
    whether the quick look let the pair through to the full match."""
    _require_cv2()
    sides = ((b.points, b.descriptors), (b.mirror_points, b.mirror_descriptors))
    look = _QuickLook(a, b) if looks is None else looks.of(a, b)
    if look.turned_away():  # (what the quick look's four fits below answer then: none of them fits)
        return Verification(), False
    quick = [_quick_inliers(a, b, mirrored, look) for mirrored in (False, True)]
    v = Verification()
    if max(quick) < QUICK_INLIERS:
        return v, False
    # the orientation the quick look prefers first; the other only if the first is not clearly a match
    first = int(quick[1] > quick[0])
    best, mirrored = _fit(a.points, a.descriptors, *sides[first]), bool(first)
    if quick[1 - first] >= QUICK_INLIERS and (best is None or int(best[1].sum()) < CONFIDENT_INLIERS):
        other = _fit(a.points, a.descriptors, *sides[1 - first])
        if other is not None and (best is None or other[1].sum() > best[1].sum()):
            best, mirrored = other, not first
    if best is None:
        return v, True
    v = _checked(a, b, best, mirrored, keep_matches, confidence_only)
    if REVERSE_FIT and v.confidence < DEFAULT_CONFIDENCE and v.inliers < CONFIDENT_INLIERS:
        # the match the other way: the ratio test keeps other matches from b's side (a crop blown up, overlays or a
        # colour edit on one side leave each image's nearest descriptors in the other unlike), and RANSAC then draws
        # from them; the quick look looks both ways already, the full match did not
        side = sides[int(mirrored)]
        other = _fit(side[0], side[1], a.points, a.descriptors)
        if other is not None and int(other[1].sum()) >= 3:
            matrix, mask, qi, ti = other
            w = _checked(a, b, (cv2.invertAffineTransform(matrix), mask, ti, qi), mirrored, keep_matches,
                         confidence_only)
            # kept only as an alignment a copy gives, one frame (nearly) whole inside the other (padding counted),
            # at any rotation: a second fit is a second chance for a re-shot's chance alignment too
            if w.confidence > max(v.confidence, NOT_ONE_CAPTURE) and w.frame_cover >= FRAMING_COVER:
                v = w
    return v, True


def _checked(a: ImageFeatures, b: ImageFeatures, fit: tuple, mirrored: bool, keep_matches: bool,
             confidence_only: bool, least: int = FULL_INLIERS) -> Verification:
    """The check of ``a`` against ``b`` (see :func:`_verify_ordered`) once a transform is fitted: ``fit`` is
    (matrix a -> b, inlier mask, a's matched keypoints, b's), as :func:`_fit` gives it, ``mirrored`` whether b's
    mirrored keypoints were matched; ``least``: the inliers from which the pictures are compared cell by cell (0: an
    alignment found by the pixels, :func:`_pixel_check`)."""
    matrix, mask, qi, ti = fit
    v = Verification()
    v.inliers = int(mask.sum())
    v.inlier_ratio = v.inliers / len(mask) if len(mask) else 0.0
    v.mirrored = mirrored
    v.transform = matrix
    if keep_matches:
        pb = b.mirror_points if mirrored else b.points
        v.matches = [(tuple(p), tuple(q)) for p, q in zip(a.points[qi[mask]].tolist(), pb[ti[mask]].tolist())]
    if v.inliers >= least and not _shares_a_part(a, b, matrix, v):
        v.compared = True
        shared_blur: dict = {}  # (the blurred thumbnails, made once for the comparisons under the homographies too)
        _dense(a, b, matrix, v, shared_blur=shared_blur)
        aligned = matrix
        if v.strict_agreement < PERSPECTIVE_BELOW and v.inliers >= PERSPECTIVE_INLIERS:
            aligned = _perspective(a, b, matrix, mask, qi, ti, mirrored, v, shared_blur)
        if confidence_only:
            # the frame rules cap a confidence at NOT_ONE_CAPTURE, never lower: at or under it they change nothing
            # (most pairs that pass the quick look; the frames were ~1/5 of a full check)
            calibrated = v.calibrated_confidence
            if calibrated <= NOT_ONE_CAPTURE:
                v.confidence = float(_small_pictures_capped(calibrated, 1.0 - v.picture_ncc, np.asarray(CALIBRATION)))
                return v
        frames = _frames(a, b, aligned, mirrored, v)
        if frames is not None and v.calibrated_confidence > NOT_ONE_CAPTURE:
            _inner_detail(a, b, aligned, v, frames)  # (it caps at NOT_ONE_CAPTURE: measured only where that can matter)
            if v.pages:
                _page_beyond(a, b, aligned, v, frames)
    v.confidence = float(confidence_from(v.measurements()))
    return v


def _pixel_check(a: ImageFeatures, b: ImageFeatures, keep_matches: bool, confidence_only: bool
                 ) -> Verification | None:
    """The check of ``a`` against ``b`` under the alignment of their thumbnails' pixels (:func:`_pixel_alignment`),
    its inliers the keypoints it maps within :data:`RANSAC_PIXELS` of a keypoint of the other with a like descriptor
    (no ratio test); None where the pixels give no alignment (any of :func:`_pixel_alignment`'s refusals)."""
    matrix = _pixel_alignment(a, b)
    if matrix is None:
        return None
    mapped = a.points @ matrix[:, :2].T + matrix[:, 2]
    if len(mapped) and len(b.points):
        apart = np.linalg.norm(mapped[:, None, :] - b.points[None, :, :], axis=2)
        ti = apart.argmin(1)
        qi = np.flatnonzero(apart[np.arange(len(ti)), ti] <= RANSAC_PIXELS)
        ti = ti[qi]
        bits = np.unpackbits(a.descriptors[qi] ^ b.descriptors[ti], axis=1).sum(1)
        mask = bits <= PIXEL_DESCRIPTORS_ALIKE
    else:
        qi = ti = np.zeros(0, np.int64)
        mask = np.zeros(0, bool)
    return _checked(a, b, (matrix, mask, qi, ti), False, keep_matches, confidence_only, least=0)


#: the Hamming distance (of 256 bits) under which two keypoints mapped onto each other count as an inlier of a pixel
#: alignment (:func:`_pixel_check`; what ORB's descriptors of one corner seen twice stay within)
PIXEL_DESCRIPTORS_ALIKE = 64


#: a first look before the coarse search, at half its size (the thumbnails reduced 2 * PIXEL_COARSE times), at these of
#: PIXEL_SCALES (every other one, and the largest) in both directions: where it finds no place correlating by
#: PIXEL_FIRST_NCC or more, the pair has no alignment (a condition measured, not a bound). Most pairs that reach the
#: alignment are look-alikes (bench_home's 1,000-photo first scan: 706, none aligned, 646 turned away here, the
#: search's 32 calls ~1.1 ms a pair), while every alignment found in bench_plain_crops.py, quality.py and
#: bench_reshots.py reads 0.84 or more here (a side half as long forgives a scale 5.4 % off; BENCHMARKS.md "The pixel
#: alignment's cost")
PIXEL_FIRST = (*range(0, len(PIXEL_SCALES), 2), len(PIXEL_SCALES) - 1)
PIXEL_FIRST_NCC = 0.7
#: the pictures whose coarse look (:class:`_CoarseLook`) a thread keeps, the latest used (a search checks a picture
#: against several in a row: a quarter of the looks of bench_home's 1,000-photo first scan are kept ones)
PIXEL_LOOKS_KEPT = 32


class _CoarseLook:
    """What the coarse search of :func:`_pixel_alignment` needs of one picture, made once for all its pairs: its grey
    thumbnail reduced PIXEL_COARSE times, that halved again (the first look's) and, as they are first asked for, each
    of them scaled by PIXEL_SCALES."""

    __slots__ = ("coarse", "first", "_templates", "_first_templates")

    def __init__(self, thumbnail: np.ndarray):
        rows, cols = thumbnail.shape
        self.coarse = cv2.resize(thumbnail.astype(np.float32),
                                 (max(1, cols // PIXEL_COARSE), max(1, rows // PIXEL_COARSE)),
                                 interpolation=cv2.INTER_AREA)
        #: the reduced thumbnail halved again: the first look's (PIXEL_FIRST)
        self.first = cv2.resize(self.coarse, (max(1, self.coarse.shape[1] // 2), max(1, self.coarse.shape[0] // 2)),
                                interpolation=cv2.INTER_AREA)
        self._templates: dict[int, np.ndarray | None] = {}
        self._first_templates: dict[int, np.ndarray | None] = {}

    def first_template(self, k: int) -> np.ndarray | None:
        """:attr:`first` scaled by PIXEL_SCALES[k]; None where a side is under half PIXEL_MIN_SIDE (no spread asked:
        OpenCV's TM_CCOEFF_NORMED correlates a flat template by 1 everywhere, which sends the pair on to the search)."""
        if k not in self._first_templates:
            w, h = round(self.first.shape[1] * PIXEL_SCALES[k]), round(self.first.shape[0] * PIXEL_SCALES[k])
            self._first_templates[k] = cv2.resize(self.first, (w, h), interpolation=cv2.INTER_AREA) \
                if 2 * min(w, h) >= PIXEL_MIN_SIDE else None
        return self._first_templates[k]

    def template(self, k: int) -> np.ndarray | None:
        """The reduced thumbnail scaled by PIXEL_SCALES[k]; None where a side is under PIXEL_MIN_SIDE or its grey levels
        spread by less than PIXEL_MIN_SPREAD (not searched)."""
        if k not in self._templates:
            w, h = round(self.coarse.shape[1] * PIXEL_SCALES[k]), round(self.coarse.shape[0] * PIXEL_SCALES[k])
            small = None
            if min(w, h) >= PIXEL_MIN_SIDE:
                small = cv2.resize(self.coarse, (w, h), interpolation=cv2.INTER_AREA)
                if float(cv2.meanStdDev(small)[1][0, 0]) < PIXEL_MIN_SPREAD:
                    small = None
            self._templates[k] = small
        return self._templates[k]


def _coarse_look(features: ImageFeatures) -> _CoarseLook:
    """The coarse look of ``features``' thumbnail, kept for the PIXEL_LOOKS_KEPT pictures this thread looked at last
    (the features not held: a weak reference tells a kept look's picture from one made later at its address)."""
    kept = getattr(_per_thread, "coarse_looks", None)
    if kept is None:
        kept = _per_thread.coarse_looks = {}
    entry = kept.pop(id(features), None)
    if entry is None or entry[0]() is not features:
        entry = (weakref.ref(features), _CoarseLook(features.thumbnail))
        if len(kept) >= PIXEL_LOOKS_KEPT:
            del kept[next(iter(kept))]
    kept[id(features)] = entry  # (the latest used last: a dict keeps its order)
    return entry[1]


def _pixel_alignment(a: ImageFeatures, b: ImageFeatures) -> np.ndarray | None:
    """The 2 x 3 map (a's feature frame -> b's: a scale and a shift) under which one grey thumbnail, scaled by one of
    :data:`PIXEL_SCALES`, lies on a part of the other with the best normalised cross-correlation, or None where that is
    under :data:`PIXEL_NCC` (under :data:`PIXEL_COARSE_NCC` on the coarse search, or under :data:`PIXEL_FIRST_NCC` on
    the first look before it), or where it does not hold at one scale alone (:func:`_scale_drop`). Searched on the
    thumbnails reduced (:data:`PIXEL_COARSE`), refined at full size (:data:`PIXEL_FINE`, a few pixels round the place
    found) with the peak's place to a fraction of a pixel; each picture's reductions made once
    (:func:`_coarse_look`)."""
    looks = _coarse_look(a), _coarse_look(b)
    first = []
    for inner, outer in (looks, looks[::-1]):
        for k in PIXEL_FIRST:
            small = inner.first_template(k)
            if small is not None and small.shape[1] <= outer.first.shape[1] and small.shape[0] <= outer.first.shape[0]:
                first.append(cv2.minMaxLoc(cv2.matchTemplate(outer.first, small, cv2.TM_CCOEFF_NORMED))[1])
    if first and max(first) < PIXEL_FIRST_NCC:
        return None
    best: tuple | None = None
    for a_inner in (True, False):
        inner, outer = looks if a_inner else looks[::-1]
        for k, s in enumerate(PIXEL_SCALES):
            small = inner.template(k)
            if small is None or small.shape[1] > outer.coarse.shape[1] or small.shape[0] > outer.coarse.shape[0]:
                continue
            _, peak, _, at = cv2.minMaxLoc(cv2.matchTemplate(outer.coarse, small, cv2.TM_CCOEFF_NORMED))
            if best is None or peak > best[0]:
                best = (peak, a_inner, s, at)
    if best is None or not np.isfinite(best[0]) or best[0] < PIXEL_COARSE_NCC:
        return None
    return _refined_alignment(a, b, best)


def _refined_alignment(a: ImageFeatures, b: ImageFeatures, best: tuple) -> np.ndarray | None:
    """The map of :func:`_pixel_alignment` from the coarse search's ``best`` (its peak, whether a's thumbnail is the one
    scaled, the scale, the place in the reduced thumbnails): two rounds at full size round that place, None where
    they correlate under :data:`PIXEL_NCC` or the map holds at more than one scale (:func:`_scale_drop`)."""
    _, a_inner, coarse, (x0, y0) = best
    inner, outer = (a, b) if a_inner else (b, a)
    ti, to = inner.thumbnail.astype(np.float32), outer.thumbnail.astype(np.float32)
    # the place's centre in the full thumbnail, then two rounds round it: the coarse search's step, then a finer one
    k = PIXEL_COARSE
    centre = (k * (x0 + round(ti.shape[1] // k * coarse) / 2), k * (y0 + round(ti.shape[0] // k * coarse) / 2))
    fine: tuple | None = None
    for factors, reach in PIXEL_FINE:
        scale = coarse if fine is None else fine[1]
        if fine is not None:
            centre = (fine[3] + ti.shape[1] * fine[1] / 2, fine[4] + ti.shape[0] * fine[2] / 2)
        for f in factors:
            w, h = round(ti.shape[1] * scale * f), round(ti.shape[0] * scale * f)
            if w > to.shape[1] or h > to.shape[0] or min(w, h) < k * PIXEL_MIN_SIDE:
                continue
            left, top = max(0, round(centre[0] - w / 2) - reach), max(0, round(centre[1] - h / 2) - reach)
            window = to[top:min(to.shape[0], top + h + 2 * reach), left:min(to.shape[1], left + w + 2 * reach)]
            if window.shape[0] < h or window.shape[1] < w:
                continue
            small = cv2.resize(ti, (w, h), interpolation=cv2.INTER_AREA)
            if float(cv2.meanStdDev(small)[1][0, 0]) < PIXEL_MIN_SPREAD:
                continue
            scores = cv2.matchTemplate(window, small, cv2.TM_CCOEFF_NORMED)
            _, peak, _, (x, y) = cv2.minMaxLoc(scores)
            if fine is None or peak > fine[0]:
                fine = (peak, w / ti.shape[1], h / ti.shape[0], left + x + _peak_offset(scores[y, :], x),
                        top + y + _peak_offset(scores[:, x], y))
        if fine is None:
            return None
    if not np.isfinite(fine[0]) or fine[0] < PIXEL_NCC:
        return None
    _, sx, sy, x, y = fine
    if _scale_drop(ti, to, sx, sy, x, y) < PIXEL_SCALE_DROP:
        return None
    # inner's feature frame -> outer's, through the thumbnails (a thumbnail's pixel edges at k times the frame's; the
    # template's left edge at x): keypoints sit at pixel centres, half a pixel in from those edges
    ki, ko = ti.shape[1] / inner.size[0], to.shape[1] / outer.size[0]
    kyi, kyo = ti.shape[0] / inner.size[1], to.shape[0] / outer.size[1]
    gx, gy = sx * ki / ko, sy * kyi / kyo
    matrix = np.array([[gx, 0.0, 0.5 * gx + x / ko - 0.5], [0.0, gy, 0.5 * gy + y / kyo - 0.5]])
    if not a_inner:
        matrix = cv2.invertAffineTransform(matrix)
    return matrix.astype(np.float32)


#: an alignment by the pixels is kept only where it is one scale's: the detail of the two thumbnails (each less its
#: blur, PIXEL_DETAIL_BLUR px) correlates by PIXEL_SCALE_DROP less with the scaled one PIXEL_SCALE_OFF larger or smaller
#: (its centre kept, its place searched again a few pixels round). A single blob on a flat field (the moon in a night
#: sky, two shots) aligns at any scale near its own; bubbles or windows at several places align at one scale alone
PIXEL_SCALE_OFF = 1.1
PIXEL_SCALE_DROP = 0.1
PIXEL_DETAIL_BLUR = 3.0


def _detail(x: np.ndarray) -> np.ndarray:
    """``x`` less its blur: the detail that places it (a smooth sky's gradient correlates with itself anywhere)."""
    return x - cv2.GaussianBlur(x, (0, 0), PIXEL_DETAIL_BLUR)


def _scale_drop(ti: np.ndarray, to: np.ndarray, sx: float, sy: float, x: float, y: float) -> float:
    """How much less the detail of ``ti`` scaled by (``sx``, ``sy``) and placed at (``x``, ``y``) on ``to`` correlates
    with it there once scaled :data:`PIXEL_SCALE_OFF` times larger or smaller (the better of the two, searched a few
    pixels round the same centre); -1 where it cannot be measured."""
    detail_o = _detail(to)
    peaks = []
    for f in (1.0, PIXEL_SCALE_OFF, 1.0 / PIXEL_SCALE_OFF):
        w, h = round(ti.shape[1] * sx * f), round(ti.shape[0] * sy * f)
        cx, cy = x + ti.shape[1] * sx / 2, y + ti.shape[0] * sy / 2
        reach = 3
        left, top = max(0, int(round(cx - w / 2)) - reach), max(0, int(round(cy - h / 2)) - reach)
        right, bottom = min(to.shape[1], left + w + 2 * reach), min(to.shape[0], top + h + 2 * reach)
        if w < 2 or h < 2 or right - left < w or bottom - top < h:
            # (the window round its place is cut by the other's edge: the scaled thumbnail's centre, as wide and high
            # as that window, is compared in it. One reaching past the edge where the window still holds its size, the
            # window moved inside, is searched whole beside its place)
            w, h = min(w, right - left), min(h, bottom - top)
            if w < 8 or h < 8:
                return -1.0
        small = _detail(cv2.resize(ti, (round(ti.shape[1] * sx * f), round(ti.shape[0] * sy * f)),
                                   interpolation=cv2.INTER_AREA))
        ox, oy = (small.shape[1] - w) // 2, (small.shape[0] - h) // 2
        scores = cv2.matchTemplate(detail_o[top:bottom, left:right], small[oy:oy + h, ox:ox + w], cv2.TM_CCOEFF_NORMED)
        peaks.append(float(cv2.minMaxLoc(scores)[1]))
    if not all(np.isfinite(peaks)):
        return -1.0
    return peaks[0] - max(peaks[1:])


def _peak_offset(scores: np.ndarray, at: int) -> float:
    """The fraction of a pixel by which a parabola through ``scores[at - 1:at + 2]`` puts the peak beside ``at``."""
    if at <= 0 or at >= len(scores) - 1:
        return 0.0
    left, mid, right = float(scores[at - 1]), float(scores[at]), float(scores[at + 1])
    bend = left - 2 * mid + right
    return 0.0 if bend >= 0 else float(np.clip(0.5 * (left - right) / bend, -0.5, 0.5))


def _shares_a_part(a: ImageFeatures, b: ImageFeatures, matrix: np.ndarray, v: Verification) -> bool:
    """Whether under the full match's affine ``matrix`` (a's feature frame -> b's) the two frames share a part at most
    (:data:`EARLY_PART_COVER`, padding counted as :func:`_frames` counts it): then the frames go into ``v``
    (``frame_cover_a/b``, and ``coverage_a/b``, the exact polygons' shares the thumbnails' pixels would measure), and
    the pair is not compared cell by cell."""
    covers = _frame_covers(a, b, _homogeneous(matrix))
    if covers is None or _holds(a, b, covers, EARLY_PART_COVER):
        return False
    cover_a, cover_b = covers[2:]
    v.frame_cover_a, v.frame_cover_b = cover_a, cover_b
    v.coverage_a, v.coverage_b = cover_a, cover_b
    return True


def scene_around_cut(whole: ImageFeatures, cut: ImageFeatures, other: ImageFeatures, v: Verification,
                     whole_check: Verification | None = None) -> bool:
    """Whether the picture ``cut`` from ``whole``'s canvas (:mod:`imagetwins.canvas`) is a part of a scene ``whole``
    shows around it: ``v`` (the check of ``cut`` against ``other``, whole) aligns ``whole``'s frame with ``other``'s
    through the cut's place in ``whole`` (:func:`_cut_in_whole`), and beyond the cut, where ``other`` shows picture
    too, ``whole`` shows picture of its own that disagrees with it (cells of :data:`CELL` px textured in both, NCC
    under 0.5, clear of the cut's outline and the overlap's edge) over more of its thumbnail than the cut itself. A
    canvas shows nothing there (a screenshot's bars, a background, a grown canvas's corners: flat cells, and a
    caption's or a button's few); the canvas finder took a tile of a mosaic, an object on a floor, for a picture on a
    canvas, and the rest of the file is the rest of its own scene (two mosaics sharing a tile of one photo are no
    copies: each shows three others). ``whole_check``: the check of ``whole`` against ``other`` where made already (its
    alignment, through ``v``'s, may place the cut). False where it cannot be told (the cut not placed in ``whole``)."""
    cells = _cells_around_cut(whole, cut, other, v, whole_check)
    return cells is not None and cells[0] > cells[1]


#: the scale a placement of a picture cut from its canvas in its own file may be off by (:func:`_cut_in_whole`: the
#: cut is the file's pixels, turned; its scale in the file's feature frame is known from the two native sides)
CUT_SCALE_SLACK = 1.15
#: the share of a placed cut's frame that must lie inside its file's frame (:func:`_cut_in_whole`)
FRAMED_INSIDE_WHOLE = 0.9


def _cut_in_whole(whole: ImageFeatures, cut: ImageFeatures, v: Verification,
                  whole_check: Verification | None) -> np.ndarray | None:
    """Where ``cut`` (a picture cut from ``whole``'s canvas) lies in ``whole``: the 3 x 3 map of its feature frame into
    ``whole``'s, or None. Read from ``v`` (the cut against another image) and ``whole_check`` (``whole`` against that
    image) where they align alike, else from the check of the cut against ``whole``; a placement is taken only where it
    is one the cut can have: not mirrored, at the scale the two native sides give (within :data:`CUT_SCALE_SLACK`; the
    cut is ``whole``'s own pixels, turned upright), lying inside ``whole``'s frame (:data:`FRAMED_INSIDE_WHOLE`)."""
    if whole.native_side <= 0 or cut.native_side <= 0:
        return None
    expected = cut.native_side / whole.native_side

    def through_the_other() -> np.ndarray | None:  # (cut -> the other image -> whole: no check made)
        if whole_check is None or whole_check.transform is None or whole_check.mirrored != v.mirrored:
            return None
        return np.linalg.inv(_homogeneous(whole_check.transform)) @ _homogeneous(v.transform)

    def checked_inside() -> np.ndarray | None:  # (a check of its own: the cut is small in its file's features)
        inside = verify_pair(cut, whole)
        return None if inside.transform is None or inside.mirrored else _homogeneous(inside.transform)

    for placed in (through_the_other, checked_inside):
        try:
            m = placed()
        except np.linalg.LinAlgError:
            continue
        if m is None:
            continue
        det = float(np.linalg.det(m[:2, :2]))
        if det <= 0 or abs(np.log(np.sqrt(det) / expected)) > np.log(CUT_SCALE_SLACK):
            continue
        covers = _frame_covers(cut, whole, m)
        if covers is not None and covers[2] >= FRAMED_INSIDE_WHOLE:
            return m
    return None


def _cells_around_cut(whole: ImageFeatures, cut: ImageFeatures, other: ImageFeatures, v: Verification,
                      whole_check: Verification | None = None) -> tuple[int, int] | None:
    """:func:`scene_around_cut`'s two counts of ``whole``'s thumbnail cells: those beyond the cut where ``whole`` shows
    picture of its own that disagrees with ``other``'s, and the cut's own; None where they cannot be told."""
    if v.transform is None:
        return None
    placed = _cut_in_whole(whole, cut, v, whole_check)
    if placed is None:
        return None
    try:
        to_other = _homogeneous(v.transform) @ np.linalg.inv(placed)  # whole -> other
        ta, tb = whole.thumbnail, other.thumbnail
        sa_, sb_ = ta.shape[1] / whole.size[0], tb.shape[1] / other.size[0]
        back = np.linalg.inv(np.diag([sb_, sb_, 1.0]) @ to_other @ np.diag([1 / sa_, 1 / sa_, 1.0]))[:2]
    except np.linalg.LinAlgError:
        return None
    h, w = ta.shape
    det = abs(float(np.linalg.det(back[:, :2])))  # other's thumbnail shrinks (< 1) onto whole's: blurred first
    fa = cv2.GaussianBlur(ta.astype(np.float32), (0, 0), BLUR_SIGMA)
    fb = cv2.GaussianBlur(tb.astype(np.float32), (0, 0), BLUR_SIGMA / max(min(np.sqrt(det), 1.0), 0.05))
    warped = cv2.warpAffine(fb, back, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    seen = cv2.warpAffine(np.ones_like(fb), back, (w, h), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    seen = cv2.erode(seen.astype(np.uint8), np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT,
                     borderValue=0) > 0
    cw, ch = cut.size
    corners = np.array([[0, 0, 1], [cw, 0, 1], [cw, ch, 1], [0, ch, 1]], np.float64) @ placed.T
    picture = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(picture, np.round(corners[:, :2] / corners[:, 2:] * sa_ * 16).astype(np.int32), 1,
                       lineType=cv2.LINE_8, shift=4)
    clear = cv2.dilate(picture, np.ones((5, 5), np.uint8)) == 0  # (the blur mixes the cut's outline in)
    (ca, _, sa), (cb, _, sb) = _centred_cells(fa), _centred_cells(warped)
    beyond = _cells(seen & clear).all(-1)
    ncc = _cell_ncc(ca, sa, cb, sb)
    own = int((beyond & (sa > 3) & (sb > 3) & (ncc < 0.5)).sum())
    return own, int((_cells(picture).mean(-1) >= 0.5).sum())


def _perspective(a: ImageFeatures, b: ImageFeatures, matrix: np.ndarray, mask: np.ndarray, qi: np.ndarray,
                 ti: np.ndarray, mirrored: bool, v: Verification, shared_blur: dict | None = None) -> np.ndarray:
    """A photo of a screen or print (keystone) is a perspective change the affine map leaves part of: fit a
    homography to the affine fit's inliers and compare again; keep it where more of the picture agrees.
    Returns the alignment kept (the homography, or ``matrix``). ``shared_blur``: :func:`_dense`'s, from the affine
    fit's comparison."""
    pb = b.mirror_points if mirrored else b.points
    src, dst = a.points[qi[mask]], pb[ti[mask]]
    hmat, hmask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PIXELS)
    if hmat is None or hmask is None or int(hmask.sum()) < PERSPECTIVE_INLIERS:
        return matrix
    w = Verification(v.inliers, v.inlier_ratio, mirrored=v.mirrored, transform=v.transform)
    # below GUIDED_FROM the affine fit's comparison stands unless the homography's agrees more, so that one is cut
    # short where its cells show it cannot (#25: most of the keystone comparisons of pairs that share a part of a
    # picture, each ~1 ms)
    to_beat = v.strict_agreement if v.calibrated_confidence < GUIDED_FROM else None
    if _dense(a, b, matrix, w, homography=hmat, shared_blur=shared_blur, to_beat=to_beat) is None:
        return matrix
    so_far = w if w.strict_agreement > v.strict_agreement else v
    if w.strict_agreement < PERSPECTIVE_BELOW and max(v.agreement, w.agreement) >= GUIDED_AGREEMENT \
            and so_far.calibrated_confidence >= GUIDED_FROM:
        guided = _guided_homography(a.points[qi], pb[ti], hmat, int(hmask.sum()))
        # the frames first: they cost less than a dense comparison, and most pairs refused fail them
        if guided is not None and _one_frame_holds_the_other(a, b, guided):
            g = Verification(v.inliers, v.inlier_ratio, mirrored=v.mirrored, transform=v.transform)
            departure = _dense(a, b, matrix, g, homography=guided, departure_read=True,
                               shared_blur=shared_blur)
            if g.strict_agreement > w.strict_agreement and departure <= OVERLAY_REST_TEXTURE:
                w, hmat = g, guided
    if w.strict_agreement > v.strict_agreement:
        for name in _DENSE_MEASURES:
            setattr(v, name, getattr(w, name))
        return hmat
    return matrix


def _guided_homography(src: np.ndarray, dst: np.ndarray, hmat: np.ndarray, inliers: int) -> np.ndarray | None:
    """The homography refitted to every ratio-test match (``src`` -> ``dst``) it explains within
    :data:`RANSAC_PIXELS`, :data:`GUIDED_ROUNDS` times or until no more join; None when none join ``hmat``'s
    ``inliers``. A strong keystone leaves the affine fit's inliers in one part of the picture, and a homography
    fitted to them alone bends away from the rest."""
    found = None
    for _ in range(GUIDED_ROUNDS):
        proj = cv2.perspectiveTransform(src[:, None, :].astype(np.float64), hmat)
        if proj is None:
            break
        near = np.linalg.norm(proj[:, 0] - dst, axis=1) <= RANSAC_PIXELS
        if int(near.sum()) <= inliers:
            break
        refit, _ = cv2.findHomography(src[near], dst[near], 0)
        if refit is None:
            break
        hmat, inliers, found = refit, int(near.sum()), refit
    return found


def _features_of(path: str) -> tuple[str, ImageFeatures] | ReadFailure:
    try:
        data = read_bytes(path)
        # decoded as the copies method decodes (its hash and CNN keep the short side at DECODE_MIN_SIDE, the
        # features the long side at FEATURE_SIDE), so these are the features it extracts
        img = open_image(data, min_size=DECODE_MIN_SIDE, min_long_side=FEATURE_SIDE, path_for_messages=path)
        return content_digest(data), extract(img)
    except ImageReadError as exc:
        return ReadFailure(str(path), exc.reason)
    except Exception as exc:  # one odd file must not end the run
        return ReadFailure(str(path), f"cannot process ({type(exc).__name__}: {exc})")


def features_for_files(paths: Sequence[str | os.PathLike], workers: int | None = None,
                       on_done: Callable[[int], object] | None = None
                       ) -> tuple[dict[str, ImageFeatures], list[ReadFailure]]:
    """Decode files on ``workers`` threads (OpenCV and Pillow release the GIL) and extract their features;
    ``on_done(1)`` after each file (a progress bar's ``update``).

    Returns
    -------
    (dict, list)
        ``{path: ImageFeatures}`` for the files that decoded, and a :class:`ReadFailure` for each other.
    """
    from imagetwins.workers import default_workers

    workers = default_workers() if not workers or workers < 1 else workers
    out: dict[str, ImageFeatures] = {}
    failures: list[ReadFailure] = []
    with quiet_decoder_warnings(), ThreadPoolExecutor(max_workers=workers) as pool:
        for path, res in zip(paths, pool.map(_features_of, [os.fspath(p) for p in paths])):
            if isinstance(res, ReadFailure):
                failures.append(res)
            else:
                out[os.fspath(path)] = res[1]
            if on_done is not None:
                on_done(1)
    return out, failures


def consistent_matches(a: ImageFeatures, b: ImageFeatures) -> int:
    """How many of the two images' keypoint matches one affine map explains (ratio test, RANSAC), the larger of
    the two directions, so the count is the same whichever image comes first; mirrors are not tried.

    Two shots of one scene from about the same spot share tens of them, where two scenes that only look alike
    share a handful: the ``similar`` method adds this evidence to the CNN's similarity (re-shots are not copies,
    so no dense check follows). A map that squashes the picture (a singular value outside
    :data:`SCENE_SCALES`, or one over :data:`SCENE_ANISOTROPY` times the other) counts nothing: random matches
    on a repeated texture (stripes) fit such degenerate maps with 10-15 "inliers".
    """
    _require_cv2()
    counts = [0]
    for p, q in ((a, b), (b, a)):
        fit = _fit(p.points, p.descriptors, q.points, q.descriptors)
        if fit is not None:
            big, small = np.linalg.svd(fit[0][:, :2], compute_uv=False)
            if SCENE_SCALES[0] <= small and big <= SCENE_SCALES[1] and big <= SCENE_ANISOTROPY * small:
                counts.append(int(fit[1].sum()))
    return max(counts)


#: the scales (singular values of an affine map's linear part) two shots of one scene are seen at, and the most one
#: may exceed the other (a re-shot from another angle foreshortens, a matching texture collapses)
SCENE_SCALES = (0.25, 4.0)
SCENE_ANISOTROPY = 3.0


#: :func:`pasted_share`: samples this many thumbnail pixels inside and beyond a frame's edge (clear of the blur the
#: alignment and the resampling leave at it), and one more this far beyond, which must agree with the first (flat)
PASTED_OFFSET = PADDING_MARGIN + 1
PASTED_FLAT_STEP = 2


def pasted_share(v: Verification, a: ImageFeatures, b: ImageFeatures) -> float | None:
    """Where ``b``'s frame lies inside ``a``'s once aligned (``v``: the check of ``a`` against ``b``, whole images),
    the share of its edge, looked at in ``a``'s thumbnail, along which ``a`` is a picture pasted on something else:
    just beyond the edge ``a`` is flat (two samples :data:`PASTED_FLAT_STEP` px apart within :data:`PADDING_SPREAD`
    grey levels) and the picture just inside is not that level going on (more than :data:`PADDING_SPREAD` from it).
    A canvas, a background, a screenshot's bars are flat along a pasted picture's edge and end there; the scene
    around a crop goes on across it: textured there, or flat at the level of the picture inside (a sky). Edges
    along ``a``'s own border are not looked at. None: no transform, or fewer than 16 samples. Not part of the
    confidence: the keep stage's reading of a pair (``imagetwins.copies.framed_picture``)."""
    if v.transform is None:
        return None
    try:
        back = np.array([[0, 0, 1], [b.size[0], 0, 1], [b.size[0], b.size[1], 1], [0, b.size[1], 1]],
                        np.float64) @ np.linalg.inv(_homogeneous(v.transform)).T
    except np.linalg.LinAlgError:
        return None
    if np.any(back[:, 2] <= 1e-9):
        return None
    thumb = a.thumbnail.astype(np.float64)
    th, tw = thumb.shape
    quad = back[:, :2] / back[:, 2:] * (tw / a.size[0])
    centre = quad.mean(axis=0)
    inside, beyond, further = [], [], []
    for k in range(4):
        p, q = quad[k], quad[(k + 1) % 4]
        edge = q - p
        length = float(np.hypot(*edge))
        if length < 1:
            continue
        normal = np.array([edge[1], -edge[0]]) / length
        if np.dot(normal, (p + q) / 2 - centre) < 0:  # (pointing away from the picture)
            normal = -normal
        t = np.linspace(0.05, 0.95, max(2, int(length)))[:, None]
        points = p + t * edge
        for out, d in ((inside, -PASTED_OFFSET), (beyond, PASTED_OFFSET), (further, PASTED_OFFSET + PASTED_FLAT_STEP)):
            out.append(np.round(points + d * normal).astype(np.int64))
    if not inside:
        return None
    pin, pout, pfar = (np.concatenate(x) for x in (inside, beyond, further))
    ok = np.all((pfar >= 0) & (pfar < [tw, th]) & (pin >= 0) & (pin < [tw, th]), axis=1)
    if ok.sum() < 16:
        return None
    level_in = thumb[pin[ok, 1], pin[ok, 0]]
    level_out = thumb[pout[ok, 1], pout[ok, 0]]
    level_far = thumb[pfar[ok, 1], pfar[ok, 0]]
    pasted = (np.abs(level_out - level_far) <= PADDING_SPREAD) & (np.abs(level_in - level_out) > PADDING_SPREAD)
    return float(pasted.mean())
