"""How well does a method find your duplicates? Metrics against ground truth, as imagededup 0.3 defines them.

``evaluate`` takes the same arguments and returns the same keys as ``imagededup.evaluation.evaluate``:
mean average precision (``map``), ``ndcg`` and ``jaccard`` per file, and pair ``classification``
(precision, recall, F1 and support for the non-duplicate and duplicate classes). The pair counts are
computed from set sizes, so ten thousand files do not mean fifty million Python tuples.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from imagetwins.session import Session


class MapValidationError(ValueError, AssertionError):
    """A ground-truth or retrieved map is inconsistent (imagededup raised AssertionError here)."""


def _names(matches: Iterable) -> list[str]:
    # retrieved maps made with scores=True hold (name, score) tuples
    return [m[0] if isinstance(m, (tuple, list)) else m for m in matches]


def _normalise(mapping: Mapping, what: str) -> dict[str, list[str]]:
    if not isinstance(mapping, Mapping):
        raise MapValidationError(f"{what} must be a dict of file name -> list of duplicate file names")
    out = {k: _names(v) for k, v in mapping.items()}
    keys = set(out)
    for key, vals in out.items():
        for v in vals:
            if v not in keys:
                raise MapValidationError(
                    f"{what} validation failed: {v!r} (a duplicate of {key!r}) is not a key of the map"
                )
            if key not in out[v]:
                raise MapValidationError(
                    f"Transpose relationship violated in {what}: {key!r} lists {v!r} but not the reverse"
                )
    return out


#: What a ground truth may cost to read (``tune --truth``), as a plan (:data:`imagetwins.plan.PLAN_MAX_BYTES`, ...): it
#: was bounded only by the 256 MiB a file a person names may be (256 MiB of ``[[],[],...]``: 85 million lists, ~5 GB),
#: and a list of groups became the map ``{file: [the others]}``, the square of each group: one group of 60,000 names
#: (a 1 MB file, or a sub-folder of 60,000 photos taken as one group) was 3.6 billion entries. A JSON truth is refused
#: past :data:`TRUTH_MAX_BYTES` or :data:`TRUTH_MAX_VALUES` (counted before it is parsed), and any truth whose map
#: would list more than :data:`TRUTH_MAX_ENTRIES` duplicates (a crowd of 2,000 identical images lists 4 million: read
#: in ~0.5 GB), in one line.
TRUTH_MAX_BYTES = 128 << 20
TRUTH_MAX_VALUES = 5_000_000
TRUTH_MAX_ENTRIES = 5_000_000


def _bounded_groups(groups: Iterable[Iterable[str]], where: str) -> list[list[str]]:
    """``groups`` as lists, refused (ValueError, one line) where the map made of them would list more than
    :data:`TRUTH_MAX_ENTRIES` duplicates (each group's size times one less)."""
    out = [list(g) for g in groups]
    entries = sum(len(g) * (len(g) - 1) for g in out)
    if entries > TRUTH_MAX_ENTRIES:
        largest = max(len(g) for g in out)
        raise ValueError(f"{where}: too large a ground truth (its groups make {entries:,} duplicate pairs both ways, "
                         f"more than the {TRUTH_MAX_ENTRIES:,} tune reads; the largest group holds {largest:,} "
                         "files): label a smaller sample")
    return out


def load_ground_truth(source: Mapping | str | os.PathLike) -> dict[str, list[str]]:
    """Ground truth from a dict, a JSON file, or a folder whose sub-folders are the duplicate groups.

    Parameters
    ----------
    source : dict, path to a ``.json`` file, or path to a folder
        JSON may hold imagededup's map ``{file: [duplicates]}`` or a list of groups ``[[a, b], [c, d, e]]``
        or ``{group_id: [files]}`` when no value names a key. In a folder, each sub-folder is one group
        (file names relative to the folder, e.g. ``"g1/a.jpg"``); files at the top level are singletons.

    Returns
    -------
    dict
        imagededup's symmetric map.

    Raises
    ------
    ValueError
        One line naming the file and what is wrong: not JSON, names that are not strings or are
        absolute paths, a file name where a list of names belongs.
    """
    where = "ground truth"
    if isinstance(source, Mapping):
        data: object = dict(source)
    else:
        path = Path(source)
        if path.is_dir():
            from imagetwins.io import find_images

            groups: dict[str, list[str]] = {}
            for f in find_images(path, recursive=True):
                rel = f.relative_to(path).as_posix()
                groups.setdefault(rel.rsplit("/", 1)[0] if "/" in rel else rel, []).append(rel)
            return groups_to_map(_bounded_groups(groups.values(), f"ground truth {path} (each sub-folder a group)"))
        where = f"ground truth {path}"
        from imagetwins.io import json_values, read_user_file
        from imagetwins.text import loads_json

        try:
            text = read_user_file(path, max_bytes=TRUTH_MAX_BYTES)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {where}: {getattr(exc, 'strerror', None) or exc}") from None
        values = json_values(text)
        if values > TRUTH_MAX_VALUES:
            raise ValueError(f"{where}: too large a ground truth ({values:,} JSON values, more than the "
                             f"{TRUTH_MAX_VALUES:,} tune reads): label a smaller sample")
        try:
            data = loads_json(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        del text
    _check_truth_shape(data, where)
    if isinstance(data, list):
        return groups_to_map(_bounded_groups(data, where))
    if isinstance(data, dict):
        keys = set(data)
        if any(isinstance(v, list) and any(x in keys for x in _names(v)) for v in data.values()) or all(
            isinstance(v, list) and not v for v in data.values()
        ):
            return {k: _names(v) for k, v in data.items()}
        return groups_to_map(_bounded_groups(data.values(), where))
    raise ValueError("ground truth must be a map, a list of groups, or a folder of group folders")


def _check_truth_shape(data: object, where: str) -> None:
    """Names are relative file-name strings; every group or map value is a list of them."""
    checked: set[str] = set()  # (a labelled set of 2,000 names 4 million times in a map: each checked once)

    def check_name(name: object, context: str) -> None:
        if isinstance(name, (list, tuple)) and len(name) == 2 and isinstance(name[1], (int, float)):
            name = name[0]  # (name, score) as find_duplicates(scores=True) writes it
        if isinstance(name, str) and name in checked:
            return
        if not isinstance(name, str):
            raise ValueError(f"{where}: file names must be strings, got {name!r} ({type(name).__name__}) "
                             f"{context}")
        if os.path.isabs(name):
            raise ValueError(f"{where}: file names are relative to the image folder, got the absolute "
                             f"path {name!r} {context}")
        checked.add(name)

    if isinstance(data, dict):
        for key, value in data.items():
            check_name(key, "as a key")
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"{where}: {key!r} must map to a list of file names, not "
                                 f"{type(value).__name__} {value!r}")
            for v in value:
                check_name(v, f"in the list of {key!r}")
    elif isinstance(data, list):
        for i, group in enumerate(data):
            if not isinstance(group, (list, tuple)):
                raise ValueError(f"{where}: a list of groups holds lists of file names; item {i} is "
                                 f"{type(group).__name__} {group!r}")
            for v in group:
                check_name(v, f"in group {i}")
    else:
        raise ValueError(f"{where} must be a map {{file: [duplicates]}} or a list of groups, not "
                         f"{type(data).__name__}")


def groups_to_map(groups: Iterable[Iterable[str]]) -> dict[str, list[str]]:
    """``[[a, b], [c]]`` -> ``{a: [b], b: [a], c: []}``."""
    out: dict[str, list[str]] = {}
    for group in groups:
        members = list(group)
        for m in members:
            out[m] = [x for x in members if x != m]
    return out


def check_maps(ground_truth_map: Mapping, retrieved_map: Mapping) -> tuple[dict, dict]:
    """Validate both maps as imagededup does: closed, symmetric, and with the same keys."""
    gt = _normalise(ground_truth_map, "ground truth map")
    rt = _normalise(retrieved_map, "retrieved map")
    if set(gt) != set(rt):
        diff = set(gt).symmetric_difference(rt)
        raise MapValidationError(
            "Please ensure that ground truth and retrieved map have the same keys! "
            f"Following keys uncommon between ground truth and retrieved maps:\n{sorted(diff)[:20]}"
        )
    return gt, rt


def average_precision(correct: list[str], retrieved: list[str]) -> float:
    """AP of one query's ranked retrievals (1.0 when both are empty, 0.0 when only one is)."""
    if not correct and not retrieved:
        return 1.0
    if not correct or not retrieved:
        return 0.0
    rel = np.isin(retrieved, correct).astype(np.float64)
    precision_at_k = np.cumsum(rel) / np.arange(1, len(rel) + 1)
    return float((rel * precision_at_k).sum() / len(correct))


def ndcg(correct: list[str], retrieved: list[str]) -> float:
    """Normalised discounted cumulative gain with binary relevance."""
    if not correct and not retrieved:
        return 1.0
    if not correct or not retrieved:
        return 0.0
    rel = np.isin(retrieved, correct).astype(np.float64)
    discount = 1.0 / np.log2(np.arange(len(rel)) + 2)
    dcg = float(((2**rel - 1) * discount).sum())
    if dcg == 0:
        return 0.0
    ideal = float(((2 ** np.sort(rel)[::-1] - 1) * discount).sum())
    return dcg / ideal


def jaccard(correct: list[str], retrieved: list[str]) -> float:
    """|correct ∩ retrieved| / |correct ∪ retrieved|."""
    if not correct and not retrieved:
        return 1.0
    if not correct or not retrieved:
        return 0.0
    a, b = set(correct), set(retrieved)
    return len(a & b) / len(a | b)


_PER_QUERY = {"map": average_precision, "ndcg": ndcg, "jaccard": jaccard}


def _pairs(mapping: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {(k, v) if k < v else (v, k) for k, vals in mapping.items() for v in vals}


def pair_counts(gt: dict[str, list[str]], retrieved: dict[str, list[str]]) -> tuple[int, int, int, int]:
    """(all pairs, true duplicate pairs, retrieved pairs, correctly retrieved pairs)."""
    n = len(gt)
    g, r = _pairs(gt), _pairs(retrieved)
    return n * (n - 1) // 2, len(g), len(r), len(g & r)


def _truth_pairs(gt: Mapping[str, Sequence[str]], names: Sequence[str]) -> tuple[np.ndarray, int]:
    """The ground truth's pairs as positions in ``names`` (an ``(m, 2)`` array, each pair once) and how many there
    are (those naming a file missing from ``names`` counted, not listed), as :func:`_pairs` counts them, without a
    Python tuple per pair (a labelled set of 2,000 copies holds 2 million)."""
    place = {name: i for i, name in enumerate(names)}
    extra: dict[str, int] = {}
    a, b = [], []
    for k, vals in gt.items():
        i = place[k] if k in place else extra.setdefault(k, len(place) + len(extra))
        for v in vals:
            a.append(i)
            b.append(place[v] if v in place else extra.setdefault(v, len(place) + len(extra)))
    left, right = np.asarray(a, np.int64), np.asarray(b, np.int64)
    keys = np.sort(np.minimum(left, right) * (len(place) + len(extra)) + np.maximum(left, right))
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys  # (np.unique: 5 s for 4 million)
    pairs = np.stack(np.divmod(keys, max(1, len(place) + len(extra))), axis=1).reshape(-1, 2)
    listed = (pairs < len(place)).all(axis=1) & (pairs[:, 0] != pairs[:, 1])  # (a file is no pair with itself)
    return pairs[listed], len(keys)


def _grouped_counts(n: int, left: np.ndarray, right: np.ndarray, same_as: np.ndarray, true_a: np.ndarray,
                    true_b: np.ndarray) -> tuple[int, int]:
    """(pairs of files in one group, of which true) where ``n`` files are grouped by the matches (``left[k]``,
    ``right[k]``: rows searched) and each file with the first of its encoding (``same_as``); ``true_a``/``true_b``:
    the ground truth's pairs, by the first file of each one's encoding."""
    from imagetwins.search import connected_components

    labels = connected_components(n, left, right)[same_as]
    size = np.bincount(labels, minlength=n).astype(np.int64)
    return int((size * (size - 1) // 2).sum()), int((labels[true_a] == labels[true_b]).sum())


def _safe_div(a: float, b: float) -> float:
    return a / b if b else 0.0


def classification_from_counts(total: int, positives: int, predicted: int, hits: int) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support (index 0: non-duplicate pairs, 1: duplicate pairs)."""
    tn = total - positives - predicted + hits
    precision = np.array([_safe_div(tn, total - predicted), _safe_div(hits, predicted)])
    recall = np.array([_safe_div(tn, total - positives), _safe_div(hits, positives)])
    f1 = np.array([_safe_div(2 * p * r, p + r) for p, r in zip(precision, recall)])
    return {"precision": precision, "recall": recall, "f1_score": f1,
            "support": np.array([total - positives, positives])}


def evaluate(ground_truth_map: Mapping | None = None, retrieved_map: Mapping | None = None,
             metric: str = "all", *, duplicate_map: Mapping | None = None) -> dict:
    """Score retrieved duplicates against ground truth (imagededup 0.3's ``evaluate``).

    Parameters
    ----------
    ground_truth_map : dict
        File name -> list of its true duplicates (symmetric). A JSON path or a folder of group folders
        is accepted too (see :func:`load_ground_truth`).
    retrieved_map : dict
        File name -> list of retrieved duplicates (e.g. ``find_duplicates`` output, with or without
        scores), over the same file names.
    metric : {'all', 'map', 'ndcg', 'jaccard', 'classification'}
    duplicate_map : dict, optional
        Another name for ``retrieved_map`` (imagededup's code and examples use both); give one of them.

    Returns
    -------
    dict
        ``{'map': float, 'ndcg': float, 'jaccard': float, 'precision': array, 'recall': array,
        'f1_score': array}`` (or the subset that ``metric`` names): imagededup's keys exactly, so code that
        checks them keeps working. Each class's support (pair counts) is
        ``classification_from_counts(*pair_counts(gt, retrieved))['support']``.
    """
    if duplicate_map is not None:
        if retrieved_map is not None:
            raise TypeError("evaluate() takes retrieved_map or duplicate_map (the same thing), not both")
        retrieved_map = duplicate_map
    metric = metric.lower()
    if metric not in ("all", "map", "ndcg", "jaccard", "classification"):
        raise ValueError("Acceptable metrics are: 'map', 'ndcg', 'jaccard', 'classification', 'all'")
    if ground_truth_map is not None and not isinstance(ground_truth_map, Mapping):
        ground_truth_map = load_ground_truth(ground_truth_map)
    gt, rt = check_maps(ground_truth_map, retrieved_map)
    out: dict = {}
    for name, fn in _PER_QUERY.items():
        if metric in (name, "all"):
            out[name] = float(np.mean([fn(gt[k], rt[k]) for k in gt])) if gt else 0.0
    if metric in ("classification", "all"):
        counted = classification_from_counts(*pair_counts(gt, rt))
        out.update((k, counted[k]) for k in ("precision", "recall", "f1_score"))  # (imagededup's keys, no more)
    return out


SMALL_SAMPLE_PAIRS = 30  # below this many labelled pairs, tune says its recommendation is rough


@dataclass
class SweepPoint:
    """Pair precision, recall and F1 of one method at one threshold, over the groups ``find`` makes there: two files
    are found as duplicates when they are in one group (joined by matches, each file to the first with its
    encoding), whether or not they matched directly; ``retrieved`` is every pair of files in one group, ``correct``
    those the ground truth pairs."""

    method: str
    threshold: float  # bits for hashes, cosine similarity for vector methods
    precision: float
    recall: float
    f1: float
    retrieved: int
    correct: int


@dataclass
class SweepResult:
    """Every (method, threshold) point, and the recommendation for the target precision."""

    points: list[SweepPoint]
    positives: int
    images: int
    target_precision: float
    unreadable: list[str] = field(default_factory=list)
    defaults: dict[str, float] = field(default_factory=dict)  # method -> its default threshold

    def best(self, method: str | None = None) -> SweepPoint | None:
        """Highest recall with precision >= target.

        Where several thresholds of the winning method tie, the one closest to the method's default is
        taken (the default itself where it ties): a labelled sample is small, and a tie on it says nothing
        about the images it does not hold, while the default was measured on thousands of pairs. The
        middle of the plateau (what was taken before) recommended ``copies`` at 0.51 on a 10-pair sample,
        where the default is 0.92. Without a known default, the middle of the plateau.
        """
        ok = [p for p in self.points if p.precision >= self.target_precision and p.retrieved
              and (method is None or p.method == method)]
        if not ok:
            return None
        top = max(ok, key=lambda p: (p.recall, p.precision))
        plateau = sorted((p for p in ok if p.method == top.method and p.recall == top.recall
                          and p.precision == top.precision), key=lambda p: p.threshold)
        default = self.defaults.get(top.method)
        if default is None:
            return plateau[len(plateau) // 2]
        return min(plateau, key=lambda p: abs(float(p.threshold) - float(default)))

    @property
    def recommendation(self) -> SweepPoint | None:
        return self.best()

    def table(self) -> str:
        """One line per method: its best point, plus the overall recommendation."""
        lines = [f"{self.images} images, {self.positives} duplicate pairs in the ground truth; "
                 f"target precision {self.target_precision:.1%}",
                 f"{'method':<10} {'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>6}"]
        for method in dict.fromkeys(p.method for p in self.points):
            b = self.best(method)
            if b is None and not any(p.correct for p in self.points if p.method == method):
                # (not a precision the user could trade for recall: the method pairs none of the labelled duplicates)
                lines.append(f"{method:<10} {'-':>9} (finds none of the {self.positives} labelled duplicate pairs at "
                             "any threshold)")
            elif b is None:
                lines.append(f"{method:<10} {'-':>9} (no threshold reaches the target precision)")
            else:
                lines.append(f"{method:<10} {b.threshold:>9} {b.precision:>9.3f} {b.recall:>7.3f} {b.f1:>6.3f}")
        rec = self.recommendation
        lines.append("recommended: " + (f"--method {rec.method} --threshold {rec.threshold}" if rec else "none "
                                        "(lower the target precision, or label more duplicates)"))
        from imagetwins.encoders import get_encoder

        caveat = get_encoder(rec.method).threshold_caveat(rec.threshold) if rec else None
        if caveat:  # (copies under 0.5: a sample without re-shots cannot show what it gives up)
            lines.append(f"note: --threshold {rec.threshold}: {caveat}")
        if self.positives < SMALL_SAMPLE_PAIRS:
            lines.append(f"note: {self.positives} labelled pairs are few: where thresholds tie, the one nearest "
                         f"the method's default is recommended; label {SMALL_SAMPLE_PAIRS}+ pairs, and look-alikes, "
                         "to tune with confidence")
        return "\n".join(lines)

    def plot(self, outfile: str | os.PathLike) -> None:
        """Precision-recall curve per method (matplotlib), with the recommended point marked, saved at ``outfile`` in
        the format its extension names. Never through a link at that name, nor over an image imagetwins or
        matplotlib did not write (:class:`imagetwins.writing.ReplacesImage`: a photo stays); an earlier plot is
        replaced. A name whose extension is no format matplotlib writes: :class:`imagetwins.report.PlotArgumentError`
        (a ``ValueError``)."""
        try:
            import matplotlib
        except ImportError:  # what to install, in one line
            raise ModuleNotFoundError('the precision-recall plot needs matplotlib: pip install "imagetwins[plot]"',
                                      name="matplotlib") from None
        from imagetwins.report import plot_format
        from imagetwins.writing import open_output, refuse_picture_target, replaceable_picture

        fmt = plot_format(outfile)
        refuse_picture_target(outfile)  # (it wrote through a link at the name, and over a photo there)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
        for method in dict.fromkeys(p.method for p in self.points):
            pts = [p for p in self.points if p.method == method and p.retrieved]
            ax.plot([p.recall for p in pts], [p.precision for p in pts], marker=".", label=method)
        rec = self.recommendation
        if rec:
            ax.scatter([rec.recall], [rec.precision], s=120, facecolors="none", edgecolors="black", zorder=5,
                       label=f"pick: {rec.method} @ {rec.threshold}")
        ax.axhline(self.target_precision, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("recall (share of true duplicate pairs found)")
        ax.set_ylabel("precision (share of found pairs that are true)")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(max(0.0, min(0.9, self.target_precision - 0.1)), 1.005)
        ax.legend(loc="lower left", fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        try:
            with open_output(outfile, binary=True, replace_only=replaceable_picture) as fh:
                fig.savefig(fh, format=fmt)
        finally:
            plt.close(fig)

    def to_dict(self) -> dict:
        rec = self.recommendation
        return {"images": self.images, "positives": self.positives, "target_precision": self.target_precision,
                "recommendation": None if rec is None else asdict(rec),
                "points": [asdict(p) for p in self.points], "unreadable": self.unreadable}


def sweep(
    ground_truth: Mapping | str | os.PathLike,
    image_dir: str | os.PathLike,
    methods: Sequence[str] | None = None,
    thresholds: Mapping[str, Sequence[int]] | None = None,
    target_precision: float = 0.99,
    workers: int | None = None,
    progress: bool = False,
    session: Session | None = None,
) -> SweepResult:
    """Try every method at every threshold on labelled images and recommend one.

    Parameters
    ----------
    ground_truth : dict, JSON path, or folder of group folders
        See :func:`load_ground_truth`; file names are relative to ``image_dir``.
    image_dir : path
        Where the labelled images are.
    methods : sequence of str, optional
        Registered methods to try; default every hash (``encoder_names("bits")``). Vector methods
        (the CNN) are slower.
    thresholds : dict, optional
        Method -> thresholds to try; default each method's ``sweep_thresholds()``: 0..24 for 64-bit
        hashes, 0..120 in steps of 4 for 256-bit, cosine similarities 0.99 down to 0.60 for vectors.
    target_precision : float
        The recommendation maximises recall among points at or above this precision (of the pairs of files in
        one group, :class:`SweepPoint`).
    workers, progress : optional
        Threads and progress bars (default: the ``session``'s).
    session : Session, optional
        The run's session (:func:`imagetwins.open_session`): its workers and progress where not given, and its
        pair-score store, so a method that verifies its pairs (``copies``) verifies each pair once across
        the runs that share it.

    Returns
    -------
    SweepResult
        Each image is decoded once for all methods; each method's pairs are searched once at its
        largest threshold and, per threshold, the matches there (a pair whose kept verdict is no copy, a
        re-shot, at none: :meth:`imagetwins.scores.ScoreKind.within`) are joined into the groups ``find``
        makes, whose pairs of files are counted (:class:`SweepPoint`).
    """
    from imagetwins.encoders import encoder_names, get_encoder
    from imagetwins.encoding import encode_files
    from imagetwins.pairscores import for_method

    if session is not None:
        workers = session.workers if workers is None else workers
        progress = progress or session.progress
    gt = load_ground_truth(ground_truth)
    root = Path(image_dir)
    names = sorted(gt)
    encoders = [get_encoder(m) for m in (encoder_names("bits") if methods is None else methods)]
    files = [root / n for n in names]
    truth, positives = _truth_pairs(gt, names)  # unreadable files' pairs count as missed
    points: list[SweepPoint] = []
    # one decode per image for every method tried
    enc = encode_files(files, [e.for_workers(workers) for e in encoders], workers=workers, progress=progress,
                       warn=False)
    unreadable = {f.path for f in enc.failures}
    position = {Path(p).relative_to(root).as_posix(): i for i, p in enumerate(enc.paths)}
    at = np.array([position.get(n, -1) for n in names], np.int64)  # name -> row searched (-1: unreadable)
    truth = at[truth]
    truth = truth[(truth >= 0).all(axis=1)]
    n = len(enc.paths)
    for encoder in encoders:
        ts = encoder.sweep_thresholds()
        if thresholds and encoder.name in thresholds:  # loosest last, as the encoder gives them
            ts = sorted(thresholds[encoder.name], key=lambda t: -float(encoder.best_first(np.array([t]))[0]))
        rows = enc.by_method[encoder.name]
        # rows encoded alike (byte copies; for copies also the same pixels saved with other bytes) are searched
        # once, as find searches them: 2,000 of them made 2 million pairs here. Each pair of their encodings
        # stands for every pair of their files, counted arithmetically (the metrics are those of every pair).
        same_as = encoder.same_rows(rows, enc.digests)
        same_as = np.arange(n, dtype=np.int64) if same_as is None else np.asarray(same_as, np.int64)
        firsts = np.flatnonzero(same_as == np.arange(n))
        found = encoder.pairs(encoder.take(rows, firsts), ts[-1], workers=workers,
                              paths=[enc.paths[i] for i in firsts],
                              pair_scores=for_method(encoder, session.pair_scores if session else None,
                                                     [enc.digests[i] for i in firsts]))
        left, right = firsts[found.left], firsts[found.right]
        scores, marks = found.score.astype(np.float64), found.mark_bits
        true_a, true_b = same_as[truth[:, 0]], same_as[truth[:, 1]]
        for t in ts:
            # what find groups at t: the matches (a pair whose kept verdict is a re-shot is none at any threshold,
            # scores.ScoreKind.within) joined into connected groups, each file with the first of its encoding; every
            # pair of files in one group counts as found, as a person reading find's groups takes them
            within = encoder.within(scores, t, marks)
            retrieved, correct = _grouped_counts(n, left[within], right[within], same_as, true_a, true_b)
            p = _safe_div(correct, retrieved) if retrieved else 1.0
            r = _safe_div(correct, positives)
            points.append(SweepPoint(encoder.name, t, p, r, _safe_div(2 * p * r, p + r), retrieved, correct))
    return SweepResult(points, positives, len(names), target_precision, sorted(unreadable),
                       defaults={e.name: e.default_threshold for e in encoders})
