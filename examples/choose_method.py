"""Choose a method and threshold from labelled examples of your own duplicates.

Usage: python examples/choose_method.py PHOTOS_DIR WORK_DIR
Builds a labelled set from your photos (edited copies), sweeps every method and threshold, and
prints the recommendation. With real labels, point ``sweep`` at your own ground truth instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

from imagetwins.edits import make_transformed_set
from imagetwins.evaluation import sweep


def main(photos: Path, work: Path, n_originals: int = 12):
    files = sorted(p for p in photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:3 * n_originals]
    make_transformed_set(files, work, n_originals=n_originals, edits=["jpeg", "downscale", "hflip", "rot90",
                                                                      "border", "text_overlay"])
    result = sweep(work / "ground_truth.json", work, methods=["phash", "dhash", "dihedral"], target_precision=0.995)
    print(result.table())
    result.plot(work / "precision_recall.png")
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
