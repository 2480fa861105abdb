"""Feature building: shapes, finiteness, batching offsets and the versioned schema."""

from __future__ import annotations

import numpy as np
import pytest
from support.toy_graphs import toy_graph

from predictor import features as F
from predictor.reader import read_model


def test_single_graph_shapes_and_values():
    g = toy_graph([3, 8, 16], 16, "fp32", seed=1)
    fb = F.featurize([g])
    n = len(g.ops)
    assert fb.x.shape == (n, F.NODE_DIM)
    assert fb.op_type.tolist() == [F.OP_TYPES.index(op.op_type) for op in g.ops]
    assert fb.edge_index.shape == (2, len(g.edges()))
    assert fb.edge_attr.shape == (len(g.edges()), F.EDGE_DIM)
    assert fb.graph_attr.shape == (1, F.GRAPH_DIM)
    assert np.isfinite(fb.x).all() and np.isfinite(fb.edge_attr).all()
    # MACs are log1p-scaled in their column; the conv carries a positive analytic prior.
    macs_col = F._WORK0 + F.WORK_FIELDS.index("macs")
    assert fb.x[0, macs_col] == pytest.approx(np.log1p(g.ops[0].macs), rel=1e-6)
    assert fb.x[0, F._PRIOR0] > 0
    assert fb.precisions == ["fp32"]


def test_int8_twin_differs_in_dtype_columns():
    a = F.featurize([toy_graph([3, 8], 16, "fp32", 1)])
    b = F.featurize([toy_graph([3, 8], 16, "int8", 1)])
    f32, i8 = F._DT0 + F.DTYPES.index("float32"), F._DT0 + F.DTYPES.index("int8")
    assert a.x[0, f32] == 1 and a.x[0, i8] == 0
    assert b.x[0, i8] == 1 and b.x[0, f32] == 0
    assert b.precisions == ["int8"]


def test_batch_offsets_edges_and_assigns_nodes():
    g1, g2 = toy_graph([3, 8, 8], 16, "fp32", 1), toy_graph([3, 4], 8, "int8", 2)
    fb = F.featurize([g1, g2])
    n1 = len(g1.ops)
    assert fb.num_graphs == 2
    assert fb.batch.tolist() == [0] * n1 + [1] * len(g2.ops)
    e1 = len(g1.edges())
    assert fb.edge_index[:, e1:].min() >= n1  # second graph's edges point into its own nodes
    np.testing.assert_array_equal(fb.x[:n1], F.featurize([g1]).x)


def test_empty_batch():
    fb = F.featurize([])
    assert fb.num_graphs == 0 and fb.x.shape == (0, F.NODE_DIM)


def test_real_model_features(mobilenet_v2_int8):
    g = read_model(mobilenet_v2_int8)
    fb = F.featurize([g])
    assert fb.x.shape[0] == len(g.ops) > 60
    assert np.isfinite(fb.x).all()
    assert (fb.op_type > 0).all()  # every MobileNetV2 op is a known builtin


def test_schema_is_versioned_and_hash_stable():
    s = F.schema()
    assert s["version"] == F.SCHEMA_VERSION
    assert s["node_dim"] == F.NODE_DIM
    assert F.schema_hash() == F.schema_hash()
    assert len(F.schema_hash()) == 16


def test_split_and_collate_round_trip():
    graphs = [toy_graph([3, 8, 8], 16, "fp32", 1), toy_graph([3, 4], 8, "int8", 2)]
    fb = F.featurize(graphs)
    parts = F.split(fb)
    assert [len(p[0]) for p in parts] == [len(g.ops) for g in graphs]
    assert all(p[2].min() >= 0 and p[2].max() < len(p[0]) for p in parts)  # own node indices
    back = F.collate(parts)
    for name in ("x", "op_type", "edge_index", "edge_attr", "batch", "graph_attr"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fb, name), err_msg=name)
    assert back.precisions == fb.precisions == ["fp32", "int8"]
