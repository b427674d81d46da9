"""Interrupt `imagetwins remove --apply` and `undo` at random and check that nothing is lost.

Each run copies real camera photos (6 byte copies of each of 4) into a fresh folder, starts
``imagetwins remove --apply`` with a random ``--link`` choice and the quarantine on another device where
there is one (``/dev/shm``: every move is then a verified copy), sends it Ctrl-C, SIGTERM or SIGKILL at a
random moment once the journal exists, then runs ``imagetwins undo`` (itself interrupted half the time)
until it succeeds. The folder must come back byte for byte, with no ``.partial``, clone or temporary file
anywhere and nothing left in the quarantine.

    python fuzz/stress_remove.py --runs 20 --seed 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "datasets" / "camera-photos"


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def _run(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen([sys.executable, "-m", "imagetwins", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def one_run(rng: random.Random, photos: list[Path]) -> tuple[tuple[str, str, str], bool, str]:
    work = Path(tempfile.mkdtemp(prefix="imagetwins-stress-"))
    shm = Path("/dev/shm")
    other = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None,
                                  prefix="imagetwins-stress-q-"))
    album, quarantine = work / "album", other / "q"
    (album / "sub").mkdir(parents=True)
    for p in photos:
        for k in range(6):
            shutil.copy(p, album / ("sub" if k % 2 else "") / f"{p.stem}_{k}.jpg")
    before = _digests(album)
    link = rng.choice([[], ["--link"], ["--link", "hard"], ["--link", "sym"]])
    remove = _run(["remove", str(album), "-r", "--apply", "--no-cache", "--move-to", str(quarantine), *link])
    journal = quarantine / "manifest.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not journal.exists() and remove.poll() is None:
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.6))
    sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL, signal.SIGKILL])
    remove.send_signal(sig)
    _, remove_err = remove.communicate()
    moved = journal.read_text().count('"done"') if journal.exists() else 0
    phase = "scan" if moved == 0 else ("mid" if remove.returncode != 0 else "end")
    undo_err = ""
    for attempt in range(5):
        if not journal.exists():
            break
        undo = _run(["undo", str(quarantine)])
        if attempt == 0 and rng.random() < 0.5:
            time.sleep(rng.uniform(0.3, 1.5))
            undo.send_signal(rng.choice([signal.SIGINT, signal.SIGKILL]))
        _, undo_err = undo.communicate()
        if undo.returncode == 0:
            break
    leftovers = [str(p) for base in (album, other) for p in base.rglob("*")
                 if p.name.endswith(".partial") or "imagetwins-clone" in p.name or "imagetwins-tmp" in p.name]
    in_quarantine = [str(p) for p in quarantine.rglob("*") if p.is_file() and not p.name.startswith("manifest.")] \
        if quarantine.exists() else []
    ok = _digests(album) == before and not leftovers and not in_quarantine
    detail = "" if ok else f"{work} {other}: {remove_err[-300:]} {undo_err[-500:]} {leftovers} {in_quarantine}"
    if ok:
        shutil.rmtree(work)
        shutil.rmtree(other)
    return (signal.Signals(sig).name, phase, " ".join(link) or "no --link"), ok, detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    photos = sorted(PHOTOS.rglob("*.jpg"))[:4]
    counts: dict[tuple, list[int]] = {}
    for _ in range(args.runs):
        key, ok, detail = one_run(rng, photos)
        counts.setdefault(key, [0, 0])[0 if ok else 1] += 1
        if not ok:
            print("FAILED", key, detail)
    print("signal   phase  link          ok  failed")
    for (sig, phase, link), (ok, failed) in sorted(counts.items()):
        print(f"{sig:8s} {phase:6s} {link:13s} {ok:3d} {failed:6d}")


if __name__ == "__main__":
    main()
