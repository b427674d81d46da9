"""Small code-review leftovers, behaviour kept: the index reads its ``root:`` records in one place, and the copies
search makes the groups of its matches once where the descriptor votes add no pair to check."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import synthetic_photo
from index_files import rewrite_root_records
from PIL import Image

from imagetwins import search
from imagetwins.index import Index


@pytest.mark.unit
def test_a_root_record_is_read_one_way_so_the_fix_health_names_clears_it(tmp_path: Path) -> None:
    """A ``root:`` record without ``recursive`` (an edit, another writer) was read as "with sub-folders" by the
    listing of new files and as "without" by the command it named: an image added to a sub-folder was counted, and
    the update it said to run never took it in (the line stayed for good)."""
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    for k in range(3):
        synthetic_photo(96, 72, k).save(album / f"p{k}.png")
    db = tmp_path / "photos.db"
    with Index(db, methods=["phash"]) as idx:
        idx.update(album, recursive=False)
    rewrite_root_records(db, lambda how: {k: v for k, v in how.items() if k != "recursive"})
    synthetic_photo(96, 72, 7).save(album / "sub" / "new.png")
    with Index(db, methods=["phash"]) as idx:
        lines = idx.health("phash")
        assert not lines or f"index update {album.resolve()} -r" in lines[0], lines
        assert idx.update_commands() == [f"imagetwins index update {album.resolve()} --db {db}"]
        idx.update(album, recursive=False)  # what the line says to run ...
        assert idx.health("phash") == []  # ... leaves nothing to say


@pytest.mark.integration
def test_the_copies_search_groups_its_matches_once_when_the_votes_add_no_pair(tmp_path: Path, datasets: Path,
                                                                              monkeypatch) -> None:
    import imagetwins

    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[3]
    shutil.copyfile(photo, tmp_path / "a.jpg")
    with Image.open(photo) as im:
        im.resize((im.width // 2, im.height // 2)).save(tmp_path / "b_half.jpg", quality=90)
    components, made = search.connected_components, []

    def counted(*args, **kwargs):
        caller = sys._getframe(1).f_code
        if caller.co_filename.endswith("copies.py") and caller.co_name in ("_scored_candidates", "groups"):
            made.append(caller.co_name)
        return components(*args, **kwargs)

    monkeypatch.setattr(search, "connected_components", counted)
    found = imagetwins.find(tmp_path, "copies", cache=False, workers=1)
    assert [sorted(Path(f).name for f in g.files) for g in found.groups] == [["a.jpg", "b_half.jpg"]]
    # (before: twice, once for the votes and again, the same, for the first round of re-proposals)
    assert len(made) == 1, made
