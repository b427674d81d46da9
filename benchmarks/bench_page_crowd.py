"""The review page of a crowd in a browser: one group of N byte-identical copies of one photo plus a half-size copy of
it (a group of edited copies holding byte copies: every byte copy's card says which card holds its bytes).

    python benchmarks/bench_page_crowd.py [--sizes 2000 5000 20000] [--baseline-src OLD/src] [--no-write]

Each page is written by ``report`` (``-m phash``, thumbnails embedded) in a fresh process, then opened in headless
Chromium (selenium, chromium-driver): the time from navigation to the cards it draws first (all, or a big group's
first ``CARDS_AT_ONCE`` with "Show N more": page2), and the time one "Keep this"
click (``setKeep``) and one "Not a duplicate" click (``toggleNotDup``) take with the layout they leave (a decision
drew its whole group again; it now paints only what changed on the cards). Each card asked its group's lists with
includes/filter over the whole group (n^2 to draw: the page's JS before the lookups); ``--baseline-src`` writes the
page with another checkout's ``src`` too. Writes the table into BENCHMARKS.md between the ``bench_page_crowd`` markers.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, ROOT, commit_of, need_datasets, write_section  # noqa: E402

WRITE_PAGE = """
import sys
from imagetwins.finder import find_duplicate_groups
from imagetwins.report import write_html_report
write_html_report(find_duplicate_groups(sys.argv[1], method="phash"), sys.argv[2], embed=True)
"""


def make_folder(folder: Path, n: int) -> None:
    """``n`` byte copies of a 96x64 JPEG of one photo, and a 48x32 copy of it."""
    photo = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[3]
    with Image.open(photo) as im:
        small = im.convert("RGB").resize((96, 64))
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=90)
    folder.mkdir()
    for k in range(n):
        (folder / f"copy{k:05d}.jpg").write_bytes(buf.getvalue())
    small.resize((48, 32)).save(folder / "half.jpg", quality=90)


#: one decision, timed with the layout it leaves to do (reading offsetHeight makes the browser lay the page out
#: before the clock stops: a redraw's new cards cost most there, not in the script)
DECISION = "const t = performance.now(); {}; void document.body.offsetHeight; return performance.now() - t;"


def measure(browser, page: Path, n: int) -> tuple[float, float, float, float | None]:
    """Seconds from navigation to the first cards drawn (all n + 1, or a big group's first ``CARDS_AT_ONCE``), of one
    'Keep this' click (``setKeep``), of one 'Not a duplicate' click (``toggleNotDup``) and of 'Show all' (None without
    one), each with its layout."""
    t = time.perf_counter()
    browser.get(page.as_uri())
    # the cards the page draws first: all of them, or its first CARDS_AT_ONCE (a big group's "Show N more")
    first = "typeof CARDS_AT_ONCE === 'undefined' ? {n} : Math.min({n}, CARDS_AT_ONCE)".format(n=n + 1)
    while browser.execute_script(f"return document.querySelectorAll('.file').length < ({first})"):
        time.sleep(0.05)
    drawn = time.perf_counter() - t
    browser.execute_script("void document.body.offsetHeight;")
    click = browser.execute_script(DECISION.format("setKeep(0, 7)"))
    notdup = browser.execute_script(DECISION.format("toggleNotDup(0, 9)"))
    # a big group drawn in part: its "Show all" button, timed as a decision (every card drawn, the layout)
    everything = browser.execute_script(
        "if (!document.querySelector('#group-0 .show-all')) return null;" +
        DECISION.format("document.querySelector('#group-0 .show-all').click()"))
    cards = browser.execute_script("return document.querySelectorAll('.file').length")
    assert cards == n + 1, cards
    return drawn, click / 1000, notdup / 1000, None if everything is None else everything / 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 20000])
    ap.add_argument("--baseline-src", type=Path, help="another checkout's src/: its page measured too")
    ap.add_argument("--baseline-sizes", type=int, nargs="+", default=[2000, 5000],
                    help="the sizes its page is measured at (it is n^2: 20,000 takes many minutes a click)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images")
    if shutil.which("chromedriver") is None:
        sys.exit("bench_page_crowd.py: needs chromium-driver (and selenium)")
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        opts.add_argument(arg)
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary:
        opts.binary_location = binary
    rows = ["| code | byte copies (+1 half-size) | page MB | first draw s | one 'Keep this' click s | "
            "one 'Not a duplicate' click s | 'Show all' s |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    browser = webdriver.Chrome(options=opts, service=webdriver.ChromeService(shutil.which("chromedriver")))
    browser.set_script_timeout(900)
    browser.set_page_load_timeout(900)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in args.sizes:
                folder = Path(tmp) / f"crowd{n}"
                make_folder(folder, n)
                codes = [("this", ROOT / "src")] + ([("before", args.baseline_src)]
                                                    if args.baseline_src and n in args.baseline_sizes else [])
                for label, src in codes:
                    page = Path(tmp) / f"{label}{n}.html"
                    env = dict(os.environ, PYTHONPATH=str(src), XDG_CACHE_HOME=str(Path(tmp) / "cache"),
                               XDG_DATA_HOME=str(Path(tmp) / "data"))
                    subprocess.run([sys.executable, "-c", WRITE_PAGE, str(folder), str(page)], env=env, check=True)
                    drawn, click, notdup, everything = measure(browser, page, n)
                    rows.append(f"| {label} | {n:,} | {page.stat().st_size / 2**20:.2f} | {drawn:.2f} | {click:.2f} | "
                                f"{notdup:.2f} | {'-' if everything is None else f'{everything:.1f}'} |")
                    print(rows[-1], flush=True)
                    page.unlink()
                shutil.rmtree(folder)
    finally:
        browser.quit()
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores (shared: "
              "wall seconds of a browser, compare the rows of one size, measured one after the other), headless "
              "Chromium; `before`: the code of " + (commit_of(args.baseline_src) if args.baseline_src else "-")
              + ". Command: "
              f"`python benchmarks/bench_page_crowd.py {' '.join(sys.argv[1:])}`.\n")
    table = "\n".join([header, *rows])
    print(table)
    if not args.no_write:
        write_section("bench_page_crowd", "The review page of a crowd, in a browser (`benchmarks/bench_page_crowd.py`)",
                      table)


if __name__ == "__main__":
    main()
