"""Small random conv/dense networks as compact OpGraphs, with a learnable synthetic latency.

For predictor tests: graphs in the dataset's stored form (``OpGraph.to_dict``), fp32 and int8
twins of each architecture, labels that are a known function of the graph (so training can be
checked to learn it) — no TensorFlow needed.
"""

from __future__ import annotations

import itertools

import numpy as np

from predictor.graph import OpGraph
from predictor.train import TrainingData


def toy_graph(widths: list[int], hw: int, precision: str, seed: int) -> OpGraph:
    """Input [1, hw, hw, widths[0]] -> CONV_2D 3x3 per width -> MEAN -> FULLY_CONNECTED(10)."""
    dt = "int8" if precision == "int8" else "float32"
    q = [0.05, 0, 1, 0] if precision == "int8" else None
    tensors = [[[1, hw, hw, widths[0]], None, dt, 0, q, "input"]]
    ops = []
    cur = 0
    for i, (cin, cout) in enumerate(itertools.pairwise(widths)):
        stride = 2 if i % 2 else 1
        hw = -(-hw // stride)
        tensors.append([[cout, 3, 3, cin], None, dt, 1, q])
        tensors.append([[cout], None, "int32" if dt == "int8" else "float32", 1, q])
        tensors.append([[1, hw, hw, cout], None, dt, 0, q])
        w, b, out = len(tensors) - 3, len(tensors) - 2, len(tensors) - 1
        opts = {
            "padding": "SAME",
            "stride_h": stride,
            "stride_w": stride,
            "fused_activation_function": "RELU6",
            "dilation_h_factor": 1,
            "dilation_w_factor": 1,
        }
        ops.append(["CONV_2D", 0, [cur, w, b], [out], opts])
        cur = out
    tensors.append([[2], None, "int32", 1, None])
    tensors.append([[1, widths[-1]], None, dt, 0, q])
    ops.append(["MEAN", 0, [cur, len(tensors) - 2], [len(tensors) - 1], {"keep_dims": False}])
    cur = len(tensors) - 1
    tensors.append([[10, widths[-1]], None, dt, 1, q])
    tensors.append([[1, 10], None, dt, 0, q, "output"])
    ops.append(
        [
            "FULLY_CONNECTED",
            0,
            [cur, len(tensors) - 2, -1],
            [len(tensors) - 1],
            {"fused_activation_function": "NONE"},
        ]
    )
    data = {
        "format": 1,
        "sha256": f"{seed:064x}",
        "subgraphs": [
            {
                "name": "main",
                "inputs": [0],
                "outputs": [len(tensors) - 1],
                "tensors": tensors,
                "ops": ops,
            }
        ],
    }
    return OpGraph.from_dict(data)


def toy_latency_ms(graph: OpGraph) -> float:
    """A synthetic CPU: 0.02 ms per op plus 1 ns per MAC (int8 at 0.6x)."""
    macs = sum(op.macs for op in graph.ops)
    scale = 0.6 if graph.summary.precision == "int8" else 1.0
    return 0.02 * len(graph.ops) + 1e-6 * macs * scale


def toy_data(
    n_arch: int = 24, seed: int = 0, spaces: tuple[str, ...] = ("small", "wide")
) -> TrainingData:
    """fp32 + int8 twins of ``n_arch`` random architectures, labelled by :func:`toy_latency_ms`."""
    rng = np.random.default_rng(seed)
    graphs, labels, archs, sp = [], [], [], []
    for a in range(n_arch):
        space = spaces[a % len(spaces)]
        depth = int(rng.integers(2, 6))
        base = 8 if space == "small" else 24
        widths = [3] + [int(rng.integers(base, 3 * base)) for _ in range(depth)]
        hw = int(rng.choice([16, 24, 32]))
        for precision in ("fp32", "int8"):
            g = toy_graph(widths, hw, precision, seed=a * 2 + (precision == "int8"))
            lat = toy_latency_ms(g)
            row = {
                "cpu-xnnpack-1t": {
                    "latency_ms": lat,
                    "memory_kb": 100.0 + sum(op.output_bytes for op in g.ops) / 1024,
                }
            }
            if precision == "int8":
                row["ethos-u55-128"] = {
                    "latency_ms": lat / 5,
                    "energy_mj": lat / 50,
                    "memory_kb": 64.0,
                    "storage_kb": None,
                }
            graphs.append(g)
            labels.append(row)
            archs.append(f"arch{a}")
            sp.append(space)
    return TrainingData(
        graphs, labels, archs, sp, {"cpu-xnnpack-1t": [(1.0, 1.02), (2.0, 1.97), (3.0, 3.05)]}
    )
