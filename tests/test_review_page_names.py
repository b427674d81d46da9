"""The review page shows every name as it is (#23 item 15): bidi controls as visible escapes (a right-to-left
override must not make "gpj.exe" read "exe.jpg"), and a POSIX name holding backslashes whole, not cut at the last
backslash (``back\\..\\..\\slash.jpg`` showed as ``slash.jpg``). The page's own functions are run (node, or the
browser where chromium-driver is installed), on a page made from real photos."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

RLO = "report\u202efdp.jpg"  # shows as "reportgpj.pdf" when the override is honoured
BACKSLASHED = "back\\..\\..\\slash.jpg"


@pytest.fixture
def page(tmp_path: Path, datasets: Path) -> Path:
    root = tmp_path / "album"
    root.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:4]
    for p in photos:
        shutil.copy(p, root / p.name)
    shutil.copy(photos[0], root / RLO)
    shutil.copy(photos[1], root / BACKSLASHED)
    out = tmp_path / "review.html"
    res = CliRunner().invoke(main, ["report", "-m", "phash", str(root), "--no-cache", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


def _page_functions(page: Path) -> str:
    """The page's script up to its first use of the DOM: the helpers (visible, basename, ...) and the data."""
    html = page.read_text(encoding="utf-8")
    data = re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S).group(1)
    script = re.search(r"<script>\n(.*?)</script>", html, re.S).group(1)
    helpers = "\n".join(re.search(pattern, script, re.M | re.S).group(0) for pattern in (
        r"^const INVISIBLE = .*?;$", r"^function visible\(text\) \{$.*?^\}$", r"^function basename\(path\) .*?\}$"))
    return f"const data = JSON.parse({json.dumps(data)});\n{helpers}\n"


def test_names_are_shown_whole_with_bidi_controls_escaped(page: Path) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("needs node to run the page's functions")
    js = _page_functions(page) + """
const out = [];
for (const g of data.groups) for (const f of g.files) out.push([f.path, visible(basename(f.path)), visible(f.path)]);
for (const u of data.unreadable) out.push([u.path, visible(u.path), visible(u.path)]);
console.log(JSON.stringify(out));
"""
    run = subprocess.run([node, "-e", js], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    shown = json.loads(run.stdout)
    by_name = {p: (name, full) for p, name, full in shown}
    assert by_name[RLO] == ("report\\u202efdp.jpg", "report\\u202efdp.jpg")
    assert by_name[BACKSLASHED] == (BACKSLASHED, BACKSLASHED)  # the whole name, not "slash.jpg"
    for _path, name, full in shown:
        assert not re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]", name + full)


def test_names_in_the_browser(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".file .name")]
    assert "report\\u202efdp.jpg" in names and BACKSLASHED in names and "slash.jpg" not in names


@pytest.fixture
def browser(tmp_path: Path):
    if shutil.which("chromedriver") is None:
        pytest.skip("needs chromium-driver (.ci/run installs it)")
    pytest.importorskip("selenium")
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu"):
        opts.add_argument(arg)
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary:
        opts.binary_location = binary
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(shutil.which("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()
