"""What a new user met on a third afternoon (README and --help only, a fresh venv, `pip install` of the clone): a
shop, an ML engineer, a family photo library and an imagededup user. Each test failed before its fix."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import byte_copies_album, synthetic_photo

from imagetwins.cli import main


@pytest.mark.integration
def test_plot_duplicates_without_scores_labels_only_the_file_asked_about_original(tmp_path: Path,
                                                                                  monkeypatch) -> None:
    """imagededup's documented call, ``plot_duplicates(image_dir, duplicate_map, filename)`` with the map of
    ``find_duplicates()`` (no scores), titled every picture "original", its duplicates too."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from imagetwins.methods import PHash
    from imagetwins.utils import plot_duplicates

    album = byte_copies_album(tmp_path)
    found = PHash(verbose=False).find_duplicates(image_dir=album)
    assert found["p0.png"] and not isinstance(found["p0.png"][0], tuple)
    titles: list[list[str]] = []
    save = Figure.savefig

    def recording_savefig(fig, *args, **kwargs):
        titles.append([ax.get_title() for ax in fig.axes if ax.get_title()])
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording_savefig)
    plot_duplicates(album, found, "p0.png", outfile=tmp_path / "plain.png")
    plot_duplicates(album, PHash(verbose=False).find_duplicates(image_dir=album, scores=True), "p0.png",
                    outfile=tmp_path / "scored.png")
    plain, scored = titles
    assert plain[0].endswith("original") and scored[0].endswith("original")
    assert len(plain) == 3 and not any("original" in t for t in plain[1:]), plain
    assert all(t.endswith("duplicate") for t in plain[1:]), plain
    assert all(t.endswith("score 0") for t in scored[1:]), scored


@pytest.mark.cli
@pytest.mark.parametrize("command", ["check", "find"])
def test_against_an_image_file_is_a_usage_error_naming_what_it_takes(tmp_path: Path, command: str) -> None:
    """``imagetwins check upload.jpg --against photo.jpg`` said "photo.jpg is not an imagetwins index (not an SQLite
    file)": the reference is a folder or an index file, and two pictures are compared by ``explain``."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    synthetic_photo(96, 72, 0).save(folder / "upload.png")
    reference = tmp_path / "photo.png"
    synthetic_photo(96, 72, 1).save(reference)
    test = folder / "upload.png" if command == "check" else folder
    run = CliRunner().invoke(main, [command, str(test), "--against", str(reference)])
    assert run.exit_code == 1, run.output  # (as for every file that is not an index: tests/test_cli_index.py)
    assert "SQLite" not in run.output
    assert f"--against {reference} is an image" in run.output and "a folder or an index file" in run.output
    assert "imagetwins explain" in run.output


@pytest.mark.cli
@pytest.mark.parametrize("fmt", ["--csv", "--json", "--ndjson"])
def test_against_output_help_names_every_field_the_output_has(tmp_path: Path, fmt: str) -> None:
    """``check --csv`` wrote a column ``recoloured`` (and JSON/NDJSON a key) that ``check --help`` did not name:
    "query,match,distance (or similarity, or confidence), and verdict (copy)"."""
    album = byte_copies_album(tmp_path)
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "p0.png").write_bytes((album / "p0.png").read_bytes())
    run = CliRunner().invoke(main, ["check", str(album), "--against", str(reference), fmt, "-", "-q"])
    assert run.exit_code == 3, run.output
    if fmt == "--csv":
        fields = next(csv.reader(io.StringIO(run.output)))[2:]
    else:
        import json

        first = json.loads(run.output) if fmt == "--json" else json.loads(run.output.splitlines()[0])
        match = (first["matches"][0]["matches"] if fmt == "--json" else first["matches"])[0]
        fields = [k for k in match if k != "path"]
    assert "recoloured" in fields
    help_text = " ".join(CliRunner().invoke(main, ["check", "--help"]).output.split())
    option = help_text.split(f"{fmt} FILE|-", 1)[1].split(" --", 1)[0]
    for field in fields:
        assert field in option, (field, option)


@pytest.mark.unit
def test_imagededup_custom_model_import_says_what_to_use_instead() -> None:
    """``from imagededup.utils import CustomModel`` with the import changed said only "cannot import name
    'CustomModel' from 'imagetwins.utils'": the line says what imagetwins takes in its place."""
    with pytest.raises(ImportError, match=r"ModelConfig.*callable") as err:
        from imagetwins.utils import CustomModel  # noqa: F401
    assert err.value.name == "CustomModel"
    import imagetwins.utils

    with pytest.raises(AttributeError):
        imagetwins.utils.no_such_helper  # noqa: B018  (other names stay plain AttributeErrors)


@pytest.mark.cli
@pytest.mark.parametrize("command", ["find", "report", "remove", "check", "find --against", "index query"])
def test_colour_variants_with_a_method_that_marks_no_pair_is_a_usage_error(tmp_path: Path, command: str) -> None:
    """``imagetwins find catalogue -m phash --colour-variants apart`` (a shop keeping its colour variants apart) ran
    as if the option had not been given: only ``copies`` compares the pictures after recolouring and marks pairs
    recoloured, so with a hash the colour variants stay grouped without a word. The default (the option left out)
    and ``-m copies`` are as before."""
    album = byte_copies_album(tmp_path)
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "p0.png").write_bytes((album / "p0.png").read_bytes())
    db = tmp_path / "ref.db"
    if command == "index query":
        made = CliRunner().invoke(main, ["index", "update", str(reference), "--db", str(db), "-m", "phash"])
        assert made.exit_code == 0, made.output
    args = {"find": ["find", str(album)], "report": ["report", str(album), "-o", str(tmp_path / "r.html")],
            "remove": ["remove", str(album)], "check": ["check", str(album), "--against", str(reference)],
            "find --against": ["find", str(album), "--against", str(reference)],
            "index query": ["index", "query", str(album / "p0 a.png"), "--db", str(db)]}[command]
    refused = CliRunner().invoke(main, [*args, "-m", "phash", "--colour-variants", "apart"])
    assert refused.exit_code == 2, refused.output
    assert "--colour-variants" in refused.output and "-m phash" in refused.output and "-m copies" in refused.output
    assert not (tmp_path / "r.html").exists()
    plain = CliRunner().invoke(main, [*args, "-m", "phash"])
    assert plain.exit_code in (0, 3), plain.output
    if command != "index query":  # (the index holds phash only)
        copies = CliRunner().invoke(main, [*args, "--colour-variants", "apart"])
        assert copies.exit_code in (0, 3), copies.output


@pytest.mark.integration
def test_a_check_result_is_not_true_or_false_but_says_what_to_ask(tmp_path: Path) -> None:
    """An ML engineer's ``assert imagetwins.check("test", against="train")`` passed with 2 leaks (a result object is
    always true); ``.passed`` is what a gate asks. Its truth value is a TypeError naming ``.passed`` now."""
    import imagetwins

    album = byte_copies_album(tmp_path)
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "p0.png").write_bytes((album / "p0.png").read_bytes())
    result = imagetwins.check(album, against=reference, method="phash", cache=False)
    assert len(result.leaks) == 3 and not result.passed and result.complete
    with pytest.raises(TypeError, match=r"\.passed"):
        assert result
    with pytest.raises(TypeError, match=r"\.passed"):
        bool(imagetwins.check(reference, against=album, method="phash", cache=False))
    assert "leaks" in repr(result)


@pytest.mark.integration
def test_library_colour_variants_apart_with_a_method_that_marks_no_pair_is_a_value_error(tmp_path: Path) -> None:
    """The library's side of the usage error above: ``imagetwins.find(folder, "phash", colour_variants="apart")``
    (and ``check`` / ``find_against``) ran as if it had not been given."""
    import imagetwins

    album = byte_copies_album(tmp_path)
    for call in (lambda: imagetwins.find(album, "phash", colour_variants="apart", cache=False),
                 lambda: imagetwins.check(album, against=album, method="dihedral", colour_variants="apart",
                                          cache=False)):
        with pytest.raises(ValueError, match=r"colour_variants='apart'.*copies"):
            call()
    assert len(imagetwins.find(album, "phash", colour_variants="copies", cache=False).groups) == 2


@pytest.mark.cli
@pytest.mark.parametrize("method", ["phash", "dihedral", "similar", "copies"])
def test_colour_variants_is_refused_by_one_test_of_the_method(tmp_path: Path, method: str) -> None:
    """The library's ValueError and the command line's usage error asked the same question twice, in two copies of
    one line (``kind.match_verdict is None``): ``Encoder.marks_no_recolouring`` is that one test, and both say its
    words; a method that marks recoloured pairs (``copies``) is refused by neither."""
    import imagetwins
    from imagetwins.encoders import get_encoder

    why = get_encoder(method).marks_no_recolouring
    assert (why is None) == (method == "copies")
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(main, ["find", str(empty), "-m", method, "--colour-variants", "apart"])
    if why is None:
        assert res.exit_code != 2, res.output
        return
    assert res.exit_code == 2 and why in res.output.replace("\n", " "), res.output
    with pytest.raises(ValueError) as raised:
        imagetwins.find(empty, method, colour_variants="apart", cache=False)
    assert why in str(raised.value)


@pytest.mark.cli
def test_undo_names_the_emptied_folders_it_leaves_in_the_quarantine(tmp_path: Path) -> None:
    """A family's ``remove Pictures -r --apply`` then ``undo``: "Q now holds only the journal of that run", while
    ``ls Q`` showed the run's folders (WhatsApp/, Backup/, ...), emptied. The line names them now; a run of files at
    the top of the folder (no folder in Q) says what it said."""
    album = tmp_path / "Pictures"
    for sub in ("WhatsApp", "Backup"):
        (album / sub).mkdir(parents=True)
    synthetic_photo(96, 72, 0).save(album / "p0.png")
    for sub in ("WhatsApp", "Backup"):
        (album / sub / "p0.png").write_bytes((album / "p0.png").read_bytes())
    moved = CliRunner().invoke(main, ["remove", str(album), "-r", "-m", "phash", "--apply"])
    assert moved.exit_code == 0 and "moved 2 files to " in moved.output, moved.output
    quarantine = Path(moved.output.split(" to ", 1)[1].split(";", 1)[0])
    undone = CliRunner().invoke(main, ["undo", str(quarantine)])
    assert undone.exit_code == 0, undone.output
    assert sorted(p.name for p in quarantine.iterdir() if p.is_dir()) == ["Backup", "WhatsApp"]
    assert undone.output.strip() == (f"restored 2 files; {quarantine} now holds only the journal of that run and "
                                     "the emptied folders: delete it when you like")


@pytest.mark.integration
def test_plot_duplicates_raises_what_imagededup_raised_for_bad_arguments(tmp_path: Path) -> None:
    """imagededup 0.3's plot_duplicates asserted a folder and a file with duplicates (``AssertionError``); imagetwins
    raised ``ValueError`` for the second and drew a figure of "unreadable" pictures for a folder that is not there, so
    code ported with ``except AssertionError`` let the error through. Both are each type now; a name not in the map
    and a map that is not a dict stay ``ValueError``, as there."""
    pytest.importorskip("matplotlib")
    from imagetwins.methods import PHash
    from imagetwins.utils import plot_duplicates

    album = byte_copies_album(tmp_path)
    found = PHash(verbose=False).find_duplicates(image_dir=album)
    out = tmp_path / "plot.png"
    for args in ((tmp_path / "nope", found, "p0.png"), (album, {"p0.png": []}, "p0.png")):
        for kind in (AssertionError, ValueError):
            with pytest.raises(kind):
                plot_duplicates(*args, outfile=out)
    with pytest.raises(ValueError, match="not a key"):
        plot_duplicates(album, found, "missing.png", outfile=out)
    with pytest.raises(ValueError, match="dict"):
        plot_duplicates(album, [("p0.png", ["p0 a.png"])], "p0.png", outfile=out)
    assert not out.exists()
