"""A scan's decoded images held outside the shared decode budget (stranger3, session 14): each test failed before."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins import io as iio
from imagetwins.encoders import get_encoder
from imagetwins.encoding import encode_files
from imagetwins.io import decode_cost

pytestmark = pytest.mark.unit


def _noise_pngs(folder: Path, n: int, side: int) -> list[Path]:
    rng = np.random.default_rng(3)
    paths = []
    for k in range(n):
        small = rng.integers(0, 256, (side // 50, side // 50, 3), dtype=np.uint8)
        path = folder / f"{k}.png"
        Image.fromarray(small).resize((side, side), Image.NEAREST).save(path, compress_level=1)
        paths.append(path)
    return paths


def test_a_decoded_image_stays_in_the_budget_while_it_is_prepared(tmp_path: Path, monkeypatch) -> None:
    """Each decoding thread held its decoded image outside the shared budget while the stages prepared it (a
    thumbnail of 178 MP): eight 178 MP PNGs on eight threads peaked at 5.3 GB under a budget of 1 GiB. Under a
    budget of 1.5 images, four threads now prepare one image at a time."""
    paths = _noise_pngs(tmp_path, 4, 600)
    one = decode_cost("RGB", 600, 600, "PNG")
    budget = iio.DecodeBudget(int(one * 1.5))
    monkeypatch.setattr(iio, "DECODE_BUDGET", budget)
    phash = get_encoder("phash")
    inside, most, held = [0], [0], []
    lock = threading.Lock()
    real_prepare = phash.prepare

    def prepare(img):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            held.append(budget.used)
        time.sleep(0.1)  # (a 178 MP image's thumbnail takes seconds)
        try:
            return real_prepare(img)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(phash, "prepare", prepare)
    enc = encode_files(paths, [phash], workers=4)
    assert len(enc.paths) == 4
    assert most[0] == 1 and min(held) >= one  # one prepared at a time, its image counted meanwhile
    assert budget.used == 0


_PEAK = """
import resource, sys
from pathlib import Path
from imagetwins import io as iio
from imagetwins.encoders import get_encoder
from imagetwins.encoding import encode_files
iio.DECODE_BUDGET = iio.DecodeBudget(int(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
encode_files(sorted(Path(sys.argv[1]).glob("*.png")), [get_encoder("phash")], workers=4)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_a_large_image_freed_by_one_thread_is_given_back(tmp_path: Path) -> None:
    """Pillow's 16 MiB blocks of a freed large image stayed in the malloc arena of the thread that decoded it, one
    arena a thread: four 4000 x 4000 PNGs decoded one at a time on four threads held each thread's image after it
    was freed (the process grew by 1.1-1.3 images beyond what it held before). With blocks over glibc's largest mmap
    threshold they go back to the system (0.1 image)."""
    _noise_pngs(tmp_path, 4, 4000)
    one = decode_cost("RGB", 4000, 4000, "PNG")
    src = str(Path(iio.__file__).parents[1])
    grew = int(subprocess.run([sys.executable, "-c", _PEAK, str(tmp_path), str(int(one * 1.5))],
                              capture_output=True, text=True, check=True, env={"PYTHONPATH": src}).stdout)
    assert grew < 0.6 * one, (grew / one)



def test_a_thread_keeping_an_image_never_waits_for_itself() -> None:
    """A thread that keeps an image already (inside :meth:`DecodeBudget.keeping`) does not wait for room for a
    second hold: the room it would wait for is its own, released only where its block ends (a scan's block holds once
    a file today; a stage that decoded again inside it would hang the scan). Another thread keeping nothing yet waits
    for room as before."""
    budget = iio.DecodeBudget(1000)
    done, late = [], []

    def hold_a_little() -> None:
        with budget.hold(100):
            late.append(budget.used)

    def decode_twice() -> None:
        with budget.keeping():
            with budget.hold(600):
                pass
            with budget.hold(600):
                done.append(budget.used)
                other = threading.Thread(target=hold_a_little, daemon=True)
                other.start()
                other.join(timeout=0.3)
                done.append(list(late))

    first = threading.Thread(target=decode_twice, daemon=True)
    first.start()
    first.join(timeout=10)
    assert done == [1200, []], done  # over the budget, the only way on; the other thread waited meanwhile
    other_done = time.monotonic() + 10
    while not late and time.monotonic() < other_done:
        time.sleep(0.01)
    assert late == [100]  # (once the block ended and released both holds)
