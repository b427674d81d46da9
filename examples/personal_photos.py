"""Personal photos: group edited copies (resized, re-saved, cropped, turned, converted), move the extras to a
quarantine, undo.

Burst shots and re-shots of one scene are other photos, not copies: ``imagetwins report DIR -r -m similar`` groups
them for a person to choose (nothing of them is moved from a scan).

Usage: python examples/personal_photos.py PHOTOS_DIR [--apply]
"""

from __future__ import annotations

import sys
from pathlib import Path

import imagetwins
from imagetwins.quarantine import apply_plan, default_quarantine, plan_removal, undo


def main(photos: Path, apply: bool = False, then_undo: bool = False) -> dict:
    # the default method, copies (as 'imagetwins find'); keep="original": the file each copy was made from stays
    result = imagetwins.find(photos, recursive=True, keep="original")
    plan = plan_removal(result, roots=[photos], decisions=result.decisions)
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
