"""A run's session (imagetwins.open_session) and the front door (imagetwins.find ...): the index travels as an
object through find, keep and the review page, which open it no second time."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

import imagetwins
import imagetwins.index as index_module
from imagetwins.report import write_html_report

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "images")
    return tmp_path / "images"


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """The path of every :class:`imagetwins.index.Index` opened while the test runs, in order."""
    paths: list[str] = []
    real_init = index_module.Index.__init__

    def counted(self, path, *args, **kwargs):
        paths.append(str(path))
        real_init(self, path, *args, **kwargs)

    monkeypatch.setattr(index_module.Index, "__init__", counted)
    return paths


def test_the_index_is_opened_once_per_run(folder: Path, tmp_path: Path, opened: list[str]) -> None:
    db = tmp_path / "run.db"
    with imagetwins.open_session(folder, ["phash"], db=db, workers=2) as session:
        assert session.index is not None and session.pair_scores is session.index and session.workers == 2
        result = imagetwins.find(folder, "phash", keep="original", session=session)
        write_html_report(result, tmp_path / "r.html", session=session, root=folder)
    assert opened == [str(db)], opened  # keep and the review page used the session's index
    assert result.decisions and result.index_path == str(db) and len(result.groups) == 2
    assert session.index.db is None  # closed with the session, which opened it
    # the keep rule's enlargement scores and the search's encodings went to the session's index
    with index_module.Index(db, methods=[], readonly=True) as idx:
        assert idx.stats()["encodings"]["phash"] == len(result.files)


def test_a_session_without_an_index_keeps_pair_scores_in_memory(folder: Path) -> None:
    from imagetwins.pairscores import MemoryPairScores

    with imagetwins.open_session(folder, cache=False) as session:
        assert session.index is None and isinstance(session.pair_scores, MemoryPairScores)
        plain = imagetwins.find(folder, "phash", session=session)
    assert plain.index_path is None and not plain.decisions and len(plain.groups) == 2
    # an Index handed over is used and left open
    with index_module.Index(folder.parent / "mine.db", methods=["phash"]) as idx:
        with imagetwins.open_session(db=idx) as session:
            imagetwins.find(folder, "phash", session=session)
        assert idx.db is not None and idx.stats()["encodings"]["phash"] == len(plain.files)


def test_the_front_door_has_the_library_verbs() -> None:
    for name in ("find", "encode", "check", "open_session", "Index", "register_method", "find_against", "ScoreKind",
                 "Digest"):
        assert name in dir(imagetwins) and getattr(imagetwins, name) is not None
    importlib.import_module("imagetwins.check")  # the module of the same name does not hide the verb
    from imagetwins.check import check
    from imagetwins.encoders import register
    from imagetwins.finder import find

    assert imagetwins.register_method is register and imagetwins.find is find and imagetwins.check is check
    assert callable(imagetwins.check)
    from imagetwins.io import SkippedFileWarning
    from imagetwins.scores import Verdict

    assert imagetwins.Verdict is Verdict and imagetwins.Verdict("re-shot") is Verdict.RESHOT
    assert imagetwins.SkippedFileWarning is SkippedFileWarning


def test_index_query_says_which_files_it_left_alone(folder: Path, tmp_path: Path) -> None:
    """Index.query walks a folder as find --against does: links are left alone, and said (they were dropped
    without a word)."""
    queries = tmp_path / "queries"
    queries.mkdir()
    shutil.copy(folder / "beach.jpg", queries / "beach.jpg")
    (queries / "link.jpg").symlink_to(folder / "city.jpg")
    with index_module.Index(tmp_path / "q.db", methods=["phash"]) as idx:
        idx.update(folder)
        with pytest.warns(UserWarning, match=r"skipped .*link\.jpg"):
            found = idx.query(queries)
    assert {(Path(q).name, Path(r).name) for q, r, _ in found} >= {("beach.jpg", "beach.jpg")}
    assert all(Path(q).name != "link.jpg" for q, _, _ in found)


def test_find_against_uses_the_sessions_index_for_the_reference(folder: Path, tmp_path: Path,
                                                                  opened: list[str]) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    shutil.copy(folder / "forest.jpg", queries / "forest_again.jpg")
    db = tmp_path / "ref.db"
    with imagetwins.open_session(db=db, methods=["phash"]) as session:
        found = imagetwins.find_against(queries, folder, "phash", session=session, decisions=False)
        assert session.index.stats()["encodings"]["phash"] == found.reference_images > 0
    assert opened == [str(db)]  # the reference folder's encodings went to the session's index, opened once
    assert [Path(q).name for q in found.matches] == ["forest_again.jpg"]
    assert Path(found.matches[str(queries / "forest_again.jpg")][0][0]).name == "forest.jpg"


def test_the_front_door_finds_copies_by_default_as_the_cli_does(folder: Path) -> None:
    """``imagetwins.find`` / ``find_against`` / ``check`` use the CLI's default method (copies) unless told: a
    mirrored copy is found, which the library's old default (phash) missed."""
    import inspect

    from imagetwins.cli import find as find_command
    from imagetwins.encoders import DEFAULT_METHOD

    assert DEFAULT_METHOD == "copies"
    for verb in (imagetwins.find, imagetwins.find_against, imagetwins.check):
        assert inspect.signature(verb).parameters["method"].default == DEFAULT_METHOD, verb
    assert next(p for p in find_command.find.params if p.name == "method").default == DEFAULT_METHOD
    with imagetwins.open_session(folder, cache=False, workers=2) as session:
        result = imagetwins.find(folder, session=session)
        hashed = imagetwins.find(folder, "phash", session=session)
    assert result.method == "copies"

    def names(r):
        return sorted(sorted(Path(f).name for f in g.files) for g in r.groups)

    assert ["forest.jpg", "forest_mirrored.jpg"] in names(result)
    assert ["forest.jpg", "forest_mirrored.jpg"] not in names(hashed)


def test_the_session_is_passed_to_index_update_and_tune(folder: Path, tmp_path: Path) -> None:
    """Index update and the threshold sweep take the run's session: its index, workers and progress, and its
    pair-score store (copies' verifications are made once across the sweeps that share it)."""
    from imagetwins.evaluation import sweep
    from imagetwins.pairscores import MemoryPairScores

    with imagetwins.open_session(db=tmp_path / "s.db", methods=["phash"], workers=2) as session:
        stats = session.update(folder)
        assert stats.added == 9 and session.index.stats()["encodings"]["phash"] == 9
        assert session.update(folder).unchanged == 9
    with imagetwins.open_session(cache=False) as session, pytest.raises(ValueError, match="no index"):
        session.update(folder)

    from PIL import Image

    with Image.open(folder / "forest.jpg") as im:  # a crop: a pair the hash is not sure of, so it is verified
        im.crop((0, 0, im.width * 2 // 3, im.height * 2 // 3)).save(folder / "forest_crop.jpg", quality=90)
    truth = {"forest.jpg": ["forest_crop.jpg", "forest_mirrored.jpg"],
             "forest_crop.jpg": ["forest.jpg", "forest_mirrored.jpg"],
             "forest_mirrored.jpg": ["forest.jpg", "forest_crop.jpg"]}
    class Counted(MemoryPairScores):
        put = 0

        def put_pair_scores(self, method, version, items):
            Counted.put += len(items)
            super().put_pair_scores(method, version, items)

    with imagetwins.open_session(cache=False, workers=2) as session:
        session.pair_scores = Counted()
        first = sweep(truth, folder, methods=["copies"], session=session)
        verified = Counted.put
        again = sweep(truth, folder, methods=["copies"], session=session)
    assert verified > 0 and Counted.put == verified  # the second sweep verified no pair again
    assert [(p.threshold, p.recall) for p in first.points] == [(p.threshold, p.recall) for p in again.points]
