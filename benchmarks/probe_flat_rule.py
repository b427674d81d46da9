"""How many pairs of ``benchmarks/quality.py``'s sets the flat-picture rule touches (33cc47f: ``copies.flat_tone``,
``copies.flat_pictures_apart``, constants ``FLAT_SPREAD`` and ``FLAT_TONE_APART``, set on colour swatches and their
re-saves). A count only: nothing is changed.

    python benchmarks/probe_flat_rule.py --no-write --no-cnn8 --workdir /tmp/flat-default
    python benchmarks/probe_flat_rule.py --no-write --families --family-originals 20 --workdir /tmp/flat-families

The arguments are quality.py's (give a fresh ``--workdir``: a set read from quality.py's cache is not measured). Its
run is the same; ``copies._confidences`` is wrapped to look again, with the rule's own functions, at every hash-sure
pair it scored: how many pairs have two flat pictures, how many the rule set to 0 (and how many of those are true
copies of the set: recall the rule would cost), and how near the rule the pictures of those pairs are (their
keypoints against ``verify.MIN_MATCHES``, the largest spread of their grey and colour thumbnails against
``FLAT_SPREAD``). One ``FLATSET`` line per set, then ``FLATCOUNT`` with the whole count as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import quality  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.verify import MIN_MATCHES  # noqa: E402

_confidences = copies._confidences
_encode_set = quality.encode_set
COUNTS: dict[str, dict] = {}
STATE: dict = {"set": None, "pending": []}


def _nearness(x) -> tuple[int, float] | None:
    """A row's keypoints and the largest spread of its grey and colour thumbnails (None: unreadable features)."""
    try:
        f = x.features
    except (OSError, ValueError):
        return None
    grey = float(np.asarray(f.thumbnail, np.float32).std())
    colour = (float(np.asarray(f.colour, np.float32).reshape(-1, 2).std(axis=0).max()) if f.colour is not None
              else 0.0)
    return len(f.points), max(grey, colour)


def counted_confidences(features_a, features_b, left, right, dist, workers, hash_sure, *args, **kwargs):
    out = _confidences(features_a, features_b, left, right, dist, workers, hash_sure, *args, **kwargs)
    c = COUNTS.setdefault(STATE["set"], {"sure": 0, "both_flat": 0, "fired": 0, "fired_true_copies": 0,
                                         "fired_pairs": [], "rows": {}})
    side_b = 0 if features_a is features_b else 1
    tones: dict = {}

    def tone(side: int, i: int):
        if (side, i) not in tones:
            x = (features_a, features_b)[side][i]
            tones[(side, i)] = copies.flat_tone(x)
            c["rows"][(side, i)] = _nearness(x)
        return tones[(side, i)]

    for k in np.flatnonzero(np.asarray(dist) <= hash_sure).tolist():
        c["sure"] += 1
        ta, tb = tone(0, int(left[k])), tone(side_b, int(right[k]))
        c["both_flat"] += ta is not None and tb is not None
        if copies.flat_pictures_apart(ta, tb):
            c["fired"] += 1
            if side_b == 0:
                STATE["pending"].append((int(left[k]), int(right[k])))
    return out


def counted_encode_set(name: str, files, *args, **kwargs) -> dict:
    STATE["set"], STATE["pending"] = name, []
    data = _encode_set(name, files, *args, **kwargs)
    c = COUNTS.get(name)
    if c is None:
        print(f"FLATSET {name}: read from quality.py's cache, not measured (give a fresh --workdir)", flush=True)
        return data
    paths = [Path(str(p)) for p in data["paths"].tolist()]
    for i, j in STATE["pending"]:
        a, b = paths[i], paths[j]
        same = quality.group_of(a) == quality.group_of(b) and not a.stem.startswith("ukbench")
        c["fired_true_copies"] += same
        c["fired_pairs"].append((a.name, b.name, same))
    rows = [r for r in c["rows"].values() if r is not None]
    few = [spread for n, spread in rows if n < MIN_MATCHES]
    c.update(rows_looked_at=len(rows), rows_under_min_matches=len(few),
             least_spread_under_min_matches=round(min(few), 2) if few else None,
             least_spread=round(min(s for _, s in rows), 2) if rows else None)
    print(f"FLATSET {name}: {c['sure']} hash-sure pairs, {len(rows)} pictures in them ({len(few)} with fewer than "
          f"{MIN_MATCHES} keypoints; least spread {c['least_spread']}), {c['both_flat']} pairs of two flat pictures, "
          f"{c['fired']} set to 0 by the rule ({c['fired_true_copies']} of them true copies)", flush=True)
    return data


def main() -> None:
    copies._confidences = counted_confidences
    quality.encode_set = counted_encode_set
    sys.argv[0] = str(ROOT / "benchmarks" / "quality.py")
    quality.main()
    print("FLATCOUNT " + json.dumps({s: {k: v for k, v in c.items() if k != "rows"} for s, c in COUNTS.items()}),
          flush=True)


if __name__ == "__main__":
    main()
