"""ML leakage: which test images duplicate training images? Fail the pipeline if any do.

Usage: python examples/ml_leakage.py TRAIN_DIR TEST_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from imagetwins.hashing import hash_files
from imagetwins.io import find_images
from imagetwins.search import method_query


def leaks(train: Path, test: Path, method: str = "dihedral", threshold: int = 72) -> dict[str, list[str]]:
    """Test image -> the training images it duplicates."""
    train_enc = hash_files(find_images(train, recursive=True), methods=(method,), warn=False)
    test_enc = hash_files(find_images(test, recursive=True), methods=(method,), warn=False)
    pairs = method_query(test_enc.hashes[method], train_enc.hashes[method], method, threshold)
    found: dict[str, list[str]] = {}
    for q, t in zip(pairs.left.tolist(), pairs.right.tolist()):
        found.setdefault(test_enc.paths[q], []).append(train_enc.paths[t])
    return found


def main(train: Path, test: Path) -> int:
    found = leaks(train, test)
    for test_image, train_images in found.items():
        print(f"LEAK {test_image} duplicates {', '.join(train_images)}")
    print(f"{len(found)} leaking test images")
    # the same from the command line: imagetwins find TEST --against TRAIN --fail-on-duplicates
    return 3 if found else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
