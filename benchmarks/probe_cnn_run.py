"""What the ``copies`` proposer CNN's run costs an image under other onnxruntime settings, and whether its vectors move
(issue #25): one thread, CPU time.

    nice -n 10 python benchmarks/probe_cnn_run.py FOLDER [--files 320] [--repeats 3]

The first ``--files`` JPEGs of FOLDER (``bench_home.py``'s library) are decoded as a scan decodes them for ``copies``
and squashed to the CNN's input (:data:`imagetwins.copies.CNN_SIDE`); then, in batches of the encoder's size, each
setting below runs the bundled model as ``Embedder.feature_maps`` does (the same normalisation, runs of
``embedding.RUN_IMAGES`` images unless the setting says otherwise) and GeM-pools the maps. Each setting is timed
``--repeats`` times, the settings taken in turn, by the calling thread's CPU time (``time.thread_time``); the SHA-256 of
all pooled vectors says whether a setting gives the shipped session's vectors to the bit, and the last line whether
the shipped setting gives the encoder's own (``Embedder``'s pooled vectors: what is timed is what a scan runs). Writes
nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import library_jpegs  # noqa: E402

from imagetwins import embedding  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.io import decode_image  # noqa: E402

#: name -> (images a run, the session's settings beside the shipped ones)
SETTINGS: dict[str, tuple[int | None, dict]] = {
    "shipped": (None, {}),
    "1 image a run": (1, {}),
    "2 images a run": (2, {}),
    "8 images a run": (8, {}),
    "32 images a run": (32, {}),
    "input fixed at the CNN's side": (None, {"fixed": True}),
    "no memory arena": (None, {"enable_cpu_mem_arena": False}),
    "no memory pattern": (None, {"enable_mem_pattern": False}),
    "denormals as zero": (None, {"config": {"session.set_denormal_as_zero": "1"}}),
    "graph optimisation EXTENDED": (None, {"level": "ORT_ENABLE_EXTENDED"}),
}


def session(side: int, fixed: bool = False, level: str | None = None, config: dict | None = None, **flags):
    """An onnxruntime session of the bundled model as ``Embedder.feature_maps`` opens it (one intra-op thread, as a
    scan on two decoding threads runs it), with ``flags`` and ``config`` entries on top."""
    ort = embedding.onnxruntime()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    for key, value in (config or {}).items():
        opts.add_session_config_entry(key, value)
    for key, value in flags.items():
        setattr(opts, key, value)
    if level:
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    if fixed:
        opts.add_free_dimension_override_by_name("height", side)
        opts.add_free_dimension_override_by_name("width", side)
    return embedding.inference_session(embedding.DEFAULT_MODEL, opts)


def pooled(sess, inputs: np.ndarray, batch: int, run: int, config: embedding.ModelConfig) -> np.ndarray:
    """The GeM vectors of ``inputs`` (N, H, W, 3) uint8, ``batch`` images normalised at once, ``run`` a run."""
    name = sess.get_inputs()[0].name
    out = []
    for k in range(0, len(inputs), batch):
        x = embedding._normalised(inputs[k:k + batch], config.mean, config.std)
        maps = np.concatenate([sess.run(None, {name: x[j:j + run]})[0] for j in range(0, len(x), run)])
        out.append(embedding.pool_features(maps, config.pooling, config.gem_p))
    return np.concatenate(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--files", type=int, default=320)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    paths = library_jpegs(a.folder, a.files, "probe_cnn_run.py")
    enc = get_encoder("copies").for_workers(2)
    config = enc.embedder.config
    inputs = np.stack([enc.embedder.prepare(decode_image(p.read_bytes(), min_size=enc.min_side,
                                                         min_long_side=enc.min_long_side)[0]) for p in paths])
    sessions = {name: session(config.input_size, **kw) for name, (_, kw) in SETTINGS.items()}
    spent: dict[str, list[float]] = {name: [] for name in SETTINGS}
    digests: dict[str, set[str]] = {name: set() for name in SETTINGS}
    for _ in range(a.repeats):
        for name, (run, _) in SETTINGS.items():
            t = time.thread_time()
            vectors = pooled(sessions[name], inputs, enc.batch_size, run or embedding.RUN_IMAGES, config)
            spent[name].append(1000 * (time.thread_time() - t) / len(inputs))
            digests[name].add(hashlib.sha256(vectors.tobytes()).hexdigest())
    print(f"{len(inputs)} JPEGs of {a.folder} at {config.input_size} px, CPU ms an image (one thread), each run:")
    for name in SETTINGS:
        same = "the shipped vectors" if digests[name] == digests["shipped"] else "OTHER vectors"
        print(f"  {name:32s} {' / '.join(f'{s:.2f}' for s in spent[name])}  {same}")
    own = np.concatenate([enc.embedder._run(inputs[k:k + enc.batch_size])
                          for k in range(0, len(inputs), enc.batch_size)])
    print("the shipped setting gives the encoder's vectors: "
          + ("yes" if digests["shipped"] == {hashlib.sha256(own.tobytes()).hexdigest()} else "NO"))


if __name__ == "__main__":
    main()
