"""Copies lost to the proposer: verifiable copies that ``copies`` never proposes in a folder of look-alikes.

    python benchmarks/bench_proposer.py                # the method without its descriptor votes (~3 CPU min with
                                                       # the encoding, kept in --workdir)
    python benchmarks/bench_proposer.py --votes        # and the method as it is (votes, copies.VOTE_K an image)
    python benchmarks/bench_proposer.py --lookalikes --votes   # the cost on ukbench groups 0-74 (look-alikes)
    python benchmarks/bench_proposer.py --votes --source heldout   # HELD OUT: ukbench groups 75-149 as originals
    python benchmarks/bench_proposer.py --vote-scale   # the vote search on 420 to 1,830 images, and on crowds
    python benchmarks/bench_proposer.py --vote-mosaics 8000   # ... on 1,000 to 8,000 of bench_scale's mosaics

FIT split only (issue 24: choose here, report held out): photos-public photos 40-249 (``quality.py --families``
uses 0-39), each saved as it is and as two random combinations of 2-3 edit families (``edits.combo`` with the seeds
[4242, k] and [4343, k]). Each pool (the 210 originals and one combination of each: 420 images) is one folder, as a
user's would be. A copy *verifies* when ``copies.verify_records(original, copy)`` reaches the default confidence;
it is *found* when the method run on the whole folder puts it in its original's group; *lost* otherwise. "pairs
checked": the candidate pairs verified (beyond the hash's sure distance). CPU: user+sys of this process.
HELD OUT (``--source heldout``): the same with ukbench groups 75-149 (300 views, 4 of each object, camera stamps
left out) as the originals: a folder of look-alikes and re-shots, where a match across objects is a wrong copy.

``--votes``: the method's descriptor votes (``copies.vote_lists`` / ``copies._voted``; the prototype measured here
first is in git history, 3455579): each image's 64 strongest ORB descriptors (those of its picture cut from a canvas
too; mirrored ones only voted for), 8 hash tables of 4 of the 32 bytes, a vote for (descriptor, other image) when
they share a bucket (a bucket of more than 32 entries: each entry against its first 32, by the images' hashes);
each image proposes its ``--votes-k`` most voted partners (at least 3 votes) outside its group so far. Without
``--votes`` the method runs with ``vote_k=0``: its proposal before the votes.
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

from _common import DATASETS, need_datasets  # noqa: E402

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


def run(records, votes_k: int = 0, **kw):
    """copies.scored_candidates on ``records``, the descriptor votes proposing ``votes_k`` partners an image (0:
    the method without them)."""
    t = cpu()
    left, right, dist, conf = copies.scored_candidates(records, copies.DEFAULT_CONFIDENCE, 2, vote_k=votes_k, **kw)
    return left, right, dist, conf, cpu() - t


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
    """The method's vote search (copies.vote_lists: entries, votes, each image's lists) on growing sets (the fit
    folder, the held-out folder, ukbench 0-74 together), and on crowds of near-identical shots made from one photo's
    vote block (each shot keeps a random 80 % of the descriptors, each bit flipped with probability 0.02): its CPU,
    the image pairs with a vote, the most an image has, and the pairs the votes may add at most (copies.VOTE_K an
    image)."""
    names, fit = pool_folder(work, "fit")
    _, held = pool_folder(work, "heldout")
    views = encoded(work, "ukbench-fit", [DATASETS / "ukbench-600" / "images" / f"ukbench{i:05d}.jpg"
                                          for i in range(300)])
    everything = copies.CopyRows.of(fit + held + views)

    def measure(rows, label: str) -> None:
        t = cpu()
        row, partner, votes = copies.vote_lists(rows)
        seconds = cpu() - t
        t = cpu()
        left, right, count = search.descriptor_votes(*copies.vote_entries(rows), copies._content_priority(rows.hashes),
                                                     copies.VOTE_TABLES, copies.VOTE_CROWD, budget=copies.VOTE_BUDGET)
        per_image = np.bincount(np.concatenate([left, right]), minlength=len(rows))
        print(f"{label}: {len(rows)} images, vote lists {seconds:.2f} CPU s; image pairs with a vote {len(left):,} "
              f"({int((count >= copies.VOTE_LEAST).sum()):,} with {copies.VOTE_LEAST} or more), at most "
              f"{int(per_image.max())} an image; listed {len(row):,}; pairs the votes may add at most "
              f"{copies.VOTE_K * len(rows):,}", flush=True)

    for n in (420, 840, len(everything)):
        measure(everything.take(np.arange(n)), "real photos")
    rng = np.random.default_rng(11)
    block = everything.votes[0]
    for n in (250, 500, 1000):
        blocks = np.repeat(block[None], n, axis=0)
        body = blocks[:, 2:].reshape(n, 2, copies.VOTE_STRONGEST, 32)
        bits = np.unpackbits(body, axis=-1)
        bits ^= (rng.random(bits.shape) < 0.02).astype(np.uint8)
        body[:] = np.packbits(bits, axis=-1)
        keep = rng.random((n, 2, copies.VOTE_STRONGEST)) < 0.8  # (the kept ones first: a block's layout)
        order = np.argsort(~keep, axis=-1, kind="stable")
        body[:] = np.take_along_axis(body, order[..., None], axis=2)
        blocks[:, :2] = np.minimum(keep.sum(axis=-1), blocks[:, :2])
        rows = copies.CopyRows.of([copies.CopyRecord(rng.integers(0, 2**63, 4, dtype=np.uint64),
                                                     np.zeros(8, np.float32), None) for _ in range(n)])
        rows.votes = blocks
        measure(rows, "a crowd of near-identical shots")


def vote_mosaics_main(args, work: Path) -> None:
    """The vote search (copies.vote_lists) on the first 1,000, 2,000, ... of ``--vote-mosaics`` N pictures made as
    bench_scale.py's 100,000-picture rig makes them (make_small: 2 x 2 mosaics of crops of the shared photos,
    64-128 px), their vote blocks from verify.extract (kept in the work folder): CPU, pairs with a vote, peak RSS."""
    from bench_scale import make_small

    from imagetwins import verify

    n_all = args.vote_mosaics
    folder = work / "mosaics"
    make_small(folder, 0, n_all)
    kept = work / f"mosaic-votes-{n_all}.npy"
    if kept.exists():
        blocks = np.load(kept)
    else:
        t = cpu()
        blocks = np.stack([copies.vote_block(verify.extract(open_image(folder / f"s{n:06d}.jpg")))
                           for n in range(n_all)])
        print(f"features of {n_all} mosaics: {cpu() - t:.0f} CPU s", flush=True)
        np.save(kept, blocks)
    rng = np.random.default_rng(0)
    n = 1000
    while n <= n_all:
        rows = copies.CopyRows.of([copies.CopyRecord(rng.integers(0, 2**63, 4, dtype=np.uint64),
                                                     np.zeros(8, np.float32), None) for _ in range(n)])
        rows.votes = blocks[:n]
        t = cpu()
        row, _, _ = copies.vote_lists(rows)
        seconds = cpu() - t
        left, _, count = search.descriptor_votes(*copies.vote_entries(rows), copies._content_priority(rows.hashes),
                                                 copies.VOTE_TABLES, copies.VOTE_CROWD, budget=copies.VOTE_BUDGET)
        print(f"{n} mosaics: vote lists {seconds:.2f} CPU s, pairs with a vote {len(left):,} "
              f"({int((count >= copies.VOTE_LEAST).sum()):,} with {copies.VOTE_LEAST}+), listed {len(row):,}, "
              f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)
        n *= 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-proposer")
    ap.add_argument("--votes", action="store_true", help="also with the descriptor-vote prototype's pairs added")
    ap.add_argument("--votes-k", type=int, default=2, help="partners the votes propose per image (default 2)")
    ap.add_argument("--ranks", action="store_true", help="the CNN similarity and place of each lost copy")
    ap.add_argument("--lookalikes", action="store_true", help="the cost on ukbench groups 0-74 instead")
    ap.add_argument("--vote-scale", action="store_true",
                    help="the vote search on 420 to 1,830 images and on crowds (after the other runs made the folders)")
    ap.add_argument("--vote-mosaics", type=int, default=0, metavar="N",
                    help="the vote search on 1,000 ... N of bench_scale.py's mosaics (made in the work folder)")
    ap.add_argument("--source", choices=("fit", "heldout"), default="fit",
                    help="the originals: photos-public 40-249 (fit), or ukbench groups 75-149 (held out, 300 views)")
    args = ap.parse_args()
    need_datasets("ukbench-600/images", "photos-public/images")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    (vote_mosaics_main if args.vote_mosaics else vote_scale_main if args.vote_scale else lookalikes_main
     if args.lookalikes else fit_main)(args, work)


if __name__ == "__main__":
    main()
