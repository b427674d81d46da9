"""``remove --plan`` attacked as a hostile user would: the plan file read once (a plan edited while it is applied is
never half-applied), the checks a run makes kept for the next, and plans edited after they were written (files
outside the folder, a keeper moved, paths swapped, a link put in a file's place, a file changed, the same file twice, a
plan of 10,000 groups): nothing lost, nothing written outside the folder, every refusal one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """The example pictures: copies of beach, city and forest, and market alone."""
    root = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", root)
    return root


def _plan(album: Path, out: Path, *args: str) -> dict:
    made = CliRunner().invoke(main, ["find", str(album), "--json", str(out), "-q", *args])
    assert made.exit_code == 0, made.output
    return json.loads(out.read_text())


def _remove(album: Path, plan: Path, *args: str):
    return CliRunner().invoke(main, ["remove", str(album), "--plan", str(plan), *args])


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_plan_file_is_read_once_and_an_edit_meanwhile_changes_nothing(tmp_path: Path, album: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``remove --plan`` read the plan file 6 times (its merge_metadata, the groups, its index, its method, the folder
    moves' load_plan and their own read): a plan rewritten between two reads had its groups from one version and its
    method, index or folders from another. Read once now, and a rewrite right after that reading changes nothing."""
    import imagetwins.io as io

    plan = tmp_path / "plan.json"
    doc = _plan(album, plan)
    honest = _remove(album, plan)
    assert honest.exit_code == 0 and "5 files would move" in honest.stdout, honest.output
    hostile = json.loads(json.dumps(doc))
    for g in hostile["groups"]:  # (every keeper swapped, metadata merged, another method, an index elsewhere)
        g["keep"] = next(f for f in g["files"] if f != g["keep"])
    hostile.update(merge_metadata=True, method="similar", index={"path": str(tmp_path / "x.db"), "created": None})
    reads: list[str] = []
    real = io.read_user_file

    def reading(path, *args, **kwargs):
        text = real(path, *args, **kwargs)
        if Path(path) == plan:
            reads.append(text)
            plan.write_text(json.dumps(hostile))  # (edited the moment it was read)
        return text

    monkeypatch.setattr(io, "read_user_file", reading)
    run = _remove(album, plan)
    assert len(reads) == 1, len(reads)
    assert run.exit_code == 0, run.output
    assert run.stdout == honest.stdout and run.stderr == honest.stderr


def _index_without_checks(album: Path, db: Path) -> None:
    """An index of ``album``'s copies encodings that keeps no pair check (``index update`` compares nothing)."""
    made = CliRunner().invoke(main, ["index", "update", str(album), "--db", str(db), "-m", "copies", "-q"])
    assert made.exit_code == 0, made.output


def test_checks_made_while_applying_a_plan_are_kept_in_its_index_for_the_next_run(tmp_path: Path, album: Path,
                                                                                  decoded: list[str]) -> None:
    """The plan's index (or the one --db names) was opened read-only: the checks a run made of the plan's files against
    their keepers were thrown away, and every later run of the plan decoded the same files again (0.61 CPU s, 180 MB
    for the example pictures, each time). They are kept there now, said in one line, and the next run decodes
    nothing; an index the plan recorded without its random id (a plan from before ids) is read, never written."""
    from imagetwins.index import Index

    db = tmp_path / "photos.db"
    _index_without_checks(album, db)
    plan = tmp_path / "plan.json"
    doc = _plan(album, plan, "--no-cache")
    with Index(db, methods=[], readonly=True) as opened:
        doc["index"] = {"path": str(db), "created": opened.created(), "id": opened.identity()}
    named = tmp_path / "named.json"
    named.write_text(json.dumps(doc))
    decoded.clear()
    first = _remove(album, named)
    assert first.exit_code == 0 and "5 files would move" in first.stdout, first.output
    assert f"note: checked 4 files against their keepers now, decoding 7 files (no earlier check of them was found); " \
           f"kept in {db} for the next run" in first.stderr, first.stderr
    assert len(decoded) == 7, decoded
    decoded.clear()
    again = _remove(album, named)
    assert again.exit_code == 0 and again.stdout == first.stdout, again.output
    assert decoded == [] and "note: checked" not in again.stderr, again.stderr
    # --db names an index likewise: its checks kept there
    other = tmp_path / "other.db"
    _index_without_checks(album, other)
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({k: v for k, v in doc.items() if k != "index"}))
    decoded.clear()
    assert f"kept in {other} for the next run" in _remove(album, bare, "--db", str(other)).stderr
    decoded.clear()
    assert "note: checked" not in _remove(album, bare, "--db", str(other)).stderr and decoded == []
    # a plan recording the index without its id: read, not written (nothing says it is that very index)
    third = tmp_path / "third.db"
    _index_without_checks(album, third)
    with Index(third, methods=[], readonly=True) as opened:
        doc["index"] = {"path": str(third), "created": opened.created()}
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    before = third.read_bytes()
    for _ in range(2):
        decoded.clear()
        run = _remove(album, old)
        assert run.exit_code == 0 and run.stdout == first.stdout, run.output
        assert "not kept" in run.stderr and len(decoded) == 7, (run.stderr, decoded)
    assert third.read_bytes() == before
    assert not (tmp_path / "third.db-wal").exists() or (tmp_path / "third.db-wal").stat().st_size == 0
