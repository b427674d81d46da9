"""What a third newcomer met following the README alone in a fresh venv (a family library, a shop, a leak check):
each test failed before its fix."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _photos(datasets: Path, n: int) -> list[Path]:
    return sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:n]


def test_check_takes_fail_on_duplicates_as_find_against_does(tmp_path: Path, datasets: Path) -> None:
    """``find test/ --against train/ --fail-on-duplicates`` is in find's --help; the same words to ``check`` (the
    command the README names for a leak check) stopped with "No such option '--fail-on-duplicates'"."""
    train, test = tmp_path / "train", tmp_path / "test"
    train.mkdir(), test.mkdir()
    photos = _photos(datasets, 3)
    for p in photos:
        shutil.copy(p, train)
    with Image.open(photos[0]) as im:
        im.resize((im.width // 2, im.height // 2)).save(test / "leak.jpg", quality=85)
    res = run("check", test, "--against", train, "-m", "phash", "--fail-on-duplicates")
    assert res.exit_code == 3, res.output
    assert "leak.jpg" in res.output
    (test / "leak.jpg").unlink()
    shutil.copy(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[10], test / "new.jpg")
    res = run("check", test, "--against", train, "-m", "phash", "--fail-on-duplicates")
    assert res.exit_code == 0, res.output
    assert "--fail-on-duplicates" in run("check", "--help").output


def test_the_report_help_example_with_a_reference_sub_folder_finds_its_copies(tmp_path: Path,
                                                                                   datasets: Path) -> None:
    """``imagetwins report shop/ --method dihedral --keep-in shop/master`` (report --help) wrote an empty page: the
    reference folder is a sub-folder of shop/, which is scanned only with -r ("no image files found ... (try
    --recursive)")."""
    example = next(line.split("#")[0].split() for line in run("report", "--help").output.splitlines()
                   if "--keep-in shop/master" in line)
    shop = tmp_path / "shop"
    (shop / "master").mkdir(parents=True)
    (shop / "uploads").mkdir()
    photo = _photos(datasets, 1)[0]
    shutil.copy(photo, shop / "master" / "shirt.jpg")
    with Image.open(photo) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(shop / "uploads" / "shirt_flipped.jpg", quality=90)
    args = [a.replace("shop/", f"{shop}/") for a in example[1:]]  # (after "imagetwins")
    page = tmp_path / "shop.html"
    res = run(*args, "-o", page)
    assert res.exit_code == 0, res.output
    assert "1 duplicate group holding 2 files" in res.output, (example, res.output)
    assert "no image files found" not in res.output


def test_report_closes_with_the_line_find_closes_with(tmp_path: Path, datasets: Path) -> None:
    """``report`` said "16 duplicate groups holding 32 files -> review.html": not how many images it read, how many
    it could not read (a broken file's warning had scrolled by), the time, or the method, all of which ``find`` (and
    ``find --report``) say in their last line."""
    album = tmp_path / "album"
    album.mkdir()
    photos = _photos(datasets, 3)
    for p in photos:
        shutil.copy(p, album)
    shutil.copy(photos[0], album / "copy.jpg")
    (album / "broken.jpg").write_bytes(photos[1].read_bytes()[:3000])
    page = tmp_path / "review.html"
    said = run("report", album, "-m", "phash", "-o", page)
    assert said.exit_code == 0, said.output
    found = run("find", album, "-m", "phash", "--report", tmp_path / "found.html")
    line = "4 images read, 1 unreadable, 1 duplicate group holding 2 files ("
    assert line in said.output and line in found.output, (said.output, found.output)
    assert ", phash, threshold 10)" in said.output
    assert said.output.rstrip().endswith(f"review page: {page}"), said.output
    assert found.output.rstrip().endswith(f"review page: {tmp_path / 'found.html'}"), found.output


def test_the_bulk_buttons_say_what_they_did(tmp_path: Path, datasets: Path, browser) -> None:
    """"Accept them" with the box left empty did nothing and said nothing; a number no group passed, "Accept exact
    duplicates" with none, the same: a click that missed looked like a click that worked."""
    from selenium.webdriver.common.by import By

    album = tmp_path / "album"
    album.mkdir()
    photos = _photos(datasets, 2)
    shutil.copy(photos[0], album / "a.jpg")
    shutil.copy(photos[0], album / "a copy.jpg")  # an exact group
    shutil.copy(photos[1], album / "b.jpg")
    with Image.open(photos[1]) as im:
        im.resize((im.width // 2, im.height // 2)).save(album / "b_small.jpg", quality=80)
    page = tmp_path / "review.html"
    assert run("report", album, "-m", "phash", "-o", page).exit_code == 0
    browser.get(page.as_uri())
    notice = browser.find_element(By.ID, "notice")
    opened = browser.find_element(By.ID, "open")
    assert opened.text.startswith("2 of 2 groups open")
    browser.find_element(By.ID, "bulk-accept").click()
    assert notice.is_displayed() and notice.text.startswith("Type a number of bits in the box first"), notice.text
    assert opened.text.startswith("2 of 2 groups open")
    browser.find_element(By.ID, "bulk-exact").click()
    assert notice.text == "1 open group of exact duplicates accepted as shown.", notice.text
    browser.find_element(By.ID, "bulk-exact").click()
    assert notice.text.startswith("No open group holds exact duplicates"), notice.text
    small = browser.execute_script("return data.groups.find(g => !g.exact).max_distance")
    browser.find_element(By.ID, "bulk-score").send_keys(str(small - 1) if small else "-1")
    browser.find_element(By.ID, "bulk-accept").click()
    assert notice.text.startswith("No open group's weakest match is at most"), notice.text
    assert opened.text.startswith("1 of 2 groups open")
    browser.find_element(By.ID, "bulk-rest").click()
    assert notice.text == "1 open group left alone for now (not remembered; nothing of them moves).", notice.text
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


CARDS = "return [...document.querySelectorAll('#group-0 .file')]"
SEEN = CARDS + ".map(c => [c.className, c.textContent, c.querySelector('.keep-btn').disabled])"


def test_a_decision_paints_only_the_cards_it_changes(tmp_path: Path, datasets: Path, browser) -> None:
    """Every decision drew its whole group again: in a crowd of 20,000 byte copies one "Keep this" took 8 s
    (bench_page_crowd.py). The cards stay; only what changed on them is written, and what they show is what a page
    drawn afresh with the same decisions shows."""
    from selenium.webdriver.common.by import By

    album = tmp_path / "album"
    album.mkdir()
    photo = _photos(datasets, 4)[3]
    with Image.open(photo) as im:
        small = im.convert("RGB").resize((96, 64))
    small.save(album / "copy00.jpg", quality=90)
    for k in range(1, 30):
        shutil.copy(album / "copy00.jpg", album / f"copy{k:02d}.jpg")
    small.resize((48, 32)).save(album / "half.jpg", quality=90)
    page = tmp_path / "review.html"
    assert run("report", album, "-m", "phash", "-o", page).exit_code == 0
    browser.get(page.as_uri())
    browser.execute_script("document.querySelectorAll('.file').forEach(c => { c.dataset.drawn = 'first'; });")
    keeper = browser.execute_script("return data.groups[0].keep")
    new = 7 if keeper != 7 else 8
    cards = browser.find_elements(By.CSS_SELECTOR, "#group-0 .file")
    assert len(cards) == 31
    # which cards a decision writes into (a MutationObserver on the group)
    browser.execute_script("""
        window.touched = new Set();
        new MutationObserver(ms => ms.forEach(m => {
          const c = (m.target.nodeType === 1 ? m.target : m.target.parentNode).closest('.file');
          window.touched.add(c ? c.dataset.file : 'frame');
        })).observe(document.getElementById('group-0'), {subtree: true, childList: true, attributes: true,
                                                        characterData: true});""")
    cards[new].find_element(By.CLASS_NAME, "keep-btn").click()
    assert cards[new].find_element(By.CLASS_NAME, "badge").text == "KEEP"
    assert cards[keeper].find_element(By.CLASS_NAME, "badge").text == "duplicate: moves"
    assert cards[keeper].find_element(By.CLASS_NAME, "same-bytes").text == "byte-identical to the keeper"
    assert cards[new].find_element(By.CLASS_NAME, "same-bytes").text.startswith("byte-identical to copy")
    touched = set(browser.execute_script("return [...window.touched]"))
    assert touched <= {str(keeper), str(new), "0", "frame"}, touched  # (card 0 held the cursor)
    browser.execute_script("window.touched.clear();")
    cards[9].find_element(By.CLASS_NAME, "notdup-btn").click()
    assert cards[9].find_element(By.CLASS_NAME, "notdup-btn").text == "Is a duplicate"
    assert cards[9].find_element(By.CLASS_NAME, "badge").text == "not a duplicate"
    touched = set(browser.execute_script("return [...window.touched]"))
    assert touched <= {"9", str(new), "frame"}, touched  # (the cursor moved from the new keeper to card 9)
    assert browser.execute_script(CARDS + ".every(c => c.dataset.drawn === 'first')"), "cards were drawn again"
    painted = browser.execute_script(SEEN)
    browser.execute_script("render();")  # the same decisions, every card drawn afresh
    assert not browser.execute_script(CARDS + ".some(c => c.dataset.drawn)")
    assert browser.execute_script(SEEN) == painted
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_report_and_remove_read_the_catalogue_index_find_reads(tmp_path: Path, datasets: Path) -> None:
    """The README keeps a catalogue in an index (``index update catalogue/ -r --db catalogue.db``, ``find ... --db``);
    ``report catalogue/ --db catalogue.db`` and ``remove ... --db`` stopped with "No such option '--db'", and without
    it both read the whole catalogue again into a per-folder cache of its own (~75 KB an image with copies)."""
    import json

    from imagetwins.index import default_cache_path

    catalogue = tmp_path / "catalogue"
    (catalogue / "new").mkdir(parents=True)
    photos = _photos(datasets, 4)
    for p in photos:
        shutil.copy(p, catalogue)
    with Image.open(photos[2]) as im:
        im.resize((im.width // 2, im.height // 2)).save(catalogue / "new" / "small.jpg", quality=85)
    db = tmp_path / "catalogue.db"
    assert run("index", "update", catalogue, "-r", "--db", db, "-m", "phash").exit_code == 0
    page = tmp_path / "review.html"
    res = run("report", catalogue, "-r", "--db", db, "-m", "phash", "-o", page)
    assert res.exit_code == 0, res.output
    assert "5 images read, 0 unreadable, 1 duplicate group holding 2 files" in res.output, res.output
    res = run("remove", catalogue, "-r", "--db", db, "-m", "phash", "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0, res.output
    assert [p.name for p in (tmp_path / "q").rglob("*.jpg")] == ["small.jpg"]
    assert not default_cache_path(catalogue).exists(), "a per-folder cache was made beside the index"
    stats = json.loads(run("index", "stats", "--db", db, "--json", "-").output)
    assert stats["files"] == 5  # (the index the runs read: the moved file is forgotten by the next update)
    for args in (["report", catalogue, "--db", db, "--no-cache"], ["remove", catalogue, "--db", db, "--no-cache"]):
        res = run(*args)
        assert res.exit_code == 2 and "--db keeps the encodings in that index" in res.output, res.output
    plan = tmp_path / "plan.json"
    assert run("find", catalogue, "-r", "--db", db, "-m", "phash", "--json", plan).exit_code == 0
    res = run("remove", catalogue, "--plan", plan, "--db", db)  # (honoured: tests/test_plan_index.py)
    assert res.exit_code == 0, res.output


def test_timings_help_names_the_stages_in_the_order_they_are_said(tmp_path: Path, datasets: Path) -> None:
    """``-v`` said "search 0.04 s, verify 0.48 s, votes 0.01 s" where --help listed "scan, load, votes (copies:
    descriptor votes), search, verify": the votes come after the first checks."""
    import re

    album = tmp_path / "album"
    album.mkdir()
    photos = _photos(datasets, 3)
    for p in photos:
        shutil.copy(p, album)
    with Image.open(photos[0]) as im:
        im.crop((0, 0, im.width * 3 // 4, im.height)).save(album / "crop.jpg", quality=85)
    res = run("find", album, "-v", "--no-cache")
    assert res.exit_code == 0, res.output
    said = re.findall(r"([a-z]+) [0-9.]+ s", res.output.split("time: ", 1)[1].split("\n", 1)[0])
    assert "votes" in said, res.output
    helped = " ".join(run("find", "--help").output.split())
    listed = helped.split("--timings", 1)[1].split("(start:", 1)[1].split("then the CPU seconds", 1)[0]
    order = [name for name in re.findall(r"\b[a-z]+\b", listed) if name in said]
    order = list(dict.fromkeys(order))  # (first mention of each)
    assert order == [name for name in said if name in order], (order, said)


def test_heic_photos_skipped_for_the_missing_extra_are_summed_up(tmp_path: Path, datasets: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A phone's library is mostly HEIC: 'pip install imagetwins' alone skipped each with its line (thousands
    scrolled by), then summed up "99 images read, 6 unreadable, ..." as if those photos were damaged; two byte copies
    of one HEIC photo were not even grouped. One note after the lines says what to install."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()  # (to write them)
    album = tmp_path / "iphone"
    album.mkdir()
    photos = _photos(datasets, 2)
    for k, p in enumerate(photos):
        with Image.open(p) as im:
            im.save(album / f"IMG_000{k}.HEIC")
        shutil.copy(p, album / f"IMG_000{k}.jpg")
    shutil.copy(album / "IMG_0000.HEIC", album / "IMG_0000 copy.HEIC")
    monkeypatch.delitem(Image.OPEN, "HEIF", raising=False)  # as a Pillow without pillow-heif
    res = run("find", album, "-m", "phash", "--no-cache")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    skipped = [n for n, line in enumerate(lines) if line.startswith("warning: skipped")]
    notes = [n for n, line in enumerate(lines) if line.startswith("note: 3 HEIC/HEIF photos skipped")]
    assert len(skipped) == 3 and len(notes) == 1 and notes[0] > max(skipped), res.output
    assert 'pip install "imagetwins[heif]", then run again' in lines[notes[0]]
    assert "2 images read, 3 unreadable" in res.output
    assert "HEIC/HEIF photos skipped" not in run("find", album, "-m", "phash", "--no-cache", "-q").output


def test_plot_of_a_symbolic_link_says_so_before_the_search(tmp_path: Path, datasets: Path) -> None:
    """``plot album/ fav.jpg`` where fav.jpg is a link (to a photo inside or outside the folder) searched the whole
    folder, then said "fav.jpg in album is not an image imagetwins could read" of a photo it never opened (session
    14)."""
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    photos = _photos(datasets, 2)
    shutil.copy(photos[0], album / "a.jpg")
    shutil.copy(photos[0], album / "b.jpg")
    (album / "fav.jpg").symlink_to("a.jpg")
    (album / "linked").symlink_to("sub")
    shutil.copy(photos[1], album / "sub" / "c.jpg")
    for name in ("fav.jpg", "linked/c.jpg"):
        res = run("plot", album, name, "-r", "-m", "phash", "-o", tmp_path / "dups.png")
        assert res.exit_code == 2, res.output
        assert f"{name} in {album} is reached through a symbolic link" in res.output
        assert "not an image" not in res.output
    assert not (tmp_path / "dups.png").exists()
    res = run("plot", album, "a.jpg", "-m", "phash", "-o", tmp_path / "dups.png")
    assert res.exit_code == 0, res.output  # (the file itself: its byte copy shown)


def test_a_plan_naming_a_file_larger_than_any_scan_reads_is_refused_unread(tmp_path: Path, datasets: Path,
                                                                         monkeypatch) -> None:
    """A plan edited to keep (or move) a sparse 20 GB file: ``remove --plan`` read all of it for its SHA-256 (81 s;
    a terabyte, hours) to refuse it. No scan reads a file over io.DEFAULT_MAX_BYTES, so no plan holds its digest:
    refused from its size (session 14)."""
    import json

    from imagetwins import io as iio
    from imagetwins import quarantine

    album = tmp_path / "album"
    album.mkdir()
    photo = _photos(datasets, 1)[0]
    shutil.copy(photo, album / "a.jpg")
    shutil.copy(photo, album / "b.jpg")
    assert run("find", album, "-m", "phash", "--json", tmp_path / "plan.json").exit_code == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    huge = album / "huge.jpg"
    with open(huge, "wb") as fh:
        fh.truncate(iio.DEFAULT_MAX_BYTES + 1)
    group = plan["groups"][0]
    name = group["files"][0].rsplit("/", 1)[0] + "/huge.jpg"
    group["files"].append(name)
    group["sha256"][name] = "0" * 64
    group["keep"] = name
    (tmp_path / "edited.json").write_text(json.dumps(plan))
    real = quarantine.sha256_file

    def sha256_file(path):
        if Path(path).name == "huge.jpg":
            pytest.fail("the huge file was read")
        return real(path)

    monkeypatch.setattr(quarantine, "sha256_file", sha256_file)
    res = run("remove", album, "--plan", tmp_path / "edited.json")
    assert res.exit_code == 1, res.output
    assert f"{iio.DEFAULT_MAX_BYTES + 1:,} bytes > {iio.DEFAULT_MAX_BYTES:,}): not the file scanned" in res.output
    assert sorted(p.name for p in album.iterdir()) == ["a.jpg", "b.jpg", "huge.jpg"]


def test_a_sidecar_larger_than_any_scan_reads_stays_unread(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    """A sparse 5 GB ``IMG.jpg.xmp`` beside a copy ``remove --apply`` moved was read twice for its SHA-256 (61 s; a
    terabyte, hours) and moved with it (across devices: copied into the quarantine). It stays where it is, said
    (session 14)."""
    from imagetwins import io as iio
    from imagetwins import quarantine

    album = tmp_path / "album"
    album.mkdir()
    photo = _photos(datasets, 1)[0]
    shutil.copy(photo, album / "a.jpg")
    shutil.copy(photo, album / "b copy.jpg")
    side = album / "b copy.jpg.xmp"
    with open(side, "wb") as fh:
        fh.truncate(iio.DEFAULT_MAX_BYTES + 1)
    real = quarantine._digest_and_identity

    def digest_and_identity(path, dir_fd=None):
        if str(path).endswith(".xmp"):
            pytest.fail("the huge sidecar was read")
        return real(path, dir_fd)

    monkeypatch.setattr(quarantine, "_digest_and_identity", digest_and_identity)
    res = run("remove", album, "-m", "phash", "--apply", "--move-to", tmp_path / "q")
    assert "b copy.jpg.xmp: its XMP sidecar is 536,870,913 bytes, larger than any file a scan reads" in res.output
    assert sorted(p.name for p in album.iterdir()) == ["a.jpg", "b copy.jpg.xmp"]  # the copy moved, not the sidecar
    assert side.stat().st_size == iio.DEFAULT_MAX_BYTES + 1
    assert run("undo", tmp_path / "q").exit_code == 0
    assert sorted(p.name for p in album.iterdir()) == ["a.jpg", "b copy.jpg", "b copy.jpg.xmp"]
