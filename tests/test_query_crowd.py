"""A query set against a reference holding many copies of one picture (``find --against``, ``check``, ``index
query``): each query file is a copy of each reference copy, so N queries against M copies are N x M matches. That is
the answer (a test image leaking into the training set once per copy there; imagededup's map lists them the same
way), so the output is not collapsed; what each match costs beyond its entry is bounded here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import PngImagePlugin

from imagetwins.finder import find_against


@pytest.mark.unit
def test_every_query_copy_matches_every_reference_copy_without_resolving_paths_per_match(
        tmp_path: Path, monkeypatch) -> None:
    """30 saves of one picture queried against 40 (byte copies, other text chunks, a hard link to a query file):
    30 x 40 matches, the hard link one of them (another name for the picture in the reference). Each match resolved
    both its paths again (os.path.realpath twice: 2,400 calls here; a million matches spent 40 of 50 CPU s in
    it); now a folder is resolved once."""
    from conftest import synthetic_photo

    picture = synthetic_photo(160, 120, seed=5)
    query, reference = tmp_path / "q", tmp_path / "r"
    query.mkdir()
    reference.mkdir()
    for i in range(30):
        info = PngImagePlugin.PngInfo()
        info.add_text("q", str(i))
        picture.save(query / f"q{i:02d}.png", pnginfo=info)
    picture.save(reference / "r00.png")
    for i in range(1, 20):
        shutil.copy(reference / "r00.png", reference / f"r{i:02d}.png")
    for i in range(20, 39):
        info = PngImagePlugin.PngInfo()
        info.add_text("r", str(i))
        picture.save(reference / f"r{i:02d}.png", pnginfo=info)
    os.link(query / "q00.png", reference / "r39.png")  # the query's file under another name: a match

    calls = []
    real = os.path.realpath
    monkeypatch.setattr(os.path, "realpath", lambda p, *a, **k: calls.append(p) or real(p, *a, **k))
    result = find_against(query, reference, "phash", cache=False)
    assert len(result.matches) == 30
    assert sum(len(m) for m in result.matches.values()) == 30 * 40
    assert all(len(m) == 40 for m in result.matches.values())
    assert len(calls) < 10  # a folder at most once (was 2 a match: 2,398)


def _query_result(queries: int, copies: int):
    from imagetwins.results import QueryMatches, QueryResult
    from imagetwins.scores import CONFIDENCE

    matches = QueryMatches({f"q/{i:04d} ü \u2028.png": [(f"r/{j:04d}.png", 1.0) for j in range(copies)]
                            for i in range(queries)})
    matches.marks[("q/0000 ü \u2028.png", "r/0001.png")] = 1
    return QueryResult("copies", 0.92, CONFIDENCE, [f"q/{i}" for i in range(queries + 3)], "r", copies, matches)


@pytest.mark.unit
def test_the_json_of_every_match_is_written_a_query_at_a_time(tmp_path: Path) -> None:
    """--json of a query wrote json.dumps of the whole document: 500 copies against 2,000 (a million matches) took
    1.10 GB (0.2 GB for the matches themselves). It is now written one query's matches at a time, the same text."""
    import json
    import tracemalloc

    from imagetwins.outputs._base import Matches, Target
    from imagetwins.outputs.json import write_matches

    for queries, copies in ((0, 5), (1, 1), (3, 4)):
        result = _query_result(queries, copies)
        write_matches(Matches(result), Target(tmp_path / "m.json"))
        assert (tmp_path / "m.json").read_text(encoding="utf-8") == json.dumps(result.to_dict(), indent=2) + "\n"

    result = _query_result(40, 500)  # 20,000 matches
    tracemalloc.start()
    try:
        write_matches(Matches(result), Target(tmp_path / "big.json"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_500_000, peak  # one query's matches at a time (the whole document: 22.8 MB on main)
    assert json.loads((tmp_path / "big.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(result.to_dict()))


@pytest.mark.unit
def test_a_finds_pairs_are_streamed_by_the_same_writer_one_compact_line_each(tmp_path: Path) -> None:
    """write_json had two streaming paths (a find's appended "pairs", a query's "matches" in place): one primitive
    now, an item format each. The pairs' text is json.dumps of the document with each pair on one line; no pair at
    all is written "[]" as json.dumps writes it (the pairs' own path wrote "[\\n  ]")."""
    import io
    import json

    from imagetwins.results import write_json

    data = {"method": "phash", "groups": [{"files": ["a ü.png", "b\u2028.png"]}], "seconds": 0.1}
    pairs = [{"a": "a ü.png", "b": "b\u2028.png", "distance": 0}, {"a": "a ü.png", "b": "c.png", "distance": 3}]
    for records in (pairs, pairs[:1], []):
        out = io.StringIO()
        write_json(data, out, ("pairs", iter(records)), item_indent=None)
        whole = json.dumps({**data, "pairs": records}, indent=2)
        if records:  # json.dumps puts each pair's fields on lines of their own; the stream one pair a line
            whole = whole.replace(json.dumps(records, indent=2).replace("\n", "\n  "),
                                  "[\n" + ",\n".join("    " + json.dumps(r) for r in records) + "\n  ]")
        assert out.getvalue() == whole + "\n"
        assert json.loads(out.getvalue()) == {**data, "pairs": records}
