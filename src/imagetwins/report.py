"""Show people what was found: a self-contained HTML review page, and matplotlib pictures.

The HTML page is one file that works offline from disk: thumbnails are embedded as data URIs and the
groups as JSON, which a few lines of script render a page at a time, so ten thousand groups stay
responsive. Every file name reaches the page through ``textContent`` or an attribute set from
script, never through HTML parsing, and the JSON is escaped so that no name can close its script tag.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from imagetwins.io import ImageReadError, open_image
from imagetwins.keep import FileInfo, decide_groups, file_infos
from imagetwins.results import FindResult

THUMB = 160


def thumbnail_data_uri(path: str | os.PathLike, size: int = THUMB) -> str:
    """A small JPEG of the image as a ``data:`` URI ('' if it cannot be read any more)."""
    try:
        img = open_image(path, min_size=size)
    except ImageReadError:
        return ""
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def report_data(result: FindResult, keep_in: Sequence[str | os.PathLike] = (), workers: int | None = None,
                progress: bool = False, keep_rule: str = "original") -> dict:
    """Everything the page shows, as plain data (groups sorted by size, largest first)."""
    from imagetwins.workers import thread_count

    files = [f for g in result.groups for f in g.files]
    infos = file_infos(files, workers)
    decisions = decide_groups([g.files for g in result.groups], keep_in=keep_in, rule=keep_rule, infos=infos)
    bar = None
    if progress and files:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(files), unit="img", desc="thumbnails", leave=False)

    def one(path: str) -> str:
        out = thumbnail_data_uri(path)
        if bar is not None:
            bar.update(1)
        return out

    with ThreadPoolExecutor(max_workers=thread_count(workers)) as pool:
        thumbs = dict(zip(files, pool.map(one, files)))
    if bar is not None:
        bar.close()
    groups = []
    for g, d in zip(result.groups, decisions):
        cards = []
        for path in g.files:
            i = infos[path]
            if not isinstance(i, FileInfo):
                i = FileInfo(path, 0, 0, 0, 0.0)
            cards.append({"path": path, "name": os.path.basename(path), "width": i.width, "height": i.height,
                          "bytes": i.size, "mtime": time.strftime("%Y-%m-%d %H:%M", time.localtime(i.mtime)),
                          "keep": path in d.keep, "thumb": thumbs[path]})
        groups.append({"exact": g.exact, **dict([g.score_field()]), "how": g.describe(), "files": cards})
    return {
        "method": result.method, "threshold": result.threshold, "score_kind": result.score_kind,
        "images": len(result.files),
        "unreadable": [{"path": f.path, "reason": f.reason} for f in result.failures],
        "groups": groups, "generated": time.strftime("%Y-%m-%d %H:%M"),
    }


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#1f2937;color:#fff;padding:12px 20px}
header h1{font-size:18px;margin:0 0 4px}
#summary{opacity:.85}
nav{padding:10px 20px;display:flex;gap:10px;align-items:center}
nav button{padding:4px 12px}
.group{background:#fff;margin:10px 20px;padding:10px 14px;border-radius:8px;box-shadow:0 1px 2px #0002}
.group h2{font-size:14px;margin:0 0 8px}
.files{display:flex;flex-wrap:wrap;gap:12px}
.file{width:180px;border:2px solid #ddd;border-radius:6px;padding:6px;font-size:12px;word-break:break-all}
.file.keep{border-color:#16a34a}
.file img{width:160px;height:160px;object-fit:contain;background:#eee;display:block;margin:0 auto 4px}
.badge{display:inline-block;padding:0 6px;border-radius:4px;font-weight:600;font-size:11px}
.keep .badge{background:#16a34a;color:#fff}
.dup .badge{background:#f59e0b;color:#fff}
.path{color:#555}
#unreadable{margin:10px 20px}
</style></head>
<body>
<header><h1>imagetwins: duplicate review</h1><div id="summary"></div></header>
<nav><button id="prev">&larr; previous</button><span id="pageinfo"></span><button id="next">next &rarr;</button>
<label>groups per page <select id="size"><option>20</option><option selected>50</option><option>200</option>
</select></label></nav>
<main id="groups"></main>
<nav><button id="prev2">&larr; previous</button><span id="pageinfo2"></span>
<button id="next2">next &rarr;</button></nav>
<details id="unreadable"><summary></summary><ul></ul></details>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
let page = 0, perPage = 50;
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function human(n) {
  return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : (n / 1024).toFixed(0) + " KB";
}
function render() {
  const pages = Math.max(1, Math.ceil(data.groups.length / perPage));
  page = Math.min(Math.max(page, 0), pages - 1);
  const main = document.getElementById("groups");
  main.replaceChildren();
  data.groups.slice(page * perPage, (page + 1) * perPage).forEach((g, k) => {
    const box = el("section", "group");
    const n = page * perPage + k + 1;
    box.appendChild(el("h2", null, "Group " + n + ": " + g.files.length + " files, " + g.how));
    const row = el("div", "files");
    for (const f of g.files) {
      const card = el("div", "file " + (f.keep ? "keep" : "dup"));
      const img = el("img");
      img.alt = f.name; img.loading = "lazy";
      if (f.thumb) img.src = f.thumb;
      card.appendChild(img);
      card.appendChild(el("span", "badge", f.keep ? "KEEP" : "duplicate"));
      card.appendChild(el("div", "name", f.name));
      card.appendChild(el("div", null, f.width + "\\u00d7" + f.height + " \\u00b7 " + human(f.bytes)));
      card.appendChild(el("div", null, f.mtime));
      const p = el("div", "path", f.path); p.title = f.path;
      card.appendChild(p);
      row.appendChild(card);
    }
    box.appendChild(row);
    main.appendChild(box);
  });
  for (const id of ["pageinfo", "pageinfo2"])
    document.getElementById(id).textContent = "page " + (page + 1) + " of " + pages;
}
document.getElementById("summary").textContent = data.images + " images, " + data.groups.length +
  " duplicate groups holding " + data.groups.reduce((s, g) => s + g.files.length, 0) + " files \\u00b7 " +
  data.method + ", threshold " + data.threshold + " \\u00b7 " + data.generated;
const un = document.getElementById("unreadable");
un.querySelector("summary").textContent = data.unreadable.length + " unreadable files";
for (const u of data.unreadable) un.querySelector("ul").appendChild(el("li", null, u.path + ": " + u.reason));
for (const [id, step] of [["prev", -1], ["next", 1], ["prev2", -1], ["next2", 1]])
  document.getElementById(id).addEventListener("click", () => { page += step; render(); window.scrollTo(0, 0); });
document.getElementById("size").addEventListener("change", (e) => { perPage = +e.target.value; page = 0; render(); });
render();
</script></body></html>
"""


def write_html_report(result: FindResult, outfile: str | os.PathLike, keep_in: Sequence[str | os.PathLike] = (),
                      workers: int | None = None, progress: bool = False, title: str = "imagetwins report",
                      keep_rule: str = "original") -> Path:
    """Write the review page for a :class:`~imagetwins.finder.FindResult`; returns its path."""
    data = report_data(result, keep_in=keep_in, workers=workers, progress=progress, keep_rule=keep_rule)
    # "<" never appears raw inside the script element, so no file name can end it early
    payload = json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = _PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", payload)
    out = Path(outfile)
    out.write_text(page, encoding="utf-8")
    return out


def plot_duplicates(image_dir: str | os.PathLike, duplicate_map: dict, filename: str,
                    outfile: str | os.PathLike | None = None) -> None:
    """imagededup's picture: the file and its duplicates side by side, with scores when present.

    Parameters
    ----------
    image_dir : path
        Folder the names in ``duplicate_map`` are relative to.
    duplicate_map : dict
        Output of ``find_duplicates`` (with or without scores).
    filename : str
        The file whose duplicates to show.
    outfile : path, optional
        Save the figure there instead of showing it.
    """
    import matplotlib

    if outfile is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if filename not in duplicate_map:
        raise ValueError(f"{filename!r} is not a key of duplicate_map")
    matches = duplicate_map[filename]
    if not matches:
        raise ValueError(f"{filename!r} has no duplicates to plot")
    root = Path(image_dir)
    entries = [(filename, None)] + [(m[0], m[1]) if isinstance(m, (tuple, list)) else (m, None) for m in matches]
    cols = min(4, len(entries))
    rows = -(-len(entries) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (name, score) in zip(axes.ravel(), entries):
        try:
            ax.imshow(open_image(root / name, min_size=512))
        except ImageReadError as exc:
            ax.text(0.5, 0.5, f"unreadable:\n{exc.reason}", ha="center", va="center", wrap=True)
        label = "original" if score is None else f"score {score}"
        ax.set_title(f"{name}\n{label}", fontsize=9, color="black" if score is None else "#b45309")
    fig.tight_layout()
    if outfile is not None:
        fig.savefig(outfile, dpi=100)
        plt.close(fig)
    else:
        plt.show()
