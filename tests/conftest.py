"""Shared fixtures: the real image datasets beside the repository (read-only)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.fail(f"real test images expected at {DATASETS} (the shared datasets folder)")
    return DATASETS


@pytest.fixture(scope="session")
def imagededup_reference() -> dict:
    """imagededup 0.3's own outputs on the datasets (made by tools/make_imagededup_fixture.py)."""
    return json.loads((FIXTURES / "imagededup_hashes.json").read_text())


@pytest.fixture(scope="session")
def camera_exif_rotated(datasets: Path) -> set[str]:
    """Camera photos whose EXIF orientation is not 1 (imagededup ignores EXIF, we apply it)."""
    with open(datasets / "camera-photos" / "images.csv", newline="") as fh:
        return {
            "camera-photos/" + row["file"]
            for row in csv.DictReader(fh)
            if row["exif_orientation"] not in ("", "1")
        }


@pytest.fixture
def photo(datasets: Path) -> Path:
    """One real 481x321 photo."""
    return sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory, monkeypatch):
    """Keep `imagetwins find`'s default cache out of the real user cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
