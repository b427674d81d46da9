"""Dask: a real LocalCluster of worker processes gives the single-machine result, even when a worker dies."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("distributed")

from imagetwins.distributed import find_duplicates_dask, local_client  # noqa: E402
from imagetwins.finder import find_duplicate_groups  # noqa: E402


@pytest.fixture(scope="module")
def client():
    c = local_client(2)
    yield c
    c.close()
    c.cluster.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, datasets: Path) -> Path:
    root = tmp_path_factory.mktemp("dask") / "photos"
    (root / "sub").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:50]
    for i, p in enumerate(photos):
        shutil.copy(p, root / ("sub" if i % 3 == 0 else ".") / p.name)
    for i in range(0, 50, 7):  # near-duplicates spread over partitions
        Image.open(photos[i]).resize((200, 133)).save(root / f"small_{i}.jpg", quality=80)
        Image.open(photos[i]).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / f"mirror_{i}.jpg")
    shutil.copy(photos[1], root / "sub" / "exact_copy.jpg")
    (root / "broken.jpg").write_bytes(b"nope")
    return root


def _canon(result) -> list[list[str]]:
    return sorted(sorted(os.path.basename(f) for f in g.files) for g in result.groups)


@pytest.mark.integration
@pytest.mark.parametrize("method", ["phash", "dihedral", "copies"])
def test_same_groups_as_one_machine(client, folder: Path, method: str) -> None:
    single = find_duplicate_groups(folder, method=method, recursive=True)
    spread = find_duplicates_dask(folder, method=method, client=client, partition_size=9)
    assert _canon(spread) == _canon(single)
    assert len(single.groups) >= 8
    assert [f.path for f in spread.failures] == [str(folder / "broken.jpg")]
    # the same result type as a local run: one encoding per file (the review page's score table needs them)
    assert type(spread) is type(single) and len(spread.encodings) == len(spread.files) == len(single.files)
    if method != "copies":
        by_name = dict(zip(single.files, single.encodings.tolist()))
        assert [by_name[f] for f in spread.files] == spread.encodings.tolist()


@pytest.mark.integration
def test_vectors_across_workers(client, folder: Path, fake_cnn) -> None:
    """A vector method (the cnn method with a small stand-in model) gives the local pairs and scores."""
    files = sorted(str(p) for p in folder.rglob("*.jpg"))
    spread = find_duplicates_dask(files, method=fake_cnn, threshold=0.9, client=client, partition_size=20)
    local = find_duplicate_groups(files, method=fake_cnn, threshold=0.9)
    assert spread.score_kind == local.score_kind == "similarity"
    assert np.allclose(np.sort(spread.pairs.score), np.sort(local.pairs.score), atol=1e-5)

    def pair_names(result) -> set:
        return {frozenset((os.path.basename(result.files[i]), os.path.basename(result.files[j])))
                for i, j in zip(result.pairs.left.tolist(), result.pairs.right.tolist())}

    assert pair_names(spread) == pair_names(local) and len(pair_names(local)) >= 7
    assert _canon(spread) == _canon(local)


@pytest.mark.integration
def test_a_worker_killed_mid_run_still_gives_the_same_result(client, folder: Path) -> None:
    single = find_duplicate_groups(folder, recursive=True)
    out = {}

    def run() -> None:
        out["result"] = find_duplicates_dask(folder, client=client, partition_size=3)

    pids = client.run(os.getpid)
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    os.kill(sorted(pids.values())[0], signal.SIGKILL)  # kill -9 one worker; its nanny starts a new one
    t.join(timeout=120)
    assert "result" in out
    assert _canon(out["result"]) == _canon(single)


@pytest.mark.cli
def test_cli_with_a_local_dask_cluster(folder: Path) -> None:
    import json

    from click.testing import CliRunner

    from imagetwins.cli import main

    start = time.perf_counter()
    res = CliRunner().invoke(main, ["find", str(folder), "-r", "-m", "phash", "--dask-workers", "2", "--json", "-"])
    wall = time.perf_counter() - start
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert 0 < data["seconds"] <= wall  # the run's real time (it reported 0.0)
    single = find_duplicate_groups(folder, recursive=True)
    assert sorted(sorted(os.path.basename(f) for f in g["files"]) for g in data["groups"]) == _canon(single)


@pytest.mark.unit
def test_pairs_of_precomputed_hashes_across_partitions(client) -> None:
    import numpy as np

    from imagetwins.distributed import pairs_dask
    from imagetwins.search import hamming_pairs

    rng = np.random.default_rng(5)
    h = rng.integers(0, 2**64 - 1, size=30_000, dtype=np.uint64)
    h[-3000:] = h[:3000] ^ (np.uint64(1) << rng.integers(0, 64, size=3000).astype(np.uint64))
    want = hamming_pairs(h, 8)
    got = pairs_dask(h, "phash", 8, client=client, partition_size=7_000)
    assert len(want) >= 3000
    assert np.array_equal(got.left, want.left) and np.array_equal(got.right, want.right)
    assert np.array_equal(got.distance.astype(int), want.distance.astype(int))


@pytest.mark.integration
def test_fsspec_urls_are_read_on_the_workers(client, folder: Path) -> None:
    single = find_duplicate_groups(folder, recursive=True)
    spread = find_duplicates_dask(f"file://{folder}", client=client, partition_size=11)
    assert all(f.startswith("file://") for f in spread.files)
    assert _canon(spread) == _canon(single)


@pytest.mark.integration
def test_a_session_gives_the_dask_run_its_progress(client, folder: Path) -> None:
    """The session is passed to the Dask stage as to the local one: its progress bar (here a caller's) is advanced
    by each partition's files as the cluster encodes them."""
    from imagetwins.session import Session

    class Bar:
        def __init__(self):
            self.n = 0

        def update(self, n):
            self.n += n

    bar = Bar()
    with Session(None, workers=2, progress=bar) as session:
        spread = find_duplicates_dask(folder, "phash", client=client, partition_size=9, session=session)
    assert bar.n == len(spread.files) + len(spread.failures) and _canon(spread) == _canon(
        find_duplicate_groups(folder, "phash", recursive=True))


@pytest.mark.integration
def test_identical_files_are_searched_once_across_partitions(client, tmp_path: Path, datasets: Path) -> None:
    """40 byte copies and 40 same-pixel saves of one picture spread over partitions of 25, beside other photos: the
    search returned every two of them (3,160 pairs gathered to the client; 2,000 copies: 2 million) where a local run
    searches their encoding once. Now a star, as locally: the same groups and every pair on request."""
    from conftest import saved_many_times

    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    with Image.open(photos[3]) as im:
        picture = im.convert("RGB")
    picture.thumbnail((200, 200))
    saved_many_times(picture, tmp_path, 40, 40)
    for p in photos[10:16]:
        shutil.copy(p, tmp_path / p.name)
    shutil.copy(photos[10], tmp_path / "z_copy.jpg")  # a byte copy named after the crowd: the last partition
    local = find_duplicate_groups(tmp_path, "phash")
    got = find_duplicates_dask(tmp_path, "phash", client=client, partition_size=25)
    assert _canon(got) == _canon(local)
    assert len(got.matches) < 2 * 80  # a star: was 3,160 + the photo's pair
    want = local.pairs
    pairs = got.pairs
    assert len(pairs) == 80 * 79 // 2 + 1
    assert np.array_equal(pairs.left, want.left) and np.array_equal(pairs.right, want.right)
    assert np.array_equal(pairs.score, want.score)


@pytest.mark.integration
@pytest.mark.parametrize("partition_size", [1, 2])
def test_copies_workers_look_at_the_files_of_a_pair_the_features_leave_undecided(
        client, datasets: Path, tmp_path: Path, partition_size: int) -> None:
    """holidays-half 126400/126402, a re-shot the stored features cannot tell from a copy, is looked at in its files on
    the worker that searches its block (one partition: ``pairs``; two: ``query``): no copy, as on one machine."""
    for name in ("126400.jpg", "126402.jpg"):
        shutil.copy(datasets / "holidays-half" / "images" / name, tmp_path / name)
    spread = find_duplicates_dask(tmp_path, method="copies", client=client, partition_size=partition_size)
    assert spread.groups == [] and not spread.failures
