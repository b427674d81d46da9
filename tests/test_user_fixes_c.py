"""What a new user met (third batch), driven on real images: re-shot groups said the same way in every output,
explain's one number per pair, ..."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

# two holidays-half scenes, two shots each: re-shots, not copies
RESHOTS = ("100000.jpg", "100001.jpg", "100400.jpg", "100401.jpg")


def _reshots(tmp_path: Path, datasets: Path) -> Path:
    folder = tmp_path / "trip"
    folder.mkdir()
    for name in RESHOTS:
        shutil.copyfile(datasets / "holidays-half" / "images" / name, folder / name)
    return folder


@pytest.mark.cli
def test_reshot_groups_have_no_keeper_in_every_output_and_an_untouched_plan_dry_runs_quietly(
        tmp_path: Path, datasets: Path) -> None:
    folder = _reshots(tmp_path, datasets)
    plan, table, lines, page = (tmp_path / n for n in ("plan.json", "groups.csv", "groups.ndjson", "review.html"))
    out = CliRunner().invoke(main, ["find", str(folder), "-m", "similar", "--no-cache", "--json", str(plan),
                                    "--csv", str(table), "--ndjson", str(lines), "--report", str(page)])
    assert out.exit_code == 0, out.output
    doc = json.loads(plan.read_text())
    assert len(doc["groups"]) == 2
    suggested = {g["suggested_keep"] for g in doc["groups"]}
    assert all(g["keep"] is None for g in doc["groups"]) and len(suggested) == 2
    # text: no file marked 'keep'; the suggestion named as one, and the group says a person picks
    marked = re.findall(r"^  (\S+)\s+(/.+)$", out.output, re.M)
    assert marked and {m for m, _ in marked} == {"suggested"} and {p for _, p in marked} == suggested
    assert out.output.count("no keeper until a person picks one") == 2
    # CSV: keep empty (JSON's null), suggested_keep 1 for the suggestion
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert {r["keep"] for r in rows} == {""} and {r["path"] for r in rows if r["suggested_keep"] == "1"} == suggested
    assert {r["left_alone"] for r in rows} == {"awaiting_keeper"}  # (the reason, LeftAlone's key)
    assert all(json.loads(line)["keep"] is None for line in lines.read_text().splitlines())
    # the review page: the groups are awaiting a person (the page labels their suggestion so)
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', page.read_text(),
                                re.S).group(1))
    assert [g["awaiting"] for g in data["groups"]] == [True, True]
    assert data["no_keeper_yet"] == "no keeper until a person picks one"
    # the plan as find wrote it: a dry run and --apply move nothing, warn of nothing, and say why in one line
    for extra in ([], ["--apply", "--move-to", str(tmp_path / "q")]):
        out = CliRunner().invoke(main, ["remove", str(folder), "--plan", str(plan), *extra])
        assert out.exit_code == 0, out.output
        assert "warning" not in out.output and "error" not in out.output
        assert "2 groups left alone: no keeper until a person picks one" in out.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(RESHOTS)


@pytest.mark.cli
def test_explain_gives_one_pair_one_confidence_and_names_each_agreement(tmp_path: Path, datasets: Path) -> None:
    """A small, strongly compressed copy is hash-sure: copies scores it 1.000 unchecked while the check says 0.978;
    explain printed both as 'confidence', and two agreements (NCC >= 0.5 and >= 0.8) both as 'agrees pixel for
    pixel' (100 % and 94 % of one overlap)."""
    from PIL import Image

    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[3]
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    shutil.copyfile(photo, a)
    with Image.open(photo) as im:
        im.convert("RGB").resize((im.width // 3, im.height // 3)).save(b, quality=40)
    out = CliRunner().invoke(main, ["explain", str(a), str(b), "-m", "copies"])
    assert out.exit_code == 0, out.output
    numbers = re.findall(r"confidence (\d\.\d{3})", out.output)
    score = re.search(r"copies\s+confidence (\d\.\d{3})", out.output).group(1)
    checked = [n for n in numbers if n != score]
    # every other confidence shown is named as the check's, in the line that says why the two differ
    assert checked and "hash-sure" in out.output  # (this pair is one: its two numbers differ)
    assert all(re.search(rf"the check alone: .*confidence {n}", out.output) for n in checked)
    assert "pixel for pixel" not in out.output
    assert "agrees loosely (NCC >= 0.5)" in out.output and "closely (NCC >= 0.8)" in out.output
    doc = json.loads(CliRunner().invoke(main, ["explain", str(a), str(b), "-m", "copies", "--json", "-"]).output)
    (copies,) = doc["scores"]
    assert (copies["basis"] is None) == (copies["score"] == round(doc["verification"]["confidence"], 4))


@pytest.mark.integration
def test_the_review_page_says_why_d_on_the_keeper_does_nothing(tmp_path: Path, datasets: Path, browser) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    from imagetwins.finder import find_duplicate_groups
    from imagetwins.report import write_html_report

    album = tmp_path / "album"
    album.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    shutil.copy(photo, album / "a.jpg")
    with Image.open(photo) as im:
        im.reduce(2).save(album / "a_half.jpg", quality=90)
    page = write_html_report(find_duplicate_groups(album, "phash"), tmp_path / "review.html", root=album)
    browser.get(page.as_uri())
    notice = browser.find_element(By.ID, "notice")
    assert not notice.is_displayed()
    keeper = browser.find_element(By.CSS_SELECTOR, ".file.keep")
    browser.find_element(By.TAG_NAME, "body").send_keys(str(int(keeper.get_attribute("data-file")) + 1))  # on it
    browser.find_element(By.TAG_NAME, "body").send_keys("d")
    assert notice.is_displayed() and "keeper" in notice.text and "it stays" in notice.text
    assert browser.find_elements(By.CSS_SELECTOR, ".file.notdup") == []  # and nothing changed
    plan = json.loads(browser.execute_script("exportPlan(); return window.imagetwinsExport;"))
    assert plan["groups"][0]["not_duplicate"] == []


@pytest.mark.cli
def test_the_command_line_and_the_library_read_the_same_files(tmp_path: Path, datasets: Path) -> None:
    """imagededup's format folder holds a JPEG named .svg: the imagededup-style classes read every file (an .svg
    that is a JPEG, and every sidecar, warned about one by one) while the command line and imagetwins.find took
    their extension list (and skipped the .svg). One list now, and a file named otherwise is read where its bytes
    are an image's."""
    import imagetwins
    from imagetwins.methods import PHash

    folder = tmp_path / "formats"
    shutil.copytree(datasets / "imagededup-testdata" / "formats_images", folder)
    shutil.copyfile(folder / "ukbench09380.jpeg", folder / "no extension")
    (folder / "ukbench09380.jpeg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    (folder / "notes").write_text("not a picture")
    (folder / "drawing.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    expected = sorted(p.name for p in (datasets / "imagededup-testdata" / "formats_images").iterdir()) + \
        ["no extension"]
    with warnings.catch_warnings(record=True) as caught:  # (the sidecar, notes and a real SVG: not read at all)
        warnings.simplefilter("always")
        api = sorted(PHash(verbose=False).encode_images(folder))
    assert [str(w.message) for w in caught] == []
    assert sorted(api) == sorted(expected)
    assert sorted(Path(f).name for f in imagetwins.find(folder, method="phash").files) == sorted(expected)
    plan = tmp_path / "plan.json"
    out = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "--no-cache", "--json", str(plan)])
    assert out.exit_code == 0 and "unreadable" not in out.output.replace("0 unreadable", ""), out.output
    assert f"{len(expected)} images read, 0 unreadable" in out.output
    grouped = {Path(f).name for g in json.loads(plan.read_text())["groups"] for f in g["files"]}
    assert {"ukbench09380.svg", "no extension", "ukbench09380.bmp"} <= grouped



@pytest.mark.unit
def test_an_image_is_told_by_its_first_bytes_whatever_its_name(tmp_path: Path) -> None:
    import os

    import numpy as np
    from PIL import Image

    from imagetwins.io import looks_like_image

    img = Image.fromarray(np.arange(48 * 32 * 3, dtype=np.uint8).reshape(32, 48, 3))
    for fmt in ("JPEG", "PNG", "GIF", "TIFF", "WEBP", "BMP", "PPM", "JPEG2000"):
        img.save(tmp_path / f"picture-{fmt}", format=fmt)
        assert looks_like_image(tmp_path / f"picture-{fmt}"), fmt
    (tmp_path / "notes").write_text("BM is not enough, P3 neither")
    (tmp_path / "empty").write_bytes(b"")
    os.mkfifo(tmp_path / "fifo")  # (never opened to wait for a writer)
    os.symlink(tmp_path / "picture-JPEG", tmp_path / "link")  # (links are the walk's to decide)
    assert not any(looks_like_image(tmp_path / n) for n in ("notes", "empty", "fifo", "link", "missing"))


@pytest.mark.integration
def test_the_library_finds_through_the_folders_cache_by_default(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    """imagetwins.find without a session decoded every image on every call (42 s where the command line, through
    its per-folder cache, took 0.6 s): now it keeps the same cache by default; cache=False keeps nothing."""
    import imagetwins
    from imagetwins import encoding
    from imagetwins.userdirs import cache_folder

    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in sorted((datasets / "camera-photos" / "images").glob("*.jpg"))[:3]:
        shutil.copyfile(photo, folder / photo.name)
    shutil.copyfile(folder / sorted(p.name for p in folder.iterdir())[0], folder / "copy.jpg")
    first = imagetwins.find(folder, keep="original")
    assert len(first.groups) == 1 and list(Path(cache_folder()).glob("photos-*.db"))

    decoded = []
    real = encoding.decode_image
    monkeypatch.setattr(encoding, "decode_image", lambda *a, **k: decoded.append(1) or real(*a, **k))
    again = imagetwins.find(folder, keep="original")
    assert decoded == [] and [g.files for g in again.groups] == [g.files for g in first.groups]
    imagetwins.find(folder, method="phash", cache=False)
    assert len(decoded) == 3  # every content, nothing kept (the byte copy takes its original's decode: 5ffbb11)


@pytest.mark.cli
def test_index_update_takes_sub_folders_with_r_as_find_does(tmp_path: Path, datasets: Path) -> None:
    """`index update DIR` took DIR's sub-folders while `find DIR` needs -r: now both need -r, and an update without
    it of an index that holds the sub-folders is a usage error rather than forgetting them."""
    folder = tmp_path / "catalogue"
    (folder / "sub").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]
    shutil.copyfile(photos[0], folder / "top.jpg")
    shutil.copyfile(photos[1], folder / "sub" / "below.jpg")
    db = tmp_path / "catalogue.db"

    def update(*extra: str):
        return CliRunner().invoke(main, ["index", "update", str(folder), "--db", str(db), "-m", "phash", *extra])

    out = update()
    assert out.exit_code == 0 and "1 added" in out.output, out.output  # DIR's own images, as find DIR
    out = update("-r")
    assert out.exit_code == 0 and "1 added" in out.output and "1 unchanged" in out.output, out.output
    out = update()
    assert out.exit_code == 2 and "add -r" in out.output and "--no-recursive" in out.output, out.output
    assert "0 added, 0 changed, 0 removed, 2 unchanged" in update("-r").output  # the refusal forgot nothing
    out = update("--no-recursive")
    assert out.exit_code == 0 and "1 removed" in out.output, out.output
    query = CliRunner().invoke(main, ["index", "query", str(folder), "--db", str(db), "--json", "-"])
    assert query.exit_code == 0 and "below.jpg" not in query.output  # index query: -r too


@pytest.mark.unit
def test_the_damaged_features_warning_names_the_file(tmp_path: Path) -> None:
    """'copies: some pairs could not be verified (damaged image features ...)' named no file: now each file whose
    features cannot be used is named once (both of a pair when the check itself failed on them)."""
    import numpy as np
    from conftest import assert_damaged_rows_named, damaged_feature_rows

    from imagetwins import copies

    a, b, c = (str(tmp_path / n) for n in ("a.jpg", "b.jpg", "c.jpg"))
    rows = damaged_feature_rows()
    with pytest.warns(UserWarning) as caught, copies.naming([a, b, c]):
        checked = copies.verify_pairs(rows, rows, np.array([0, 1, 0]), np.array([1, 2, 2]), workers=1)
    assert checked == [None, None, None]
    assert_damaged_rows_named([str(w.message) for w in caught], a, b, c)


@pytest.mark.cli
def test_caches_and_indexes_are_the_owners_alone(tmp_path: Path, datasets: Path) -> None:
    """A cache holds the paths of a person's photos: it was written 0644 in a 0755 folder."""
    import os
    import stat

    from imagetwins.index import default_cache_path

    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]:
        shutil.copyfile(photo, folder / photo.name)

    def mode(path: Path) -> int:
        return stat.S_IMODE(os.stat(path).st_mode)

    assert CliRunner().invoke(main, ["find", str(folder), "-m", "phash"]).exit_code == 0
    cache = default_cache_path(folder)
    assert mode(cache) == 0o600 and mode(cache.parent) == 0o700
    assert all(mode(p) == 0o600 for p in cache.parent.glob(cache.name + "-*"))
    os.chmod(cache, 0o644)  # a cache made before: made private when next opened
    os.chmod(cache.parent, 0o755)
    assert CliRunner().invoke(main, ["find", str(folder), "-m", "phash"]).exit_code == 0
    assert mode(cache) == 0o600 and mode(cache.parent) == 0o700
    db = tmp_path / "named.db"
    assert CliRunner().invoke(main, ["index", "update", str(folder), "--db", str(db), "-m", "phash"]).exit_code == 0
    assert mode(db) == 0o600


@pytest.mark.unit
def test_every_docs_page_is_in_the_nav_and_strict_counts_warnings() -> None:
    """A page outside mkdocs' nav was built but reachable from no menu (mkdocs says so at INFO level), and CI's
    'mkdocs build --strict -q' counted no warning at all (mkdocs 1.6's -q drops them before --strict sees them)."""
    repo = Path(__file__).resolve().parents[1]
    config = (repo / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r"^  - [^:\n]+: (\S+\.md)$", config, re.M))
    excluded = set(re.search(r"exclude_docs: \|\n((?:  .*\n)+)", config).group(1).split())
    pages = {p.name for p in (repo / "docs").glob("*.md")} | {"benchmarks.md"}  # (benchmarks.md: made by the hook)
    assert pages - excluded == nav, "every docs page in the nav, or excluded (never shipped)"
    assert re.search(r"omitted_files: warn", config) and re.search(r"not_found: warn", config)
    ci = (repo / ".ci" / "run").read_text(encoding="utf-8")
    build = [line for line in ci.splitlines() if "mkdocs build" in line and not line.lstrip().startswith("#")]
    assert build and all("--strict" in line and not re.search(r"\s(-q|--quiet)\b", line) for line in build)


@pytest.mark.integration
@pytest.mark.parametrize("screen_format", ["png", "jpg"])
def test_a_small_photo_on_a_phone_screen_is_a_copy_of_it(tmp_path: Path, datasets: Path, screen_format: str) -> None:
    """A 400 x 226 photo pasted on a 1080 x 1920 black screen (a phone screenshot of a small picture) is 4.4 % of
    the screen: the canvas cut-out asked the picture to be 10 % of the image, so nothing was cut out and the two
    were never proposed."""
    from PIL import Image

    import imagetwins

    photos = sorted((datasets / "camera-photos" / "images").glob("*.jpg"))[:3]
    for k, photo in enumerate(photos):
        with Image.open(photo) as im:
            small = im.convert("RGB").resize((400, 226), Image.Resampling.LANCZOS)
        small.save(tmp_path / f"photo{k}.jpg", quality=90)
        screen = Image.new("RGB", (1080, 1920), (0, 0, 0))
        screen.paste(small, (340, 847))
        screen.save(tmp_path / f"screenshot{k}.{screen_format}")
    result = imagetwins.find(tmp_path, method="copies")
    assert sorted(sorted(Path(f).name for f in g.files) for g in result.groups) == \
        [[f"photo{k}.jpg", f"screenshot{k}.{screen_format}"] for k in range(3)]
