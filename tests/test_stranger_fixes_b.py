"""What a new user met with imagetwins on a second afternoon (README and --help only, a fresh venv): a shop, an ML
engineer, a family photo library and an imagededup user. Each test failed before its fix."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import byte_copies_album, synthetic_photo

from imagetwins.cli import main


def _catalogue_in_sub_folders(tmp_path: Path) -> Path:
    """``catalogue/shoes/a.png`` and its byte copy ``catalogue/bags/a.png``: no image at the top."""
    catalogue = tmp_path / "catalogue"
    for sub in ("shoes", "bags"):
        (catalogue / sub).mkdir(parents=True)
        synthetic_photo(96, 72, 0).save(catalogue / sub / "a.png")
    return catalogue


@pytest.mark.cli
def test_index_update_of_a_folder_of_sub_folders_without_recursive_says_try_recursive(tmp_path: Path) -> None:
    """``imagetwins index update catalogue/ --db catalogue.db`` (the README's line without -r) on a catalogue kept in
    sub-folders said '0 added, 0 changed, ...' and exit 0, nothing else: find, report, remove and folders say
    'note: no image files found in catalogue (try --recursive)'."""
    catalogue = _catalogue_in_sub_folders(tmp_path)
    db = tmp_path / "catalogue.db"
    run = CliRunner().invoke(main, ["index", "update", str(catalogue), "--db", str(db), "-m", "phash"])
    assert run.exit_code == 0, run.output
    assert f"note: no image files found in {catalogue} (try --recursive)" in run.output
    quiet = CliRunner().invoke(main, ["index", "update", str(catalogue), "--db", str(db), "-m", "phash", "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""
    full = CliRunner().invoke(main, ["index", "update", str(catalogue), "-r", "--db", str(db), "-m", "phash"])
    assert full.exit_code == 0 and "2 added" in full.output and "note:" not in full.output, full.output


@pytest.mark.unit
@pytest.mark.parametrize("cls_name", ["PHash", "DihedralHash", "CNN", "Copies"])
def test_imagededup_classes_say_why_a_folder_of_sub_folders_gave_nothing(tmp_path: Path, cls_name: str) -> None:
    """README's first Python lines on a folder whose photos lie in sub-folders: ``encode_images(image_dir=...)``
    returned {} without a word, and ``find_duplicates(encoding_map=encodings)`` then raised 'Provide either an image
    directory or encodings!' (the encodings were given: they were empty). Now encode_images warns once, naming the
    folder and recursive=True, and the empty map's ValueError (imagededup's type) says it is empty."""
    import imagetwins.methods as methods

    catalogue = _catalogue_in_sub_folders(tmp_path)
    method = getattr(methods, cls_name)(verbose=False)
    with pytest.warns(UserWarning, match=r"no image files found in .*catalogue \(its sub-folders are not read: "
                                         r"recursive=True reads them\)"):
        encodings = method.encode_images(image_dir=catalogue)
    assert encodings == {}
    with pytest.raises(ValueError, match="encoding_map is empty: no image to compare"):
        method.find_duplicates(encoding_map=encodings)
    with pytest.raises(ValueError, match="encoding_map is empty"):
        method.find_duplicates_to_remove(encoding_map=encodings)
    with pytest.raises(ValueError, match="Provide either an image directory or encodings!"):
        method.find_duplicates()
    assert len(method.encode_images(image_dir=catalogue, recursive=True)) == 2


@pytest.mark.cli
def test_undo_of_the_cleaned_folder_names_its_quarantines(tmp_path: Path) -> None:
    """``imagetwins undo ~/Pictures`` (the folder remove --apply moved files out of, not its quarantine) said only
    'is not a quarantine: it holds no manifest.jsonl'; the runs to undo lie beside it, in
    ~/Pictures.imagetwins-quarantine/<time>. Now the line names them and the undo command of the latest."""
    from imagetwins.text import shell_word

    album = tmp_path / "album"
    album.mkdir()
    synthetic_photo(96, 72, 0).save(album / "a.png")
    (album / "a copy.png").write_bytes((album / "a.png").read_bytes())
    removed = CliRunner().invoke(main, ["remove", str(album), "-m", "phash", "--apply"])
    assert removed.exit_code == 0, removed.output
    runs = sorted((tmp_path / "album.imagetwins-quarantine").iterdir())
    assert len(runs) == 1
    wrong = CliRunner().invoke(main, ["undo", str(album)])
    assert wrong.exit_code == 1
    assert "is not a quarantine" in wrong.output
    assert f"files were moved out of it into {tmp_path / 'album.imagetwins-quarantine'}" in wrong.output, wrong.output
    assert f"imagetwins undo {shell_word(str(runs[0]))}" in wrong.output
    assert (album / "a copy.png").exists() is False, "nothing is restored by the refused undo"
    right = CliRunner().invoke(main, ["undo", str(runs[0])])
    assert right.exit_code == 0 and (album / "a copy.png").exists(), right.output


def _commands(group=main, path=()):
    for name in group.list_commands(None):
        cmd = group.get_command(None, name)
        yield (*path, name), cmd
        if hasattr(cmd, "list_commands"):
            yield from _commands(cmd, (*path, name))


@pytest.mark.cli
def test_every_command_help_shows_examples_of_itself() -> None:
    """``imagetwins undo --help`` and ``plot --help`` (and the index, cache and decisions sub-commands) had no
    example: a new user read 'MANIFEST: the quarantine folder or its manifest file' and guessed. Every command's
    --help now shows examples, at least one of them running that very command."""
    import re
    import shlex

    lacking = []
    for path, _cmd in _commands():
        text = CliRunner().invoke(main, [*path, "--help"], terminal_width=200).output
        if not re.search(r"Examples?:", text):
            lacking.append(" ".join(path))
            continue
        block = re.split(r"Examples?:", text, maxsplit=1)[1].split("\n\n", 1)[0]
        lines = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
        runs_itself = [line for line in lines if shlex.split(line)[:1 + len(path)] == ["imagetwins", *path]]
        assert runs_itself, (path, lines)
    assert not lacking, f"no example in --help of: {', '.join(lacking)}"


@pytest.mark.unit
def test_a_heic_photo_without_the_heif_extra_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    """A family library's iPhone photos (.heic) with 'pip install .' alone (no [heif] extra) were each 'skipped
    x.heic: not an image, or a format Pillow cannot read', as a corrupt file is; a camera RAW file without
    [raw] says which extra reads it. Now a HEIF file says so too."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    from imagetwins.io import ImageReadError, open_image

    pillow_heif.register_heif_opener()  # (to write one)
    synthetic_photo(96, 72, 0).save(tmp_path / "IMG_0001.heic")
    assert open_image(tmp_path / "IMG_0001.heic").size == (96, 72)
    monkeypatch.delitem(Image.OPEN, "HEIF", raising=False)  # as a Pillow without pillow-heif
    with pytest.raises(ImageReadError) as err:
        open_image(tmp_path / "IMG_0001.heic")
    assert err.value.reason == 'a HEIC/HEIF photo: pip install "imagetwins[heif]" to read it'
    (tmp_path / "notes.heic").write_bytes(b"not a picture at all")
    with pytest.raises(ImageReadError) as err:
        open_image(tmp_path / "notes.heic")
    assert err.value.reason == "not an image, or a format Pillow cannot read"


@pytest.mark.unit
def test_photos_skipped_for_a_missing_extra_are_read_once_it_is_installed(tmp_path: Path, monkeypatch) -> None:
    """The folder's cache remembered a HEIC (or RAW) file skipped for want of its extra as unreadable: after
    'pip install "imagetwins[heif]"', as the line said, every re-run still skipped it with the same line. Such a
    failure says nothing about the file, so no cache keeps it: the next run reads the file."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    import imagetwins
    import imagetwins.raw
    from imagetwins.io import ImageReadError, open_image

    pillow_heif.register_heif_opener()
    album = tmp_path / "iphone"
    album.mkdir()
    synthetic_photo(96, 72, 0).save(album / "IMG_0001.heic")
    synthetic_photo(96, 72, 0).save(album / "IMG_0001.png")
    with monkeypatch.context() as without_extra:
        without_extra.delitem(Image.OPEN, "HEIF", raising=False)
        before = imagetwins.find(album, "phash")
        assert [f.path for f in before.failures] == [str(album / "IMG_0001.heic")] and before.groups == []
    after = imagetwins.find(album, "phash")  # the extra installed since
    assert after.failures == [] and [len(g.files) for g in after.groups] == [2]

    def no_rawpy() -> None:
        raise imagetwins.raw.RawUnavailable('a camera RAW file: pip install "imagetwins[raw]" to read it')

    monkeypatch.setattr(imagetwins.raw, "_require_rawpy", no_rawpy)
    (tmp_path / "IMG_0002.dng").write_bytes(b"II*\0" + bytes(64))
    with pytest.raises(ImageReadError) as err:
        open_image(tmp_path / "IMG_0002.dng")
    assert "imagetwins[raw]" in err.value.reason and err.value.transient


@pytest.mark.unit
def test_a_cache_made_before_reads_what_waited_for_an_extra_once_it_is_there(tmp_path: Path, monkeypatch) -> None:
    """A cache made before f97b9e3 kept a RAW file's 'pip install "imagetwins[raw]"' and a HEIC photo's failure (said
    then as any unidentified file's) as the files' reasons: after installing the extra they stayed unreadable until
    the file changed or 'cache clear'. Now an update reads such a file again where the extra is there, once: a
    damaged HEIC file's reason is its own since, and nothing is read again on the next update."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pytest.importorskip("rawpy")
    from index_files import store_as_unreadable

    from imagetwins import encoding, io
    from imagetwins.index import Index
    from imagetwins.raw import RAW_EXTRA_MISSING

    pillow_heif.register_heif_opener()
    album = tmp_path / "iphone"
    album.mkdir()
    synthetic_photo(96, 72, 0).save(album / "IMG_0001.heic")
    synthetic_photo(96, 72, 0).save(album / "IMG_0001.png")
    (album / "broken.heic").write_bytes((album / "IMG_0001.heic").read_bytes()[:40] + bytes(200))
    (album / "IMG_0002.dng").write_bytes(b"II*\0" + bytes(64))
    (album / "notes.heic").write_bytes(b"a text file, named as a photo")
    db = tmp_path / "old.db"
    with Index(db, ["phash"]) as ix:
        ix.update(album, workers=1)
    for name in ("IMG_0001.heic", "broken.heic", "notes.heic"):  # (as that imagetwins said them)
        store_as_unreadable(db, name, io.UNIDENTIFIED)
    store_as_unreadable(db, "IMG_0002.dng", RAW_EXTRA_MISSING)
    decoded: list[str] = []
    decode = encoding.decode_image

    def counted(data, *args, **kwargs):
        decoded.append(Path(kwargs.get("path_for_messages", "?")).name)
        return decode(data, *args, **kwargs)

    monkeypatch.setattr(encoding, "decode_image", counted)
    with Index(db, ["phash"]) as ix:
        ix.update(album, workers=1)
        errors = {Path(p).name: reason for p, reason in ix.errors(album)}
    assert sorted(decoded) == ["IMG_0001.heic", "IMG_0002.dng", "broken.heic"]
    assert "IMG_0001.heic" not in errors
    assert errors["broken.heic"] == "a HEIC/HEIF file pillow-heif cannot read (damaged?)"
    assert "imagetwins[raw]" not in errors["IMG_0002.dng"] and errors["notes.heic"] == io.UNIDENTIFIED
    decoded.clear()
    with Index(db, ["phash"]) as ix:
        ix.update(album, workers=1)
    assert decoded == []


@pytest.mark.cli
def test_a_query_for_a_method_the_index_lacks_is_one_error_naming_the_indexed_folder(tmp_path: Path) -> None:
    """``index query uploads/ --db catalogue.db -m phash`` on an index of copies said it twice (a warning that 2 of
    2 files have no phash encoding, then the error that the index holds none), and both told to run
    'imagetwins index update DIR --db catalogue.db -m phash' although the index knows its folder (and that it was
    updated with -r)."""
    from imagetwins.text import shell_word

    catalogue = _catalogue_in_sub_folders(tmp_path)
    db = tmp_path / "catalogue.db"
    made = CliRunner().invoke(main, ["index", "update", str(catalogue), "-r", "--db", str(db), "-m", "dhash"])
    assert made.exit_code == 0, made.output
    asked = CliRunner().invoke(main, ["index", "query", str(catalogue / "bags" / "a.png"), "--db", str(db),
                                      "-m", "phash"])
    assert asked.exit_code == 1
    assert asked.output.count("phash encoding") == 1, asked.output
    assert f"'imagetwins index update {shell_word(str(catalogue))} -r --db {shell_word(str(db))} -m phash'" \
        in asked.output, asked.output
    assert " DIR " not in asked.output


@pytest.mark.cli
def test_remove_apply_and_undo_show_their_progress(tmp_path: Path, monkeypatch) -> None:
    """``remove -r --apply`` moved 161 camera photos (each and its keeper checked by SHA-256, each move journalled)
    in 6.5 s, and ``undo`` put them back in 15 s (a loaded 2-core machine), with nothing on the terminal until the
    last line: at 20,000 duplicates, minutes of silence. Each now draws a bar ('moving', 'restoring', over the
    files; shown after a second where progress is shown, as the scan's), counted to the end."""
    import tqdm.auto

    import imagetwins.cli.remove
    from imagetwins import progress

    bars: list = []

    class Recorded(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            shown = not kwargs.pop("disable", False)
            super().__init__(*args, disable=True, **kwargs)
            self.seen = 0
            if shown:
                bars.append((kwargs.get("desc"), kwargs.get("total"), self))

        def update(self, n=1):
            self.seen += n
            return super().update(n)

    album = byte_copies_album(tmp_path)
    monkeypatch.setattr(tqdm.auto, "tqdm", Recorded)
    monkeypatch.setattr(imagetwins.cli.remove, "show_progress", lambda quiet: not quiet)
    monkeypatch.setattr(progress, "watched", lambda: True)  # (a terminal's bar; in a log: plain lines)
    moved = CliRunner().invoke(main, ["remove", str(album), "-m", "phash", "--apply"])
    assert moved.exit_code == 0, moved.output
    assert [(total, bar.seen) for desc, total, bar in bars if desc == "moving"] == [(4, 4)], bars
    run = next((tmp_path / "album.imagetwins-quarantine").iterdir())
    back = CliRunner().invoke(main, ["undo", str(run)])
    assert back.exit_code == 0, back.output
    assert [(total, bar.seen) for desc, total, bar in bars if desc == "restoring"] == [(4, 4)], bars
    bars.clear()
    quiet = CliRunner().invoke(main, ["remove", str(album), "-m", "phash", "--apply", "-q"])
    assert quiet.exit_code == 0 and not [b for b in bars if b[0] in ("moving", "restoring")]
