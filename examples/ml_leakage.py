"""ML leakage: which test images duplicate training images? Fail the pipeline if any do, or if the check
could not look at everything (an empty or mistyped folder, an unreadable test image).

The check uses the default method, ``copies`` (as ``imagetwins check``): exact, resized, re-encoded, cropped,
mirrored and turned copies, each verified. A hash (``method="dihedral"``) is faster but misses crops.

Usage: python examples/ml_leakage.py TRAIN_DIR TEST_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from imagetwins.check import check


def leaks(train: Path, test: Path) -> dict[str, list[str]]:
    """Test image -> the training images it duplicates."""
    result = check(test, against=train, recursive=True)
    return {image: [path for path, _ in matches] for image, matches in result.leaks.items()}


def main(train: Path, test: Path) -> int:
    result = check(test, against=train, recursive=True)  # crops, mirrors, quarter turns, resizes too
    for test_image, matches in result.leaks.items():
        print(f"LEAK {test_image} duplicates {', '.join(path for path, _ in matches)}")
    print(f"{len(result.leaks)} leaking test images")
    for why in result.reasons_incomplete:  # "0 leaks" from a check that read nothing is no pass
        print(f"INCOMPLETE: {why}", file=sys.stderr)
    # the same from the command line: imagetwins check TEST --against TRAIN -r
    return 3 if result.leaks else 0 if result.complete else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
