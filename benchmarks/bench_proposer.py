"""Copies lost to the proposer: verifiable copies that ``copies`` never proposes in a folder of look-alikes.

    python benchmarks/bench_proposer.py                # the method as it is (~3 CPU min with the encoding)
    python benchmarks/bench_proposer.py --votes        # and with descriptor votes added (a prototype, below)
    python benchmarks/bench_proposer.py --lookalikes   # the cost on ukbench groups 0-74 (look-alikes, re-shots)
    python benchmarks/bench_proposer.py --votes --source heldout   # HELD OUT: ukbench groups 75-149 as originals
    python benchmarks/bench_proposer.py --vote-scale   # the prototype's vote search on 420 to 1,830 images

FIT split only (issue 24: choose here, report held out): photos-public photos 40-249 (``quality.py --families``
uses 0-39), each saved as it is and as two random combinations of 2-3 edit families (``edits.combo`` with the seeds
[4242, k] and [4343, k]). Each pool (the 210 originals and one combination of each: 420 images) is one folder, as a
user's would be. A copy *verifies* when ``copies.verify_records(original, copy)`` reaches the default confidence;
it is *found* when the method run on the whole folder puts it in its original's group; *lost* otherwise. "pairs
checked": the candidate pairs verified (beyond the hash's sure distance). CPU: user+sys of this process.
HELD OUT (``--source heldout``): the same with ukbench groups 75-149 (300 views, 4 of each object, camera stamps
left out) as the originals: a folder of look-alikes and re-shots, where a match across objects is a wrong copy.

``--votes``: a prototype proposer, measured here and not in the method: each image's 64 strongest ORB descriptors
(those of its picture cut from a canvas too; mirrored ones on the other side), 8 hash tables of 24 of the 256 bits,
a vote for (descriptor, other image) when they share a bucket (buckets over 32 entries skipped); each image
proposes its ``--votes-k`` images with the most votes (at least 3). It needs every image's descriptors, which an
incremental run does not read for the images already indexed (their heads hold hashes and CNN vectors only).
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import DATASETS  # noqa: E402

from imagetwins import copies, edits, search  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.io import open_image  # noqa: E402

POOLS = (4242, 4343)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def encoded(work: Path, name: str, files) -> list:
    """The copies records of ``files`` (made once, kept in ``work``)."""
    cache = work / f"{name}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    files = list(files)
    enc = get_encoder("copies").for_workers(2).encode_files(files, workers=2, warn=False)
    assert not enc.failures and len(enc.paths) == len(files)
    records = list(enc.encodings)
    cache.write_bytes(pickle.dumps(records))
    return records


def photos_of(source: str) -> list[Path]:
    """The originals: FIT photos-public 40-249, or HELD-OUT ukbench groups 75-149 (4 views of each object)."""
    if source == "heldout":
        return [DATASETS / "ukbench-600" / "images" / f"ukbench{i:05d}.jpg" for i in range(300, 600)]
    return sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[40:250]


def pool_folder(work: Path, source: str) -> tuple[list[str], list]:
    """(names, records): x{k}_orig.jpg and x{k}_c{seed}.jpg for each original of ``source``."""
    name = "fit" if source == "fit" else source
    folder = work / name
    if not (work / f"{name}.pkl").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for k, p in enumerate(photos_of(source)):
            img = open_image(p)
            img.save(folder / f"x{k:03d}_orig.jpg", quality=92)
            for seed in POOLS:
                edits.combo(img, np.random.default_rng([seed, k])).save(folder / f"x{k:03d}_c{seed}.jpg", quality=92)
    files = sorted(folder.glob("*.jpg"))
    return [p.name for p in files], encoded(work, name, files)


def vote_pairs(records, strongest: int = 64, tables: int = 8, bits: int = 24, bucket: int = 32, seed: int = 7):
    """(left, right, votes) of image pairs sharing a bucket of the descriptor hash (the prototype, see above)."""
    desc, owner, query = [], [], []
    for i, r in enumerate(records):
        for f in (r.features, r.alt_features):
            if f is None:
                continue
            for d, q in ((f.descriptors[:strongest], True), (f.mirror_descriptors[:strongest], False)):
                desc.append(d)
                owner.append(np.full(len(d), i))
                query.append(np.full(len(d), q))
    desc, owner, query = np.concatenate(desc), np.concatenate(owner), np.concatenate(query)
    n = len(records)
    unpacked = np.unpackbits(desc, axis=1)
    rng = np.random.default_rng(seed)
    weights = 1 << np.arange(bits, dtype=np.int64)
    votes = []
    for _ in range(tables):
        key = unpacked[:, rng.choice(256, bits, replace=False)].astype(np.int64) @ weights
        order = np.argsort(key, kind="stable")
        ks = key[order]
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        sizes = np.diff(np.r_[starts, len(ks)])
        for s in range(2, bucket + 1):
            at = starts[sizes == s]
            if not len(at):
                continue
            a, c = np.triu_indices(s, 1)
            a, c = order[at[:, None] + a].ravel(), order[at[:, None] + c].ravel()
            other = owner[a] != owner[c]
            a, c = a[other], c[other]
            votes += [a[query[a]] * n + owner[c[query[a]]], c[query[c]] * n + owner[a[query[c]]]]
    if not votes:
        e = np.empty(0, np.int64)
        return e, e, e
    u = np.unique(np.concatenate(votes))
    i, j = owner[u // n], u % n
    pairs, count = np.unique(np.minimum(i, j) * n + np.maximum(i, j), return_counts=True)
    return pairs // n, pairs % n, count


def vote_proposals(records, k: int, least: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Each image's ``k`` partners with the most votes (at least ``least``): pairs ``i < j``."""
    left, right, count = vote_pairs(records)
    keep = count >= least
    rows = np.concatenate([left[keep], right[keep]])
    cols = np.concatenate([right[keep], left[keep]])
    v = np.concatenate([count[keep], count[keep]])
    order = np.lexsort((cols, -v, rows))
    rows, cols = rows[order], cols[order]
    first = np.r_[0, np.flatnonzero(rows[1:] != rows[:-1]) + 1]
    rank = np.arange(len(rows)) - np.repeat(first, np.diff(np.r_[first, len(rows)]))
    n = len(records)
    pairs = np.unique(np.minimum(rows, cols)[rank < k] * n + np.maximum(rows, cols)[rank < k])
    return pairs // n, pairs % n


def run(records, votes_k: int = 0, **kw):
    """copies.scored_candidates on ``records``, with the prototype's pairs added to the proposal when votes_k."""
    original = copies.candidate_pairs

    def with_votes(hashes, vectors, *a, **k):
        out = original(hashes, vectors, *a, **k)
        left, right = vote_proposals(records, votes_k)
        n = len(hashes)
        keys, dist = copies._unique(np.concatenate([out[0] * n + out[1], left * n + right]),
                                    np.concatenate([out[2], np.full(len(left), 256, np.int32)]))
        return (keys // n, keys % n, dist) + tuple(out[3:])

    if votes_k:
        copies.candidate_pairs = with_votes
    try:
        t = cpu()
        left, right, dist, conf = copies.scored_candidates(records, copies.DEFAULT_CONFIDENCE, 2, **kw)
        return left, right, dist, conf, cpu() - t
    finally:
        copies.candidate_pairs = original


def cnn_rank(records, a: int, b: int) -> tuple[float, int]:
    """The CNN similarity of images a and b (best of image and picture cut from a canvas) and b's place among a's
    and a's among b's neighbours, the nearer of the two (0: the nearest)."""
    hashes, vectors, _, alt = copies.stack_rows(records)
    _, v, owner = copies._extended(hashes, vectors, alt)
    v = v.astype(np.float32)
    best = np.full((2, len(records)), -1.0, np.float32)
    for side, i in enumerate((a, b)):
        np.maximum.at(best[side], owner, (v[owner == i] @ v.T).max(axis=0))
        best[side, i] = -1
    s = best[0, b]
    return float(s), int(min((best[0] > s).sum(), (best[1] > s).sum()))


def fit_main(args, work: Path) -> None:
    names, records = pool_folder(work, args.source)
    if args.source != "fit":  # views of one object are re-shots, never copies: their capture stamps left out
        for r in records:
            r.capture = None
    direct_file = work / ("direct.json" if args.source == "fit" else f"direct-{args.source}.json")
    if direct_file.exists():
        direct = json.loads(direct_file.read_text())
    else:
        at = {name: i for i, name in enumerate(names)}
        direct = {name: copies.verify_records(records[at[name[:4] + "_orig.jpg"]], records[i]).confidence
                  for i, name in enumerate(names) if "_c" in name}
        direct_file.write_text(json.dumps(direct))
    for seed in POOLS:
        keep = [i for i, name in enumerate(names) if "orig" in name or f"_c{seed}" in name]
        sub, recs = [names[i] for i in keep], [records[i] for i in keep]
        at = {name: i for i, name in enumerate(sub)}
        truth = [(at[name[:4] + "_orig.jpg"], i) for i, name in enumerate(sub)
                 if "_c" in name and direct[name] >= copies.DEFAULT_CONFIDENCE]
        for k in [0] + ([args.votes_k] if args.votes else []):
            left, right, dist, conf, seconds = run(recs, k)
            hit = conf >= copies.DEFAULT_CONFIDENCE
            labels = search.connected_components(len(recs), left[hit], right[hit])
            lost = [(a, b) for a, b in truth if labels[a] != labels[b]]
            group = np.array([name[:4] for name in sub])
            if args.source == "heldout":  # 4 views of one object: k // 4
                group = np.array([str(int(name[1:4]) // 4) for name in sub])
            wrong = int((group[left[hit]] != group[right[hit]]).sum())
            print(f"{args.source} pool {seed}{f' + votes (k={k})' if k else ''}: {len(recs)} images, copies that "
                  f"verify {len(truth)}, found {len(truth) - len(lost)}, lost {len(lost)}, matches across "
                  f"{'objects' if args.source == 'heldout' else 'photos'} {wrong}, "
                  f"pairs checked {int((dist > copies.HASH_SURE).sum())}, {seconds:.1f} CPU s", flush=True)
            if not k and args.ranks:
                for a, b in lost:
                    s, r = cnn_rank(recs, a, b)
                    print(f"  lost {sub[b]}: CNN similarity {s:.3f}, place {r}")


def lookalikes_main(args, work: Path) -> None:
    files = [DATASETS / "ukbench-600" / "images" / f"ukbench{i:05d}.jpg" for i in range(300)]
    records = encoded(work, "ukbench-fit", files)
    for r in records:  # look-alikes without their camera stamps: the verification alone must refuse them
        r.capture = None
    for k in [0] + ([args.votes_k] if args.votes else []):
        left, right, dist, conf, seconds = run(records, k)
        hit = conf >= copies.DEFAULT_CONFIDENCE
        print(f"ukbench groups 0-74 (300 views, no EXIF){f' + votes (k={k})' if k else ''}: pairs checked "
              f"{int((dist > copies.HASH_SURE).sum())}, called copies {int(hit.sum())} (same object "
              f"{int((hit & (left // 4 == right // 4)).sum())}), {seconds:.1f} CPU s", flush=True)


def vote_scale_main(args, work: Path) -> None:
    """The prototype's vote search on growing sets (the fit folder, the held-out folder, ukbench 0-74 together):
    its cost, the image pairs with a vote, and the fit copies among an image's 2 most voted, per key length."""
    names, fit = pool_folder(work, "fit")
    _, held = pool_folder(work, "heldout")
    views = encoded(work, "ukbench-fit", [DATASETS / "ukbench-600" / "images" / f"ukbench{i:05d}.jpg"
                                          for i in range(300)])
    direct = json.loads((work / "direct.json").read_text())
    at = {name: i for i, name in enumerate(names)}
    truth = [(at[name[:4] + "_orig.jpg"], i) for i, name in enumerate(names)
             if "_c" in name and direct[name] >= copies.DEFAULT_CONFIDENCE]
    everything = fit + held + views
    for bits, tables, n in ((24, 8, 420), (24, 8, 840), (24, 8, len(everything)), (32, 8, len(everything)),
                            (32, 16, len(everything))):
        t = cpu()
        left, right, count = vote_pairs(everything[:n], bits=bits, tables=tables)
        seconds = cpu() - t
        rows, cols = np.concatenate([left, right]), np.concatenate([right, left])
        order = np.lexsort((-np.concatenate([count, count]), rows))
        rows, cols = rows[order], cols[order]
        first = np.r_[0, np.flatnonzero(rows[1:] != rows[:-1]) + 1]
        best = {int(rows[f]): set(cols[f:f + 2].tolist()) for f in first}
        got = sum(1 for o, c in truth if max(o, c) < n and (c in best.get(o, ()) or o in best.get(c, ())))
        print(f"{n} images, {tables} tables of {bits} bits: {seconds:.2f} CPU s, image pairs with a vote {len(left)} "
              f"({int((count >= 3).sum())} with 3 or more); fit copies among an image's 2 most voted: {got} of "
              f"{sum(1 for o, c in truth if max(o, c) < n)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-proposer")
    ap.add_argument("--votes", action="store_true", help="also with the descriptor-vote prototype's pairs added")
    ap.add_argument("--votes-k", type=int, default=2, help="pairs the prototype proposes per image (default 2)")
    ap.add_argument("--ranks", action="store_true", help="the CNN similarity and place of each lost copy")
    ap.add_argument("--lookalikes", action="store_true", help="the cost on ukbench groups 0-74 instead")
    ap.add_argument("--vote-scale", action="store_true",
                    help="the prototype's vote search on 420 to 1,830 images (after the other runs made their folders)")
    ap.add_argument("--source", choices=("fit", "heldout"), default="fit",
                    help="the originals: photos-public 40-249 (fit), or ukbench groups 75-149 (held out, 300 views)")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    (vote_scale_main if args.vote_scale else lookalikes_main if args.lookalikes else fit_main)(args, work)


if __name__ == "__main__":
    main()
