"""CNN embeddings with the bundled EfficientNet-Lite0 (ImageNet weights) on ONNX Runtime, offline, no torch.

The network's last feature map (1280 x 7 x 7 for a 224 x 224 input) is pooled in numpy, so pooling is
a choice here, not baked into the model: generalised-mean (GeM) pooling keeps more of the strongest
local responses than an average. Images are squashed to 224 x 224 without a centre crop, so borders
count. Optionally each image is embedded in several orientations and the vectors summed
(``orientations=8``: all flips and quarter turns), which makes the vector the same for a mirrored or
rotated copy: on the transformed-photo benchmark this lifts recall at 99.5 % precision from 65 % to
96 %, for 8x the compute. Vectors are L2-normalised float32.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from imagetwins.encoding import Stage, encode_files
from imagetwins.io import ReadFailure, image_from_array, open_regular_file

MODEL_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = MODEL_DIR / "efficientnet_lite0.onnx"
#: the ``cnn`` method (CLI, index, Dask, sweep): the bundled model summed over all 8 orientations
CNN_ORIENTATIONS = 8
#: its cosine similarity with the best recall at >= 99.5 % pair precision on the fit split of benchmarks/quality.py
#: (photos-public copies); held out it gives precision 1.000 on camera-photos and imagededup-testdata (0.82,
#: chosen on an older in-sample set, gave 0.971). Different photos of one subject still pass: see ``copies``.
CNN_DEFAULT_SIMILARITY = 0.88
#: images per ONNX Runtime run (a batch of the encoding loop is run in pieces of this many)
RUN_IMAGES = 4


@dataclass
class ModelConfig:
    """How to turn images into vectors with an ONNX model.

    Parameters
    ----------
    path : path
        ONNX file with one image input (N, 3, H, W) float32.
    input_size : int
        H = W the model takes.
    mean, std : float or 3 floats
        Normalisation: ``(pixel - mean) / std`` on 0..255 RGB.
    output : str, optional
        Output name; default the first output. A 4-D output (N, C, h, w) is pooled, a 2-D one used as is.
    pooling : {'gem', 'avg', 'max'}
    gem_p : float
        GeM exponent (1 = average, large = max).
    """

    path: str | os.PathLike = DEFAULT_MODEL
    input_size: int = 224
    mean: float | Sequence[float] = 127.5
    std: float | Sequence[float] = 127.5
    output: str | None = None
    pooling: str = "gem"
    gem_p: float = 3.0
    name: str = "efficientnet-lite0"


@dataclass
class EmbedResult:
    """Like :class:`imagetwins.hashing.EncodeResult`, with ``vectors`` (N, d) float32, L2-normalised."""

    paths: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.empty((0, 0), np.float32))
    digests: list[str] = field(default_factory=list)
    failures: list[ReadFailure] = field(default_factory=list)


def vectors_from_map(encoding_map: Mapping[str, object]) -> np.ndarray:
    """The vectors of an ``{name: vector}`` map as one float32 ``(N, d)`` array.

    Every vector must be numbers, finite, of the same length as the first; anything else is a
    ``ValueError`` naming its key.
    """
    rows, width = [], None
    for key, value in encoding_map.items():
        try:
            row = np.asarray(value, dtype=np.float32).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"encoding_map[{key!r}]: not a vector of numbers") from None
        if width is None:
            width = len(row)
        if len(row) != width or not width:
            raise ValueError(f"encoding_map[{key!r}] has {len(row)} values; the others have {width}")
        if not np.isfinite(row).all():
            raise ValueError(f"encoding_map[{key!r}] holds NaN or infinite values")
        rows.append(row)
    return np.stack(rows) if rows else np.empty((0, 0), np.float32)


def pool_features(features: np.ndarray, pooling: str = "gem", p: float = 3.0) -> np.ndarray:
    """(N, C, h, w) feature maps -> (N, C) vectors."""
    if features.ndim == 2:
        return features
    if pooling == "avg":
        return features.mean(axis=(2, 3))
    if pooling == "max":
        return features.max(axis=(2, 3))
    if pooling == "gem":
        return np.power(np.power(np.clip(features, 1e-6, None), p).mean(axis=(2, 3)), 1.0 / p)
    raise ValueError(f"pooling must be 'gem', 'avg' or 'max', not {pooling!r}")


def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def onnxruntime():
    """The ``onnxruntime`` module, imported with its telemetry off.

    ONNX Runtime 1.2x's Linux wheels carry Microsoft's 1DS telemetry client: importing the module writes a device
    id (``$XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime/deviceid``, a random UUID kept across runs) and an
    event store (``onnxruntime.db``) beside it; no network contact was seen. ``ORT_DISABLE_TELEMETRY=1``, read when
    the module is imported, leaves both unwritten (checked with 1.32: nothing under the cache folder). A value the
    user set is kept; a program that imported onnxruntime before imagetwins has already had the files written.
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    return ort


class ModelFileError(OSError):
    """An ONNX model file that cannot be read as one: missing, or not a regular file (a FIFO in its place would have
    onnxruntime wait for a writer for ever, a device would be read without end)."""


def inference_session(path: str | os.PathLike, options):
    """An ``onnxruntime.InferenceSession`` (CPU) of the ONNX file ``path``, opened only if it is a regular file
    (:func:`imagetwins.io.open_regular_file`, which never blocks). A file shipped in the package (``models/``) is
    read through that very check and handed over as bytes; another is checked, then opened by onnxruntime by its
    path (its external weights lie beside it).

    Raises
    ------
    ModelFileError
        One line: which model file and why it cannot be read.
    """
    ort = onnxruntime()
    packaged = os.path.dirname(os.path.abspath(path)) == os.path.abspath(MODEL_DIR)
    try:
        with open_regular_file(path) as fh:
            source = fh.read() if packaged else os.fspath(path)
    except OSError as exc:
        why = f"cannot read the model {os.fspath(path)}: {exc.strerror or exc}"
        raise ModelFileError(exc.errno, why + ("; reinstall imagetwins" if packaged else "")) from None
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def _normalised(batch: np.ndarray, mean, std) -> np.ndarray:
    """(N, H, W, 3) uint8 images -> the model's input, (N, 3, H, W) float32 ``(pixel - mean) / std`` (each step in
    float32; in place: two arrays of the batch's size were made and filled, a batch of 32 at 128 px 2.3 -> 0.75 CPU ms,
    the same input to the bit: tests/test_encode_parity.py)."""
    x = batch.transpose(0, 3, 1, 2).astype(np.float32)
    x -= np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    x /= np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return x


class Embedder(Stage):
    """Embeds images with an ONNX model (the bundled one by default) or any callable.

    Parameters
    ----------
    config : ModelConfig, optional
    model : callable, optional
        ``f(batch: (N, H, W, 3) uint8 array) -> (N, d) array`` used instead of ONNX: plug in any model.
    orientations : {1, 2, 4, 8}
        Sum the vectors of the image in this many orientations: 2 adds the mirror image, 4 all flips,
        8 also the quarter turns (the vector is then the same for any flipped or rotated copy).
        Costs that many forward passes.
    threads : int, optional
        ONNX Runtime intra-op threads; default all CPUs.
    """

    def __init__(self, config: ModelConfig | None = None, model: Callable[[np.ndarray], np.ndarray] | None = None,
                 orientations: int = 1, threads: int | None = None) -> None:
        if orientations not in (1, 2, 4, 8):
            raise ValueError("orientations must be 1, 2, 4 or 8")
        self.config = config or ModelConfig()
        self.model = model
        self.orientations = orientations
        self.threads = threads
        self.batch_size = 32  # images per forward pass
        self._session = None

    def __getstate__(self) -> dict:
        # an ONNX Runtime session does not pickle (Dask sends encoders to workers): each process opens its own
        return {**self.__dict__, "_session": None}

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self.model is not None:
            return np.asarray(self.model(batch), dtype=np.float32)
        return pool_features(self.feature_maps(batch), self.config.pooling, self.config.gem_p)

    def feature_maps(self, batch: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 images of any size (the bundled model is fully convolutional) -> the model's
        output before pooling: (N, C, h, w) feature maps (``similar`` pools regions of them)."""
        if self.model is not None:
            raise ValueError("feature maps come from an ONNX model, not from a callable")
        if self._session is None:
            ort = onnxruntime()  # (its options, before the model file is opened)

            from imagetwins.workers import thread_count

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = thread_count(self.threads)
            opts.inter_op_num_threads = 1
            # no busy-waiting between runs: the model shares the cores with the decoding threads, and spinning
            # ORT threads burned their CPU time (find -m copies, 200 camera JPEGs: 11.5 -> 10.3 CPU s)
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = inference_session(self.config.path, opts)
            self._input = self._session.get_inputs()[0].name
        x = _normalised(batch, self.config.mean, self.config.std)
        names = [self.config.output] if self.config.output else None
        # a few images per run: a batch's activations then stay in the CPU's cache (32 at once: 4.2-5.5 CPU ms an
        # image at 160 px, 4 at once: 3.0-3.3; the same vectors to the bit, measured on 128 camera photos)
        return np.concatenate([self._session.run(names, {self._input: x[k:k + RUN_IMAGES]})[0]
                               for k in range(0, max(len(x), 1), RUN_IMAGES)])

    def prepare(self, img: Image.Image) -> np.ndarray:
        """An RGB image squashed to the model's input size, as uint8 (H, W, 3)."""
        s = self.config.input_size
        rgb = img if img.mode == "RGB" else img.convert("RGB")  # (convert copies an RGB image: not needed)
        return np.asarray(rgb.resize((s, s), Image.Resampling.BILINEAR), dtype=np.uint8)

    def embed_arrays(self, batch: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 model-sized images -> (N, d) L2-normalised vectors."""
        vec = self._run(batch)
        if self.orientations > 1:
            vec = vec + self._run(np.ascontiguousarray(batch[:, :, ::-1]))  # mirror
        if self.orientations > 2:
            vec = vec + self._run(np.ascontiguousarray(batch[:, ::-1]))  # upside down
            vec = vec + self._run(np.ascontiguousarray(batch[:, ::-1, ::-1]))  # turned 180
        if self.orientations > 4:
            t = batch.transpose(0, 2, 1, 3)  # the transposes give the quarter turns and their mirrors
            for view in (t, t[:, :, ::-1], t[:, ::-1], t[:, ::-1, ::-1]):
                vec = vec + self._run(np.ascontiguousarray(view))
        return l2_normalise(vec)

    def embed_image(self, img: Image.Image | np.ndarray) -> np.ndarray:
        if isinstance(img, np.ndarray):
            img = image_from_array(img)
        return self.embed_arrays(self.prepare(img)[None])[0]

    def embed_files(self, paths: Sequence[str | os.PathLike], workers: int | None = None, batch_size: int = 32,
                    progress: bool = False, warn: bool = True) -> EmbedResult:
        """Decode files on threads (JPEG at reduced scale) while the model runs, in batches.

        The loop is :func:`imagetwins.encoding.encode_files`, shared with every other method.
        """
        self.batch_size = batch_size
        out = encode_files(paths, [self], workers=workers, progress=progress, warn=warn)
        return EmbedResult(out.paths, out.by_method[self.name], out.digests, out.failures)

    # -- as a stage of imagetwins.encoding.encode_files -------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def min_side(self) -> int:
        return self.config.input_size

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        return self.embed_arrays(np.stack(prepared))

    def empty(self) -> np.ndarray:
        return np.empty((0, 0), np.float32)
