"""Would decoding AVIF in a worker process with a memory limit (as LibRaw runs in ``_raw_worker.py``) be cheap and
safe enough? An AVIF whose ``ispe`` box lies (16 x 16 declared, a 12,000 x 12,000 frame coded: 2 KB) decodes
outside ``DECODE_BUDGET``, which is held by the declared size.

    python benchmarks/probe_avif_worker.py PHOTO.jpg   # a 12 MP photo; about 30 s (encoding the two AVIFs)

Prints the in-process decode (CPU s, peak RSS), then a worker's (the pixels pickled back over a pipe, as the RAW
worker answers) under ``RLIMIT_AS`` limits: what each AVIF gives, the parent's CPU a file, the child's CPU and peak.
"""

from __future__ import annotations

import io
import pickle
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r'''
import io, pickle, resource, struct, sys
limit = int(sys.argv[1])
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
from PIL import Image
L = struct.Struct("<Q")
while (head := sys.stdin.buffer.read(8)):
    data = sys.stdin.buffer.read(L.unpack(head)[0])
    try:
        with Image.open(io.BytesIO(data), formats=["AVIF"]) as im:
            a = np.asarray(im.convert("RGB"))
        out = pickle.dumps(("ok", a.shape, a.tobytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
                           protocol=5)
    except BaseException as exc:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = pickle.dumps(("error", f"{type(exc).__name__}: {exc}", peak))
    sys.stdout.buffer.write(L.pack(len(out)) + out)
    sys.stdout.buffer.flush()
'''
_LEN = struct.Struct("<Q")


def _files(photo: Path, folder: Path) -> tuple[bytes, bytes]:
    """The photo as AVIF and the liar, encoded in a process of their own (the 12,000 px frame's encode peaks at 3 GB,
    which this process's peak and its forked workers' would carry)."""
    subprocess.run([sys.executable, __file__, "--make", str(photo), str(folder)], check=True)
    return (folder / "photo.avif").read_bytes(), (folder / "liar.avif").read_bytes()


def _make(photo: Path, folder: Path) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.open(photo).convert("RGB").save(buf, format="AVIF", speed=8, quality=60)
    big = io.BytesIO()
    Image.new("RGB", (12000, 12000), (90, 120, 200)).save(big, format="AVIF", speed=10, quality=10)
    data = big.getvalue()
    at = data.index(b"ispe") + 8  # (version/flags, then width and height)
    (folder / "liar.avif").write_bytes(data[:at] + struct.pack(">II", 16, 16) + data[at + 8:])
    (folder / "photo.avif").write_bytes(buf.getvalue())


def _in_process(data: bytes) -> None:
    import numpy as np
    from PIL import Image

    times = []
    for _ in range(3):
        c = time.process_time()
        with Image.open(io.BytesIO(data), formats=["AVIF"]) as im:
            np.asarray(im.convert("RGB"))
        times.append(time.process_time() - c)
    print(f"in process: {min(times):.3f}-{max(times):.3f} CPU s a decode, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _worker(limit_mb: int, photo: bytes, liar: bytes) -> None:
    args = [sys.executable, "-c", CHILD, str(limit_mb * 1024 * 1024)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = 0
    with subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        said, parent = [], 0.0
        for data in (photo, photo, photo, liar, photo):
            c = time.process_time()
            proc.stdin.write(_LEN.pack(len(data)) + data)
            proc.stdin.flush()
            head = proc.stdout.read(8)
            answer = pickle.loads(proc.stdout.read(_LEN.unpack(head)[0])) if head else ("died",)
            parent += time.process_time() - c
            peak = max(peak, answer[-1] if len(answer) > 1 else 0)
            said.append(f"{answer[1]}" if answer[0] != "ok" else "x".join(map(str, answer[1][:2])))
        proc.stdin.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"worker, RLIMIT_AS {limit_mb or 'none'} MB: photo x3, liar, photo -> {said}; parent "
          f"{parent / 5:.3f} CPU s a file; the worker {cpu:.2f} CPU s in all (its start included), peak RSS "
          f"{peak / 1024:.0f} MB")


def main() -> None:
    if sys.argv[1] == "--make":
        _make(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    with tempfile.TemporaryDirectory() as folder:
        photo, liar = _files(Path(sys.argv[1]), Path(folder))
    print(f"photo AVIF {len(photo):,} bytes; liar {len(liar):,} bytes")
    _in_process(photo)
    for limit in (0, 400, 300):
        _worker(limit, photo, liar)


if __name__ == "__main__":
    main()
