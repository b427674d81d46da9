"""E-commerce catalogue: find near-duplicate product photos, write a review page, keep the best copy.

Usage: python examples/ecommerce_catalogue.py CATALOGUE_DIR [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import imagetwins
from imagetwins.report import write_html_report


def main(catalogue: Path, out_dir: Path) -> dict:
    # The default method, copies (as 'imagetwins find'), also catches mirrored, rotated, cropped and padded product
    # shots, each verified; keep="original": highest resolution, camera format over a re-save, oldest, shortest name
    result = imagetwins.find(catalogue, recursive=True, keep="original")
    out_dir.mkdir(parents=True, exist_ok=True)
    page = write_html_report(result, out_dir / "catalogue-review.html")
    keep = {g.files[0]: d.keeper for g, d in zip(result.groups, result.decisions)}
    print(f"{len(result.groups)} groups of near-duplicate product photos; review page: {page}")
    for d in result.decisions:
        print(f"keep {d.keeper} ({len(d.remove)} other copies)")
    return {"groups": result.groups, "keep": keep, "report": page}


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "."))
