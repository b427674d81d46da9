"""E-commerce catalogue: find near-duplicate product photos, write a review page, keep the best copy.

Usage: python examples/ecommerce_catalogue.py CATALOGUE_DIR [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from imagetwins.finder import find_duplicate_groups
from imagetwins.keep import decide_groups
from imagetwins.report import write_html_report


def main(catalogue: Path, out_dir: Path) -> dict:
    # The dihedral hash also catches mirrored, rotated and padded product shots.
    result = find_duplicate_groups(catalogue, method="dihedral", recursive=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = write_html_report(result, out_dir / "catalogue-review.html")
    # the original of each group: highest resolution, camera format over a re-save, oldest, shortest name
    decisions = decide_groups([g.files for g in result.groups])
    keep = {g.files[0]: d.keeper for g, d in zip(result.groups, decisions)}
    print(f"{len(result.groups)} groups of near-duplicate product photos; review page: {page}")
    for d in decisions:
        print(f"keep {d.keeper} ({len(d.remove)} other copies)")
    return {"groups": result.groups, "keep": keep, "report": page}


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "."))
