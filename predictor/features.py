"""Node, edge and graph features of an :class:`OpGraph` for the GNN, built for a batch at once.

PerfSAGE (arXiv 2301.10999) describes an operator by a learned op-type embedding, its output shape
and its numeric builtin options; we add its work (MACs, weight/activation bytes), dtypes and the
``hwmodels`` analytic per-layer cost on each prior accelerator (the generic INT8 array and the
roofline of each Ethos-U system the Vela labels are compiled for), and describe each edge by its
tensor's size and dtype. The layout is one versioned schema: a checkpoint records it and refuses another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from hwmodels.batch import KIND_CODES, LayerWorkArrays, layer_costs, model_totals
from hwmodels.work import OpKind
from predictor.graph import OpGraph, classify_precision
from predictor.tflite_schema import BUILTIN_OPERATORS

SCHEMA_VERSION = 2

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
#: hwmodels configs whose per-layer costs are the analytic priors of every node: the generic
#: INT8 array (every target's common prior) and the rooflines of the three Ethos-U systems (where
#: the tensors spill, what bounds a layer, on each).
PRIOR_ACCELERATORS: tuple[str, ...] = ("npu-int8", "ethos-u55-128", "ethos-u65-256", "ethos-u85-512")
#: Node prior columns per accelerator.
PRIOR_FIELDS: tuple[str, ...] = (
    "prior_latency_us",
    "prior_energy_uj",
    "prior_sram_kb",
    "prior_utilisation",
)
#: Graph prior columns per accelerator (totals; SRAM: the peak).
GRAPH_PRIOR_FIELDS: tuple[str, ...] = ("prior_latency_us", "prior_energy_uj", "prior_sram_kb")
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8", "dynamic_int8", "int16x8", "mixed")
GRAPH_FIELDS: tuple[str, ...] = (
    "num_ops",
    "macs",
    "elem_ops",
    "params",
    "weight_bytes",
    "activation_bytes",
    "input_elems",
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
NODE_DIM = _PRIOR0 + len(PRIOR_FIELDS) * len(PRIOR_ACCELERATORS)
EDGE_DIM = 2 + len(DTYPES)
_GPRIOR0 = len(GRAPH_FIELDS)
_GPREC0 = _GPRIOR0 + len(GRAPH_PRIOR_FIELDS) * len(PRIOR_ACCELERATORS)
GRAPH_DIM = _GPREC0 + len(PRECISIONS)


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
        "prior_accelerators": list(PRIOR_ACCELERATORS),
        "prior_fields": list(PRIOR_FIELDS),
        "graph_prior_fields": list(GRAPH_PRIOR_FIELDS),
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


#: One graph's feature arrays: (x, op_type, edge_index, edge_attr, graph_attr, precision).
GraphFeatures = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]

_ACT_INDEX = {a: i for i, a in enumerate(ACTIVATIONS)}
_PAD_INDEX = {p: i for i, p in enumerate(PADDINGS)}
_OPT_INDEX = {k: i for i, k in enumerate(NUMERIC_OPTIONS)}
_OTHER_DTYPE = len(DTYPES) - 1
_OTHER_ACT = len(ACTIVATIONS) - 1
_SHAPE_PAD = ((0, 0, 0, 0), (0, 0, 0), (0, 0), (0,), ())  # right-aligned NHWC, by rank
_work = attrgetter(*WORK_FIELDS)

# Integer columns gathered per op (one flat list for the batch, reshaped once).
_C_SHAPE = 0
_C_WORK = _C_SHAPE + 4  # WORK_FIELDS, then kernel_hw: the log1p-scaled node columns end here
_C_KERNEL = _C_WORK + len(WORK_FIELDS)
_C_ELEMS = _C_KERNEL + 2  # weight, input and output elements (the prior's inputs)
_C_OP_TYPE = _C_ELEMS + 3
_C_KIND = _C_OP_TYPE + 1
_C_DTYPE = _C_KIND + 1
_C_WDTYPE = _C_DTYPE + 1
_C_OPTIONS = _C_WDTYPE + 1  # index of the op's options in the batch's table of distinct ones
_C_MAIN = _C_OPTIONS + 1  # 1 for the main subgraph's ops: they carry the analytic prior
_N_COLS = _C_MAIN + 1
_ONE_HOTS = (
    (_C_KIND, _KIND0),
    (_C_DTYPE, _DT0),
    (_C_WDTYPE, _WDT0),
)
_W = {f: _C_WORK + i for i, f in enumerate(WORK_FIELDS)}


def _options_key(opts: dict[str, Any]) -> tuple:
    # The options that features read (scalars) identify the dict as far as features go.
    return tuple(
        (k, v)
        for k, v in opts.items()
        if k in _OPT_INDEX or k in ("padding", "fused_activation_function")
    )


def _decode_options(opts: dict[str, Any]) -> tuple[list[Any], int, int]:
    """(numeric options in NUMERIC_OPTIONS order, padding index, activation index); -1: none."""
    numeric = [0] * len(NUMERIC_OPTIONS)
    for key, v in opts.items():
        j = _OPT_INDEX.get(key)
        if j is not None and not isinstance(v, str):
            numeric[j] = v
    act = opts.get("fused_activation_function")
    return (
        numeric,
        _PAD_INDEX.get(opts.get("padding"), -1),
        -1 if act is None else _ACT_INDEX.get(act, _OTHER_ACT),
    )


def featurize(graphs: Sequence[OpGraph]) -> FeatureBatch:
    """Features of ``graphs`` as one disjoint-union batch.

    One pass over the operators gathers plain integers into flat lists; every feature (log
    scaling, one-hot columns, the analytic prior, the per-graph totals) is then computed with
    numpy once for the whole batch.
    """
    node: list[int] = []  # _N_COLS integers per op
    # Ops share a few distinct option dicts (NAS graphs: ~50 in 40,000 ops): each is decoded once.
    option_ids: dict[tuple, int] = {}
    option_table: list[tuple[list[Any], int, int]] = []
    edge: list[int] = []  # (producer, consumer, nbytes, elements, dtype) per edge, batch node ids
    per_graph: list[int] = []  # (ops, unique constant bytes, input elements) per graph
    precisions: list[str] = []
    row = 0
    for graph in graphs:
        base = row
        weight_bytes = 0
        for si, sg in enumerate(graph.subgraphs):
            tensors = sg.tensors
            main = int(si == 0)
            producer: dict[int, int] = {}
            for op in sg.ops:
                for t in op.outputs:
                    producer[t] = op.index + base
            constants: set[int] = set()  # shared weights count once, as in OpGraph.summary
            for op in sg.ops:
                outs = op.outputs
                if outs and outs[0] >= 0:
                    out = tensors[outs[0]]
                    shape = out.shape[-4:]
                    dtype = _DTYPE_INDEX.get(out.dtype, _OTHER_DTYPE)
                else:
                    shape, dtype = (), -1
                opts = op.options
                if opts:
                    key = tuple(opts.items())
                    try:
                        options = option_ids.get(key)
                    except TypeError:  # a list-valued option (RESHAPE's new_shape...)
                        key = _options_key(opts)
                        options = option_ids.get(key)
                    if options is None:
                        options = option_ids[key] = len(option_table)
                        option_table.append(_decode_options(opts))
                else:
                    options = -1
                wdtype = -1
                dst = op.index + base
                for t in op.inputs:
                    if t >= 0:
                        tensor = tensors[t]
                        if tensor.is_constant:
                            if wdtype < 0:
                                wdtype = _DTYPE_INDEX.get(tensor.dtype, _OTHER_DTYPE)
                            constants.add(t)
                    src = producer.get(t)
                    if src is not None:
                        tensor = tensors[t]
                        edge += (
                            src,
                            dst,
                            tensor.nbytes,
                            tensor.num_elements,
                            _DTYPE_INDEX.get(tensor.dtype, _OTHER_DTYPE),
                        )
                node += (
                    *_SHAPE_PAD[len(shape)],
                    *shape,
                    *_work(op),
                    *op.kernel_hw,
                    op.weight_elems,
                    op.input_elems,
                    op.output_elems,
                    0 if op.is_custom else _OP_INDEX.get(op.op_type, 0),
                    KIND_CODES[op.kind],
                    dtype,
                    wdtype,
                    options,
                    main,
                )
                row += 1
            weight_bytes += sum(tensors[t].nbytes for t in constants)
        main_sg = graph.main
        per_graph += (
            row - base,
            weight_bytes,
            sum(main_sg.tensors[i].num_elements for i in main_sg.inputs),
        )
        precisions.append(classify_precision(graph))
    return _assemble(node, option_table, edge, per_graph, precisions)


def _assemble(
    node: list[int],
    option_table: list[tuple[list[Any], int, int]],
    edge: list[int],
    per_graph: list[int],
    precisions: list[str],
) -> FeatureBatch:
    n_graphs = len(precisions)
    a = np.fromiter(node, np.int64, len(node)).reshape(-1, _N_COLS)
    n = len(a)
    g = np.fromiter(per_graph, np.int64, len(per_graph)).reshape(n_graphs, 3)
    batch = np.repeat(np.arange(n_graphs, dtype=np.int64), g[:, 0])

    x = np.zeros((n, NODE_DIM), np.float32)
    num = np.log1p(np.abs(a[:, : _C_KERNEL + 2].astype(np.float64)))
    x[:, _SHAPE0 : _SHAPE0 + 4] = num[:, _C_SHAPE : _C_SHAPE + 4]
    x[:, _WORK0 : _KH + 2] = num[:, _C_WORK:]
    rows = np.arange(n)
    for col, first in _ONE_HOTS:
        idx = a[:, col]
        keep = idx >= 0
        x[rows[keep], first + idx[keep]] = 1.0
    if option_table:
        with_options = np.flatnonzero(a[:, _C_OPTIONS] >= 0)
        options = a[with_options, _C_OPTIONS]
        numeric = np.array([t[0] for t in option_table], np.float64)
        x[with_options, _OPT0:_PAD0] = np.log1p(np.abs(numeric))[options]
        for first, field in ((_PAD0, 1), (_ACT0, 2)):
            idx = np.array([t[field] for t in option_table], np.int64)[options]
            keep = idx >= 0
            x[with_options[keep], first + idx[keep]] = 1.0

    # Analytic prior of the main subgraph's ops (nodes of other subgraphs keep zeros).
    main = np.flatnonzero(a[:, _C_MAIN])
    m = a[main]
    work = LayerWorkArrays(
        kind=m[:, _C_KIND],
        macs=m[:, _W["macs"]],
        elem_ops=m[:, _W["elem_ops"]],
        weight_elems=m[:, _C_ELEMS],
        input_elems=m[:, _C_ELEMS + 1],
        output_elems=m[:, _C_ELEMS + 2],
        kernel_h=m[:, _C_KERNEL],
        kernel_w=m[:, _C_KERNEL + 1],
        out_channels=m[:, _W["out_channels"]],
    )
    graph_attr = np.zeros((n_graphs, GRAPH_DIM), np.float32)
    for ai, accelerator in enumerate(PRIOR_ACCELERATORS):
        cost = layer_costs(work, accelerator)
        c0 = _PRIOR0 + ai * len(PRIOR_FIELDS)
        x[main, c0 : c0 + len(PRIOR_FIELDS)] = np.log1p(
            np.stack([cost.latency_ms * 1e3, cost.energy_mj * 1e3, cost.sram_kb, cost.utilisation], 1)
        )
        latency_ms, energy_mj, peak_sram_kb = model_totals(cost, batch[main], n_graphs)
        g0 = _GPRIOR0 + ai * len(GRAPH_PRIOR_FIELDS)
        graph_attr[:, g0 : g0 + len(GRAPH_PRIOR_FIELDS)] = np.log1p(
            np.stack([latency_ms * 1e3, energy_mj * 1e3, peak_sram_kb], 1)
        )

    def total(field: str) -> np.ndarray:
        # Integer counts: exact in float64, whatever the order of the additions.
        return np.bincount(batch, weights=a[:, _W[field]], minlength=n_graphs)

    graph_attr[:, :_GPRIOR0] = np.log1p(
        np.stack(
            [
                g[:, 0],
                total("macs"),
                total("elem_ops"),
                total("params"),
                g[:, 1],
                total("output_bytes"),
                g[:, 2],
            ],
            1,
            dtype=np.float64,
        )
    )
    for gi, precision in enumerate(precisions):
        if precision in PRECISIONS:
            graph_attr[gi, _GPREC0 + PRECISIONS.index(precision)] = 1.0

    e = np.fromiter(edge, np.int64, len(edge)).reshape(-1, 5)
    edge_attr = np.zeros((len(e), EDGE_DIM), np.float32)
    edge_attr[:, :2] = np.log1p(e[:, 2:4].astype(np.float64))
    edge_attr[np.arange(len(e)), 2 + e[:, 4]] = 1.0
    return FeatureBatch(
        x=x,
        op_type=np.ascontiguousarray(a[:, _C_OP_TYPE]),
        edge_index=np.ascontiguousarray(e[:, :2].T),
        edge_attr=edge_attr,
        batch=batch,
        graph_attr=graph_attr,
        precisions=precisions,
    )


def split(fb: FeatureBatch) -> list[GraphFeatures]:
    """Per-graph feature arrays of a batch (views; edge indices back to each graph's own)."""
    sizes = np.bincount(fb.batch, minlength=fb.num_graphs)
    node_end = np.cumsum(sizes).tolist()
    edge_end = np.cumsum(np.bincount(fb.batch[fb.edge_index[0]], minlength=fb.num_graphs)).tolist()
    out = []
    n0 = e0 = 0
    for gi, (n1, e1) in enumerate(zip(node_end, edge_end)):
        out.append(
            (
                fb.x[n0:n1],
                fb.op_type[n0:n1],
                fb.edge_index[:, e0:e1] - n0,
                fb.edge_attr[e0:e1],
                fb.graph_attr[gi],
                fb.precisions[gi],
            )
        )
        n0, e0 = n1, e1
    return out


def graph_features(graph: OpGraph) -> GraphFeatures:
    """Feature arrays of one graph (cache these when batching the same graphs many times)."""
    return split(featurize([graph]))[0]


def features_list(graphs: Sequence[OpGraph]) -> list[GraphFeatures]:
    """Feature arrays of each graph, built as one batch (faster than one graph at a time)."""
    return split(featurize(graphs))


def collate(items: Sequence[GraphFeatures]) -> FeatureBatch:
    """Concatenate per-graph features into one disjoint-union batch."""
    if not items:
        return featurize([])
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
