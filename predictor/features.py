"""Node, edge and graph features of an :class:`OpGraph` for the GNN, built for a batch at once.

PerfSAGE (arXiv 2301.10999) describes an operator by a learned op-type embedding, its output shape
and its numeric builtin options; we add its work (MACs, weight/activation bytes), dtypes and the
``hwmodels`` analytic per-layer cost as a prior, and describe each edge by its tensor's size and
dtype. The layout is one versioned schema: a checkpoint records it and refuses another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hwmodels.accelerator import estimate
from hwmodels.work import OpKind
from predictor.graph import OpGraph, classify_precision
from predictor.tflite_schema import BUILTIN_OPERATORS

SCHEMA_VERSION = 1

#: Op-type vocabulary: index 0 is "unknown or custom", then TFLite builtins in schema order.
OP_TYPES: tuple[str, ...] = ("<unknown>", *BUILTIN_OPERATORS.values())
_OP_INDEX = {name: i for i, name in enumerate(OP_TYPES)}
KINDS: tuple[str, ...] = tuple(k.value for k in OpKind)
DTYPES: tuple[str, ...] = ("float32", "float16", "int8", "uint8", "int16", "int32", "other")
_DTYPE_INDEX = {d: i for i, d in enumerate(DTYPES)}
ACTIVATIONS: tuple[str, ...] = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH", "other")
PADDINGS: tuple[str, ...] = ("SAME", "VALID")
#: Numeric builtin options kept (log1p-scaled); absent options are 0.
NUMERIC_OPTIONS: tuple[str, ...] = (
    "stride_h",
    "stride_w",
    "dilation_h_factor",
    "dilation_w_factor",
    "depth_multiplier",
    "filter_height",
    "filter_width",
    "axis",
    "num_splits",
    "block_size",
    "keep_dims",
    "adj_x",
    "adj_y",
    "align_corners",
    "half_pixel_centers",
)
#: Per-op work counts, log1p-scaled.
WORK_FIELDS: tuple[str, ...] = (
    "macs",
    "elem_ops",
    "params",
    "weight_bytes",
    "input_bytes",
    "output_bytes",
    "in_channels",
    "out_channels",
)
#: hwmodels preset whose per-layer cost is the analytic prior of every node.
PRIOR_ACCELERATOR = "npu-int8"
PRIOR_FIELDS: tuple[str, ...] = (
    "prior_latency_us",
    "prior_energy_uj",
    "prior_sram_kb",
    "prior_utilisation",
)
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8", "dynamic_int8", "int16x8", "mixed")
GRAPH_FIELDS: tuple[str, ...] = (
    "num_ops",
    "macs",
    "elem_ops",
    "params",
    "weight_bytes",
    "activation_bytes",
    "input_elems",
    "prior_latency_us",
    "prior_energy_uj",
    "prior_sram_kb",
)

# Column layout of the node matrix (the op-type index is a separate integer column).
_SHAPE0 = 0
_KIND0 = _SHAPE0 + 4
_OPT0 = _KIND0 + len(KINDS)
_PAD0 = _OPT0 + len(NUMERIC_OPTIONS)
_ACT0 = _PAD0 + len(PADDINGS)
_WORK0 = _ACT0 + len(ACTIVATIONS)
_KH = _WORK0 + len(WORK_FIELDS)
_DT0 = _KH + 2
_WDT0 = _DT0 + len(DTYPES)
_PRIOR0 = _WDT0 + len(DTYPES)
NODE_DIM = _PRIOR0 + len(PRIOR_FIELDS)
EDGE_DIM = 2 + len(DTYPES)
GRAPH_DIM = len(GRAPH_FIELDS) + len(PRECISIONS)


def schema() -> dict[str, Any]:
    """The feature schema as data: a checkpoint stores it, and loading compares it."""
    return {
        "version": SCHEMA_VERSION,
        "op_types": list(OP_TYPES),
        "kinds": list(KINDS),
        "dtypes": list(DTYPES),
        "activations": list(ACTIVATIONS),
        "paddings": list(PADDINGS),
        "numeric_options": list(NUMERIC_OPTIONS),
        "work_fields": list(WORK_FIELDS),
        "prior_accelerator": PRIOR_ACCELERATOR,
        "prior_fields": list(PRIOR_FIELDS),
        "graph_fields": list(GRAPH_FIELDS),
        "precisions": list(PRECISIONS),
        "node_dim": NODE_DIM,
        "edge_dim": EDGE_DIM,
        "graph_dim": GRAPH_DIM,
    }


def schema_hash() -> str:
    return hashlib.sha256(json.dumps(schema(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(slots=True)
class FeatureBatch:
    """Features of several graphs, concatenated (PyG's disjoint-union batching).

    Attributes:
        x: Node features, ``[N, NODE_DIM]`` float32.
        op_type: Op-type vocabulary index per node, ``[N]`` int64.
        edge_index: ``[2, E]`` int64, producer -> consumer, offsets already applied.
        edge_attr: ``[E, EDGE_DIM]`` float32.
        batch: Graph index of every node, ``[N]`` int64.
        graph_attr: Whole-graph features, ``[G, GRAPH_DIM]`` float32.
        precisions: Each graph's precision (``fp32``, ``int8``...).
    """

    x: np.ndarray
    op_type: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    batch: np.ndarray
    graph_attr: np.ndarray
    precisions: list[str]

    @property
    def num_graphs(self) -> int:
        return len(self.precisions)


_ZERO_OPTIONS = [0] * len(NUMERIC_OPTIONS)
_ACT_INDEX = {a: i for i, a in enumerate(ACTIVATIONS)}
_PAD_INDEX = {p: i for i, p in enumerate(PADDINGS)}
_KIND_INDEX = {k: i for i, k in enumerate(OpKind)}


_OPT_INDEX = {k: i for i, k in enumerate(NUMERIC_OPTIONS)}


def _numeric_options(opts: dict[str, Any]) -> list:
    # Walk the op's few options rather than the schema's many keys.
    vals = [0] * len(NUMERIC_OPTIONS)
    for key, v in opts.items():
        j = _OPT_INDEX.get(key)
        if j is not None and not isinstance(v, str):
            vals[j] = v
    return vals


def _graph_arrays(
    graph: OpGraph,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    # Python lists per op, then one numpy conversion: element-wise numpy writes cost ~10x more.
    ops = graph.ops
    n = len(ops)
    numeric: list[tuple] = []
    op_type: list[int] = []
    kind_i: list[int] = []
    dt_i: list[int] = []
    wdt_i: list[int] = []
    pad_i: list[int] = []
    act_i: list[int] = []
    other_dtype = len(DTYPES) - 1
    constants: dict[tuple[int, int], int] = {}  # shared weights count once, as in OpGraph.summary
    for op in ops:
        tensors = graph.subgraphs[op.subgraph].tensors
        op_type.append(0 if op.is_custom else _OP_INDEX.get(op.op_type, 0))
        out = tensors[op.outputs[0]] if op.outputs and op.outputs[0] >= 0 else None
        if out is not None:
            shape = out.shape[-4:]
            shape4 = (0,) * (4 - len(shape)) + tuple(shape)  # right-aligned NHWC
            dt_i.append(_DTYPE_INDEX.get(out.dtype, other_dtype))
        else:
            shape4 = (0, 0, 0, 0)
            dt_i.append(-1)
        opts = op.options
        if opts:
            options = _numeric_options(opts)
            pad_i.append(_PAD_INDEX.get(opts.get("padding"), -1))
            act = opts.get("fused_activation_function")
            act_i.append(-1 if act is None else _ACT_INDEX.get(act, len(ACTIVATIONS) - 1))
        else:
            options = _ZERO_OPTIONS
            pad_i.append(-1)
            act_i.append(-1)
        kind_i.append(_KIND_INDEX[op.kind])
        w = -1
        for t in op.inputs:
            if t >= 0 and tensors[t].is_constant:
                if w < 0:
                    w = _DTYPE_INDEX.get(tensors[t].dtype, other_dtype)
                constants[(op.subgraph, t)] = tensors[t].nbytes
        wdt_i.append(w)
        numeric.append(
            (
                *shape4,
                *options,
                op.macs,
                op.elem_ops,
                op.params,
                op.weight_bytes,
                op.input_bytes,
                op.output_bytes,
                op.in_channels,
                op.out_channels,
                *op.kernel_hw,
            )
        )
    x = np.zeros((n, NODE_DIM), np.float32)
    totals = [0.0] * 4  # MACs, element ops, params, activation (output) bytes
    if n:
        raw = np.array(numeric, np.float64)
        w0 = 4 + len(NUMERIC_OPTIONS)
        totals = raw[:, w0 : w0 + 6].sum(0)[[0, 1, 2, 5]].tolist()
        num = np.log1p(np.abs(raw))
        x[:, _SHAPE0 : _SHAPE0 + 4] = num[:, :4]
        x[:, _OPT0:_PAD0] = num[:, 4 : 4 + len(NUMERIC_OPTIONS)]
        x[:, _WORK0 : _KH + 2] = num[:, 4 + len(NUMERIC_OPTIONS) :]
        rows = np.arange(n)
        for base, idx in (
            (_KIND0, kind_i),
            (_DT0, dt_i),
            (_WDT0, wdt_i),
            (_PAD0, pad_i),
            (_ACT0, act_i),
        ):
            idx_a = np.array(idx)
            keep = idx_a >= 0
            x[rows[keep], base + idx_a[keep]] = 1.0
    # Analytic prior of the main subgraph's ops (nodes of other subgraphs keep zeros).
    cost = estimate(graph.layer_works(), PRIOR_ACCELERATOR)
    m = len(cost.layers)
    if m:
        prior = [
            (c.latency_ms * 1e3, c.energy_mj * 1e3, c.sram_kb, c.utilisation) for c in cost.layers
        ]
        x[:m, _PRIOR0:] = np.log1p(np.array(prior, np.float64))

    edges = graph.edges()
    edge_index = np.array([(s, d) for s, d, _ in edges], np.int64).reshape(-1, 2).T
    edge_attr = np.zeros((len(edges), EDGE_DIM), np.float32)
    if edges:
        rows_e, sizes = [], []
        for _, d, t in edges:
            tensor = graph.subgraphs[ops[d].subgraph].tensors[t]
            sizes.append((tensor.nbytes, tensor.num_elements))
            rows_e.append(2 + _DTYPE_INDEX.get(tensor.dtype, other_dtype))
        edge_attr[:, :2] = np.log1p(np.array(sizes, np.float64))
        edge_attr[np.arange(len(edges)), rows_e] = 1.0

    g = np.zeros(GRAPH_DIM, np.float64)
    input_elems = sum(graph.main.tensors[i].num_elements for i in graph.main.inputs)
    g[: len(GRAPH_FIELDS)] = np.log1p(
        [
            n,
            totals[0],
            totals[1],
            totals[2],
            sum(constants.values()),
            totals[3],
            input_elems,
            cost.latency_ms * 1e3,
            cost.energy_mj * 1e3,
            cost.peak_sram_kb,
        ]
    )
    precision = classify_precision(graph)
    if precision in PRECISIONS:
        g[len(GRAPH_FIELDS) + PRECISIONS.index(precision)] = 1.0
    return x, np.array(op_type, np.int64), edge_index, edge_attr, g.astype(np.float32), precision


#: One graph's feature arrays: (x, op_type, edge_index, edge_attr, graph_attr, precision).
GraphFeatures = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]


def graph_features(graph: OpGraph) -> GraphFeatures:
    """Feature arrays of one graph (cache these when batching the same graphs many times)."""
    return _graph_arrays(graph)


def collate(items: Sequence[GraphFeatures]) -> FeatureBatch:
    """Concatenate per-graph features into one disjoint-union batch."""
    if not items:
        return FeatureBatch(
            np.zeros((0, NODE_DIM), np.float32),
            np.zeros(0, np.int64),
            np.zeros((2, 0), np.int64),
            np.zeros((0, EDGE_DIM), np.float32),
            np.zeros(0, np.int64),
            np.zeros((0, GRAPH_DIM), np.float32),
            [],
        )
    sizes = np.array([len(it[0]) for it in items], np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return FeatureBatch(
        x=np.concatenate([it[0] for it in items]),
        op_type=np.concatenate([it[1] for it in items]),
        edge_index=np.concatenate([it[2] + off for it, off in zip(items, offsets)], axis=1),
        edge_attr=np.concatenate([it[3] for it in items]),
        batch=np.repeat(np.arange(len(items), dtype=np.int64), sizes),
        graph_attr=np.stack([it[4] for it in items]),
        precisions=[it[5] for it in items],
    )


def featurize(graphs: Sequence[OpGraph]) -> FeatureBatch:
    """Features of ``graphs`` as one disjoint-union batch."""
    return collate([_graph_arrays(g) for g in graphs])
