"""Safe removal: move duplicates into a quarantine folder with a journal, and undo it byte for byte.

Nothing is deleted. Each move is written to the journal (``manifest.jsonl``: size and SHA-256)
before it happens and confirmed after, and fsynced each time; a move across devices is a verified
copy then an unlink. So an interrupted run (kill -9, full disk) leaves each file either in place or
in quarantine and listed, and ``undo`` puts everything back.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imagetwins.keep import Decision, decide_groups
from imagetwins.results import FindResult

JOURNAL = "manifest.jsonl"
SUMMARY = "manifest.json"


@dataclass
class Plan:
    """What ``remove`` would do: (source, group number, kept file) per file to move."""

    moves: list[tuple[str, int, str]]
    keepers: list[str]
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    expected: dict[str, str] = field(default_factory=dict)  # source -> SHA-256 it must still have


@dataclass
class Outcome:
    """What ``apply_plan`` or ``undo`` did."""

    done: list[tuple[str, str]] = field(default_factory=list)  # (from, to)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    manifest: Path | None = None


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def plan_removal(result: FindResult, roots: Sequence[str | os.PathLike],
                 keep_in: Sequence[str | os.PathLike] = (), rule: str = "original",
                 decisions: Sequence[Decision] | None = None) -> Plan:
    """List the files to move: each group's non-kept files (see :mod:`imagetwins.keep`).

    Files outside ``roots`` are refused. ``decisions`` (from :func:`imagetwins.keep.decide_groups`)
    are computed here when not given.
    """
    real_roots = [Path(r).resolve() for r in roots]
    if decisions is None:
        decisions = decide_groups([g.files for g in result.groups], keep_in=keep_in, rule=rule)
    moves, keepers, refused = [], [], []
    for gi, d in enumerate(decisions, 1):
        refused += d.unreadable
        if d.keeper is None:
            continue  # never remove the last copy
        keepers.append(d.keeper)
        for path in d.remove:
            if not any(Path(path).resolve().is_relative_to(r) for r in real_roots):
                refused.append((path, "outside the scanned folders"))
                continue
            moves.append((path, gi, d.keeper))
    return Plan(moves, keepers, refused)


def default_quarantine(root: str | os.PathLike) -> Path:
    """``<folder>.imagetwins-quarantine/<timestamp>`` beside the scanned folder."""
    root = Path(root).resolve()
    return root.parent / f"{root.name}.imagetwins-quarantine" / time.strftime("%Y%m%d-%H%M%S")


def _append(journal, entry: dict) -> None:
    journal.write(json.dumps(entry) + "\n")
    journal.flush()
    os.fsync(journal.fileno())


def _free_name(target: Path) -> Path:
    if not target.exists():
        return target
    for k in range(1, 10_000):
        candidate = target.with_name(f"{target.stem}.{k}{target.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(target)


def _move(src: Path, dst: Path, digest: str) -> None:
    """Rename, or across devices copy + verify + unlink; the source stays until the copy is proven."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dst)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    partial = dst.with_name(dst.name + ".partial")
    try:
        shutil.copy2(src, partial)
        if sha256_file(partial) != digest:
            raise OSError(errno.EIO, "copy does not match the original")
        os.replace(partial, dst)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.unlink(src)


def apply_plan(plan: Plan, root: str | os.PathLike, quarantine: str | os.PathLike) -> Outcome:
    """Move the planned files into ``quarantine`` (relative paths under ``root`` preserved)."""
    root = Path(root).resolve()
    qdir = Path(quarantine)
    qdir.mkdir(parents=True, exist_ok=True)
    out = Outcome(manifest=qdir / JOURNAL)
    with open(out.manifest, "a", encoding="utf-8") as journal:
        for src_s, group, keeper in plan.moves:
            src = Path(src_s)
            try:
                real = src.resolve()
                rel = real.relative_to(root) if real.is_relative_to(root) else Path(real.name)
                size = src.stat().st_size
                digest = sha256_file(src)
                if plan.expected.get(src_s, digest) != digest:
                    raise OSError(errno.ESTALE, "it changed since the scan (SHA-256 differs)")
                dst = _free_name(qdir / rel)
                _append(journal, {"op": "move", "state": "planned", "from": str(real), "to": str(dst.resolve()),
                                  "bytes": size, "sha256": digest, "group": group, "kept": keeper})
                _move(real, dst, digest)
                _append(journal, {"op": "move", "state": "done", "from": str(real), "to": str(dst.resolve())})
                out.done.append((str(real), str(dst)))
            except OSError as exc:
                out.failed.append((src_s, exc.strerror or str(exc)))
    _write_summary(qdir, root)
    return out


def _read_journal(qdir: Path) -> list[dict]:
    """Planned moves, each with ``done`` set where the move was confirmed."""
    entries: dict[tuple[str, str], dict] = {}
    with open(qdir / JOURNAL, encoding="utf-8") as fh:
        for line in fh:
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: its move did not start
            key = (e["from"], e["to"])
            if e["state"] == "planned":
                entries[key] = {**e, "done": False}
            elif key in entries and e["state"] in ("done", "restored"):
                entries[key]["done" if e["state"] == "done" else "restored"] = True
    return list(entries.values())


def _write_summary(qdir: Path, root: Path) -> None:
    entries = _read_journal(qdir)
    summary = {"root": str(root), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "files": [{k: e[k] for k in ("from", "to", "bytes", "sha256", "group", "kept")} for e in entries],
               "bytes": sum(e["bytes"] for e in entries)}
    tmp = qdir / (SUMMARY + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    os.replace(tmp, qdir / SUMMARY)


def undo(manifest: str | os.PathLike) -> Outcome:
    """Put every quarantined file back where it was, verifying its SHA-256.

    ``manifest`` is the quarantine folder, its ``manifest.jsonl`` or its ``manifest.json``. Files
    whose move never happened are left alone; a file whose original place is taken again is
    reported, not overwritten.
    """
    path = Path(manifest)
    qdir = path if path.is_dir() else path.parent
    out = Outcome(manifest=qdir / JOURNAL)
    with open(qdir / JOURNAL, "a", encoding="utf-8") as journal:
        for e in _read_journal(qdir):
            if e.get("restored"):
                continue
            src, dst = Path(e["to"]), Path(e["from"])
            if not src.exists():
                if dst.exists() and not e["done"]:
                    continue  # crash before the move: the file never left
                if dst.exists() and sha256_file(dst) == e["sha256"]:
                    continue  # already back
                out.failed.append((str(src), "missing from quarantine"))
                continue
            if dst.exists():
                if sha256_file(dst) == e["sha256"] and sha256_file(src) == e["sha256"]:
                    # crash mid cross-device move: the original never left; drop the extra copy
                    src.unlink()
                    _append(journal, {"op": "move", "state": "restored", "from": e["from"], "to": e["to"]})
                    continue
                out.failed.append((str(dst), "its original place is taken by another file"))
                continue
            try:
                if sha256_file(src) != e["sha256"]:
                    out.failed.append((str(src), "changed in quarantine (checksum differs)"))
                    continue
                _move(src, dst, e["sha256"])
                _append(journal, {"op": "move", "state": "restored", "from": e["from"], "to": e["to"]})
                out.done.append((str(src), str(dst)))
            except OSError as exc:
                out.failed.append((str(src), exc.strerror or str(exc)))
    return out
