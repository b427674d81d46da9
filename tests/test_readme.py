"""The README's Python snippets run as written, on a temporary copy of real photos."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, datasets: Path) -> Path:
    """A folder holding photos/: 12 real photos, a smaller copy of one and a byte copy of another."""
    root = tmp_path_factory.mktemp("readme")
    photos = root / "photos"
    photos.mkdir()
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:12]
    for p in src:
        shutil.copy(p, photos / p.name)
    Image.open(src[0]).resize((240, 160)).save(photos / "zz_small_copy.jpg", quality=85)
    shutil.copy(src[3], photos / "zz_byte_copy.jpg")
    # data/train and data/test (class sub-folders) for the leak check: one test image is a training image resized
    others = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[20:26]
    for d in ("train/cat", "train/dog", "test/cat", "test/dog"):
        (root / "data" / d).mkdir(parents=True)
    for k, p in enumerate(others[:4]):
        shutil.copy(p, root / "data" / "train" / ("cat", "dog")[k % 2] / p.name)
    for k, p in enumerate(others[4:]):
        shutil.copy(p, root / "data" / "test" / ("cat", "dog")[k % 2] / p.name)
    Image.open(others[1]).resize((240, 160)).save(root / "data" / "test" / "dog" / "leak.jpg", quality=85)
    return root


def others_name(workdir: Path) -> str:
    """The training image the leak of ``workdir``'s data/test was made from (data/train/dog's first)."""
    return sorted(p.name for p in (workdir / "data" / "train" / "dog").iterdir())[0]


@pytest.mark.unit
def test_the_readme_has_the_snippets_this_test_runs() -> None:
    assert len(SNIPPETS) == 5
    assert all("import" in s for s in SNIPPETS)


@pytest.mark.integration
@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs_as_written(index: int, workdir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", SNIPPETS[index]], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Warning" not in proc.stderr  # nothing the user did not ask for (num_enc_workers was warned about)
    if "imagetwins.find(" in SNIPPETS[index]:
        # the smaller copy and the byte copy are found, each with its original kept
        lines = proc.stdout.splitlines()
        assert len(lines) == 2 and any("zz_byte_copy.jpg" in x for x in lines) and any(
            "zz_small_copy.jpg" in x for x in lines)
        assert not any(x.split(" keep ")[1].startswith("photos/zz_") for x in lines), lines
    if "imagetwins.check(" in SNIPPETS[index]:  # the resized training image is the one leak, and nothing is unread
        assert proc.stdout.splitlines() == [f"data/test/dog/leak.jpg = ['data/train/dog/{others_name(workdir)}']",
                                            "()"], proc.stdout
    if "make_transformed_set" in SNIPPETS[index]:
        assert "recommend" in proc.stdout.lower() and "MAP " in proc.stdout
        assert not (workdir / "bench" / "ground_truth.json").exists()
        assert (workdir / "bench_truth.json").exists()
        assert "skipped" not in proc.stderr  # nothing in bench/ that is not an image
