"""User-facing defects left alone by the session before (each test failed before its fix)."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

import pytest
from conftest import CallCount


def _run(*args):
    from click.testing import CliRunner

    from imagetwins.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.cli
def test_the_review_page_does_not_offer_keep_this_on_a_file_reached_through_a_link(tmp_path: Path,
                                                                                   linked_album: Path,
                                                                                   datasets: Path, browser) -> None:
    """A file reached through a followed link always stays, and the page refuses it as the keeper (a notice); its
    card still offered "Keep this". The button is now disabled there, with the reason beside it; the other files'
    buttons still keep. A group wholly reached through the link keeps one of its files (nothing of it moves): that
    card is not refused."""
    from selenium.webdriver.common.by import By

    fourth = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[3].read_bytes()
    for name in ("only_outside.jpg", "only_outside (1).jpg"):  # a group wholly through the link
        (tmp_path / "outside" / name).write_bytes(fourth)
    page = tmp_path / "review.html"
    res = _run("report", linked_album, "-r", "--follow-symlinks", "-m", "phash", "--no-cache", "-o", page)
    assert res.exit_code == 0, res.output
    browser.get(page.as_uri())
    cards = browser.find_elements(By.CSS_SELECTOR, ".file")
    linked = [c for c in cards if "linkdir" in c.text and "only_outside" not in c.text]
    plain = [c for c in cards if "linkdir" not in c.text]
    assert len(linked) == 3 and len(plain) == 3
    wholly = [c for c in cards if "only_outside" in c.text]
    assert len(wholly) == 2
    kept = [c for c in wholly if c.find_element(By.CLASS_NAME, "badge").text == "KEEP"]
    assert len(kept) == 1 and not kept[0].find_elements(By.CLASS_NAME, "why-not-keeper")
    other = next(c for c in wholly if c is not kept[0])
    assert not other.find_element(By.CLASS_NAME, "keep-btn").is_enabled()
    for card in linked:
        button = card.find_element(By.CLASS_NAME, "keep-btn")
        assert not button.is_enabled(), card.text
        why = card.find_element(By.CLASS_NAME, "why-not-keeper")
        assert why.is_displayed() and "cannot be this group's keeper" in why.text, why.text
    for card in plain:
        assert card.find_element(By.CLASS_NAME, "keep-btn").is_enabled()
        assert not card.find_elements(By.CLASS_NAME, "why-not-keeper")


@pytest.mark.cli
def test_the_csv_says_why_a_file_is_left_alone(tmp_path: Path, linked_album: Path) -> None:
    """The JSON plan names the files reached through a followed link (``through_links``) and the page badges them;
    the CSV said only keep=1, as for a keeper. Its ``left_alone`` column now gives the reason's key
    (:class:`imagetwins.leftalone.LeftAlone`), empty for a file kept or moved."""
    import csv
    import io
    import json

    res = _run("find", linked_album, "-r", "--follow-symlinks", "-m", "phash", "--no-cache", "--csv", "-",
               "--json", tmp_path / "plan.json")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0]) == ["group", "path", "exact", "distance", "keep", "suggested_keep", "left_alone", "sha256"]
    doc = json.loads((tmp_path / "plan.json").read_text())
    staying = {f for g in doc["groups"] for f in g["through_links"]}
    assert len(rows) == 6 and len(staying) == 3
    assert {r["path"]: r["left_alone"] for r in rows} == {
        r["path"]: "through_link" if r["path"] in staying else "" for r in rows}


@pytest.mark.cli
def test_keep_in_a_folder_whose_only_copy_is_not_named_as_an_image_moves_no_photo(tmp_path: Path,
                                                                                 datasets: Path) -> None:
    """``--keep-in backup`` where ``backup`` holds the only copy there as ``IMG.bak`` (found by its bytes): the .bak
    became the keeper and ``remove`` moved ``photos/IMG_0001.jpg``, leaving the photo only under a backup's name
    (3746346 never keeps such a file in place of an image-named copy; ``--keep-in`` did). The reference folder's
    file is still never touched, and the photo stays too: nothing moves. A reference folder holding an image-named
    copy still decides as before."""
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0].read_bytes()
    other = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[1].read_bytes()
    root = tmp_path / "album"
    (root / "photos").mkdir(parents=True)
    (root / "backup").mkdir()
    (root / "photos" / "IMG_0001.jpg").write_bytes(photo)
    (root / "backup" / "IMG.bak").write_bytes(photo)
    (root / "photos" / "b.jpg").write_bytes(other)  # a second group: the reference folder holds an image-named copy
    (root / "backup" / "b.jpg").write_bytes(other)
    res = _run("remove", root, "-r", "-m", "phash", "--no-cache", "--keep-in", root / "backup")
    assert res.exit_code == 0, res.output
    assert "IMG_0001.jpg" not in "\n".join(ln for ln in res.output.splitlines() if "would move" in ln), res.output
    assert "would move" in res.output and str(root / "photos" / "b.jpg") in res.output, res.output
    assert "note: 1 group has no file named as an image in --keep-in" in res.output, res.output
    res = _run("remove", root, "-r", "-m", "phash", "--no-cache", "--keep-in", root / "backup", "--apply")
    assert res.exit_code == 0, res.output
    assert (root / "photos" / "IMG_0001.jpg").read_bytes() == photo and (root / "backup" / "IMG.bak").exists()
    assert not (root / "photos" / "b.jpg").exists() and (root / "backup" / "b.jpg").exists()


@pytest.mark.cli
def test_against_an_index_prints_the_matches_as_the_other_forms_do(tmp_path: Path, datasets: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``find test --against ref`` printed ``= ref/x.jpg``; ``--against ref.db`` (and ``check``, ``index query``)
    printed the same match as ``= /abs/.../ref/x.jpg``: the index keeps real absolute paths. A reference file under
    the working folder is now named from it in every form; one outside it stays absolute."""
    import csv
    import io
    import json

    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    monkeypatch.chdir(tmp_path)
    Path("ref").mkdir()
    Path("test").mkdir()
    for p in photos:
        (Path("ref") / p.name).write_bytes(p.read_bytes())
    (Path("test") / "leak.jpg").write_bytes(photos[0].read_bytes())
    assert _run("index", "update", "ref", "-m", "phash", "--db", "ref.db").exit_code == 0
    want = f"ref/{photos[0].name}"
    for args in (("find", "test", "--against", "ref"), ("find", "test", "--against", "ref.db"),
                 ("check", "test", "--against", "ref.db"), ("index", "query", "test", "--db", "ref.db")):
        res = _run(*args, "-m", "phash", *(["--no-cache"] if args[0] == "find" else []), "--csv", "out.csv",
                   "--json", "out.json")
        assert res.exit_code in (0, 3), (args, res.output)
        assert f"  = {want}  (0 bits, byte-identical)" in res.stdout, (args, res.output)
        rows = list(csv.DictReader(io.StringIO(Path("out.csv").read_text())))
        assert [(r["query"], r["match"]) for r in rows] == [("test/leak.jpg", want)], (args, rows)
        doc = json.loads(Path("out.json").read_text())
        assert [m["path"] for q in doc["matches"] for m in q["matches"]] == [want], (args, doc)
    monkeypatch.chdir(tmp_path / "test")  # the reference lies outside the working folder: its real path
    res = _run("find", ".", "--against", "../ref.db", "-m", "phash", "--no-cache", "--csv", "-")
    assert [r["match"] for r in csv.DictReader(io.StringIO(res.stdout))] == [
        str((tmp_path / "ref" / photos[0].name).resolve())], res.output


@pytest.mark.integration
def test_a_rewritten_review_page_removes_the_thumbnails_it_no_longer_shows(tmp_path: Path, datasets: Path) -> None:
    """Each page written with thumbnails beside it (``<page>_files/``) left the earlier page's there: 4 groups, then
    2, left 4 thumbnails, 2 of them shown by nothing. The thumbnails the tool wrote and the new page does not show
    are removed now; nothing else there is touched (a user's file, a link, a thumbnail a person replaced), and a
    page embedding its thumbnails empties the folder of the tool's files (and removes it when nothing else is
    there)."""
    import hashlib
    import os
    import re

    import imagetwins
    from imagetwins.report import write_html_report

    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:4]
    album = tmp_path / "album"
    album.mkdir()
    for p in photos:  # 4 groups of byte copies: 4 thumbnails
        (album / p.name).write_bytes(p.read_bytes())
        (album / f"copy_{p.name}").write_bytes(p.read_bytes())
    page = tmp_path / "review.html"
    files = tmp_path / "review_files"

    def shown() -> set[str]:
        return set(re.findall(r'"thumb":"([0-9a-f]+)"', page.read_text()))

    write_html_report(imagetwins.find(album, "phash", cache=False), page, embed=False)
    assert {p.name for p in files.glob("*.jpg")} == {f"{n}.jpg" for n in shown()} and len(shown()) == 4
    (files / "notes.txt").write_text("mine")  # what a person put there
    (files / "9.jpg").write_bytes(b"a picture of mine, under a thumbnail's kind of name")
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"keep me")
    (files / "8.jpg").symlink_to(victim)
    # a thumbnail a person replaced with a file of their own (one of a photo the next page no longer shows: named by
    # its content's SHA-256 digits)
    replaced = files / f"{hashlib.sha256(photos[3].read_bytes()).hexdigest()[:32]}.jpg"
    replaced.unlink()
    replaced.write_bytes(b"my own 3.jpg")
    for p in photos[2:]:
        (album / p.name).unlink()
        (album / f"copy_{p.name}").unlink()
    write_html_report(imagetwins.find(album, "phash", cache=False), page, embed=False)
    assert len(shown()) == 2
    ours = {f"{n}.jpg" for n in shown()}
    assert {p.name for p in files.iterdir() if not p.name.startswith(".")} == ours | {
        "notes.txt", "9.jpg", "8.jpg", replaced.name}, sorted(os.listdir(files))
    assert replaced.read_bytes() == b"my own 3.jpg" and victim.read_bytes() == b"keep me"
    assert (files / "8.jpg").is_symlink()
    write_html_report(imagetwins.find(album, "phash", cache=False), page, embed=True)  # no thumbnail beside it
    assert {p.name for p in files.iterdir() if not p.name.startswith(".")} == {"notes.txt", "9.jpg", "8.jpg",
                                                                               replaced.name}
    alone = tmp_path / "alone.html"
    write_html_report(imagetwins.find(album, "phash", cache=False), alone, embed=False)
    assert len(list((tmp_path / "alone_files").glob("*.jpg"))) == 2
    write_html_report(imagetwins.find(album, "phash", cache=False), alone, embed=True)
    assert not (tmp_path / "alone_files").exists()


@pytest.mark.unit
def test_an_edited_or_planted_mark_makes_nothing_outside_the_tools_files_removed(tmp_path: Path) -> None:
    """The output folder's mark records what the tool wrote there; a mark edited to name a file outside the folder,
    the mark itself, or a file of the right name that is another since, or a mark that is a link, removes nothing."""
    import json
    import os

    from imagetwins.writing import (
        OUTPUT_FOLDER_MARK,
        clear_output_folder,
        output_folder,
        record_written,
        write_in_folder,
        written_in_folder,
    )

    folder = tmp_path / "page_files"
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"keep me")
    fd = output_folder(folder)
    try:
        ours = write_in_folder(fd, "0.jpg", b"thumb")
        st = os.stat(victim)
        record_written(fd, {"0.jpg": ours})
        assert written_in_folder(fd) == {"0.jpg": ours}
    finally:
        os.close(fd)
    forged = {"written": {"../victim.jpg": [st.st_ino, st.st_size], OUTPUT_FOLDER_MARK: [1, 1], ".": [1, 1],
                          "0.jpg": list(ours)}}
    (folder / OUTPUT_FOLDER_MARK).write_text(json.dumps(forged))
    clear_output_folder(folder)
    assert victim.read_bytes() == b"keep me" and not folder.exists()  # only 0.jpg was the tool's
    fd = output_folder(folder)
    try:
        ours = write_in_folder(fd, "0.jpg", b"thumb")
    finally:
        os.close(fd)
    (folder / OUTPUT_FOLDER_MARK).unlink()
    elsewhere = tmp_path / "mark.json"
    elsewhere.write_text(json.dumps({"written": {"0.jpg": list(ours)}}))
    (folder / OUTPUT_FOLDER_MARK).symlink_to(elsewhere)  # a mark planted as a link: not read, not followed
    clear_output_folder(folder)
    assert (folder / "0.jpg").exists() and elsewhere.exists()
    clear_output_folder(tmp_path / "missing_files")  # nothing there: nothing happens
    (tmp_path / "link_files").symlink_to(folder)  # a link to the folder: not followed
    clear_output_folder(tmp_path / "link_files")
    assert (folder / "0.jpg").exists()


@pytest.mark.cli
def test_find_with_an_index_file_takes_the_rows_of_the_folders_cache(tmp_path: Path, datasets: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``find DIR`` fills DIR's per-folder cache; ``find DIR --db new.db`` then decoded every image again. It now
    takes the rows the cache holds (same parameters, the file unchanged since: the cache's own rule), so only a file
    changed since is read; the groups are the same. A sub-folder's index takes them from its parent's cache too."""
    import json
    import os

    from imagetwins import index as index_module

    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]
    for p in photos[:3]:
        (folder / p.name).write_bytes(p.read_bytes())
        (folder / "sub" / f"copy_{p.name}").write_bytes(p.read_bytes())
    for p in photos[3:]:
        (folder / "sub" / p.name).write_bytes(p.read_bytes())
    res = _run("find", folder, "-r", "-m", "phash", "--json", tmp_path / "plain.json")
    assert res.exit_code == 0, res.output
    edited = folder / "sub" / photos[4].name
    os.utime(edited, ns=(0, 10**18))  # changed since the cache's scan: read again
    encoded = CallCount(monkeypatch, index_module, "encode_files")
    res = _run("find", folder, "-r", "-m", "phash", "--db", tmp_path / "new.db", "--json", tmp_path / "db.json")
    assert res.exit_code == 0, res.output
    assert [*chain.from_iterable(encoded.firsts)] == [str(edited.resolve())]
    groups = [json.loads((tmp_path / n).read_text())["groups"] for n in ("plain.json", "db.json")]
    assert [(g["files"], g["keep"]) for g in groups[0]] == [(g["files"], g["keep"]) for g in groups[1]]
    assert len(groups[0]) == 3
    encoded.firsts.clear()
    res = _run("find", folder / "sub", "-m", "phash", "--db", tmp_path / "sub.db")  # (the parent's cache lends)
    assert res.exit_code == 0, res.output
    assert [*chain.from_iterable(encoded.firsts)] == [str(edited.resolve())]
    encoded.firsts.clear()
    import imagetwins

    with imagetwins.open_session(folder, ["phash"], db=tmp_path / "api.db") as session:  # the library's route
        found = imagetwins.find(folder, "phash", recursive=True, session=session)
    assert [*chain.from_iterable(encoded.firsts)] == [str(edited.resolve())] and len(found.groups) == 3


@pytest.mark.integration
def test_byte_identical_files_are_decoded_once_per_scan(tmp_path: Path, datasets: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of 1,000 byte copies of a photo was decoded again (~7 ms each). A file whose bytes were already decoded in
    the scan now takes that encoding: each content is decoded once, and every file gets the rows, digest and facts
    it got before, across batches too, for a method of arrays and one of columns (``copies``). A copy named as a raw
    file is decoded on its own (its name picks the decoder); copies of an unreadable file each get its reason."""
    import numpy as np

    from imagetwins import encoding
    from imagetwins.encoders import get_encoder

    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    for k in range(12):  # 3 photos, each 4 times, interleaved: copies land in other batches than their first
        p = photos[k % 3]
        paths.append(folder / f"{k:02}_{p.name}")
        paths[-1].write_bytes(p.read_bytes())
    paths.append(folder / "raw_named.cr2")  # (the same bytes as the first photo: its name asks for LibRaw)
    paths[-1].write_bytes(photos[0].read_bytes())
    for k in range(3):  # an unreadable file, three times
        paths.append(folder / f"broken_{k}.jpg")
        paths[-1].write_bytes(photos[1].read_bytes()[:600])
    decoded: list[str] = []
    decode = encoding.decode_image

    def counting(data, *args, **kwargs):
        decoded.append(kwargs.get("path_for_messages"))
        return decode(data, *args, **kwargs)

    for name in ("phash", "copies"):
        encoder = get_encoder(name)
        one_by_one = [encoding.encode_files([p], [encoder], workers=1, facts=True, warn=False) for p in paths]
        monkeypatch.setattr(encoding, "decode_image", counting)
        decoded.clear()
        together = encoding.encode_files(paths, [encoder], workers=2, batch_size=4, facts=True, warn=False)
        monkeypatch.setattr(encoding, "decode_image", decode)
        assert len(decoded) == 3 + 1 + 1, decoded  # 3 photos, the raw-named one, the broken bytes once
        ok = [e for e in one_by_one if e.paths]
        assert together.paths == [e.paths[0] for e in ok]
        assert together.digests == [e.digests[0] for e in ok]
        assert together.facts == [e.facts[0] for e in ok]
        assert sorted((f.path, f.reason) for f in together.failures) == sorted(
            (f.path, f.reason) for e in one_by_one for f in e.failures)
        assert len(together.failures) == 3 + ("raw_named.cr2" not in "".join(together.paths))
        rows = together.by_method[name]
        for k, e in enumerate(ok):
            mine, alone = encoder.take(rows, np.array([k])), e.by_method[name]
            if name == "phash":
                assert np.array_equal(mine, alone)
            else:
                assert np.array_equal(mine.hashes, alone.hashes) and np.array_equal(mine.vectors, alone.vectors)
                a, b = mine.record(0), alone.record(0)
                assert a.features_bytes() == b.features_bytes() and mine.captures == alone.captures
                assert (a.alt_hash is None) == (b.alt_hash is None)
