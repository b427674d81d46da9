"""Outputs are never written through links (issue 23: 5): every file a user names for writing, and the review
page's ``<page>_files/`` folder, is made beside its name and renamed over it; a link, folder, FIFO or device at
the name is refused with one line before any work, and nothing lands where a link points."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main
from imagetwins.finder import find_duplicate_groups
from imagetwins.report import write_html_report
from imagetwins.writing import OUTPUT_FOLDER_MARK, OutputRefused

pytestmark = pytest.mark.cli


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    root = tmp_path / "album"
    root.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    for p in photos:
        shutil.copy(p, root / p.name)
    shutil.copy(photos[0], root / "copy.jpg")
    return root


def _commands(album: Path, out: Path) -> dict[str, list[str]]:
    a, b = sorted(album.glob("bsds_*.jpg"))[:2]
    reference = album.parent / "reference"  # (check's --against: another folder holding one of the album's photos)
    if not reference.exists():
        reference.mkdir()
        shutil.copy(a, reference / a.name)
    return {
        "find --json": ["find", str(album), "--no-cache", "--json", str(out)],
        "find --csv": ["find", str(album), "--no-cache", "--csv", str(out)],
        "find --report": ["find", str(album), "--no-cache", "--report", str(out)],
        "report -o": ["report", str(album), "--no-cache", "-o", str(out)],
        "report --csv": ["report", str(album), "--no-cache", "-m", "phash", "-o", str(out.parent.parent / "p.html"),
                         "--csv", str(out)],
        "check --json": ["check", str(album), "--against", str(reference), "--no-cache", "-m", "phash", "--json",
                         str(out)],
        "explain --json": ["explain", str(a), str(album / "copy.jpg"), "-m", "phash", "--json", str(out)],
        "explain -p": ["explain", str(a), str(b), "-m", "copies", "-p", str(out)],
        "plot -o": ["plot", str(album), "copy.jpg", "-o", str(out)],
    }


@pytest.mark.parametrize("planted", ["link to a file", "dangling link", "folder", "link to a FIFO"])
def test_a_planted_output_name_is_refused_and_nothing_is_written_through_it(tmp_path: Path, album: Path,
                                                                          planted: str) -> None:
    victim = tmp_path / "victim.txt"
    outside = tmp_path / "elsewhere" / "new.txt"
    outside.parent.mkdir()
    out = tmp_path / "out" / "result.out"
    out.parent.mkdir()
    for what, args in _commands(album, out).items():
        victim.write_text("keep me")
        if planted == "link to a file":
            out.symlink_to(victim)
        elif planted == "dangling link":
            out.symlink_to(outside)
        elif planted == "folder":
            out.mkdir()
        else:
            os.mkfifo(tmp_path / "fifo")
            out.symlink_to(tmp_path / "fifo")
        res = CliRunner().invoke(main, args)
        if planted == "folder":  # click's own usage error names it
            assert res.exit_code == 2 and "is a directory" in res.output, (what, res.output)
        else:
            assert res.exit_code == 1, (what, res.output)
            lines = [x for x in res.output.splitlines() if x.strip()]
            assert len(lines) == 1 and f"{out} is a" in lines[0] and "refused" in lines[0], (what, res.output)
        assert victim.read_text() == "keep me" and not outside.exists(), what
        assert sorted(p.name for p in out.parent.iterdir()) == ["result.out"], what  # no temporary file left
        if out.is_dir() and not out.is_symlink():
            out.rmdir()
        else:
            out.unlink()
        (tmp_path / "fifo").unlink(missing_ok=True)


def test_streams_are_written_as_streams(tmp_path: Path, album: Path) -> None:
    """/dev/null and /dev/full (a character device at the name) are written in place, never replaced; a FIFO
    nobody reads is one line at once, not a hang."""
    for device, code in (("/dev/null", 0), ("/dev/full", 1)):
        if not os.path.exists(device):
            continue
        res = CliRunner().invoke(main, ["find", str(album), "--no-cache", "--json", device])
        assert res.exit_code == code and "Traceback" not in res.output, res.output
        assert stat.S_ISCHR(os.lstat(device).st_mode)  # still the device
    fifo = tmp_path / "nobody-reads"
    os.mkfifo(fifo)
    res = CliRunner().invoke(main, ["find", str(album), "--no-cache", "--json", str(fifo)])
    assert res.exit_code == 1 and "a FIFO no process reads from" in res.output, res.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_an_existing_output_file_is_replaced_and_a_fifo_there_is_one_line(tmp_path: Path, album: Path) -> None:
    """A name given with -o/--json/--csv is the user's choice: a regular file there is replaced (same name, new
    content); a FIFO there nobody reads is one line at once (never waited on), left a FIFO."""
    out = tmp_path / "out" / "result.out"
    out.parent.mkdir()
    for what, args in _commands(album, out).items():
        if what.startswith(("explain -p", "plot")):
            continue  # (pictures: named by their extension, .png)
        out.write_text("older")
        res = CliRunner().invoke(main, args)
        assert res.exit_code in (0, 3), (what, res.output)  # (3: check found a leak)
        assert out.read_bytes() != b"older" and out.stat().st_size > 0, what
        assert sorted(p.name for p in out.parent.iterdir()) == ["result.out"], what  # no temporary file left
        out.unlink()
        os.mkfifo(out)
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 1 and "a FIFO no process reads from" in res.output, (what, res.output)
        assert stat.S_ISFIFO(os.lstat(out).st_mode), what
        out.unlink()


def test_an_output_hard_linked_to_another_file_leaves_that_file_alone(tmp_path: Path, album: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("keep me")
    out = tmp_path / "plan.json"
    os.link(victim, out)
    os.chmod(out, 0o640)
    res = CliRunner().invoke(main, ["find", str(album), "--no-cache", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert victim.read_text() == "keep me" and '"groups"' in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # the mode of the file it replaced


def test_the_review_pages_files_folder_is_never_followed(tmp_path: Path, album: Path) -> None:
    result = find_duplicate_groups(album)
    page = tmp_path / "review.html"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "review_files").symlink_to(elsewhere)  # the folder replaced by a link
    with pytest.raises(OutputRefused, match="review_files is a symbolic link: refused"):
        write_html_report(result, page, embed=False)
    assert not list(elsewhere.iterdir())
    (tmp_path / "review_files").unlink()
    (tmp_path / "review_files").write_text("a file of that name")
    with pytest.raises(OutputRefused, match="review_files is a file: refused"):
        write_html_report(result, page, embed=False)
    (tmp_path / "review_files").unlink()
    (tmp_path / "review_files").mkdir()
    (tmp_path / "review_files" / OUTPUT_FOLDER_MARK).touch()  # (a folder an earlier page made)
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"keep me")
    # a thumbnail is named by its content's SHA-256 digits
    name = hashlib.sha256(Path(result.groups[0].files[0]).read_bytes()).hexdigest()[:32] + ".jpg"
    (tmp_path / "review_files" / name).symlink_to(victim)  # a thumbnail's name planted as a link
    (tmp_path / "review_files" / "1.jpg").symlink_to(tmp_path / "dangling.jpg")
    write_html_report(result, page, embed=False)
    assert victim.read_bytes() == b"keep me" and not (tmp_path / "dangling.jpg").exists()
    # one thumbnail per content: the planted 1.jpg is no name the page writes, left as it was, never followed
    thumbs = sorted(p for p in (tmp_path / "review_files").iterdir() if p.name != "1.jpg")
    assert thumbs and all(p.is_file() and not p.is_symlink() for p in thumbs)
    assert (tmp_path / "review_files" / "1.jpg").is_symlink()
    assert (tmp_path / "review_files" / name).read_bytes()[:2] == b"\xff\xd8"  # a JPEG thumbnail
    res = CliRunner().invoke(main, ["report", str(album), "--no-cache", "-o", str(page)])
    assert res.exit_code == 0, res.output


def test_a_link_planted_while_the_output_is_written_is_replaced_not_followed(tmp_path: Path) -> None:
    from imagetwins.writing import open_output

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out.json"
    with pytest.raises(OutputRefused):
        with open_output(out, encoding="utf-8") as fh:
            fh.write("{}")
            out.symlink_to(victim)  # planted after the check, before the rename
    assert victim.read_text() == "keep me" and out.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if "imagetwins-tmp" in p.name] == []



def test_the_default_page_never_replaces_a_report_html_imagetwins_did_not_write(tmp_path: Path, album: Path,
                                                                                 monkeypatch) -> None:
    """``report DIR`` without -o writes report.html here: a page of ours there is refreshed, a file of the user's is
    kept (the page goes to report-1.html, one note line says so); a link or FIFO there is neither followed nor
    waited on."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    mine = here / "report.html"
    mine.write_text("<html>mine</html>")
    args = ["report", str(album), "--no-cache", "-m", "phash"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert mine.read_text() == "<html>mine</html>"
    assert "report.html here is not a page imagetwins wrote: kept" in res.stderr and "-o FILE" in res.stderr
    assert res.stdout.splitlines()[-1] == "review page: report-1.html"
    page = (here / "report-1.html").read_bytes()
    assert b'"groups"' in page
    assert CliRunner().invoke(main, args).exit_code == 0  # again: our report-1.html is refreshed, no report-2.html
    assert sorted(p.name for p in here.iterdir()) == ["report-1.html", "report.html"]
    mine.unlink()
    (here / "report-1.html").rename(mine)  # a page of ours at report.html: replaced (a new file), no note
    before = mine.stat().st_ino
    res = CliRunner().invoke(main, [*args, "-q"])
    assert res.exit_code == 0 and res.output == "" and mine.stat().st_ino != before, res.output
    assert mine.read_bytes() == page and sorted(p.name for p in here.iterdir()) == ["report.html"]
    mine.unlink()
    victim = tmp_path / "victim.html"
    victim.write_text("keep me")
    mine.symlink_to(victim)  # a link: not ours, not followed
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and victim.read_text() == "keep me" and mine.is_symlink(), res.output
    mine.unlink()
    os.mkfifo(mine)  # a FIFO: not waited on
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and stat.S_ISFIFO(os.lstat(mine).st_mode), res.output
    assert (here / "report-1.html").read_bytes().startswith(b"<!DOCTYPE html>")


def test_the_default_page_takes_its_name_when_it_is_written_not_before_the_scan(tmp_path: Path, album: Path,
                                                                               monkeypatch) -> None:
    """``report DIR`` without -o chose report.html before the scan: a report.html the user saved during a long scan
    was replaced by the page. The name is taken when the page is written: the user's file is kept, the page goes to
    report-1.html (the note and the last line say so); one put at the name while the page is made is kept too."""
    import imagetwins.cli.report as report_command
    import imagetwins.report as report_module

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    mine = here / "report.html"
    decide = report_command.decide

    def saved_during_the_scan(*args, **kwargs):
        mine.write_text("<html>saved during the scan</html>")
        return decide(*args, **kwargs)

    monkeypatch.setattr(report_command, "decide", saved_during_the_scan)
    args = ["report", str(album), "--no-cache", "-m", "phash"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert mine.read_text() == "<html>saved during the scan</html>"
    assert "note: report.html here is not a page imagetwins wrote: kept; the page went to report-1.html" in res.stderr
    assert res.stdout.splitlines()[-1] == "review page: report-1.html"
    assert b'"groups"' in (here / "report-1.html").read_bytes()
    monkeypatch.setattr(report_command, "decide", decide)
    # the name taken (report-2.html: report-1.html is a page of ours, so moved aside first) holds a placeholder
    # page until the page is written; a file put there meanwhile is kept, and the run says so in one line
    (here / "report-1.html").rename(here / "earlier.html")
    data = report_module.report_data

    def replaced_while_written(*a, **kw):
        taken = here / "report-1.html"
        assert b"imagetwins is writing this review page" in taken.read_bytes()
        taken.unlink()
        taken.write_text("<html>mine too</html>")
        return data(*a, **kw)

    monkeypatch.setattr(report_module, "report_data", replaced_while_written)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output
    assert res.output.splitlines()[-1] == ("Error: cannot write the review page: report-1.html: a file imagetwins did "
                                           "not write was put there while the output was made: kept, nothing "
                                           "written over it")
    assert (here / "report-1.html").read_text() == "<html>mine too</html>" and mine.read_text().startswith("<html>sa")
    assert sorted(p.name for p in here.iterdir()) == ["earlier.html", "report-1.html", "report.html"]


def test_a_default_page_name_claimed_for_a_page_not_written_is_given_back(tmp_path: Path, album: Path,
                                                                         monkeypatch) -> None:
    """The placeholder page a run puts at the name it takes is removed when the page cannot be written (here: its
    thumbnails fail), and never a file that replaced it."""
    import imagetwins.report as report_module

    monkeypatch.chdir(tmp_path)

    def fails(*a, **kw):
        assert (tmp_path / "report.html").read_bytes().startswith(b"<!DOCTYPE html>")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_module, "report_data", fails)
    res = CliRunner().invoke(main, ["report", str(album), "--no-cache", "-m", "phash"])
    assert res.exit_code == 1 and "cannot write the review page: No space left on device" in res.output, res.output
    assert not (tmp_path / "report.html").exists()


def test_the_default_page_goes_past_a_name_another_output_takes(tmp_path: Path, album: Path, monkeypatch) -> None:
    """``report DIR --json report.html`` (no -o): the JSON at report.html, the page at report-1.html (it was refused,
    '--output and --json both write report.html', naming an option nobody gave); and the JSON's name is never
    taken for the page, however the names fall at write time (the page written first was replaced by the JSON)."""
    import json

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["report", str(album), "--no-cache", "-m", "phash", "--json", "report.html"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "report.html").read_text())["groups"]
    assert (tmp_path / "report-1.html").read_bytes().startswith(b"<!DOCTYPE html>")
    assert res.stdout.splitlines()[-1] == "review page: report-1.html"
    # report.html saved by the user during the scan: the page goes past report-1.html, which the JSON takes
    for p in tmp_path.glob("report*"):
        p.unlink()
    import imagetwins.cli.report as report_command

    decide = report_command.decide

    def saved_during_the_scan(*args, **kwargs):
        (tmp_path / "report.html").write_text("<html>mine</html>")
        return decide(*args, **kwargs)

    monkeypatch.setattr(report_command, "decide", saved_during_the_scan)
    res = CliRunner().invoke(main, ["report", str(album), "--no-cache", "-m", "phash", "--json", "report-1.html"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "report.html").read_text() == "<html>mine</html>"
    assert json.loads((tmp_path / "report-1.html").read_text())["groups"]
    assert res.stdout.splitlines()[-1] == "review page: report-2.html"
    assert (tmp_path / "report-2.html").read_bytes().startswith(b"<!DOCTYPE html>")
