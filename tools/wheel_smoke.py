"""Smoke test of an installed wheel: run with the wheel's install dir on PYTHONPATH, outside the repo.

    PYTHONPATH=SITE python tools/wheel_smoke.py SITE IMAGES_DIR
"""

import subprocess
import sys
from pathlib import Path

site, images = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()

import imagetwins  # noqa: E402
from imagetwins.methods import CNN, PHash  # noqa: E402

assert Path(imagetwins.__file__).resolve().is_relative_to(site), f"imported from {imagetwins.__file__}, not the wheel"
found = PHash(verbose=False).find_duplicates(image_dir=images)
assert found["beach.jpg"] == ["beach_copy.jpg", "beach_small.jpg"], found["beach.jpg"]
assert CNN(verbose=False).encode_image(image_file=images / "city.jpg").shape == (1, 1280)
assert (site / "imagetwins" / "py.typed").exists()
assert not list(site.glob("imagetwins/**/*.jpg")), "test or example data inside the wheel"
out = subprocess.run([sys.executable, "-m", "imagetwins", "find", str(images), "--no-cache"], capture_output=True,
                     text=True, check=True).stdout
assert "3 duplicate groups holding 8 files" in out, out  # copies, the default, finds the mirror too
print(f"wheel smoke test passed ({imagetwins.__version__})")
