"""Hash the shared datasets with imagededup 0.3 itself, once, into a test fixture.

Run with the reference venv made by ``../shared/tools/install-imagededup-ref.sh``::

    /tmp/imagededup-ref/bin/python tools/make_imagededup_fixture.py

Writes ``tests/fixtures/imagededup_hashes.json``: {method: {dataset-relative path: hex hash}}, plus
imagededup's ``find_duplicates(scores=True)`` and ``find_duplicates_to_remove`` on two folders.
"""

import json
import sys
from pathlib import Path

from imagededup.methods import AHash, DHash, PHash, WHash

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
FOLDERS = [
    "photos-public/images",
    "ukbench-600/images",
    "camera-photos/images",
    "imagededup-testdata/base_images",
]


def main() -> None:
    files = [f for folder in FOLDERS for f in sorted((DATASETS / folder).iterdir()) if f.is_file()]
    out = {}
    for name, cls in (("phash", PHash), ("ahash", AHash), ("dhash", DHash), ("whash", WHash)):
        enc = cls(verbose=False)
        out[name] = {str(f.relative_to(DATASETS)): enc.encode_image(image_file=str(f)) for f in files}
        print(name, len(out[name]), file=sys.stderr)
        # whole-folder results, to check the facade's return shapes and contents
        for folder in ("imagededup-testdata/mixed_images", "ukbench-600/images"):
            found = enc.find_duplicates(image_dir=str(DATASETS / folder), scores=True)
            out.setdefault("find_duplicates", {}).setdefault(name, {})[folder] = found
            out.setdefault("to_remove", {}).setdefault(name, {})[folder] = sorted(
                enc.find_duplicates_to_remove(image_dir=str(DATASETS / folder))
            )
    dest = ROOT / "tests" / "fixtures" / "imagededup_hashes.json"
    dest.write_text(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
