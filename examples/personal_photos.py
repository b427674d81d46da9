"""Personal photos: group burst shots and edited copies, move the extras to quarantine, undo.

Usage: python examples/personal_photos.py PHOTOS_DIR [--apply]
"""

from __future__ import annotations

import sys
from pathlib import Path

from imagetwins.finder import find_duplicate_groups
from imagetwins.quarantine import apply_plan, default_quarantine, plan_removal, undo


def main(photos: Path, apply: bool = False, then_undo: bool = False) -> dict:
    result = find_duplicate_groups(photos, method="phash", threshold=10, recursive=True)
    plan = plan_removal(result, roots=[photos])  # keeps the original (imagetwins.keep)
    for src, group, keeper in plan.moves:
        print(f"group {group}: would move {src}, keeping {keeper}")
    out = {"plan": plan}
    if apply:
        quarantine = default_quarantine(photos)
        moved = apply_plan(plan, photos, quarantine)
        print(f"moved {len(moved.done)} files to {quarantine}")
        out["moved"] = moved
        if then_undo:
            restored = undo(quarantine)
            print(f"restored {len(restored.done)} files")
            out["restored"] = restored
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]), apply="--apply" in sys.argv)
