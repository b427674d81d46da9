"""Where a ``copies`` first scan's verification goes, stage by stage: one thread, CPU time (issue #25).

    nice -n 10 python benchmarks/profile_copies_verify.py FOLDER [--rows ROWS.pkl]

FOLDER's pictures are encoded as a scan encodes them (``--rows``: the rows kept in that file by an earlier run, read
instead where it exists, written where it does not), the pairs a first scan checks found as ``find`` finds them
(``copies.scored_candidates``: every round, the CNN's, the hash's and the descriptor votes' proposals), then all those
checks made again on this thread with the forked checker's very code (``copies.request_rows``, ``quick_looks``,
``request_answers``: the confidences of a search) while the stages of a check are timed in thread CPU seconds, each
without the stages it calls: the quick looks made together, the fits (the quick fits, the wider look, the full match:
its products and RANSAC apart), the part rule, the cell-by-cell comparisons (the first and those under a homography),
the lighting fits, the canvases, the homographies, the frames, and what is left of a check (its Python). Prints a
table and the checks' answers by kind. Writes nothing but ``--rows``.

``bench_home.py``'s library (``/tmp/imagetwins-home/library-1000-5-5``) is the one #25 measures: its look-alike mosaics
share source tiles, so most checks are the CNN's proposals turned down.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from imagetwins import copies, encoding, matching, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

#: (module, function, stage): each stage's thread CPU counted without the stages it calls (None: the matching's
#: products, the wider look's apart from the full match's by their size)
STAGES = ((verify, "_fit", "fits: ratio test, RANSAC, the rest"), (verify, "nearest_two", None),
          (verify, "_shares_a_part", "part rule (frames share a part)"), (verify, "_dense", "cell-by-cell comparisons"),
          (verify, "_lighting_fit", "lighting fits"), (verify, "_canvas_of", "canvases (first made)"),
          (verify, "_perspective", "homographies (fit, guided refit)"), (verify, "_frames", "frames"),
          (verify, "_inner_detail", "inner detail"), (verify, "_pixel_alignment", "pixel alignments"),
          (copies, "verify_records", "a check's Python (the rest)"))


def _rows(folder: Path, kept: Path | None) -> list:
    if kept is not None and kept.is_file():
        return pickle.loads(kept.read_bytes())
    paths = sorted(str(p) for p in folder.iterdir() if p.is_file())
    t = time.process_time()
    rows = encoding.encode_files(paths, [get_encoder("copies")], workers=2).by_method["copies"]
    print(f"encoded {len(rows)} pictures: {time.process_time() - t:.1f} CPU s", flush=True)
    if kept is not None:
        kept.write_bytes(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--rows", type=Path, default=None, help="the encoded rows kept here (pickle) between runs")
    a = ap.parse_args()
    rows = _rows(a.folder, a.rows)
    left, right, dist, _ = copies.scored_candidates(rows, workers=2)
    checked = dist > copies.HASH_SURE
    left, right = left[checked], right[checked]
    order = copies.cache_order(left, right)
    sides = copies.stack_rows(rows)[2]
    payloads, pairs = copies._batch_request(sides, sides, left[order], right[order])
    request = copies.request_rows(payloads)
    copies.request_answers(request, pairs[:3])  # (OpenCV and onnxruntime's session made before the clock)
    for row in request:  # (the canvases the warm-up made forgotten: a run makes each once)
        for features in (getattr(row, "_features", None), getattr(row, "_alt_features", None)):
            if isinstance(features, verify.ImageFeatures):
                features._canvas = None
    verify._per_thread.__dict__.pop("coarse_looks", None)  # (and the pixel alignment's kept looks, as the canvases)

    spent: Counter = Counter()
    calls: Counter = Counter()
    inner: list[float] = []

    def timed(function, named):
        def wrapper(*args, **kwargs):
            stage = named or ("fits: the wider look's products" if len(args[0]) <= verify.QUICK_WIDE_A else
                              "fits: the full match's products")
            start = time.thread_time()
            inner.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                took = time.thread_time() - start
                spent[stage] += took - inner.pop()
                calls[stage] += 1
                if inner:
                    inner[-1] += took
        return wrapper

    originals = [getattr(module, name) for module, name, _ in STAGES]
    for module, name, stage in STAGES:
        setattr(module, name, timed(getattr(module, name), stage))
    try:
        start = time.thread_time()
        looks = copies.quick_looks(request, pairs)
        spent["quick looks made together"] = time.thread_time() - start
        calls["quick looks made together"] = len(pairs)
        answers = []
        for k in range(0, len(pairs), copies.PROCESS_BATCH):
            answers += copies.request_answers(request, pairs[k:k + copies.PROCESS_BATCH], looks)
        total = time.thread_time() - start
    finally:
        for (module, name, _), function in zip(STAGES, originals):
            setattr(module, name, function)
    spent["between the checks"] = total - sum(spent.values())
    engine = "onnxruntime" if matching.session() else "OpenCV"
    print(f"{len(pairs):,} checks of {len(rows):,} pictures: {total:.2f} CPU s on one thread "
          f"({1000 * total / max(len(pairs), 1):.2f} ms a check; matching by {engine})")
    print("| stage | calls | CPU s | share |\n| --- | ---: | ---: | ---: |")
    for stage, seconds in spent.most_common():
        print(f"| {stage} | {calls[stage]:,} | {seconds:.3f} | {seconds / total:.0%} |")
    # (an answer is the kept score, scores.stored_score: the confidence plus twice the kept verdict's code, negated
    # where recoloured; over LOOK_PENDING / 2 where left to a look at the files)
    kept = [abs(float(x)) for x in answers if not isinstance(x, str)]
    kinds = Counter("left to the files" if v > copies.LOOK_PENDING / 2 else
                    ("copy" if v >= verify.DEFAULT_CONFIDENCE else "no copy (the confidence)", "re-shot",
                     "unrelated")[min(int(v // 2), 2)] for v in kept)
    print("answers:", dict(kinds), "| could not be checked:", len(answers) - len(kept))


if __name__ == "__main__":
    main()
