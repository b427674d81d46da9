"""The result of every search: matched index pairs with their scores, and the threaded block runner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from imagetwins.scores import DISTANCE, ScoreKind

__all__ = ["SCORE_KINDS", "Pairs", "cells", "run_blocks", "union_pairs"]

#: the names of score kinds (see :class:`imagetwins.scores.ScoreKind`)
SCORE_KINDS = ("distance", "similarity", "confidence")


def cells(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D mask (row, column of each true cell, in row order), through the flat positions: numpy
    2's 2-D ``nonzero`` took ~13x as long (7.7 vs 0.6 ms on a 512 x 4,096 block with 10 cells set; 3.3 of the
    6.3 CPU s of 1,000 new rows' dihedral search among 101,000)."""
    return np.divmod(np.flatnonzero(mask), mask.shape[1])


@dataclass
class Pairs:
    """Matches as aligned arrays: ``left[k]`` and ``right[k]`` match with ``score[k]``.

    ``kind`` says what the score is (a :class:`~imagetwins.scores.ScoreKind`; its name is accepted):
    a distance (bits apart: smaller is closer), a similarity or a confidence (larger is closer). ``marks``: what
    each pair's check needed (one ``uint8`` of :class:`~imagetwins.scores.Mark` bits per pair; None: no pair has
    any, as for every method but ``copies``).
    """

    left: np.ndarray
    right: np.ndarray
    score: np.ndarray
    kind: ScoreKind = DISTANCE
    marks: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.kind = ScoreKind.of(self.kind)

    def __len__(self) -> int:
        return len(self.left)

    @property
    def distance(self) -> np.ndarray:
        """The scores of distance pairs (the name before scores had kinds); similarities are not distances."""
        if self.kind != DISTANCE:
            raise TypeError("these pairs are scored by similarity, not distance: use .score")
        return self.score

    @classmethod
    def empty(cls, dtype: type = np.uint8, kind: str | ScoreKind = DISTANCE) -> Pairs:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, dtype), kind)

    @classmethod
    def concat(cls, parts: Sequence[Pairs]) -> Pairs:
        kind = parts[0].kind if parts else DISTANCE
        parts = [p for p in parts if len(p)]  # (an empty part holds no score: its kind does not matter)
        kinds = {p.kind for p in parts}
        if len(kinds) > 1:
            raise ValueError(f"cannot join pairs of different score kinds ({', '.join(sorted(kinds))})")
        kind = parts[0].kind if parts else kind
        if not parts:
            return cls.empty(kind=kind)
        marks = None
        if any(p.marks is not None for p in parts):
            marks = np.concatenate([p.mark_bits for p in parts])
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("left", "right", "score")), kind,
                   marks)

    @property
    def mark_bits(self) -> np.ndarray:
        """Each pair's marks (``uint8``; zeros where the pairs carry none)."""
        return np.zeros(len(self.left), np.uint8) if self.marks is None else np.asarray(self.marks, np.uint8)

    def take(self, which) -> Pairs:
        """The pairs selected by ``which`` (a bool mask or indices), marks and all."""
        return Pairs(self.left[which], self.right[which], self.score[which], self.kind,
                     None if self.marks is None else np.asarray(self.marks)[which])

    def sorted(self) -> Pairs:
        """The same pairs ordered by ``(left, right)``."""
        return self.take(np.lexsort((self.right, self.left)))


def union_pairs(a: Pairs, b: Pairs) -> Pairs:
    """Pairs of ``a`` and ``b`` with each ``(left, right)`` once (``a``'s score wins)."""
    if not len(b):
        return a
    both = Pairs.concat([a, b])
    key = both.left * (int(both.right.max(initial=0)) + 1) + both.right
    _, first = np.unique(key, return_index=True)
    return both.take(first)


def run_blocks(fn: Callable[[object], Pairs], tasks: list, workers: int, progress: bool = False) -> Pairs:
    """Run ``fn`` over tasks on threads (numpy releases the GIL), with an optional progress bar."""
    bar = None
    if progress and len(tasks) > 1:
        from imagetwins.progress import progress_bar

        bar = progress_bar(total=len(tasks), desc="searching", unit="block")
    out = []
    try:
        if workers <= 1 or len(tasks) <= 1:
            results = map(fn, tasks)
            for r in results:
                out.append(r)
                if bar is not None:
                    bar.update(1)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for r in pool.map(fn, tasks):
                    out.append(r)
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return Pairs.concat(out)
