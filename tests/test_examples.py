"""Every worked example in examples/ (and so in the docs) runs on real images."""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shop(tmp_path: Path, datasets: Path) -> Path:
    root = tmp_path / "shop"
    root.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:10]
    for p in photos:
        shutil.copy(p, root / p.name)
    Image.open(photos[0]).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "mirrored.jpg")
    Image.open(photos[1]).resize((200, 133)).save(root / "thumb.jpg")
    return root


def test_ecommerce(shop: Path, tmp_path: Path) -> None:
    out = _load("ecommerce_catalogue").main(shop, tmp_path / "out")
    assert len(out["groups"]) == 2 and out["report"].exists()
    assert not any(k.endswith("thumb.jpg") for k in out["keep"].values())


def test_ml_leakage(tmp_path: Path, datasets: Path) -> None:
    train, test = tmp_path / "train", tmp_path / "test"
    train.mkdir()
    test.mkdir()
    photos = sorted((datasets / "ukbench-600" / "images").glob("*.jpg"))
    for p in photos[:40]:
        shutil.copy(p, train / p.name)
    Image.open(photos[5]).rotate(90, expand=True).save(test / "rotated_copy.jpg")
    with Image.open(photos[9]) as im:  # a crop leaks too (the example used a hash, blind to it: CLI-only catch)
        w, h = im.size
        crop = im.crop((w // 8, h // 8, w // 8 + int(w * 0.75), h // 8 + int(h * 0.75)))
        crop.save(test / "crop_leak.jpg", quality=90)
    shutil.copy(photos[300], test / "new.jpg")
    mod = _load("ml_leakage")
    assert mod.main(train, test) == 3
    assert sorted(mod.leaks(train, test)) == [str(test / "crop_leak.jpg"), str(test / "rotated_copy.jpg")]


def test_personal_photos(shop: Path) -> None:
    before = sorted(p.name for p in shop.iterdir())
    out = _load("personal_photos").main(shop, apply=True, then_undo=True)
    # the copies method: the mirrored copy and the thumbnail (phash found the thumbnail only)
    moved = sorted(Path(src).name for src, _, _ in out["plan"].moves)
    assert moved == ["mirrored.jpg", "thumb.jpg"], moved
    assert len(out["moved"].done) == 2 and len(out["restored"].done) == 2
    assert sorted(p.name for p in shop.iterdir()) == before


def test_choose_method(tmp_path: Path, datasets: Path) -> None:
    result = _load("choose_method").main(datasets / "photos-public" / "images", tmp_path / "work", n_originals=6)
    assert result.recommendation.method == "dihedral"
    assert (tmp_path / "work" / "precision_recall.png").exists()


def test_migrate_from_imagededup(datasets: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dups, to_remove = _load("migrate_from_imagededup").main(
            datasets / "imagededup-testdata" / "mixed_images", tmp_path / "d.json")
    assert dups["ukbench00120.jpg"] == [("ukbench00120_resize.jpg", 2)]
    assert to_remove == ["ukbench00120_resize.jpg"]
