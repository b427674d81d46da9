"""Build the bundled graph that scores binary descriptors against each other (``imagetwins.matching``).

    pip install onnx   # build-time only
    python tools/build_hamming_onnx.py

``MatMulInteger(query: uint8 (n, K), base: int8 (m, K) transposed, query zero point 1) -> score: int32 (n, m)``,
with ``n``, ``m`` and ``K`` left free. ``imagetwins.matching`` fills the query with descriptor bits as 0/2 (-1/+1
once the zero point is taken off) and the base with bits as 0/1, so a query descriptor's nearest base descriptors
are those of the largest score (see its docstring). Saves
``src/imagetwins/models/hamming_scores.onnx`` (opset 13, where MatMulInteger takes uint8 x int8).
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "imagetwins" / "models" / "hamming_scores.onnx"


def build() -> onnx.ModelProto:
    query = helper.make_tensor_value_info("query", TensorProto.UINT8, ["n", "k"])
    base = helper.make_tensor_value_info("base", TensorProto.INT8, ["m", "k"])
    score = helper.make_tensor_value_info("score", TensorProto.INT32, ["n", "m"])
    one = helper.make_tensor("one", TensorProto.UINT8, [], [1])  # the query's zero point: 0/2 read as -1/+1
    nodes = [helper.make_node("Transpose", ["base"], ["columns"], perm=[1, 0]),
             helper.make_node("MatMulInteger", ["query", "columns", "one"], ["score"])]
    graph = helper.make_graph(nodes,
                              "hamming_scores", [query, base], [score], initializer=[one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="imagetwins")
    model.ir_version = 8  # read by every onnxruntime imagetwins supports (>= 1.17)
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    OUT.write_bytes(build().SerializeToString())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
