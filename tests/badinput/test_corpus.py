"""Every kind of bad or unusual input gets its promised outcome, the same through API, CLI and index."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from imagetwins.cli import main
from imagetwins.hashing import hash_files, hash_image
from imagetwins.index import Index
from imagetwins.io import find_images, open_image

from .corpus import NOT_LISTED, build


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, datasets: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("badinput") / "corpus"
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[5]
    return folder, build(folder, photo)


def _outcomes(folder: Path, ok_paths, failures) -> dict[str, str]:
    out = {str(Path(p).relative_to(folder)): "ok" for p in ok_paths}
    out.update({str(Path(p).relative_to(folder)): reason for p, reason in failures})
    return out


def _check(expected: dict[str, str], got: dict[str, str]) -> None:
    assert len(expected) >= 30
    for name, want in expected.items():
        if want == NOT_LISTED:
            assert name not in got, name
            continue
        assert name in got, f"{name!r} was neither hashed nor reported"
        if want == "ok":
            assert got[name] == "ok", f"{name!r}: {got[name]}"
        else:
            assert want in got[name], f"{name!r}: expected '{want}', got '{got[name]}'"
    assert set(got) <= set(expected), set(got) - set(expected)


@pytest.mark.integration
def test_api(corpus) -> None:
    folder, expected = corpus
    skipped = []
    files = find_images(folder, recursive=True, skipped=skipped)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = hash_files(files, methods=("phash", "dihedral"))
    _check(expected, _outcomes(folder, result.paths, [(f.path, f.reason) for f in skipped + result.failures]))
    # exactly one warning per skipped file, naming it
    assert len(caught) == len(result.failures)
    for f in result.failures:
        assert sum(f.path in str(w.message) for w in caught) == 1


@pytest.mark.cli
def test_cli(corpus) -> None:
    folder, expected = corpus
    res = CliRunner().invoke(main, ["find", str(folder), "-r", "--no-cache", "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    ok = {p for g in data["groups"] for p in g["files"]}
    # ungrouped files are hashed too: every listed file is in 'images' or 'unreadable'
    got = _outcomes(folder, [], [(u["path"], u["reason"]) for u in data["unreadable"]])
    n_ok = sum(1 for v in expected.values() if v == "ok")
    assert data["images"] == n_ok
    for name, want in expected.items():
        if want not in ("ok", NOT_LISTED):
            assert want in got[name], name
    assert all(Path(p).relative_to(folder).as_posix() in {k.replace("\\", "/") for k in expected} for p in ok)


@pytest.mark.integration
def test_index(corpus, tmp_path: Path) -> None:
    folder, expected = corpus
    with Index(tmp_path / "bad.db") as idx:
        st = idx.update(folder)
        paths, _ = idx.load("phash")
        errors = idx.errors()
        assert st.unreadable == len(errors)
    _check(expected, _outcomes(folder, paths, errors))


@pytest.mark.integration
def test_all_eight_exif_orientations_hash_like_the_upright_photo(corpus) -> None:
    folder, _ = corpus
    upright = hash_image(open_image(folder / "exif_orientation_1.jpg"))
    for k in range(2, 9):
        h = hash_image(open_image(folder / f"exif_orientation_{k}.jpg"))
        assert int(np.bitwise_count(h ^ upright)) <= 4, k


@pytest.mark.integration
def test_file_deleted_between_listing_and_reading(tmp_path: Path, datasets: Path) -> None:
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    for p in photos:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    files = find_images(tmp_path)
    files[1].unlink()
    result = hash_files(files, warn=False)
    assert len(result.paths) == 2 and "not found" in result.failures[0].reason


@pytest.mark.integration
def test_a_stalled_decode_is_skipped_not_waited_for(tmp_path: Path, datasets: Path) -> None:
    import time

    from imagetwins.encoding import encode_files
    from imagetwins.hashing import HashStage, get_method
    from imagetwins.io import read_bytes

    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:4]

    def slow_for_one(path):
        if path.endswith(photos[1].name):
            time.sleep(3)
        return read_bytes(path)

    start = time.perf_counter()
    result = encode_files(photos, [HashStage(get_method("phash"))], workers=2, timeout=0.5, warn=False,
                          read=slow_for_one)
    assert time.perf_counter() - start < 2.5
    assert len(result.paths) == 3 and "longer than 0.5 s" in result.failures[0].reason


@pytest.mark.integration
def test_dask(corpus) -> None:
    pytest.importorskip("distributed")
    from imagetwins.distributed import find_duplicates_dask, local_client

    folder, expected = corpus
    client = local_client(2)
    try:
        result = find_duplicates_dask(folder, client=client, partition_size=7)
    finally:
        client.close()
        client.cluster.close()
    _check(expected, _outcomes(folder, result.files, [(f.path, f.reason) for f in result.failures]))
