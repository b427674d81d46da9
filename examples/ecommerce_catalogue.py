"""E-commerce catalogue: find near-duplicate product photos, write a review page, keep the best copy.

Usage: python examples/ecommerce_catalogue.py CATALOGUE_DIR [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from imagetwins.finder import find_duplicate_groups
from imagetwins.keep import choose_keeper, file_info
from imagetwins.report import write_html_report


def main(catalogue: Path, out_dir: Path) -> dict:
    # The dihedral hash also catches mirrored, rotated and padded product shots.
    result = find_duplicate_groups(catalogue, method="dihedral", recursive=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = write_html_report(result, out_dir / "catalogue-review.html")
    keep = {g.files[0]: choose_keeper([file_info(f) for f in g.files]).path for g in result.groups}
    print(f"{len(result.groups)} groups of near-duplicate product photos; review page: {page}")
    for group in result.groups:
        best = choose_keeper([file_info(f) for f in group.files]).path
        print(f"keep {best} ({len(group.files) - 1} other copies)")
    return {"groups": result.groups, "keep": keep, "report": page}


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "."))
