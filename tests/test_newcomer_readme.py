"""What a newcomer following the README met: each test failed before its fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


@pytest.mark.cli
def test_index_update_counts_what_this_run_did(tmp_path: Path) -> None:
    """``index update`` said "4 added ... 1 unreadable" for 3 photos and a broken file (the broken one among the
    added), and "1 unreadable" on every re-run as if found again; ``find`` says "3 images read, 1 unreadable"."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("beach.jpg", "city.jpg", "forest.jpg"):
        shutil.copy(EXAMPLES / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    db = tmp_path / "photos.db"

    def update() -> str:
        run = CliRunner().invoke(main, ["index", "update", str(folder), "--db", str(db), "-m", "phash"])
        assert run.exit_code == 0, run.output
        return run.output

    out = update()
    assert "3 added, 0 changed, 0 removed, 0 unchanged, 1 unreadable (new this run)" in out, out
    assert "broken.jpg" in out  # named with its reason
    out = update()
    assert "0 added, 0 changed, 0 removed, 3 unchanged, 1 unreadable (known before: not read again)" in out, out
    shutil.copy(EXAMPLES / "market.jpg", folder / "market.jpg")
    (folder / "empty.png").write_bytes(b"")
    out = update()
    assert "1 added, 0 changed, 0 removed, 3 unchanged, 2 unreadable (1 new this run, 1 known before)" in out, out
    find = CliRunner().invoke(main, ["find", str(folder), "--db", str(db), "-m", "phash"])
    assert "4 images read, 2 unreadable" in find.output, find.output


@pytest.mark.unit
def test_an_index_prints_its_file_methods_and_files_without_writing(tmp_path: Path) -> None:
    """``imagetwins.Index(path)`` printed as ``<imagetwins.index.Index object at 0x...>``."""
    import os

    import numpy as np
    from PIL import Image

    import imagetwins

    rng = np.random.default_rng(7)
    for k in range(3):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / f"{k}.png")
    db = tmp_path / "photos.db"
    with imagetwins.Index(db, methods=["phash"]) as idx:
        assert repr(idx) == f"<Index {str(db)!r}: 0 files, phash>"  # (a new index is made with its methods)
        idx.update(tmp_path)
        assert repr(idx) == f"<Index {str(db)!r}: 3 files, phash>"
    assert repr(idx) == f"<Index {str(db)!r}, closed>"
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in tmp_path.glob("photos.db*")}
    for readonly in (True, False):  # (opening an index already made, and printing it, write nothing)
        with imagetwins.Index(db, methods=["phash", "dhash"], readonly=readonly) as idx:
            assert repr(idx) == (f"<Index {str(db)!r}{' read-only' if readonly else ''}: 3 files, phash "
                                 "(opened for dhash: stored by the next update)>")
    assert {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in tmp_path.glob("photos.db*")} == before
    assert os.path.getsize(db) > 0


@pytest.mark.unit
def test_decisions_without_keep_say_to_pass_keep() -> None:
    """The README's loop ``for group, decision in zip(result.groups, result.decisions)`` on a result found without
    ``keep=`` failed with "'NoneType' object is not iterable"; it now says how to have keepers chosen."""
    import pickle

    import numpy as np

    from imagetwins.keep import decide_keepers
    from imagetwins.results import NOT_DECIDED, result_from_pairs
    from imagetwins.search import Pairs

    pairs = Pairs(np.array([0, 2]), np.array([1, 3]), np.array([2, 5], np.uint8))
    result = result_from_pairs(["a.jpg", "b.jpg", "c.jpg", "d.jpg"], np.zeros(4, np.uint64), ["1", "2", "3", "4"],
                               pairs, "phash", 8)
    assert len(result.groups) == 2 and not result.decisions and result.decisions is NOT_DECIDED
    for use in (lambda d: list(zip(result.groups, d)), len, lambda d: d[0]):
        with pytest.raises(TypeError, match=r"keep='original'.*decide_keepers"):
            use(result.decisions)
    assert pickle.loads(pickle.dumps(result)).decisions is NOT_DECIDED
    assert repr(result.decisions) == "NOT_DECIDED"
    decided = decide_keepers(result, infos={f: "missing" for f in result.files})
    assert len(list(zip(decided.groups, decided.decisions))) == 2
