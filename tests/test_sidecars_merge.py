"""--merge-metadata reads every XMP sidecar of a moved copy, wherever each lies after the move: its own
``IMG.jpg.xmp`` (moved with it) and a shared ``IMG.xmp`` that stays beside ``IMG.dng``, which keeps using it. Before,
only the sidecars beside the moved image were read, so a shared ``IMG.xmp`` was missed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

try:  # imagetwins[xmp] is a dev dependency; Exempi a system library (.ci/run installs it)
    import libxmp  # noqa: F401
except Exception as exc:  # ImportError, or libxmp's own error when Exempi is missing
    pytest.skip(f"python-xmp-toolkit and Exempi are needed: {exc}", allow_module_level=True)

from imagetwins.cli import main
from imagetwins.metadata import PhotoMetadata, read_metadata, sidecar_bytes, sidecar_writes
from imagetwins.quarantine import Plan, apply_plan, sha256_file, undo

PHOTO = "photos-public/images/bsds_100075.jpg"
OTHER = "photos-public/images/bsds_101027.jpg"


@pytest.fixture
def lib(tmp_path: Path, datasets: Path) -> Path:
    """keep.jpg; copy.jpg, its byte copy, with its own copy.jpg.xmp (a rating); copy.dng (another file of that name,
    say the RAW the JPEG came from) sharing copy.xmp (a title and a keyword) with it."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(datasets / PHOTO, lib / "keep.jpg")
    shutil.copy(datasets / PHOTO, lib / "copy.jpg")
    shutil.copy(datasets / OTHER, lib / "copy.dng")
    (lib / "copy.jpg.xmp").write_bytes(sidecar_bytes(PhotoMetadata(rating=3)))
    (lib / "copy.xmp").write_bytes(sidecar_bytes(PhotoMetadata(title="Harbour", keywords=["boats"])))
    return lib


@pytest.mark.cli
def test_the_own_and_the_shared_sidecar_are_both_carried(tmp_path: Path, lib: Path) -> None:
    plan = tmp_path / "plan.json"
    run = CliRunner().invoke
    assert run(main, ["find", str(lib), "-m", "phash", "--no-cache", "--json", str(plan)]).exit_code in (0, 1)
    doc = json.loads(plan.read_text())
    (group,) = doc["groups"]
    assert sorted(Path(f).name for f in group["files"]) == ["copy.jpg", "keep.jpg"]
    group["keep"] = str(lib / "keep.jpg")
    plan.write_text(json.dumps(doc))
    dry = run(main, ["remove", str(lib), "--plan", str(plan), "--merge-metadata"])
    assert f"would write {lib / 'keep.jpg.xmp'}: keywords, rating, title" in dry.output, dry.output
    q = tmp_path / "q"
    res = run(main, ["remove", str(lib), "--plan", str(plan), "--apply", "--merge-metadata", "--move-to", str(q)])
    assert res.exit_code == 0, res.output
    # the shared copy.xmp stays with copy.dng, which still uses it; copy.jpg.xmp went with its image
    assert sorted(p.name for p in lib.iterdir()) == ["copy.dng", "copy.xmp", "keep.jpg", "keep.jpg.xmp"]
    kept = read_metadata(lib / "keep.jpg")
    assert (kept.rating, kept.title, kept.keywords) == (3, "Harbour", ["boats"])
    assert run(main, ["undo", str(q)]).exit_code == 0
    assert sorted(p.name for p in lib.iterdir()) == ["copy.dng", "copy.jpg", "copy.jpg.xmp", "copy.xmp", "keep.jpg"]


@pytest.mark.integration
def test_a_shared_sidecar_taken_by_the_last_of_its_files_is_still_read_for_the_first(tmp_path: Path,
                                                                                     lib: Path) -> None:
    """copy.jpg moves first (copy.xmp stays: copy.dng uses it), then copy.dng, which takes copy.xmp along: copy.jpg's
    metadata is read from copy.xmp where it lies now, in the quarantine."""
    keeper = str(lib / "keep.jpg")
    moves = [(str(lib / "copy.jpg"), 1, keeper), (str(lib / "copy.dng"), 1, keeper)]
    plan = Plan(moves=moves, keepers=[keeper], expected={p: sha256_file(p) for p in [keeper, *(m[0] for m in moves)]})
    q = tmp_path / "q"
    out = apply_plan(plan, lib, q)
    assert out.failed == [] and sorted(p.name for p in lib.iterdir()) == ["keep.jpg"]
    assert out.sidecars_now(str(lib / "copy.jpg")) == [str(q / "copy.jpg.xmp"), str(q / "copy.xmp")]
    assert out.sidecars_now(str(lib / "copy.dng")) == [str(q / "copy.xmp")]
    writes, refused = sidecar_writes([(keeper, str(q / "copy.jpg"), str(lib / "copy.jpg"),
                                       out.sidecars_now(str(lib / "copy.jpg")))])
    assert refused == [] and [(w[0].name, w[3].rating, w[3].title) for w in writes] == [("keep.jpg.xmp", 3, "Harbour")]
    assert undo(q).failed == []
    assert sorted(p.name for p in lib.iterdir()) == ["copy.dng", "copy.jpg", "copy.jpg.xmp", "copy.xmp", "keep.jpg"]


@pytest.mark.unit
def test_sidecars_named_for_reading_that_are_a_fifo_a_link_or_a_folder_are_not_read(tmp_path: Path) -> None:
    """A shared IMG.xmp left in place is read where it stands: a FIFO there is not waited on, a link not followed
    (to a sidecar in another folder), a folder not read; the image's own metadata is still read."""
    from conftest import synthetic_photo

    synthetic_photo().save(tmp_path / "IMG.jpg", quality=90, xmp=sidecar_bytes(PhotoMetadata(rating=2)))
    os.mkfifo(tmp_path / "IMG.xmp")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.xmp").write_bytes(sidecar_bytes(PhotoMetadata(title="private")))
    (tmp_path / "IMG.jpg.xmp").symlink_to(tmp_path / "other" / "x.xmp")
    (tmp_path / "IMG.XMP").mkdir()
    got = read_metadata(tmp_path / "IMG.jpg", sidecar_files=[tmp_path / "IMG.xmp", tmp_path / "IMG.jpg.xmp",
                                                              tmp_path / "IMG.XMP"])
    assert (got.rating, got.title) == (2, None)
