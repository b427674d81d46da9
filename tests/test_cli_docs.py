"""The command-line reference page is what --help says now, and --help, README and the code agree on tune -m."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main
from imagetwins.encoders import encoder_names

pytestmark = pytest.mark.cli

REPO = Path(__file__).resolve().parents[1]


def _reference():
    spec = importlib.util.spec_from_file_location("make_cli_reference", REPO / "tools" / "make_cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_page_is_current() -> None:
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page == _reference().render(), "docs/cli.md is stale: run python tools/make_cli_reference.py"
    # every command and sub-command has its section
    for name in main.list_commands(None):  # (each command's module loaded when asked for)
        cmd = main.get_command(None, name)
        assert f"## `imagetwins {name}`" in page
        for sub in getattr(cmd, "commands", {}):
            assert f"## `imagetwins {name} {sub}`" in page


def test_tune_method_adds_to_the_hashes(tmp_path: Path) -> None:
    """README and --help say -m adds a method to the hashes tried; the code does so."""
    labelled = tmp_path / "labelled"
    for group, names in {"beach": ["beach.jpg", "beach_copy.jpg", "beach_small.jpg"],
                         "city": ["city.jpg", "city_brighter.png", "city_recompressed.jpg"]}.items():
        (labelled / group).mkdir(parents=True)
        for n in names:
            shutil.copy(REPO / "examples" / "images" / n, labelled / group / n)
    for n in ("forest.jpg", "market.jpg"):
        shutil.copy(REPO / "examples" / "images" / n, labelled / n)
    res = CliRunner().invoke(main, ["tune", str(labelled), "-m", "dhash", "--json", "-"])
    assert res.exit_code == 0, res.output
    tried = {p["method"] for p in json.loads(res.stdout)["points"]}
    # copies, the default, too: without -m copies a user followed a hash's recommendation away from the default
    assert tried == {*encoder_names("bits"), "copies"} and "dhash" in tried
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "every hash and `copies`, the default; `-m cnn` adds the CNN" in readme
    help_text = " ".join(CliRunner().invoke(main, ["tune", "--help"]).output.split())
    assert f"every hash ({', '.join(encoder_names('bits'))}) is always tried, and copies" in help_text


def test_readme_and_help_give_the_keep_rules_enlargement_gate() -> None:
    """README and --keep's help said "an enlarged copy ranks after the file it was made from"; a stranger's
    4 %-larger listing copy was kept over its product shot: only copies of at least 1.4x the pixels are tested."""
    from imagetwins import keep

    gate = f"{keep._ENLARGED_MIN_PIXEL_RATIO}x the pixels"
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert f"an enlarged copy of {gate} or more" in readme
    assert "enlarged by a few per cent outranks it" in readme
    text = " ".join(CliRunner().invoke(main, ["find", "--help"]).output.split())
    assert f"an enlarged copy of {gate} or more" in text


def test_every_plot_example_says_it_needs_the_plot_extra() -> None:
    """A stranger's fresh 'pip install .' ran the README's 'imagetwins tune labelled/ --plot pr.png' and got
    'plots need matplotlib': the example, the concepts page and --plot's help now say so before the run."""
    help_text = " ".join(CliRunner().invoke(main, ["tune", "--help"]).output.split())
    assert 'Write a precision-recall plot (PNG; needs matplotlib: pip install "imagetwins[plot]")' in help_text
    for page in ("README.md", "docs/concepts.md"):
        lines = [line for line in (REPO / page).read_text(encoding="utf-8").splitlines() if "tune" in line
                 and "--plot pr.png" in line]
        assert lines and all("[plot]" in line for line in lines), (page, lines)
