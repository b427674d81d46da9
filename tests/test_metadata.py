"""remove --merge-metadata (imagetwins.metadata): what removed copies knew and their keeper lacked goes into an XMP
sidecar beside the keeper (IMG.png.xmp), journalled; the keeper's bytes never change; undo takes it back."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps

from imagetwins.cli import main
from imagetwins.metadata import PhotoMetadata, read_metadata, sidecar_bytes

try:  # imagetwins[xmp] is a dev dependency; Exempi a system library (.ci/run installs it)
    import libxmp  # noqa: F401
except Exception as exc:  # ImportError, or libxmp's own error when Exempi is missing
    pytest.skip(f"python-xmp-toolkit and Exempi are needed: {exc}", allow_module_level=True)

PHONE = "camera-photos/images/mei__Apple_iPhone_5.jpg"  # EXIF date, camera, GPS


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def group(tmp_path: Path, datasets: Path) -> Path:
    """One picture three times: the phone's JPEG (its EXIF: date, camera, GPS), a JPEG re-export carrying XMP keywords,
    rating and title (written by the XMP Toolkit), and a PNG re-save with no metadata at all: the keeper."""
    lib = tmp_path / "lib"
    lib.mkdir()
    with Image.open(datasets / PHONE) as im:  # (a quarter of the size, the phone's own EXIF block kept: seconds
        im.reduce(4).save(lib / "phone.jpg", quality=90, exif=im.info["exif"])  # saved per test)
    with Image.open(lib / "phone.jpg") as im:
        upright = ImageOps.exif_transpose(im)
    upright.save(lib / "keeper.png")
    tags = PhotoMetadata(keywords=["harbour", "Seattle"], rating=4, title="Ferry at dusk")
    upright.save(lib / "tagged.jpg", quality=92, xmp=sidecar_bytes(tags))
    return lib


def _plan(lib: Path, tmp_path: Path, keeper: str = "keeper.png") -> Path:
    plan = tmp_path / "plan.json"
    assert run("find", lib, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    assert len(doc["groups"]) == 1 and len(doc["groups"][0]["files"]) == 3
    doc["groups"][0]["keep"] = str(lib / keeper)
    plan.write_text(json.dumps(doc))
    return plan


def _exiv2(path: Path) -> str | None:
    """What exiv2 (the library darktable and digiKam read XMP with) reads from a sidecar, where it is installed."""
    if shutil.which("exiv2") is None:
        return None
    return subprocess.run(["exiv2", "-px", str(path)], capture_output=True, text=True).stdout


@pytest.mark.cli
def test_the_keeper_gets_a_sidecar_with_what_the_copies_knew(tmp_path: Path, group: Path) -> None:
    plan = _plan(group, tmp_path)
    keeper_sha = sha(group / "keeper.png")
    res = run("remove", group, "--plan", plan, "--merge-metadata")  # dry run: says what it would write
    assert res.exit_code == 0 and "would write" in res.output
    assert "capture date, GPS, camera, keywords, rating, title" in res.output
    assert not (group / "keeper.png.xmp").exists()
    q = tmp_path / "q"
    res = run("remove", group, "--plan", plan, "--merge-metadata", "--apply", "--move-to", q)
    assert res.exit_code == 0, res.output
    side = group / "keeper.png.xmp"
    assert sorted(p.name for p in group.iterdir()) == ["keeper.png", "keeper.png.xmp"]
    assert sha(group / "keeper.png") == keeper_sha  # the keeper's own bytes never change
    got = read_metadata(group / "keeper.png")  # (read back through the sidecar)
    assert got.taken == "2012-09-29T16:11:25" and (got.make, got.model) == ("Apple", "iPhone 5")
    assert (got.latitude, got.longitude) == ("47,37.6300N", "122,20.2400W")
    assert sorted(got.keywords) == ["Seattle", "harbour"] and got.rating == 4 and got.title == "Ferry at dusk"
    seen = _exiv2(side)
    if seen is not None:
        assert "Xmp.exif.DateTimeOriginal" in seen and "2012:09:29 16:11:25" in seen
        assert "Xmp.dc.subject" in seen and "harbour" in seen and "Xmp.xmp.Rating" in seen
        assert "47,37.6300N" in seen and "Xmp.tiff.Model" in seen
    res = run("undo", q)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in group.iterdir()) == ["keeper.png", "phone.jpg", "tagged.jpg"]


@pytest.mark.cli
def test_an_existing_sidecar_is_added_to_and_put_back_by_undo(tmp_path: Path, group: Path) -> None:
    side = group / "keeper.png.xmp"
    side.write_bytes(sidecar_bytes(PhotoMetadata(keywords=["mine"], rating=5)))
    before = side.read_bytes()
    plan = _plan(group, tmp_path)
    q = tmp_path / "q"
    res = run("remove", group, "--plan", plan, "--merge-metadata", "--apply", "--move-to", q)
    assert res.exit_code == 0, res.output
    got = read_metadata(group / "keeper.png")
    assert got.rating == 5  # the keeper's own rating stays
    assert sorted(got.keywords) == ["Seattle", "harbour", "mine"] and got.taken == "2012-09-29T16:11:25"
    assert run("undo", q).exit_code == 0
    assert side.read_bytes() == before


@pytest.mark.cli
def test_a_sidecar_edited_since_is_left_alone_by_undo(tmp_path: Path, group: Path) -> None:
    plan = _plan(group, tmp_path)
    q = tmp_path / "q"
    assert run("remove", group, "--plan", plan, "--merge-metadata", "--apply", "--move-to", q).exit_code == 0
    side = group / "keeper.png.xmp"
    side.write_bytes(side.read_bytes().replace(b"harbour", b"harbor!"))  # darktable wrote to it meanwhile
    res = run("undo", q)
    assert res.exit_code == 1 and "changed since it was written" in res.output
    assert b"harbor!" in side.read_bytes() and (group / "phone.jpg").exists()


@pytest.mark.cli
def test_a_sidecar_name_that_is_a_symbolic_link_is_never_written_through(tmp_path: Path, group: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("not yours")
    os.symlink(target, group / "keeper.png.xmp")
    plan = _plan(group, tmp_path)
    res = run("remove", group, "--plan", plan, "--merge-metadata", "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 1 and "symbolic link" in res.output and "Traceback" not in res.output
    assert target.read_text() == "not yours" and os.path.islink(group / "keeper.png.xmp")
    assert not (group / "phone.jpg").exists()  # the moves themselves went ahead, as the plan said


@pytest.mark.cli
def test_a_sidecar_not_written_is_said_as_such_not_as_files_not_moved(tmp_path: Path, group: Path) -> None:
    """The summary said "error: 1 file not moved (1 failed ...)" under "moved 2 files": a sidecar failed, no move."""
    os.mkfifo(group / "keeper.png.xmp")
    plan = _plan(group, tmp_path)
    for apply_ in ((), ("--apply",)):
        res = run("remove", group, "--plan", plan, "--merge-metadata", *apply_, "--move-to", tmp_path / "q")
        assert res.exit_code == 1, res.output
        last = res.output.strip().splitlines()[-1]
        would = "would not be" if not apply_ else "not"
        assert last == f"error: 1 XMP sidecar {would} written beside its keeper (each named above)", res.output
        assert "not move" not in res.output, res.output
    assert not (group / "phone.jpg").exists() and stat.S_ISFIFO(os.lstat(group / "keeper.png.xmp").st_mode)


@pytest.mark.integration
def test_iptc_of_a_real_camera_file_is_read(datasets: Path) -> None:
    got = read_metadata(datasets / "camera-photos/images/mei__Nikon_E995_iptc.jpg")
    assert got.description.startswith("Dateiname : DSCN1767.JPG") and "Größe" not in got.description
    assert "Dateigröße" in got.description  # ISO 8859-1, as IPTC says unless told otherwise
    assert (got.make, got.model, got.taken) == ("NIKON", "E995", "2002-08-29T17:31:40")


@pytest.mark.cli
def test_without_the_xmp_library_one_line(tmp_path: Path, group: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imagetwins.metadata as metadata

    def missing():
        raise metadata.MetadataUnavailable('--merge-metadata needs the XMP library: pip install "imagetwins[xmp]"')

    monkeypatch.setattr(metadata, "_xmp", missing)
    res = run("remove", group, "-r", "--merge-metadata")
    assert res.exit_code == 1 and "imagetwins[xmp]" in res.output and len(res.output.strip().splitlines()) == 1


@pytest.mark.cli
def test_a_plan_from_the_review_page_can_ask_for_it(tmp_path: Path, group: Path) -> None:
    plan = _plan(group, tmp_path)
    doc = json.loads(plan.read_text())
    doc["merge_metadata"] = True  # (the page's checkbox "carry the copies' metadata to the keepers")
    plan.write_text(json.dumps(doc))
    res = run("remove", group, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and "asks to carry" in res.output
    assert read_metadata(group / "keeper.png").taken == "2012-09-29T16:11:25"


def _padded_sidecar(tags: PhotoMetadata, size: int) -> bytes:
    """A valid XMP sidecar made ``size`` bytes long by whitespace before its end (XMP packets carry padding)."""
    data = sidecar_bytes(tags)
    end = data.rindex(b"<?xpacket end")
    return data[:end] + b" " * (size - len(data)) + data[end:]


@pytest.mark.cli
def test_xmp_larger_than_the_cap_is_not_read_and_said_in_one_line(tmp_path: Path, group: Path) -> None:
    """Sidecars were read up to 16 MB and silently cut there; XMP over 2 MB (metadata.XMP_MAX_BYTES) is now not
    read at all: a moved file's is named in a warning (the rest of its metadata still carried), a keeper's own
    is left alone and named as not added to."""
    from imagetwins.metadata import XMP_MAX_BYTES

    big = _padded_sidecar(PhotoMetadata(keywords=["from the huge sidecar"]), XMP_MAX_BYTES + 4096)
    (group / "tagged.jpg.xmp").write_bytes(big)
    plan = _plan(group, tmp_path)
    q = tmp_path / "q"
    res = run("remove", group, "--plan", plan, "--merge-metadata", "--apply", "--move-to", q)
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    assert "tagged.jpg.xmp: 2.0 MB of XMP, more than the 2 MB read: not read" in res.output
    got = read_metadata(group / "keeper.png")
    assert "from the huge sidecar" not in got.keywords and sorted(got.keywords) == ["Seattle", "harbour"]
    assert run("undo", q).exit_code == 0

    (group / "tagged.jpg.xmp").unlink()
    (group / "keeper.png.xmp").write_bytes(big)  # the keeper's own sidecar, too large to read and add to
    res = run("remove", group, "--plan", plan, "--merge-metadata", "--apply", "--move-to", tmp_path / "q2")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "keeper.png.xmp: the keeper's sidecar holds 2.0 MB of XMP" in res.output and "left alone" in res.output
    assert (group / "keeper.png.xmp").read_bytes() == big


@pytest.mark.cli
def test_a_moved_files_own_sidecar_is_read_where_it_lay(tmp_path: Path, group: Path) -> None:
    """A moved file was read again in the quarantine, where its sidecar (``tagged.jpg.xmp``, left in the library)
    is not: the dry run promised its keywords and --apply dropped them. Its sidecars are now read where it lay."""
    (group / "tagged.jpg.xmp").write_bytes(sidecar_bytes(PhotoMetadata(keywords=["from its sidecar"])))
    plan = _plan(group, tmp_path)
    res = run("remove", group, "--plan", plan, "--merge-metadata", "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0, res.output
    assert "from its sidecar" in read_metadata(group / "keeper.png").keywords


@pytest.mark.cli
def test_nothing_to_carry_is_said_in_one_line(tmp_path: Path, datasets: Path) -> None:
    """A stranger's remove --merge-metadata of copies that knew nothing their keepers lacked printed not a word about
    sidecars (was the flag honoured?); it now says there was no metadata to carry, in the dry run and with --apply."""
    lib = tmp_path / "lib"
    lib.mkdir()
    with Image.open(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]) as im:
        im.save(lib / "photo.png")  # neither file carries any metadata
        im.reduce(2).save(lib / "photo_small.jpg", quality=85)
    res = run("remove", lib, "--merge-metadata")
    assert res.exit_code == 0 and "would move" in res.output, res.output
    lines = [ln for ln in res.output.splitlines() if "no metadata to carry" in ln]
    assert len(lines) == 1, res.output
    res = run("remove", lib, "--merge-metadata", "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and res.output.count("no metadata to carry") == 1, res.output
    assert sorted(p.name for p in lib.iterdir()) == ["photo.png"]
    res = run("remove", lib, "--merge-metadata", "--quiet")
    assert "no metadata" not in res.output
