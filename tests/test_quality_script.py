"""benchmarks/quality.py and its table writer, without running a measurement: a copy of the repository without the
datasets is told so in one line, and a re-run keeps the 'measured' text a person wrote in quality_table.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import quality_table  # noqa: E402

pytestmark = pytest.mark.unit


def test_quality_without_the_datasets_names_the_missing_folder_in_one_line(tmp_path: Path) -> None:
    """Run from a copy of the repository without ../shared, quality.py found no photos, made sets of nothing and
    ended in a traceback deep inside the copies search (or a read of a missing ukbench file)."""
    for families in ([], ["--families"]):
        run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "quality.py"), "--no-write", "--workdir",
                              str(tmp_path / "work"), *families], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "IMAGETWINS_DATASETS": str(tmp_path / "none")})
        assert run.returncode != 0 and run.stdout == ""
        assert run.stderr.splitlines() == [
            f"quality.py: the dataset folder {tmp_path / 'none' / 'photos-public' / 'images'} is missing (the datasets "
            f"are read from {tmp_path / 'none'}: IMAGETWINS_DATASETS)"], run.stderr
        assert not (tmp_path / "work").exists()


#: the arguments a script cannot start without (a usage error comes before the datasets are looked at)
_REQUIRED = {"bench_ab.py": ["--old", "OLD"], "bench_verify_ab.py": ["--old", "OLD"],
             "bench_keeper_checks.py": ["--workdir", "WORK"], "probe_combo_fit.py": ["--tag", "t"],
             "make_identical_labelled.py": ["WORK", "1", "labelled"],
             "probe_cnn_whitening.py": ["WORK"], "bench_keep_enlarged_framed.py": ["--workdir", "WORK"],
             "bench_keep_catalogue.py": ["--workdir", "WORK"], "bench_plain_crops.py": ["--workdir", "WORK"],
             "bench_everyday_edits.py": ["--workdir", "WORK"]}


def test_every_benchmark_reading_the_datasets_names_a_missing_one_in_one_line(tmp_path: Path) -> None:
    """Only quality.py and two probes called need_datasets: bench_*.py and the other probes, run from a copy without
    ../shared, found no photos and failed deep inside a measurement (a traceback), or measured nothing. Every
    script that reads the datasets (by name, through _common's DATASETS / HOLIDAYS or home_library) now stops at
    once with one line naming the folder, before it writes anything."""
    scripts = sorted(p for p in (REPO / "benchmarks").glob("*.py")
                     if p.name not in ("_common.py", "home_library.py")
                     and any(w in p.read_text(encoding="utf-8") for w in ("DATASETS", "HOLIDAYS", "home_library")))
    assert len(scripts) >= 30
    env = {**os.environ, "IMAGETWINS_DATASETS": str(tmp_path / "none")}
    for start in range(0, len(scripts), 4):  # (a few at a time: each is an interpreter starting)
        runs = {p.name: subprocess.Popen([sys.executable, str(p), *_REQUIRED.get(p.name, [])], cwd=tmp_path, env=env,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for p in scripts[start:start + 4]}
        for name, proc in runs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode != 0 and out == "", (name, out, err)
            assert len(err.splitlines()) == 1 and err.startswith(f"{name}: the dataset folder {tmp_path / 'none'}/"), (
                name, err)
    assert sorted(q.name for q in tmp_path.iterdir()) == []


def _table(path: Path, *rows: dict) -> Path:
    path.write_text(json.dumps({"about": "a test", "rows": [
        {"id": r["id"], "by": "benchmarks/quality.py", "target": "t", "op": ">=", "limit": 0.5, **r} for r in rows]}))
    return path


def test_a_rerun_keeps_the_text_a_person_wrote(tmp_path: Path) -> None:
    """quality.py's write replaced each row's 'measured' text with its own shorter one, losing what a person had
    added (which re-shots were the false pairs, what the EXIF decides). A hand-written text stays while its value
    holds; where the value changes it is set aside in 'earlier' and named; a text the benchmark wrote is replaced."""
    table = _table(tmp_path / "t.json",
                   {"id": "same", "value": 0.9, "measured": "**0.9** (4 false pairs: 108400/108401 ...)"},
                   {"id": "moved", "value": 0.8, "measured": "**0.8**, all re-shots of the tuning groups"},
                   {"id": "bare", "value": 0.7, "measured": None})
    set_aside = quality_table.set_values({"same": 0.9, "moved": 0.85, "bare": 0.75},
                                         {"same": "**0.9**", "moved": "**0.85**", "bare": "**0.75**"}, path=table)
    rows = quality_table.load(table)
    assert set_aside == ["moved"]
    assert rows["same"]["measured"] == "**0.9** (4 false pairs: 108400/108401 ...)" and "earlier" not in rows["same"]
    assert rows["moved"]["measured"] == "**0.85**" and rows["moved"]["value"] == 0.85
    assert rows["moved"]["earlier"] == {"value": 0.8, "measured": "**0.8**, all re-shots of the tuning groups"}
    assert rows["bare"]["measured"] == "**0.75**"
    # the benchmark's own text is its to replace, the value the same or not
    assert quality_table.set_values({"moved": 0.85, "bare": 0.76}, {"moved": "**0.850**", "bare": "**0.76**"},
                                    path=table) == []
    rows = quality_table.load(table)
    assert (rows["moved"]["measured"], rows["bare"]["measured"]) == ("**0.850**", "**0.76**")
    assert "| **0.850** |" in quality_table.render(rows) and "earlier" not in quality_table.render(rows)


def test_recording_the_tests_values_sets_a_stale_hand_written_text_aside(tmp_path: Path) -> None:
    """``quality_table.py --record`` changed a test row's value under a hand-written text that spoke of the old one
    (BENCHMARKS.md then showed the old number): the text is kept while the value holds, else set aside."""
    table = _table(tmp_path / "t.json", {"id": "same", "value": 0.93, "measured": "**0.933** (198 photos)"},
                   {"id": "moved", "value": 0.99, "measured": "**0.992** (131 of 132 pairs)"})
    rows = quality_table.load(table)
    for row in rows.values():
        row["by"] = "tests/test_x.py"
    table.write_text(json.dumps({"about": "a test", "rows": list(rows.values())}))
    log = tmp_path / "q.log"
    log.write_text("same\t0.93\nmoved\t0.97\nmoved\t0.98\n")
    assert quality_table.record(log, table) == ["same", "moved"]
    rows = quality_table.load(table)
    assert rows["same"]["measured"] == "**0.933** (198 photos)" and rows["same"]["value"] == 0.93
    assert rows["moved"]["value"] == 0.97 and rows["moved"]["measured"] is None
    assert rows["moved"]["earlier"] == {"value": 0.99, "measured": "**0.992** (131 of 132 pairs)"}


def test_a_cached_set_of_another_copies_encoder_is_encoded_again(tmp_path: Path) -> None:
    """quality.py kept each set's copies encodings (the proposer's vectors "v1" among them) in cache-NAME.npz and
    reused one whose checks had the right width: after the proposer became the projected 96 px vector (512 numbers,
    unrelated pairs ~0), a cache of the raw 128 px vectors (1,280, ~0.3) was read and reported as 'cnn (1 orientation,
    96 px)'. A cache names the encoder that made it, and one of another is not read."""
    import numpy as np
    import quality

    from imagetwins import verify

    cache = tmp_path / "cache-set.npz"
    width = len(verify.Verification().measurements())
    stale = {"paths": np.array(["a.jpg"]), "v1": np.zeros((1, 1280), np.float32), "sure_conf": np.zeros(0),
             "meas": np.zeros((0, width))}
    np.savez(cache, **stale)
    assert quality.cached_set(cache, cnn8=False) is None
    np.savez(cache, **stale, encoder=np.array(quality.encoder_identity()))
    assert quality.cached_set(cache, cnn8=False)["v1"].shape == (1, 1280)


def test_bench_hash_bound_reads_only_a_cache_of_this_copies_encoder(tmp_path: Path) -> None:
    """benchmarks/bench_hash_bound.py --caches read quality.py's cache-NAME.npz with np.load itself: a cache made
    before a version change (the raw 1,280-number proposer vectors, another encoder's identity) was measured as this
    encoder's. It reads them through quality.cached_set now: a stale or unreadable cache stops it with one line naming
    the file, before anything is measured; a current one is read."""
    import numpy as np
    import quality

    from imagetwins import verify

    width = len(verify.Verification().measurements())
    stale = {"paths": np.array(["a.jpg"]), "hashes": np.zeros((1, 4), np.uint64), "v1": np.zeros((1, 1280), np.float32),
             "sure_conf": np.zeros(0), "meas": np.zeros((0, width))}
    cache = tmp_path / "cache-set.npz"
    np.savez(cache, **stale)
    text = tmp_path / "cache-text.npz"
    text.write_text("no cache\n")
    for bad in (cache, text, tmp_path / "cache-gone.npz"):
        run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_hash_bound.py"), "--no-density",
                              "--caches", str(bad)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                             env={**os.environ, "IMAGETWINS_DATASETS": str(tmp_path / "none")})
        assert run.returncode != 0 and run.stdout == "", (bad, run.stdout, run.stderr)
        assert run.stderr.splitlines()[0].startswith(f"bench_hash_bound.py: {bad} ") and len(
            run.stderr.splitlines()) == 1, run.stderr
    import bench_hash_bound

    np.savez(cache, **stale, encoder=np.array(quality.encoder_identity()))
    assert bench_hash_bound.read_cache(cache)["v1"].shape == (1, 1280)


def test_profile_copies_encode_times_what_copies_does(tmp_path: Path) -> None:
    """benchmarks/profile_copies_encode.py timed the CNN alone where copies' encode_batch also applies the learned
    projection of its vectors (models/copies_projection_96.npz), and stacked no picture cut from a canvas: its parts
    were not what copies does. The projection is timed as a part now, and the script checks that its parts give the
    very rows encode_batch makes (an image on a white canvas among them, whose cut-out picture is encoded too)."""
    from conftest import synthetic_photo
    from PIL import Image

    for k in range(2):
        synthetic_photo(480, 360, seed=k).save(tmp_path / f"p{k}.jpg", quality=90)
    canvas = Image.new("RGB", (640, 640), (255, 255, 255))
    canvas.paste(synthetic_photo(300, 200, seed=9).rotate(20, expand=True, fillcolor=(255, 255, 255)), (100, 150))
    canvas.save(tmp_path / "p9.jpg", quality=90)
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "profile_copies_encode.py"), str(tmp_path),
                          "--files", "3"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    parts = [line.split()[:-1] for line in run.stdout.splitlines()[1:-1]]
    assert ["CNN", "(one", "thread)"] in parts and ["CNN", "projection"] in parts, run.stdout
    assert run.stdout.splitlines()[-1] == "the parts timed give encode_batch's rows: yes", run.stdout


def test_profile_copies_verify_times_the_checks_a_first_scan_makes(tmp_path: Path) -> None:
    """benchmarks/profile_copies_verify.py (new) makes a folder's first-scan checks again with the forked checker's code
    while it times their stages: its answers must be those checks' (a crop of a photo is a copy, kept with it), its
    table must hold the stages a check that finds a copy goes through, and its kept rows must serve a second run."""
    from conftest import synthetic_photo

    for k in range(3):
        synthetic_photo(480, 360, seed=k).save(tmp_path / f"p{k}.jpg", quality=90)
    synthetic_photo(480, 360, seed=0).crop((60, 40, 420, 320)).save(tmp_path / "p0-crop.jpg", quality=90)
    rows = tmp_path.parent / f"{tmp_path.name}-rows.pkl"
    outs = []
    for _ in range(2):  # (the second run reads the rows the first kept)
        run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "profile_copies_verify.py"), str(tmp_path),
                              "--rows", str(rows)], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        outs.append(run.stdout)
    assert rows.is_file() and "encoded 4 pictures" in outs[0] and "encoded" not in outs[1]
    for out in outs:
        checks = int(out.split(" checks of ")[0].split()[-1].replace(",", ""))
        stages = {line.split(" | ")[0].lstrip("| ") for line in out.splitlines() if line.startswith("| ")}
        assert {"quick looks made together", "cell-by-cell comparisons", "fits: the full match's products"} <= stages
        answers = out.splitlines()[-1]
        assert "'copy': 1" in answers and answers.endswith("could not be checked: 0"), out
        assert 1 <= checks <= 6, out


def test_probe_cnn_run_times_what_the_encoder_runs(tmp_path: Path) -> None:
    """benchmarks/probe_cnn_run.py (new) times the proposer CNN under other onnxruntime settings: its shipped setting
    must pool the very vectors copies' Embedder pools (else what it times is not what a scan runs), and a setting that
    changes the graph's optimisation must show as other vectors."""
    from conftest import synthetic_photo

    for k in range(3):
        synthetic_photo(480, 360, seed=k).save(tmp_path / f"p{k}.jpg", quality=90)
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "probe_cnn_run.py"), str(tmp_path), "--files", "3",
                          "--repeats", "1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "the shipped setting gives the encoder's vectors: yes", run.stdout
    rows = {line[:34].strip(): line[34:] for line in lines[1:-1]}
    assert rows["shipped"].endswith("the shipped vectors") and rows["8 images a run"].endswith("the shipped vectors")
    assert rows["graph optimisation EXTENDED"].endswith("OTHER vectors"), run.stdout


def test_probe_vignette_names_the_run_that_makes_its_photos(tmp_path: Path) -> None:
    """benchmarks/probe_vignette.py reads the originals bench_everyday_edits.py made with 12 photos a source, seed 0
    (``WORKDIR/seed0-n12``); its usage and its stop line said to run that benchmark with --workdir alone, whose 10
    photos a source make ``seed0-n10``: the probe then stopped again with the same line."""
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "probe_vignette.py"), "--workdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and run.stdout == ""
    assert run.stderr.splitlines() == [
        f"probe_vignette.py: run bench_everyday_edits.py --workdir {tmp_path} --photos 12 --seed 0 first "
        f"(no {tmp_path / 'seed0-n12'})"], run.stderr
