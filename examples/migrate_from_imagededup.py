"""Migrating from imagededup: change the import, keep the code.

Before:  from imagededup.methods import PHash
After:   from imagetwins.methods import PHash
"""

from __future__ import annotations

import sys
from pathlib import Path

from imagetwins.methods import PHash  # was: from imagededup.methods import PHash


def main(image_dir: Path, outfile: Path) -> tuple[dict, list]:
    phasher = PHash()
    encodings = phasher.encode_images(image_dir=image_dir)
    duplicates = phasher.find_duplicates(encoding_map=encodings, max_distance_threshold=10, scores=True,
                                         outfile=str(outfile))
    to_remove = phasher.find_duplicates_to_remove(encoding_map=encodings)
    print(f"{sum(1 for v in duplicates.values() if v)} files have duplicates; {len(to_remove)} could go")
    return duplicates, to_remove


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "duplicates.json"))
