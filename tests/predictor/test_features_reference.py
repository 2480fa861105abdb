"""The batched feature builder gives exactly the values the shipped checkpoint was trained on.

``_reference_arrays`` is the per-graph, per-op builder that ``predictor/features.py`` used before
it was vectorised (one ``hwmodels.accelerator.estimate`` call per graph, numpy per graph), kept
here as the oracle: the fast path must match it bit for bit on real converted models, or the
checkpoint would see inputs it was not trained on.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import zoo
from support.toy_graphs import toy_graph

from hwmodels.accelerator import estimate
from hwmodels.work import OpKind
from predictor import features as F
from predictor.graph import OpGraph, classify_precision
from predictor.predict import Predictor
from predictor.reader import read_model

_OP_INDEX = {name: i for i, name in enumerate(F.OP_TYPES)}
_DTYPE_INDEX = {d: i for i, d in enumerate(F.DTYPES)}
_ACT_INDEX = {a: i for i, a in enumerate(F.ACTIVATIONS)}
_PAD_INDEX = {p: i for i, p in enumerate(F.PADDINGS)}
_KIND_INDEX = {k: i for i, k in enumerate(OpKind)}
_OPT_INDEX = {k: i for i, k in enumerate(F.NUMERIC_OPTIONS)}


def _reference_arrays(graph: OpGraph) -> F.GraphFeatures:
    ops = graph.ops
    n = len(ops)
    numeric, op_type, kind_i, dt_i, wdt_i, pad_i, act_i = [], [], [], [], [], [], []
    other_dtype = len(F.DTYPES) - 1
    constants: dict[tuple[int, int], int] = {}
    for op in ops:
        tensors = graph.subgraphs[op.subgraph].tensors
        op_type.append(0 if op.is_custom else _OP_INDEX.get(op.op_type, 0))
        out = tensors[op.outputs[0]] if op.outputs and op.outputs[0] >= 0 else None
        if out is not None:
            shape = out.shape[-4:]
            shape4 = (0,) * (4 - len(shape)) + tuple(shape)
            dt_i.append(_DTYPE_INDEX.get(out.dtype, other_dtype))
        else:
            shape4 = (0, 0, 0, 0)
            dt_i.append(-1)
        opts = op.options
        options = [0] * len(F.NUMERIC_OPTIONS)
        if opts:
            for key, v in opts.items():
                j = _OPT_INDEX.get(key)
                if j is not None and not isinstance(v, str):
                    options[j] = v
            pad_i.append(_PAD_INDEX.get(opts.get("padding"), -1))
            act = opts.get("fused_activation_function")
            act_i.append(-1 if act is None else _ACT_INDEX.get(act, len(F.ACTIVATIONS) - 1))
        else:
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
    x = np.zeros((n, F.NODE_DIM), np.float32)
    totals = [0.0] * 4
    if n:
        raw = np.array(numeric, np.float64)
        w0 = 4 + len(F.NUMERIC_OPTIONS)
        totals = raw[:, w0 : w0 + 6].sum(0)[[0, 1, 2, 5]].tolist()
        num = np.log1p(np.abs(raw))
        x[:, F._SHAPE0 : F._SHAPE0 + 4] = num[:, :4]
        x[:, F._OPT0 : F._PAD0] = num[:, 4 : 4 + len(F.NUMERIC_OPTIONS)]
        x[:, F._WORK0 : F._KH + 2] = num[:, 4 + len(F.NUMERIC_OPTIONS) :]
        rows = np.arange(n)
        for base, idx in (
            (F._KIND0, kind_i),
            (F._DT0, dt_i),
            (F._WDT0, wdt_i),
            (F._PAD0, pad_i),
            (F._ACT0, act_i),
        ):
            idx_a = np.array(idx)
            keep = idx_a >= 0
            x[rows[keep], base + idx_a[keep]] = 1.0
    costs = [estimate(graph.layer_works(), a) for a in F.PRIOR_ACCELERATORS]
    m = len(costs[0].layers)
    if m:
        prior = [
            [(c.latency_ms * 1e3, c.energy_mj * 1e3, c.sram_kb, c.utilisation) for c in cost.layers]
            for cost in costs
        ]
        x[:m, F._PRIOR0 :] = np.log1p(np.concatenate(np.array(prior, np.float64), axis=1))
    edges = graph.edges()
    edge_index = np.array([(s, d) for s, d, _ in edges], np.int64).reshape(-1, 2).T
    edge_attr = np.zeros((len(edges), F.EDGE_DIM), np.float32)
    if edges:
        rows_e, sizes = [], []
        for _, d, t in edges:
            tensor = graph.subgraphs[ops[d].subgraph].tensors[t]
            sizes.append((tensor.nbytes, tensor.num_elements))
            rows_e.append(2 + _DTYPE_INDEX.get(tensor.dtype, other_dtype))
        edge_attr[:, :2] = np.log1p(np.array(sizes, np.float64))
        edge_attr[np.arange(len(edges)), rows_e] = 1.0
    g = np.zeros(F.GRAPH_DIM, np.float64)
    input_elems = sum(graph.main.tensors[i].num_elements for i in graph.main.inputs)
    g[: F._GPREC0] = np.log1p(
        [
            n,
            totals[0],
            totals[1],
            totals[2],
            sum(constants.values()),
            totals[3],
            input_elems,
            *(
                v
                for cost in costs
                for v in (cost.latency_ms * 1e3, cost.energy_mj * 1e3, cost.peak_sram_kb)
            ),
        ]
    )
    precision = classify_precision(graph)
    if precision in F.PRECISIONS:
        g[F._GPREC0 + F.PRECISIONS.index(precision)] = 1.0
    return x, np.array(op_type, np.int64), edge_index, edge_attr, g.astype(np.float32), precision


def _empty_graph() -> OpGraph:
    tensor = [[1, 4], None, "float32", 0, None, "x"]
    sg = {"name": "main", "inputs": [0], "outputs": [0], "tensors": [tensor], "ops": []}
    return OpGraph.from_dict({"format": 1, "sha256": "0" * 64, "subgraphs": [sg]})


def _hand_built_graph() -> OpGraph:
    """Options the reader never produces (a list value), a custom op, an omitted input."""
    tensors = [
        [[1, 4, 4, 8], None, "float32", 0, None, "x"],
        [[2], None, "int32", 1, None],
        [[1, 128], None, "float32", 0, None],
        [[1, 128], None, "float32", 0, None],
        [[1, 128], None, "float32", 0, None],
        [[1, 128], None, "float32", 0, None, "y"],
    ]
    ops = [
        ["RESHAPE", 0, [0, 1], [2], {"new_shape": [1, 128], "axis": 1}],
        ["RESHAPE", 0, [0, 1], [3], {"new_shape": [1, 128], "axis": 1}],
        ["ADD", 0, [2, 3], [4], {"fused_activation_function": "RELU6", "pot_scale_int16": True}],
        ["MyCustomOp", 1, [4, -1], [5], {}],
    ]
    sg = {"name": "main", "inputs": [0], "outputs": [5], "tensors": tensors, "ops": ops}
    return OpGraph.from_dict({"format": 1, "sha256": "1" * 64, "subgraphs": [sg]})


@pytest.fixture(scope="module")
def graphs() -> list[OpGraph]:
    """Every zoo model (control flow, custom ops...), toy, hand-built and empty graphs."""
    out = [read_model(zoo.model_path(name, precision)) for name, precision in zoo.all_cases()]
    out += [toy_graph([3, 8, 16], 16, "fp32", 1), toy_graph([3, 4], 8, "int8", 2)]
    return [*out, _hand_built_graph(), _empty_graph()]


def _assert_same(got: F.GraphFeatures, want: F.GraphFeatures, label: str) -> None:
    for name, a, b in zip(("x", "op_type", "edge_index", "edge_attr", "graph_attr"), got, want):
        assert a.dtype == b.dtype and a.shape == b.shape, (label, name, a.shape, b.shape)
        np.testing.assert_array_equal(a, b, err_msg=f"{label}: {name}")
    assert got[5] == want[5], label


def test_batch_features_equal_reference_bit_for_bit(graphs):
    fast = F.features_list(graphs)
    assert len(fast) == len(graphs)
    for g, got in zip(graphs, fast):
        _assert_same(got, _reference_arrays(g), f"{len(g.ops)}-op graph")


def test_single_graph_features_equal_reference(graphs):
    for g in graphs[::5]:
        _assert_same(F.graph_features(g), _reference_arrays(g), f"{len(g.ops)}-op graph")


def test_featurize_equals_collated_reference(graphs):
    fb = F.featurize(graphs)
    ref = F.collate([_reference_arrays(g) for g in graphs])
    for name in ("x", "op_type", "edge_index", "edge_attr", "batch", "graph_attr"):
        np.testing.assert_array_equal(getattr(fb, name), getattr(ref, name), err_msg=name)
    assert fb.precisions == ref.precisions


def test_predictions_match_the_reference_features(graphs, tmp_path):
    # The shipped checkpoint sees the same inputs, so it predicts the same values.
    p = Predictor.load(registry=tmp_path / "targets.json")
    ref = p.predict_array(graphs, [_reference_arrays(g) for g in graphs])
    np.testing.assert_allclose(p.predict_array(graphs), ref, rtol=1e-5)
