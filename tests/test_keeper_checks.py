"""The keep stage checks a grouped file against its group's keeper where the search never compared the two
(``keep._KeeperChecks``, ``Encoder.score_pairs``): a crop matched to one of 50 resized copies of a photo, never
compared with the copy kept, went into no group at all when its connected set was made a star around the keeper.
Real photos (integration) and the bound on the checks with a stand-in method (unit)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imagetwins
from imagetwins import keep, plan, search
from imagetwins.decisions import DecisionStore, Record, content_key
from imagetwins.encoders import get_encoder, registered
from imagetwins.results import result_from_pairs
from imagetwins.scores import Mark

PHOTOS = ("bsds_105053.jpg", "bsds_108069.jpg")  # (photos-public: on both the crop went into no group before)


def _resized_copies_and_a_crop(photo: Path, out: Path, copies: int = 50, seed: int = 1) -> None:
    """The photo, ``copies`` resized copies (0.2-1.05x a side, JPEG q75-95; the first a 1.088x enlargement) and one
    80 % crop of it, as a person who saved a picture at many sizes and cropped it once has them."""
    rng = random.Random(seed)
    out.mkdir()
    im = Image.open(photo)
    im.load()
    w, h = im.size
    im.save(out / "original.jpg", quality=95)
    for i, s in enumerate([1.088] + [rng.uniform(0.2, 1.05) for _ in range(copies - 1)]):
        im.resize((max(8, round(w * s)), max(8, round(h * s))), Image.Resampling.LANCZOS).save(
            out / f"resized_{i:04d}_{s:.3f}.jpg", quality=rng.choice([75, 85, 90, 95]))
    cw, ch = round(w * 0.8944), round(h * 0.8944)
    x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
    im.crop((x0, y0, x0 + cw, y0 + ch)).save(out / "crop80.jpg", quality=92)


@pytest.fixture(scope="module", params=PHOTOS)
def crowd(request, datasets: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crowd") / "photos"
    _resized_copies_and_a_crop(datasets / "photos-public" / "images" / request.param, folder)
    return folder


@pytest.fixture(scope="module")
def decided(crowd: Path):
    return imagetwins.find(crowd, keep="original", cache=False, decisions=False)


def _group_of(result, path: str):
    return next(((g, d) for g, d in zip(result.groups, result.decisions) if path in g.files), (None, None))


@pytest.mark.integration
def test_a_crop_among_resized_copies_is_in_the_keepers_group(crowd: Path, decided) -> None:
    files = {str(p) for p in crowd.iterdir()}
    assert {p for g in decided.groups for p in g.files} == files  # every copy in a group
    crop = str(crowd / "crop80.jpg")
    group, decision = _group_of(decided, crop)
    assert len(decided.groups) == 1 and group.files[0] == decision.keeper != crop
    assert crop in decision.remove
    # its match with the keeper is one the result lists, at or above the threshold
    score = group.scores[group.files.index(crop)]
    assert score >= decided.threshold
    index = {p: i for i, p in enumerate(decided.files)}
    pairs = decided.pairs
    k, c = sorted((index[decision.keeper], index[crop]))
    assert ((pairs.left == k) & (pairs.right == c)).any()


@pytest.mark.integration
def test_remove_plan_moves_the_crop_only_beside_its_kept_keeper(crowd: Path, decided, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.plan_document(decided, decided.decisions, crowd)))
    checked = plan.check_plan(crowd, plan.load_plan(path, crowd)[1])
    moved = {f: k for f, _, k, _ in checked.moves}
    crop = str(crowd / "crop80.jpg")
    assert crop in moved and not checked.refused
    assert not set(moved.values()) & set(moved)  # no keeper moves
    assert len(moved) == len(list(crowd.iterdir())) - 1


@pytest.mark.integration
def test_find_duplicates_to_remove_keeps_a_match_of_every_file_it_removes(crowd: Path) -> None:
    from imagetwins.methods import Copies

    finder = Copies(verbose=False)
    matches = finder.find_duplicates(image_dir=crowd)
    removed = set(finder.find_duplicates_to_remove(encoding_map=None, image_dir=crowd))
    assert removed
    for name in removed:  # the crop included: never removed without a file it is a copy of kept
        assert set(matches[name]) - removed, name
    assert "crop80.jpg" not in removed or set(matches["crop80.jpg"]) - removed


@pytest.mark.integration
def test_a_pair_said_not_duplicate_is_not_checked_again(crowd: Path, decided, tmp_path: Path) -> None:
    crop = str(crowd / "crop80.jpg")
    keeper = _group_of(decided, crop)[1].keeper
    digests = dict(zip(decided.files, decided.digests))
    store = DecisionStore(tmp_path / "decisions.db")
    store.remember([Record.of(content_key(digests[keeper]), content_key(digests[crop]), "not_duplicate")])
    again = imagetwins.find(crowd, keep="original", cache=False, decisions=store)
    group, decision = _group_of(again, crop)
    assert decision is None or keeper not in group.files


def _stand_in(answer, asked: list):
    """A method like phash whose search missed pairs: ``score_pairs`` answers each pair with ``answer(i, j)``
    (distance, marks) and records what it was asked."""
    enc = copy.copy(get_encoder("phash"))
    enc.name = "keepercheck"

    def score_pairs(rows, left, right, workers=None, paths=None, pair_scores=None):
        asked.extend(zip(left.tolist(), right.tolist()))
        got = [answer(i, j) for i, j in zip(left.tolist(), right.tolist())]
        return search.Pairs(np.asarray(left), np.asarray(right), np.array([d for d, _ in got], np.float64),
                            enc.kind, np.array([m for _, m in got], np.uint8))

    enc.score_pairs = score_pairs
    return enc


def _chain(n: int, colour_variants: str | None = None):
    """A result of ``n`` files matched along a chain (0-1, 1-2, ...): each file's keeper-to-be is ``0.png``."""
    files = [f"/nowhere/{i:03d}.png" for i in range(n)]
    left = np.arange(n - 1)
    pairs = search.Pairs(left, left + 1, np.zeros(n - 1, np.float64), get_encoder("phash").kind)
    result = result_from_pairs(files, np.arange(n, dtype=np.uint64), [f"{i:064x}" for i in range(1, n + 1)],
                               pairs, "keepercheck", 10)
    if colour_variants:
        result = result.replace(colour_variants=imagetwins.scores.ColourVariants.of(colour_variants))
    infos = {p: keep.FileInfo(p, 100, 100, 1000, 1000.0 + i, format="PNG", measured=True)
             for i, p in enumerate(files)}
    return result, infos


@pytest.mark.unit
def test_files_found_copies_of_the_keeper_join_its_star() -> None:
    asked: list = []
    with registered(_stand_in(lambda i, j: (3, 0), asked)):
        result, infos = _chain(12)
        decided = keep.decide_keepers(result, infos=infos)
    assert [len(g.files) for g in decided.groups] == [12] and decided.decisions[0].keeper == result.files[0]
    assert sorted(asked) == [(0, j) for j in range(2, 12)]  # each file once, never one matched already
    assert decided.groups[0].scores == [0] + [0] + [3] * 10
    assert len(decided.matches) == 11 + 10


@pytest.mark.unit
def test_keeper_checks_are_bounded_on_a_crowd() -> None:
    asked: list = []
    n = 200
    with registered(_stand_in(lambda i, j: (40, 0), asked)):  # (no check finds a copy: the most checks made)
        result, infos = _chain(n)
        decided = keep.decide_keepers(result, infos=infos)
    assert len(asked) == len(set(asked))  # no pair checked twice
    per_file: dict[int, int] = {}
    for i, j in asked:
        for x in (i, j):
            per_file[x] = per_file.get(x, 0) + 1
    keepers = {result.files.index(d.keeper) for d in decided.decisions}
    assert max(c for x, c in per_file.items() if x not in keepers) <= keep.KEEPER_CHECKS
    assert len(asked) <= keep.KEEPER_CHECKS * n
    assert all(len(g.files) == 2 for g in decided.groups)  # a chain's stars, as without the checks


@pytest.mark.unit
@pytest.mark.parametrize("choice, joined", [("copies", 12), ("apart", 2)])
def test_a_recoloured_check_joins_no_star_when_colour_variants_are_apart(choice: str, joined: int) -> None:
    asked: list = []
    with registered(_stand_in(lambda i, j: (3, Mark.RECOLOURED.bit), asked)):
        result, infos = _chain(12, choice)
        decided = keep.decide_keepers(result, infos=infos)
    assert len(_group_of(decided, result.files[0])[0].files) == joined


class _Row:
    def __init__(self, side: float) -> None:
        self.features = type("F", (), {"native_side": side})()


@pytest.mark.unit
def test_an_image_refused_by_a_groups_smaller_copies_is_checked_against_its_largest_picture() -> None:
    from imagetwins import copies
    from imagetwins.verify import NOT_ONE_CAPTURE

    labels = np.array([0, 0, 0, 3, 4, 4])  # a group of three, an image alone (3), a pair (4, 5)
    rows = [_Row(s) for s in (300, 640, 450, 380, 500, 520)]
    hashes = np.arange(24, dtype=np.uint64).reshape(6, 4)
    left, right = np.array([0, 2, 3, 4]), np.array([3, 3, 5, 5])
    conf = np.array([NOT_ONE_CAPTURE, NOT_ONE_CAPTURE, 0.3, NOT_ONE_CAPTURE], np.float32)
    known = {(0, 3), (2, 3), (3, 5), (4, 5)}
    more_l, more_r = copies._refused_to_largest(labels, left, right, conf, rows, hashes, known)
    # 3 was refused by 0 and 2 (not made from them): checked against 1, the group's largest picture, once; 3's
    # unrefused pair with 5 proposes nothing, nor does the pair inside a group
    assert list(zip(more_l.tolist(), more_r.tolist())) == [(1, 3)] and (1, 3) in known
    again = copies._refused_to_largest(labels, left, right, conf, rows, hashes, known)
    assert not len(again[0])


@pytest.mark.cli
def test_remove_plan_apply_moves_the_crop_and_leaves_its_keeper(crowd: Path, tmp_path: Path) -> None:
    import shutil

    from click.testing import CliRunner

    from imagetwins.cli import main

    folder = tmp_path / "photos"
    shutil.copytree(crowd, folder)
    plan_file = tmp_path / "plan.json"
    res = CliRunner().invoke(main, ["find", str(folder), "--no-cache", "--json", str(plan_file)])
    assert res.exit_code == 0, res.output
    group = next(g for g in json.loads(plan_file.read_text())["groups"]
                 if any(f.endswith("crop80.jpg") for f in g["files"]))
    q = tmp_path / "q"
    res = CliRunner().invoke(main, ["remove", str(folder), "--plan", str(plan_file), "--apply", "--move-to", str(q)])
    assert res.exit_code == 0, res.output
    assert not (folder / "crop80.jpg").exists() and any(p.name == "crop80.jpg" for p in q.rglob("*.jpg"))
    assert Path(group["keep"]).exists() and sorted(p.name for p in folder.iterdir()) == [Path(group["keep"]).name]


@pytest.mark.unit
def test_the_decision_keeps_the_stars_keeper_not_its_colour_variant() -> None:
    """A group's colour variant (every match of it recoloured) is never the keeper while another member can be: the
    star is made around the plain file, and its decision keeps that file too (it kept the larger variant before)."""
    files = ["/nowhere/k.png", "/nowhere/r.png", "/nowhere/p.png"]
    pairs = search.Pairs(np.array([0, 0]), np.array([1, 2]), np.array([3.0, 2.0]), get_encoder("phash").kind,
                         np.array([Mark.RECOLOURED.bit, 0], np.uint8))
    result = result_from_pairs(files, np.arange(3, dtype=np.uint64), [f"{i:064x}" for i in (1, 2, 3)], pairs,
                               "phash", 10)
    infos = {p: keep.FileInfo(p, 100, 100, size, 1000.0, format="PNG", measured=True)
             for p, size in zip(files, (2000, 9000, 1000))}
    decided = keep.decide_keepers(result, rule="largest", infos=infos)
    assert [g.files[0] for g in decided.groups] == [files[0]]
    assert decided.decisions[0].keeper == files[0] and files[1] in decided.decisions[0].remove
