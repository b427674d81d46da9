"""Show people what was found and let them decide: a self-contained HTML review page, and matplotlib pictures.

The HTML page is one file that works offline from disk, with no server and no network: the groups
travel as JSON that a few lines of script render a page at a time, so ten thousand groups stay
responsive. Thumbnails are embedded as data URIs up to :data:`EMBED_MAX_GROUPS` groups; above that
they are written as files into a ``<page>_files/`` folder beside the page and linked relatively.

A person reviews there: clicks the file to keep, marks a file "not a duplicate", skips a group (or
uses the keyboard), sees each file's score against the current keeper, and exports the decisions as
a plan (:mod:`imagetwins.plan`) for ``imagetwins remove --plan``. Every file name reaches the page
through ``textContent`` or an attribute set from script, never through HTML parsing, and the JSON
is escaped so that no name can close its script tag.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from imagetwins.decisions import key_map
from imagetwins.digests import Digest
from imagetwins.io import ImageReadError, content_digest, open_image, read_bytes, read_packaged_file
from imagetwins.keep import FileInfo, decide_keepers, in_reference_folders
from imagetwins.leftalone import LeftAlone
from imagetwins.pairscores import PairScoreStore, for_method
from imagetwins.plan import PLAN_VERSION, index_record, left_alone, needs_review
from imagetwins.results import FindResult
from imagetwins.session import Session
from imagetwins.writing import (
    PLACEHOLDER_PAGE,
    Written,
    check_page_folder,
    claim_page_name,
    clear_output_folder,
    is_review_page,
    open_output,
    output_folder,
    page_folder,
    record_written,
    refuse_image_target,
    refuse_picture_target,
    release_page_name,
    remove_written,
    replaceable_picture,
    write_in_folder,
    written_by_others,
    written_in_folder,
)

__all__ = ["THUMB", "EMBED_MAX_GROUPS", "thumbnail_data_uri", "report_data", "write_html_report",
           "plot_duplicates"]

THUMB = 240
#: a thumbnail is named by the first hex digits of its content's SHA-256 (``<page>_files/<digits>.jpg``)
THUMB_NAME_DIGITS = 32
#: above this many groups thumbnails are files beside the page rather than embedded in it
EMBED_MAX_GROUPS = 500
#: groups larger than this get no every-file-against-every-file score table (it grows with the square
#: of the group: 10,000 copies of one picture would make 10^8 cells); the page says "not compared"
SCORE_TABLE_MAX_FILES = 300


class _Thumb:
    """One content's thumbnail on the page, named by the content: made by the first thread that reads the content,
    waited for by the rest."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.uri = ""
        self.ok = False
        self.written: Written | None = None  # (written into <page>_files/: what its mark records of the file)
        self.done = threading.Event()


def _checked_bytes(path: str | os.PathLike, scanned: str = "", full: list[str] | None = None) -> bytes | None:
    """The file's bytes; None if it cannot be read, or if they are not the ``scanned`` SHA-256 (hex, or its first 32
    digits) any more. ``full`` receives the bytes' whole SHA-256 when they are the scanned ones."""
    try:
        data = read_bytes(path)
    except ImageReadError:
        return None
    digest = content_digest(data)
    if scanned and not Digest(scanned).same_content(digest):
        return None
    if full is not None:
        full.append(digest)
    return data


def _jpeg_of(data: bytes, path: str | os.PathLike, size: int = THUMB) -> bytes | None:
    """A small JPEG of an image's bytes (None when they cannot be decoded)."""
    try:
        img = open_image(data, min_size=size, path_for_messages=path)
    except ImageReadError:
        return None
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    if isinstance(img, ImageFile.ImageFile):  # (Pillow's save of a file-backed image asks os.getcwd(): from a
        img = img.copy()  # working folder deleted meanwhile, every thumbnail failed and the page was not written)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    return buf.getvalue()


def _thumbnail_jpeg(path: str | os.PathLike, size: int = THUMB, scanned: str = "",
                    full: list[str] | None = None) -> bytes | None:
    """A small JPEG of the image; None if it cannot be read, or if its bytes are not the ``scanned``
    SHA-256 (hex, or its first 32 digits) any more: a file swapped for a link to a private photo after
    the scan is never shown. ``full`` receives the bytes' whole SHA-256 when they are the scanned ones."""
    data = _checked_bytes(path, scanned, full)
    return None if data is None else _jpeg_of(data, path, size)


def thumbnail_data_uri(path: str | os.PathLike, size: int = THUMB, scanned: str = "",
                       full: list[str] | None = None) -> str:
    """A small JPEG of the image as a ``data:`` URI ('' if it cannot be read any more, or is not the
    ``scanned`` content; ``full``: as :func:`_thumbnail_jpeg`)."""
    data = _thumbnail_jpeg(path, size, scanned, full)
    return "" if data is None else _data_uri(data)


def _data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _kept_pair_scores(result: FindResult) -> PairScoreStore | None:
    """The index the result came from, as the store of its method's costly pair scores (the caller closes it);
    None when the method keeps none, there was no index, or it cannot be opened (scores are then only computed)."""
    from imagetwins.encoders import get_encoder
    from imagetwins.index import Index, IndexFileError

    try:
        keeps = get_encoder(result.method).pair_score_version is not None
    except (KeyError, ValueError):
        keeps = False
    if not keeps or result.index_path is None:
        return None
    try:
        return Index(result.index_path, methods=[])
    except IndexFileError:
        return None


def _score_matrix(result: FindResult, members: list[int], store: PairScoreStore | None = None,
                  recoloured: list | None = None, verdicts: list | None = None) -> list[list[float | None]]:
    """Every file's score against every other file of its group (None where it cannot be computed).

    The search only reports matches within the threshold, and a group is connected by matches, so
    two of its files may never have been compared; here every pair is scored with the loosest
    threshold so the page can show any file against whichever keeper a person picks. A method that
    keeps its pair scores (``copies``) takes them from ``store`` and keeps the new ones there. ``recoloured``
    (a list) gets the pairs ``[i, j]`` compared after recolouring (:data:`imagetwins.scores.Mark.RECOLOURED`);
    ``verdicts`` (a list) the pairs ``[i, j, verdict]`` whose kept verdict is no copy whatever the threshold (a re-shot:
    :meth:`imagetwins.scores.ScoreKind.verdict`), scored from the store where the search leaves them out.
    """
    from imagetwins.encoders import get_encoder
    from imagetwins.pairscores import MemoryPairScores, checks_of
    from imagetwins.scores import Mark, Verdict

    recoloured = [] if recoloured is None else recoloured
    verdicts = [] if verdicts is None else verdicts

    n = len(members)
    out: list[list[float | None]] = [[None] * n for _ in range(n)]
    kind = result.score_kind
    try:
        encoder = get_encoder(result.method)
    except ValueError:
        encoder = None
    if encoder is not None and len(result.hashes) == len(result.files):  # (every route keeps its encodings)
        enc = encoder.take(result.hashes, np.asarray(members, np.int64))
        digests = [result.digests[i] for i in members] if result.digests else None
        store = MemoryPairScores() if store is None and kind.match_verdict is not None else store
        kept = for_method(encoder, store, digests, digests)
        names = [result.files[i] for i in members]  # (a pair left to its files is looked at in them)
        pairs = encoder.query(enc, enc, encoder.loosest_threshold(), workers=1, pair_scores=kept,
                              query_paths=names, database_paths=names)
        left, right, score, marks = (pairs.left.tolist(), pairs.right.tolist(), pairs.score.tolist(),
                                     pairs.mark_bits.tolist())
        if kept is not None and kind.match_verdict is not None:
            # pairs checked but no match at any threshold (a re-shot: its kept verdict) are left out of the search's
            # answer: their score and verdict are the ones it kept
            every = np.arange(n * n, dtype=np.int64)
            missing = every[(every // n != every % n)
                            & ~np.isin(every, np.asarray(pairs.left, np.int64) * n + pairs.right)]
            if len(missing):
                ml, mr = missing // n, missing % n
                found, more_score, more_marks = checks_of(encoder, store, digests, ml, mr)
                left += ml[found].tolist()
                right += mr[found].tolist()
                score += more_score.tolist()
                marks += more_marks.tolist()
        for i, j, d, m in zip(left, right, score, marks):
            out[i][j] = kind.value(d)
            if i != j and Mark.RECOLOURED.on(m):
                recoloured.append([i, j])
            if i != j and kind.match_verdict is not None and Verdict.of_bits(m) is not Verdict.COPY:
                verdicts.append([i, j, str(Verdict.of_bits(m))])
    else:  # a method not registered in this process (a result made elsewhere): the matches found
        where = {f: k for k, f in enumerate(members)}
        found = result.pairs
        for i, j, d, m in zip(found.left.tolist(), found.right.tolist(), found.score.tolist(),
                              found.mark_bits.tolist()):
            if i in where and j in where:
                out[where[i]][where[j]] = out[where[j]][where[i]] = kind.value(d)
                if Mark.RECOLOURED.on(m):
                    recoloured += [[where[i], where[j]], [where[j], where[i]]]
    for k in range(n):
        out[k][k] = None
    return out


def report_data(result: FindResult, keep_in: Sequence[str | os.PathLike] = (), workers: int | None = None,
                progress: bool = False, keep_rule: str = "original", thumbs_dir: str | os.PathLike | None = None,
                raw_sidecars: bool = True,
                root: str | os.PathLike | None = None, session: Session | None = None, page: str = "") -> dict:
    """Everything the page shows, as plain data (groups sorted by size, largest first).

    One thumbnail per content (SHA-256), not per file: each card's ``thumb`` names it (None: the file could not be
    shown), and ``thumbs`` maps the names to ``data:`` URIs; with ``thumbs_dir`` they are written there as
    ``<name>.jpg`` instead and the page links ``<thumbs_dir>/<name>.jpg``. A name is the content's first
    :data:`THUMB_NAME_DIGITS` hex digits of its SHA-256; ``page``: the name of the page they serve (the folder's
    mark records each page's thumbnails, and a page removes only its own that it no longer shows).
    With a ``session`` (:func:`imagetwins.open_session`) its stores keep the pair scores and its workers are
    used; without, the index the result came from (``result.index_path``) is opened again by name.
    """
    # groups become stars around their keepers (regrouped, reordered): the cards follow the new groups. A
    # result whose keepers were decided already with this policy (find --report) is used as it is: the keep
    # information of each file is read once per run
    if session is not None:
        workers = session.workers if workers is None else workers
        progress = progress or session.progress
    store = session.pair_scores if session is not None else _kept_pair_scores(result)
    try:
        result = decide_keepers(result, keep_in=keep_in, rule=keep_rule, workers=workers, raw_sidecars=raw_sidecars,
                                session=session)
        data = _report_data(result, workers, progress, keep_rule, thumbs_dir, root, store, page)
    finally:
        if store is not None and session is None:
            store.close()
    recorded = index_record(session, data["root"])  # (find --db FILE --report: the export names the index, as --json)
    if recorded is not None:
        data["index"] = recorded
    return data


def _report_data(result: FindResult, workers: int | None, progress: bool, keep_rule: str,
                 thumbs_dir: str | os.PathLike | None, root: str | os.PathLike | None,
                 store: PairScoreStore | None, page: str = "") -> dict:
    from imagetwins.workers import thread_count

    infos, decisions = result.file_infos, result.decisions
    keep_in = result.keep_policy[1] if result.keep_policy else ()  # (its files kept whatever keeper is picked)
    files = [f for g in result.groups for f in g.files]
    scanned = [d for g in result.groups for d in (g.digests or [""] * len(g.files))]
    bar = None
    if progress and files:
        from imagetwins.progress import progress_bar

        bar = progress_bar(total=len(files), unit="img", desc="thumbnails")
    link_dir = None
    folder_fd = None
    if thumbs_dir is not None:
        thumbs_dir = Path(thumbs_dir)
        # a real folder, opened without following links, marked as ours (writing.OUTPUT_FOLDER_MARK): no later scan
        # takes the thumbnails for photos (io.find_images skips a folder so marked)
        folder_fd = output_folder(thumbs_dir)
        link_dir = urllib.parse.quote(os.fsencode(thumbs_dir.name))  # (a name's own bytes, UTF-8 or not)
        # the thumbnails an earlier page wrote there (the folder's mark records them): those this page does not
        # show are removed once it is made, and nothing else in the folder (a person's files, links) is touched
        before = written_in_folder(folder_fd, page)
        # (another page of the same stem, review.htm beside review.html, shares the folder: its thumbnails stay)
        others = written_by_others(folder_fd, page)

    # each file's whole SHA-256, from the bytes its thumbnail is made of (the cache keeps 32 hex digits of it):
    # the page's plan names every content as find --json does
    full: list[list[str]] = [[] for _ in files]
    # one thumbnail per content, not per file: every file is read and its bytes checked against the scan, but
    # 3,000 copies of one photo are decoded and embedded once, each card naming its content's thumbnail
    made: dict[str, _Thumb] = {}
    made_lock = threading.Lock()

    def one(k_path: tuple[int, str]) -> str | None:
        k, path = k_path
        try:
            data = _checked_bytes(path, scanned[k], full[k])
            if data is None:
                return None
            digest = full[k][0]
            with made_lock:
                thumb = made.get(digest)
                mine = thumb is None
                if mine:
                    # named by its content, never by a count: a name means one picture in every page and run (a
                    # run cut short, or another run's page beside, never shows one card another file's picture)
                    thumb = made[digest] = _Thumb(digest[:THUMB_NAME_DIGITS])
            if mine:
                try:
                    jpeg = _jpeg_of(data, path)
                    if jpeg is not None:
                        if thumbs_dir is None:
                            thumb.uri = _data_uri(jpeg)
                        else:  # (a link planted there is replaced, not followed)
                            thumb.written = write_in_folder(folder_fd, f"{thumb.name}.jpg", jpeg)
                        thumb.ok = True
                finally:
                    thumb.done.set()
            else:
                thumb.done.wait()
            return thumb.name if thumb.ok else None
        finally:
            if bar is not None:
                bar.update(1)

    done = False
    try:
        with ThreadPoolExecutor(max_workers=thread_count(workers)) as pool:
            thumbs = list(pool.map(one, enumerate(files)))
        done = True
    finally:
        if folder_fd is not None:
            try:
                now = {f"{t.name}.jpg": t.written for t in made.values() if t.written is not None}
                if done:
                    remove_written(folder_fd, before, keep={*now, *others})
                    record_written(folder_fd, now, page)
                else:  # (cut short: the earlier page's and this one's are both the tool's, for the next page)
                    record_written(folder_fd, {**before, **now}, page)
            finally:
                os.close(folder_fd)
    # the page's distinct thumbnails by name (embedded), each card's "thumb" one of these names or null
    embedded = {t.name: t.uri for t in made.values() if t.ok} if thumbs_dir is None else {}
    if bar is not None:
        bar.close()
    if root is None:
        root = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files]) if files else os.getcwd()
    given = Path(os.path.abspath(root))
    root = given.resolve()

    def shown(path: str) -> str:
        # relative to the scanned folder (the plan's base, its real path): shorter for people and for the
        # page's size, and a folder scanned through a link to it gives paths inside its real self
        full = Path(os.path.abspath(path))
        for folder in (given, root):
            if full.is_relative_to(folder):
                return os.path.relpath(full, folder)
        return str(full)

    index = {p: k for k, p in enumerate(result.files)}
    groups, k = [], 0
    remembered = getattr(result, "decided", None)  # decisions made earlier (imagetwins.decisions)
    key_of = key_map(result) if remembered else {}
    for g, d, stays in zip(result.groups, decisions, left_alone(result)):
        awaiting = stays.group is LeftAlone.AWAITING_KEEPER
        cards = []
        # (a group of edited copies holding byte copies too: each card names them) each content's files are listed
        # once for the group, and a card names its list: each card listing the others was n^2 numbers (an 18 MB
        # page for 2,000 byte copies and a resized one)
        byte_sets, same = g.byte_copy_sets()
        for path, digest, copies in zip(g.files, g.digests or [""] * len(g.files), same):
            digest = full[k][0] if full[k] else digest  # (not read again: the scanned digest, maybe 32 digits)
            i = infos[path]
            if not isinstance(i, FileInfo):
                i = FileInfo(path, 0, 0, 0, 0.0)
            cards.append({"path": shown(path), "width": i.width, "height": i.height, "bytes": i.size,
                          "time": int(i.captured), "taken": i.taken is not None, "sha256": digest,
                          "thumb": thumbs[k]})
            if path in stays.files:  # (--follow-symlinks: found, shown, and left where 'remove' leaves them)
                cards[-1]["left_alone"] = stays.files[path].value
            if copies is not None:  # the cards of the group with these very bytes: the group's byte_sets[copies]
                cards[-1]["same_bytes"] = copies
            k += 1
        members = [index.get(p, -1) for p in g.files]
        verdicts: list = []  # pairs [i, j, verdict] never copies (re-shots), from the score table
        # pairs [i, j] compared after recolouring (each file against whichever keeper a person picks); the keep
        # stage's own (each file against the keeper) where the table is not made
        recoloured = [[0, k] for k, m in enumerate(g.marks) if k and m] + [[k, 0] for k, m in enumerate(g.marks)
                                                                         if k and m]
        if len(members) > SCORE_TABLE_MAX_FILES:
            scores: list = [[] for _ in members]
        elif -1 in members:
            scores = [[None] * len(members)] * len(members)
        else:
            recoloured = []
            scores = _score_matrix(result, members, store, recoloured, verdicts)
        # awaiting: no keeper until a person picks one (re-shots); "keep" is then the suggested keeper
        how = g.describe(result.score_unit, "the suggested keeper" if awaiting else "the keeper")
        groups.append({"exact": g.exact, **dict([g.score_field()]), "how": how, "awaiting": awaiting,
                       "files": cards,
                       "keep": g.files.index(d.keeper) if d.keeper in g.files else -1,
                       "also_keep": [g.files.index(p) for p in d.keep[1:]], "scores": scores,
                       "reference": [g.files.index(p) for p in in_reference_folders(d.keep, keep_in)],
                       "recoloured": recoloured, "verdicts": verdicts, "byte_sets": byte_sets,
                       "remembered": remembered.status(g.files, key_of) if remembered else None})
    groups.sort(key=lambda g: g["remembered"] is not None)  # new groups first, those decided earlier apart after
    from imagetwins.folders import find_duplicate_folders

    folders = [{"remove": p.redundant, "copy_of": p.copy_of, "how": p.describe(), "reclaimable_bytes": p.reclaimable}
               for p in find_duplicate_folders(result, given)  # (backups of backups: one folder, not 3,000 groups)
               if not needs_review(result.method)]  # (a folder of re-shots is not a copy of another)
    return {
        "imagetwins_plan": PLAN_VERSION, "root": str(root), "base": str(root), "thumbs_dir": link_dir,
        "thumbs": embedded,
        "method": result.method, "threshold": result.threshold, "score_kind": str(result.score_kind),
        "score_unit": result.score_unit, "larger_is_closer": result.score_kind.larger_is_closer,
        "weakest_field": result.score_kind.weakest_field,
        "images": len(result.files), "keep_rule": keep_rule, "review_needed": needs_review(result.method),
        "no_keeper_yet": LeftAlone.AWAITING_KEEPER.sentence,
        # a file's own reasons to stay (a card's left_alone): what its badge says, the export's field, and why a
        # person may not keep it (said the moment they pick it)
        "left_alone": {why.value: {"label": why.label, "sentence": why.sentence, "plan_field": why.plan_field,
                                   "keeper_refusal": why.keeper_refusal} for why in LeftAlone if not why.whole_group},
        # (relative to the scanned folder, as the groups' paths: they were relative to the working folder)
        "unreadable": [{"path": shown(f.path), "reason": f.reason} for f in result.failures],
        "groups": groups, "folders": folders, "generated": time.strftime("%Y-%m-%d %H:%M"),
        "sep": os.sep,  # the page names a file by the last part after this only (a POSIX name may hold "\\")
    }


_PAGE_FILE = Path(__file__).with_name("report_page.html")


def write_html_report(result: FindResult, outfile: str | os.PathLike, keep_in: Sequence[str | os.PathLike] = (),
                      workers: int | None = None, progress: bool = False, title: str = "imagetwins report",
                      keep_rule: str = "original", root: str | os.PathLike | None = None, raw_sidecars: bool = True,
                      embed: bool | None = None, session: Session | None = None, free_name: bool = False) -> Path:
    """Write the review page for a :class:`~imagetwins.results.FindResult`; returns its path.

    ``embed`` thumbnails in the page (default: up to :data:`EMBED_MAX_GROUPS` groups); otherwise
    they go into ``<page name>_files/`` beside it. ``root`` is the scanned folder the exported plan
    names (default: the folder holding all the files). ``free_name``: ``outfile`` is a name chosen by default
    (``report`` without ``-o``): a file there that is not a page imagetwins wrote is kept, and the page goes to the
    first free of ``<stem>-1<suffix>``, ``<stem>-2<suffix>``..., taken now (:func:`imagetwins.writing.claim_page_name`):
    the path returned says which.
    """
    out = Path(outfile)
    refuse_image_target(out, "the review page")  # (a photo at that name: refused, not replaced)
    # the page's template first: a FIFO in its place is refused, never waited on, and before any work
    head, _, tail = read_packaged_file(_PAGE_FILE).decode("utf-8").partition("__DATA__")
    if embed is None:
        embed = len(result.groups) <= EMBED_MAX_GROUPS
    made = False
    if free_name:  # (taken now, its thumbnails' folder with it: not before a scan whose end it waited for)
        out, made = claim_page_name(out)
    try:
        return _write_page(result, out, head, tail, embed, free_name, title, keep_in, workers, progress, keep_rule,
                           root, raw_sidecars, session)
    except BaseException:
        if made:  # (the name taken for it given back, when it still holds what was put there)
            _unclaim(out)
        raise
    finally:
        if free_name:  # (a placeholder made, or an earlier page of ours taken: held until now)
            release_page_name(out)


def _unclaim(page: Path) -> None:
    """Remove the placeholder :func:`imagetwins.writing.claim_page_name` made at ``page``, if it is still there."""
    try:
        fd = os.open(page, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return
    try:
        same = os.read(fd, len(PLACEHOLDER_PAGE) + 1) == PLACEHOLDER_PAGE
    except OSError:
        same = False
    finally:
        os.close(fd)
    if same:
        try:
            os.unlink(page)
        except OSError:
            pass


def _write_page(result: FindResult, out: Path, head: str, tail: str, embed: bool, free_name: bool, title: str,
                keep_in: Sequence[str | os.PathLike], workers: int | None, progress: bool, keep_rule: str,
                root: str | os.PathLike | None, raw_sidecars: bool, session: Session | None) -> Path:
    """:func:`write_html_report` at the name ``out`` (taken already where it was chosen by default)."""
    thumbs_dir = None if embed else page_folder(out)
    if thumbs_dir is not None:  # (before the keep decisions and thumbnails: not after them)
        check_page_folder(out)
    data = report_data(result, keep_in=keep_in, workers=workers, progress=progress, keep_rule=keep_rule,
                       raw_sidecars=raw_sidecars, thumbs_dir=thumbs_dir, root=root, session=session, page=out.name)
    # "<" never appears raw inside the script element, so no file name can end it early
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    # the page's id: the digest of what it shows (its decisions are kept in the browser under it, offered back when
    # this very page is opened again: never to another page, nor to this name written again from another scan)
    page_id = hashlib.sha256(payload.encode()).hexdigest()[:32]
    page = head.replace("__PAGE__", page_id).replace("__TITLE__", html.escape(title)) + payload + tail
    # never through a link planted at the page's name; a name chosen by default replaced only while a page of ours is
    # there (someone's file put at it meanwhile is kept)
    with open_output(out, encoding="utf-8", replace_only=is_review_page if free_name else None) as fh:
        fh.write(page)
    if embed:  # the thumbnails an earlier page of this name wrote beside it: shown by nothing now
        clear_output_folder(page_folder(out), out.name)
    return out


def _plot_score(score) -> str:
    """A score as the plot shows it: bits as a whole number, a similarity or confidence to 3 places."""
    if isinstance(score, (int, np.integer)) or float(score).is_integer() and abs(float(score)) > 1:
        return str(int(score))
    return f"{float(score):.3f}"


def _wrapped(name: str, width: int = 32) -> str:
    """A long name on lines of at most ``width`` characters (cut anywhere: names have no spaces to wrap at)."""
    return "\n".join(name[i:i + width] for i in range(0, len(name), width)) or name


class PlotArgumentError(ValueError, AssertionError):
    """A folder that is not one, or a file without duplicates, given to :func:`plot_duplicates`: imagededup 0.3
    asserted both (``AssertionError``); this is also the ``ValueError`` the other bad arguments raise, so either
    ``except`` clause catches it."""


def plot_format(outfile: str | os.PathLike) -> str:
    """The picture format ``outfile``'s extension names (``png`` without one), or :class:`PlotArgumentError` naming
    the formats matplotlib writes (its own message, "Format 'out' is not supported", named none of ours).
    Needs matplotlib."""
    from matplotlib.backend_bases import FigureCanvasBase

    fmt = Path(outfile).suffix.lstrip(".").lower() or "png"
    known = FigureCanvasBase.get_supported_filetypes()
    if fmt not in known:
        raise PlotArgumentError(f"{os.fspath(outfile)}: .{fmt} is no picture format the plot can be saved as; give "
                                f"a name ending in one of {', '.join('.' + k for k in sorted(known))}")
    return fmt


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

    Raises
    ------
    PlotArgumentError
        ``image_dir`` is not a folder, ``filename`` has no duplicates (a ``ValueError`` and, as imagededup's
        assertions, an ``AssertionError``), or ``outfile``'s extension is no format matplotlib writes.
    ValueError
        ``filename`` is not a key of ``duplicate_map``, or the map is not a dict (as imagededup).
    imagetwins.writing.ReplacesImage
        ``outfile`` is an image imagetwins or matplotlib did not write (a photo: never replaced,
        :func:`~imagetwins.writing.refuse_picture_target`), a database or a quarantine's journal.
    """
    try:
        import matplotlib
    except ImportError:  # one line that says what to install, as the CLI's 'imagetwins plot' says
        raise ModuleNotFoundError('plot_duplicates needs matplotlib: pip install "imagetwins[plot]"',
                                  name="matplotlib") from None
    if outfile is not None:
        matplotlib.use("Agg")
        fmt = plot_format(outfile)
        refuse_picture_target(outfile)  # (before any work: a photo at that name stays; a plot of ours is replaced)
    import matplotlib.pyplot as plt

    root = Path(image_dir)
    if not root.is_dir():  # (was: a figure of "unreadable" pictures)
        raise PlotArgumentError(f"image_dir {str(image_dir)!r} is not a folder: give the folder the names of "
                                "duplicate_map are relative to")
    if not isinstance(duplicate_map, dict):
        raise ValueError("duplicate_map must be the dict find_duplicates returns")
    if filename not in duplicate_map:
        raise ValueError(f"{filename!r} is not a key of duplicate_map")
    matches = duplicate_map[filename]
    if not matches:
        raise PlotArgumentError(f"{filename!r} has no duplicates to plot")
    entries = [(filename, None)] + [(m[0], m[1]) if isinstance(m, (tuple, list)) else (m, None) for m in matches]
    cols = min(4, len(entries))
    rows = -(-len(entries) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, (ax, (name, score)) in enumerate(zip(axes.ravel(), entries)):
        try:
            ax.imshow(open_image(root / name, min_size=512))
        except ImageReadError as exc:
            ax.text(0.5, 0.5, f"unreadable:\n{exc.reason}", ha="center", va="center", wrap=True)
        # (a float score was printed with 16 digits, and a long name ran off the figure's top edge; a map without
        # scores, find_duplicates()'s default, titled every duplicate "original" as well)
        label = "original" if k == 0 else "duplicate" if score is None else f"score {_plot_score(score)}"
        ax.set_title(f"{_wrapped(str(name))}\n{label}", fontsize=9, color="black" if k == 0 else "#b45309")
    fig.tight_layout()
    if outfile is not None:
        # (nor over a photo saved at that name meanwhile)
        with open_output(outfile, binary=True, replace_only=replaceable_picture) as fh:
            fig.savefig(fh, dpi=100, format=fmt, bbox_inches="tight")
        plt.close(fig)
    else:
        plt.show()
