"""Shared fixtures: the real image datasets beside the repository (read-only), and the test tiers.

Every test carries exactly one tier marker (registered in pyproject.toml); a module of one tier says so once
with ``pytestmark = pytest.mark.unit`` (or ``integration``, ``cli``, ``quality``), a mixed module marks each
test or class. An unmarked test, or one with two tiers, fails collection. ``unit`` tests run as if there were
no datasets: asking for a dataset fixture is a collection error. Only ``cli`` tests may invoke the CLI: in any
other tier it fails the test.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
# The real images: ../shared/datasets beside the repository, or wherever IMAGETWINS_DATASETS points.
DATASETS = Path(os.environ.get("IMAGETWINS_DATASETS") or REPO.parent / "shared" / "datasets")
FIXTURES = Path(__file__).parent / "fixtures"

TIERS = ("unit", "integration", "cli", "quality")
# Fixtures that read the real images; a unit test may not ask for them, even through another fixture.
DATASET_FIXTURES = frozenset({"datasets", "photo", "camera_exif_rotated"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail collection for a test without exactly one tier, or a unit test that needs the datasets.

    Runs before ``-m`` deselects anything, so ``pytest -m unit`` refuses an unmarked test elsewhere too.
    """
    problems = []
    for item in items:
        tiers = sorted({m.name for m in item.iter_markers() if m.name in TIERS})
        if len(tiers) != 1:
            problems.append(f"{item.nodeid}: {'no tier' if not tiers else 'tiers ' + ', '.join(tiers)}; mark it "
                            f"with exactly one of {', '.join(TIERS)} (module: pytestmark = pytest.mark.unit)")
        elif tiers == ["unit"] and DATASET_FIXTURES & set(getattr(item, "fixturenames", ())):
            needs = ", ".join(sorted(DATASET_FIXTURES & set(item.fixturenames)))
            problems.append(f"{item.nodeid}: a unit test may not use the datasets ({needs}); "
                            f"make it integration or use synthetic images")
    if problems:
        raise pytest.UsageError("tests outside the tiers (see tests/conftest.py):\n  " + "\n  ".join(problems))


@pytest.fixture(autouse=True)
def _only_cli_tests_run_the_cli(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a ``cli`` test invokes the command line (``CliRunner``, ``python -m imagetwins``): the others test the
    library, so that a rule is not tested through a command, and exit codes and messages are tested in one tier."""
    tier = next((m.name for m in request.node.iter_markers() if m.name in TIERS), None)
    if tier == "cli":
        return
    import subprocess

    from click.testing import CliRunner

    def refuse(*args, **kwargs):
        raise AssertionError(f"only cli tests may invoke the CLI (this is {tier}): mark it cli or call the library")

    monkeypatch.setattr(CliRunner, "invoke", refuse)
    popen_init = subprocess.Popen.__init__

    def no_imagetwins_command(self, args, *more, **kwargs):
        words = [str(a) for a in args] if isinstance(args, (list, tuple)) else str(args).split()
        if (any(w == "-m" and nxt == "imagetwins" for w, nxt in zip(words, words[1:])) or any(
                "imagetwins.cli" in w for w in words) or (words and os.path.basename(words[0]) == "imagetwins")):
            refuse()
        popen_init(self, args, *more, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", no_imagetwins_command)


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.fail(f"real test images expected at {DATASETS} (the shared datasets folder, or set "
                    f"IMAGETWINS_DATASETS); only `pytest -m unit` runs without them")
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


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    """Keep remembered decisions (imagetwins.decisions) out of the real user data directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


def save_crowd(folder: Path, photo: Path, copies: int, prefix: str = "") -> None:
    """A crowd for the review page: ``photo`` at 96x64 as ``{prefix}zz_big.jpg`` (the keeper by size, named last) and
    ``copies`` byte copies of it at 48x32 (``{prefix}copy000.jpg`` ...), JPEG quality 90."""
    import io

    with Image.open(photo) as im:
        big = im.convert("RGB").resize((96, 64))
    big.save(folder / f"{prefix}zz_big.jpg", quality=90)
    buf = io.BytesIO()
    big.resize((48, 32)).save(buf, "JPEG", quality=90)
    for k in range(copies):
        (folder / f"{prefix}copy{k:03d}.jpg").write_bytes(buf.getvalue())


def saved_many_times(picture: Image.Image, folder: Path, byte_copies: int, same_pixels: int) -> None:
    """One picture saved again and again in ``folder``: ``byte_copies`` byte-identical PNGs (``b00.png`` ...) and
    ``same_pixels`` PNGs of its pixels with another text chunk each (``p00.png`` ...: other bytes)."""
    from PIL import PngImagePlugin

    picture.save(folder / "b00.png")
    for i in range(1, byte_copies):
        shutil.copy(folder / "b00.png", folder / f"b{i:02d}.png")
    for i in range(same_pixels):
        info = PngImagePlugin.PngInfo()
        info.add_text("k", str(i))
        picture.save(folder / f"p{i:02d}.png", pnginfo=info)


def synthetic_photo(width: int = 320, height: int = 240, seed: int = 0) -> Image.Image:
    """A photo-like RGB picture for unit tests: random colour fields at three scales (what the hashes see)
    plus per-pixel noise (sigma 10, like a camera's), so that an original holds detail its enlargement lacks:
    enlargement_score is ~0.005 for a 2x enlargement of its JPEG and ~5 for it beside its half-size copy."""
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((4, 0.6), (16, 0.3), (64, 0.15)):
        field = rng.integers(0, 256, (max(2, cells * height // width), cells, 3), dtype=np.uint8)
        out += weight * np.asarray(Image.fromarray(field).resize((width, height), Image.Resampling.BICUBIC),
                                   np.float32)
    out += rng.normal(0, 10, out.shape)
    return Image.fromarray(np.clip(out - out.mean() + 128, 0, 255).astype(np.uint8))


class FakeModel:
    """A stand-in for the CNN where the network itself is not under test: 14x14 block means of the
    model-sized image, centred. Resized and recompressed copies stay above 0.95 cosine similarity;
    it costs microseconds per image instead of EfficientNet's ~0.4 GFLOP, and pickles for Dask."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        n, h, w, c = batch.shape
        x = batch.astype(np.float32).reshape(n, 14, h // 14, 14, w // 14, c).mean(axis=(2, 4))
        x -= x.mean(axis=(1, 2, 3), keepdims=True)
        return x.reshape(n, -1)


@pytest.fixture
def linked_album(tmp_path: Path, datasets: Path) -> Path:
    """``album/2020`` holds 3 photos; ``album/linkdir`` is a link to a folder outside holding byte copies of them."""
    root, outside = tmp_path / "album", tmp_path / "outside"
    (root / "2020").mkdir(parents=True)
    outside.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]:
        (root / "2020" / p.name).write_bytes(p.read_bytes())
        (outside / p.name).write_bytes(p.read_bytes())
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    return root


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file an encoder decodes in this process (``Encoder.encode_files``): what a check made now costs."""
    from imagetwins.encoders.base import Encoder

    seen: list[str] = []
    real = Encoder.encode_files

    def counting(self, paths, *args, **kwargs):
        seen.extend(os.fspath(p) for p in paths)
        return real(self, paths, *args, **kwargs)

    monkeypatch.setattr(Encoder, "encode_files", counting)
    return seen


@pytest.fixture
def fake_cnn():
    """The ``cnn`` method with :class:`FakeModel` in place of the bundled network (same name and threshold),
    for tests of the plumbing around vectors: index, cache, Dask, --against, tune. One orientation: summed
    over eight, block means of different photos look alike (the real model's orientations are tested in
    test_cnn.py)."""
    from imagetwins.embedding import Embedder, ModelConfig
    from imagetwins.encoders import get_encoder, registered
    from imagetwins.encoders.model import ModelEncoder

    real = get_encoder("cnn")
    fake = ModelEncoder(real.name, Embedder(ModelConfig(name="fake-block-means"), model=FakeModel(),
                                            orientations=1), real.default_threshold)
    with registered(fake, replace=True):
        yield fake


@pytest.fixture
def home_trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home trash of our own on tmp_path's device ($XDG_DATA_HOME in tmp_path): where ``--to-trash`` sends files
    (the folder itself is not made). Skipped where the platform's trash is not the freedesktop folder."""
    from imagetwins import trash

    if not trash.FREEDESKTOP:
        pytest.skip("this platform's trash is not the freedesktop folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    return tmp_path / "share" / "Trash"


def moves_by_link(monkeypatch: pytest.MonkeyPatch) -> None:
    """``remove`` and ``undo`` move a file by a hard link then an unlink, as where the system has no ``renameat2``
    (:func:`imagetwins.quarantine._rename_noreplace`): the path through which a test puts the quarantine on another
    device (``os.link`` raising EXDEV) or makes a name that cannot be removed (``os.unlink`` refused)."""
    from imagetwins import quarantine

    monkeypatch.setattr(quarantine, "_rename_noreplace", lambda *args, **kwargs: False)


class CallCount:
    """``owner.name`` replaced (through ``monkeypatch``) by a wrapper that counts its calls in :attr:`calls` and keeps
    each call's first argument in :attr:`firsts`: how the tests of work that grew with the square of the files count
    what a run does, and the tests of "decodes nothing" see what was read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        self.calls = 0
        self.firsts: list = []
        real = getattr(owner, name)

        def counted(*args, **kwargs):
            self.calls += 1
            self.firsts.append(args[0] if args else None)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def indexed_album(tmp_path: Path, n: int = 6, twice: bool = False) -> tuple[Path, Path]:
    """A folder ``album`` of ``n`` synthetic photos (each with a byte copy when ``twice``) and its phash index
    ``photos.db``, closed: what the damaged-index tests damage."""
    from imagetwins.index import Index

    album = tmp_path / "album"
    album.mkdir()
    for k in range(n):
        synthetic_photo(96, 72, k).save(album / f"p{k}.png")
        if twice:
            (album / f"p{k} copy.png").write_bytes((album / f"p{k}.png").read_bytes())
    db = tmp_path / "photos.db"
    with Index(db, methods=["phash"]) as idx:
        idx.update(album)
    return album, db


class _UnreadableRecord:
    """A copies record whose stored features no longer read back."""

    @property
    def features(self):
        raise ValueError("not a copies record (truncated or damaged features)")


def damaged_feature_rows() -> list:
    """Three copies rows: features whose descriptors are cut to 16 bytes (the check itself fails on them), good
    features, and a record whose features cannot be read; checked as pairs (0, 1), (1, 2), (0, 2)."""
    from imagetwins import verify

    good = verify.extract(synthetic_photo(320, 240, seed=1))
    odd = verify.ImageFeatures(good.size, good.points, good.descriptors[:, :16].copy(), good.mirror_points,
                               good.mirror_descriptors[:, :16].copy(), good.thumbnail)
    return [odd, good, _UnreadableRecord()]


def assert_damaged_rows_named(lines: list[str], a: str, b: str, c: str) -> None:
    """The warnings of checking :func:`damaged_feature_rows` named ``a``, ``b``, ``c``: the pair whose check failed
    names both of its files, the unreadable record is named once though met twice."""
    assert any(f"{a} or {b}: its pairs could not be verified" in x for x in lines)
    assert sum(f"copies: {c}: its pairs could not be verified" in x for x in lines) == 1
    assert all("damaged image features" in x for x in lines)


def find_through_index(folder: Path, db: Path) -> tuple[set[frozenset[str]], set[tuple]]:
    """``copies`` over ``folder`` through the index file ``db``: its groups (sets of file names) and every scored
    pair (two names in order, the score to 4 places), to compare an incremental find with a full one."""
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.index import Index

    with Index(db, methods=["copies"]) as index:
        result = find_duplicate_groups(folder, "copies", cache=index, workers=2, decisions=False)
    groups = {frozenset(Path(f).name for f in g.files) for g in result.groups}
    names = [Path(f).name for f in result.files]
    matches = {(*sorted((names[i], names[j])), round(s, 4)) for p in result.iter_pairs()
               for i, j, s in zip(p.left.tolist(), p.right.tolist(), p.score.tolist())}
    return groups, matches


class Decodes:
    """Counts pixel decodes anywhere (Pillow's ``ImageFile.load``) and calls of ``imagetwins.io.open_image``: what
    the "a warm re-run decodes nothing" tests assert on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from PIL import ImageFile

        from imagetwins import io

        self._loads = CallCount(monkeypatch, ImageFile.ImageFile, "load")
        self._opens = CallCount(monkeypatch, io, "open_image")

    @property
    def loads(self) -> int:
        return self._loads.calls

    @property
    def opens(self) -> int:
        return self._opens.calls


def exported_decisions(browser, timeout: float = 20.0) -> Path:
    """The review page's export (``imagetwins-decisions*.json``) once the browser has written it whole; fails after
    ``timeout`` seconds without one."""
    deadline = time.monotonic() + timeout
    while not (found := list(browser.downloads.glob("imagetwins-decisions*.json"))) or not found[0].stat().st_size:
        assert time.monotonic() < deadline, "the page exported nothing"
        time.sleep(0.1)
    return found[0]


@pytest.fixture
def browser(tmp_path: Path):
    """A headless Chromium (selenium) that downloads into ``driver.downloads`` and keeps the page's console log
    (``driver.get_log("browser")``); skipped where chromium-driver is not installed (.ci/run installs it)."""
    if shutil.which("chromedriver") is None:
        pytest.skip("needs chromium-driver (.ci/run installs it)")
    pytest.importorskip("selenium")
    from selenium import webdriver

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary:
        opts.binary_location = binary
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(shutil.which("chromedriver")))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def save_combos(folder: Path, datasets: Path, indices, seed: int = 4242) -> None:
    """photos-public photo ``k`` as ``p{k}.jpg`` and its ``edits.combo`` (seed [``seed``, k - 40], as
    ``bench_proposer.py``'s and ``probe_combo_fit.py``'s pools) as ``p{k}_combo.jpg``, both JPEG 92, for each ``k`` in
    ``indices``."""
    import numpy as np

    from imagetwins import edits
    from imagetwins.io import open_image

    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    for k in indices:
        img = open_image(photos[k])
        img.save(folder / f"p{k}.jpg", quality=92)
        edits.FAMILIES["combo"](img, np.random.default_rng([seed, k - 40])).save(folder / f"p{k}_combo.jpg",
                                                                                 quality=92)


def byte_copies_album(tmp_path: Path) -> Path:
    """``tmp_path/album``: two small synthetic photos, each with two byte copies ('p0 a.png', 'p0 b.png')."""
    album = tmp_path / "album"
    album.mkdir()
    for i in range(2):
        synthetic_photo(96, 72, i).save(album / f"p{i}.png")
        for copy in ("a", "b"):
            (album / f"p{i} {copy}.png").write_bytes((album / f"p{i}.png").read_bytes())
    return album
