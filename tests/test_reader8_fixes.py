"""What a second reader of session 13's changes found: each test failed before its fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "examples" / "images"


@pytest.mark.unit
def test_the_librarys_plots_never_replace_a_photo_nor_write_through_a_link(tmp_path: Path) -> None:
    """The picture rule (``explain -p``, cffaafa/7ba6323) held at the command line and in ``explain.match_picture``;
    the library's two other pictures replaced a photo at the name (``plot_duplicates(outfile=...)``,
    ``SweepResult.plot``), and ``SweepResult.plot`` wrote through a link planted there, into the file it points at.
    An earlier plot is still replaced."""
    pytest.importorskip("matplotlib")
    from imagetwins.evaluation import SweepPoint, SweepResult
    from imagetwins.report import plot_duplicates
    from imagetwins.writing import OutputRefused, ReplacesImage

    photo = tmp_path / "IMG_0042.jpg"
    shutil.copyfile(IMAGES / "forest.jpg", photo)
    png_photo = tmp_path / "scan.png"  # (a PNG no plotter wrote)
    from PIL import Image

    Image.open(IMAGES / "forest.jpg").save(png_photo)
    kept = {p: p.read_bytes() for p in (photo, png_photo)}
    duplicates = {"city.jpg": ["city_recompressed.jpg"]}
    sweep = SweepResult(points=[SweepPoint("phash", 10, 1.0, 1.0, 1.0, 1, 1)], positives=1, images=2,
                        target_precision=0.99)
    for target in (photo, png_photo):
        with pytest.raises(ReplacesImage, match="did not write"):
            plot_duplicates(IMAGES, duplicates, "city.jpg", outfile=target)
        with pytest.raises(ReplacesImage, match="did not write"):
            sweep.plot(target)
        assert target.read_bytes() == kept[target]
    pointed = tmp_path / "notes.txt"
    pointed.write_text("mine")
    link = tmp_path / "pr.png"
    link.symlink_to(pointed)
    with pytest.raises(OutputRefused):
        sweep.plot(link)
    assert pointed.read_text() == "mine" and link.is_symlink()
    for picture, make in ((tmp_path / "dups.png", lambda out: plot_duplicates(IMAGES, duplicates, "city.jpg",
                                                                              outfile=out)),
                          (tmp_path / "curve.png", sweep.plot)):
        for _ in range(2):  # (the second replaces the plot the first wrote)
            make(picture)
            assert picture.read_bytes().startswith(b"\x89PNG")


@pytest.mark.cli
def test_tune_plot_of_a_format_matplotlib_cannot_write_is_one_line_before_the_sweep(tmp_path: Path) -> None:
    """``tune DIR --plot pr.xyz`` ran the whole sweep, then ended in matplotlib's ValueError traceback ('Format 'xyz'
    is not supported'); ``plot -o`` said it in one line before its scan. Now tune does too."""
    pytest.importorskip("matplotlib")
    from click.testing import CliRunner

    from imagetwins.cli import main

    labelled = tmp_path / "labelled"
    (labelled / "set1").mkdir(parents=True)
    shutil.copyfile(IMAGES / "city.jpg", labelled / "set1" / "a.jpg")
    shutil.copyfile(IMAGES / "city_recompressed.jpg", labelled / "set1" / "b.jpg")
    shutil.copyfile(IMAGES / "forest.jpg", labelled / "c.jpg")
    res = CliRunner().invoke(main, ["tune", str(labelled), "-m", "phash", "--plot", str(tmp_path / "pr.xyz")])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert "no picture format the plot can be saved as" in res.output, res.output
    assert not (tmp_path / "pr.xyz").exists()
