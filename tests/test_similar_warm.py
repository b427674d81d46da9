"""A warm re-run of ``find -m similar`` decodes nothing: the best-shot rule's shot scores and the ``copies`` links
that tell its captures apart are kept in the run's index, by the files' contents; an edited file is measured again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import CallCount, Decodes
from PIL import Image, ImageOps, JpegImagePlugin

import imagetwins
from imagetwins import io, shots
from imagetwins.index import Index

pytestmark = pytest.mark.integration

#: holidays-half scenes at odd positions (held out), each shot two or more times
SCENES = ("1006", "1022")


@pytest.fixture
def scenes(tmp_path: Path, datasets: Path) -> Path:
    """Two scenes' re-shots, and a mirrored half-size copy of one shot (a copy of a capture: the best-shot rule
    tells the captures apart with the ``copies`` search)."""
    groups = json.loads((datasets / "holidays-half" / "groundtruth_groups.json").read_text())
    folder = tmp_path / "photos"
    folder.mkdir()
    for scene in SCENES:
        for name in groups[scene]:
            shutil.copyfile(datasets / "holidays-half" / "images" / name, folder / name)
    first = folder / groups[SCENES[0]][0]
    with Image.open(first) as im:
        small = ImageOps.mirror(im.convert("RGB")).resize((im.width // 2, im.height // 2))
    small.save(folder / f"mirrored_{first.name}", quality=88)
    return folder


class _Decodes(Decodes):
    """Decodes, and the names of the shots scored."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch)
        self.shot_scores = CallCount(monkeypatch, shots, "shot_score")

    @property
    def scored(self) -> list[str]:
        return [Path(path).name for path in self.shot_scores.firsts]


def _run(folder: Path, db: Path):
    with imagetwins.open_session(folder, ["similar"], db=db, workers=2) as session:
        return imagetwins.find(folder, "similar", keep="best", session=session)


def _keepers(result) -> list[tuple[str, list[str]]]:
    return sorted((Path(d.keeper).name, sorted(Path(p).name for p in d.files)) for d in result.decisions)


def test_a_warm_rerun_of_similar_decodes_nothing_and_suggests_the_same_shots(scenes: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "i.db"
    first = _run(scenes, db)
    assert len(first.decisions) >= 2  # both scenes grouped (the copy with its shot)
    with Index(db, methods=[]) as index:
        kept = {m for m, *_ in index.pair_scores()}
    assert any(m.startswith(shots.SHOT_SCORES) for m in kept) and shots.CAPTURE_LINKS in kept
    counted = _Decodes(monkeypatch)
    again = _run(scenes, db)
    assert (counted.loads, counted.opens, counted.scored) == (0, 0, [])
    assert _keepers(again) == _keepers(first)


def test_an_edited_photo_is_scored_again_and_only_it(scenes: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "i.db"
    counted = _Decodes(monkeypatch)
    _run(scenes, db)
    measured = sorted(set(counted.scored))
    assert len(measured) >= 2  # shots of different captures compared
    edited = scenes / measured[-1]
    with Image.open(edited) as im:  # the same shot a little darker, saved as it was: another content, same name
        darker = Image.fromarray((np.asarray(im.convert("RGB"), np.float32) * 0.9).astype(np.uint8))
        darker.save(edited, qtables=im.quantization, subsampling=JpegImagePlugin.get_sampling(im),
                    exif=im.info.get("exif", b""))
    counted.shot_scores.firsts.clear()
    again = _run(scenes, db)
    assert edited.name in {Path(p).name for d in again.decisions for p in d.files}
    assert counted.scored == [edited.name]  # its score measured again, every other one read from the index
    digest = io.content_digest(edited.read_bytes())[:32]
    with Index(db, methods=[]) as index:
        rows = index.pair_scores()
    assert any(m.startswith(shots.SHOT_SCORES) and a == b == digest for m, a, b, _, _ in rows)
