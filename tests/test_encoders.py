"""The method registry: every built-in method behind one interface, and a new method added by a test alone."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main
from imagetwins.encoders import BitsEncoder, encoder_names, get_encoder, register, registered
from imagetwins.evaluation import sweep
from imagetwins.finder import find_duplicate_groups
from imagetwins.index import Index

SRC = Path(__file__).resolve().parents[1] / "src" / "imagetwins"


class ColourHistogram(BitsEncoder):
    """A 64-bit colour hash: which of 4x4x4 RGB bins hold more than their share of a 32x32 thumbnail."""

    name = "colourhist"
    nbits = 64
    default_threshold = 4
    min_side = 32

    def prepare(self, img: Image.Image) -> np.ndarray:
        return np.asarray(img.resize((32, 32), Image.Resampling.BILINEAR), dtype=np.uint8)

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        q = np.stack(prepared).astype(np.int64) // 64  # 4 levels per channel
        bins = (q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).reshape(len(prepared), -1)
        counts = np.stack([np.bincount(b, minlength=64) for b in bins])
        bits = counts > bins.shape[1] / 64
        return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)

    def identity(self) -> dict:
        return {"method": self.name, "bins": 64, "thumbnail": 32, "version": 1}


@pytest.fixture
def colourhist():
    with registered(ColourHistogram()) as encoder:
        yield encoder


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """Two photos, each with a half-size copy: two groups of two."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]
    folder = tmp_path / "album"
    for k, p in enumerate(photos):
        (folder / f"g{k}").mkdir(parents=True)
        with Image.open(p) as im:
            im.save(folder / f"g{k}" / "original.png")
            im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS).save(folder / f"g{k}" / "half.jpg",
                                                                                     quality=90)
    return folder


def _groups(result) -> set[frozenset[str]]:
    return {frozenset(Path(f).parent.name + "/" + Path(f).name for f in g.files) for g in result.groups}


EXPECTED = {frozenset({"g0/original.png", "g0/half.jpg"}), frozenset({"g1/original.png", "g1/half.jpg"})}


@pytest.mark.unit
def test_builtin_methods_describe_themselves() -> None:
    assert encoder_names() == ["phash", "ahash", "dhash", "whash", "dihedral", "cnn", "copies", "similar"]
    assert encoder_names("vectors") == ["cnn", "similar"]
    for name in encoder_names("bits"):
        enc = get_encoder(name)
        assert (enc.score_kind, isinstance(enc.default_threshold, int)) == ("distance", True)
        assert enc.identity()["method"] == name
    cnn = get_encoder("CNN")
    assert cnn.score_kind == "similarity" and 0 < cnn.default_threshold < 1
    with pytest.raises(ValueError, match="choose one of phash"):
        get_encoder("md5")
    with pytest.raises(ValueError, match="registered already"):
        register(get_encoder("phash"))
    with pytest.raises(ValueError, match="whole bits, 0..256"):
        get_encoder("dihedral").check_threshold(300)
    with pytest.raises(ValueError, match="cosine similarities"):
        cnn.check_threshold(2.0)


@pytest.mark.unit
def test_a_method_registered_for_a_block_is_gone_after_it() -> None:
    """``registered`` swaps a method in for a ``with`` block and restores the registry exactly, also when the
    block raises; a taken name without ``replace`` is refused and changes nothing."""
    before = {n: get_encoder(n) for n in encoder_names()}
    with registered(ColourHistogram()) as mine:
        assert get_encoder("colourhist") is mine and encoder_names()[-1] == "colourhist"
    assert "colourhist" not in encoder_names()
    stand_in = copy.copy(get_encoder("phash"))
    with pytest.raises(RuntimeError, match="inside"), registered(stand_in, replace=True):
        assert get_encoder("phash") is stand_in
        raise RuntimeError("inside the block")
    with pytest.raises(ValueError, match="registered already"), registered(stand_in):
        pass
    assert {n: get_encoder(n) for n in encoder_names()} == before  # same objects, same order
    assert list(before) == encoder_names()


@pytest.mark.unit
def test_the_cnn_method_is_named_only_where_it_is_defined() -> None:
    """No module special-cases the CNN by name: it is a method like the others."""
    named = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                   if re.search(r"""["']cnn["']""", p.read_text(encoding="utf-8")))
    assert named == ["encoders/cnn.py"]


@pytest.mark.cli
def test_a_new_method_works_through_find_index_tune_and_plot(colourhist, album: Path, tmp_path: Path) -> None:
    # find
    result = find_duplicate_groups(album, method="colourhist", recursive=True)
    assert result.method == "colourhist" and result.threshold == 4
    assert _groups(result) == EXPECTED
    # the index stores and reloads it, and answers queries with it
    with Index(tmp_path / "x.db", methods=["colourhist"]) as idx:
        assert idx.update(album).added == 4
        assert _groups(idx.find_duplicates("colourhist")) == EXPECTED
        hits = idx.query(album / "g1" / "half.jpg", method="colourhist")
        assert [Path(m).parent.name for _, m, _ in hits] == ["g1"]  # half.jpg itself is not its own duplicate
        assert idx.stats()["encodings"] == {"colourhist": 4}
    # tune: the sub-folders are the ground truth
    swept = sweep(album, album, methods=["colourhist"], target_precision=0.99)
    assert {p.method for p in swept.points} == {"colourhist"}
    assert swept.recommendation is not None and swept.recommendation.recall == 1.0
    # the CLI accepts it everywhere a method is named, plot included
    runner = CliRunner()
    out = runner.invoke(main, ["find", str(album), "-r", "-m", "colourhist", "--no-cache", "--json", "-"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.output)["groups"]) == 2
    png = tmp_path / "plot.png"
    out = runner.invoke(main, ["plot", str(album), "g0/original.png", "-r", "-m", "colourhist", "-o", str(png)])
    assert out.exit_code == 0, out.output
    assert png.stat().st_size > 1000 and "g0/original.png" in out.output


@pytest.mark.cli
def test_an_unregistered_method_is_a_usage_error(album: Path) -> None:
    out = CliRunner().invoke(main, ["find", str(album), "-m", "colourhist"])
    assert out.exit_code == 2 and "colourhist" in out.output


@pytest.mark.integration
def test_a_users_model_is_a_method(album: Path, tmp_path: Path) -> None:
    """A callable (or an ONNX file) plugs in as a vector method; the index keeps and checks its identity."""
    from conftest import FakeModel

    from imagetwins.embedding import Embedder, ModelConfig
    from imagetwins.encoders.model import ModelEncoder
    from imagetwins.index import IndexMismatchError

    with registered(ModelEncoder("blockmeans", Embedder(ModelConfig(name="block-means"), model=FakeModel()),
                                 0.95)) as mine:
        result = find_duplicate_groups(album, method="blockmeans", recursive=True)
        assert result.score_kind == "similarity" and _groups(result) == EXPECTED
        assert all(0.95 <= g.min_similarity <= 1.0 for g in result.groups)
        with Index(tmp_path / "m.db", methods=["blockmeans", "phash"]) as idx:
            idx.update(album)
            hits = idx.query(album / "g0" / "half.jpg", "blockmeans")
        assert [Path(m).relative_to(album).as_posix() for _, m, _ in hits] == ["g0/original.png"]  # not itself
        assert mine.identity()["model"] == "FakeModel"
        other = ModelEncoder("blockmeans", Embedder(ModelConfig(name="block-means", input_size=112),
                                                    model=FakeModel()), 0.95)
        with registered(other, replace=True), pytest.raises(IndexMismatchError, match="other parameters"):
            Index(tmp_path / "m.db", methods=["blockmeans"])
    assert "blockmeans" not in encoder_names()


@pytest.mark.unit
def test_a_plugin_search_written_without_pair_scores_is_called_through_the_one_interface() -> None:
    """Every caller passes ``pair_scores`` (None for a method without a ``pair_score_version``); a plug-in whose
    ``pairs``/``query`` predate the parameter keeps working: it is wrapped when the class is made."""
    from imagetwins.results import groups_from_encodings, match_query

    class Old(ColourHistogram):
        name = "oldsearch"
        calls: list[str] = []

        def pairs(self, encodings, threshold, workers=None, progress=False, paths=None):
            Old.calls.append("pairs")
            return super().pairs(encodings, threshold, workers, progress, paths)

        def query(self, queries, database, threshold, workers=None, query_paths=None, database_paths=None):
            Old.calls.append("query")
            return super().query(queries, database, threshold, workers, query_paths, database_paths)

    rows = np.array([0, 1, 2**40 - 1, 0], np.uint64)
    with registered(Old()) as old:
        result = groups_from_encodings(["a", "b", "c", "d"], rows, ["", "", "", ""], old, 3)
        found = match_query(old, ["q"], rows[:1], ["a", "b", "c"], rows[:3], 3, query_digests=["x"],
                            reference_digests=["y", "z", "w"])
    assert Old.calls == ["pairs", "query"]
    assert [g.files for g in result.groups] == [["a", "b", "d"]] and [r for r, _ in found["q"]] == ["a", "b"]
    assert old.pair_score_version is None and old.unavailable() is None and old.check_pair(rows) is None
