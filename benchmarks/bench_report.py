"""Is the HTML review page responsive with 10,000 groups? Page size, load+render time, page flip, a click.

    python benchmarks/bench_report.py [--groups 10000]

Makes 2 small JPEGs per group, writes the page with ``write_html_report`` and opens it in headless
Chromium (Debian's ``chromium`` and ``chromium-driver``) through Selenium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import write_section  # noqa: E402

from imagetwins.finder import DuplicateGroup, FindResult  # noqa: E402
from imagetwins.report import write_html_report  # noqa: E402
from imagetwins.search import Pairs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from selenium import webdriver

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        groups, files = [], []
        for g in range(args.groups):
            members = []
            for k in range(2):
                p = root / f"g{g:05d}_{k}.jpg"
                Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(p, quality=60)
                members.append(str(p))
            files += members
            groups.append(DuplicateGroup(members, 3, False, digests=["0" * 64, "1" * 64]))
        # (each group's pair: the page's keep step makes stars round the keepers from the result's pairs, and with
        # none it made no group; the benchmark had measured an empty page since)
        left = np.arange(0, len(files), 2, dtype=np.int64)
        pairs = Pairs(left, left + 1, np.full(len(left), 3, np.uint8))
        result = FindResult("phash", 10, files, np.zeros(len(files), np.uint64), pairs, groups)
        t = time.perf_counter()
        page = write_html_report(result, root / "report.html")
        write_s = time.perf_counter() - t
        opts = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,900"):
            opts.add_argument(a)
        opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
        driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(shutil.which("chromedriver")))
        try:
            t = time.perf_counter()
            driver.get(page.as_uri())
            shown = driver.execute_script("return document.querySelectorAll('section.group').length")
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            driver.find_element("id", "next").click()
            flip_s = time.perf_counter() - t
            t = time.perf_counter()
            driver.find_element("css selector", ".file:not(.keep) img").click()  # change a keeper
            click_s = time.perf_counter() - t
            # the same, in the page's own clock with the layout it leaves (no WebDriver round trip)
            decision_ms = driver.execute_script(
                "const c = document.querySelector('.file:not(.keep)'); const t = performance.now(); "
                "setKeep(+c.dataset.group, +c.dataset.file); void document.body.offsetHeight; "
                "return performance.now() - t;")
        finally:
            driver.quit()
        size = page.stat().st_size
        thumbs = page.with_name(page.stem + "_files")
        thumb_bytes = sum(p.stat().st_size for p in thumbs.glob("*")) if thumbs.is_dir() else 0
    table = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores. Command: "
        f"`python benchmarks/bench_report.py --groups {args.groups}`.\n",
        "| groups | files | HTML page | thumbnails beside it | write page | open in Chromium (load + first page) "
        "| next page | change a keeper | (in the page, with layout) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {args.groups:,} | {len(files):,} | {size / 2**20:.1f} MiB | {thumb_bytes / 2**20:.0f} MiB | "
        f"{write_s:.1f} s | {load_s:.2f} s ({shown} groups shown) | {flip_s * 1000:.0f} ms | {click_s * 1000:.0f} ms "
        f"| {decision_ms:.1f} ms |",
    ])
    print(table)
    if not args.no_write:
        write_section("bench_report", "HTML review page at 10,000 groups", table)


if __name__ == "__main__":
    main()
