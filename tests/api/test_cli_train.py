"""``edgeperf train``'s reading of the dataset store: graph labels and Vela's per-op cycles."""

from __future__ import annotations

import pytest
from support.toy_graphs import toy_graph

from api.cli.train import load_training_data
from dataset.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ds.sqlite")
    run = s.start_run("build", machine={}, tool_versions={}, args={})
    s.add_architecture("a0", "toy", 0, {})
    for i, precision in enumerate(("fp32", "int8")):
        g = toy_graph([3, 8, 16], 16, precision, seed=i)
        s.add_graphs("a0", [{"id": f"g{i}", "precision": precision, "size_bytes": 1,
                             "opgraph": g.to_dict(), "summary": {}}])  # fmt: skip
        s.add_label(graph_id=f"g{i}", target="cpu-xnnpack-1t", run_id=run, latency_ms=2.0 + i)
    n_ops = len(toy_graph([3, 8, 16], 16, "int8", seed=1).main.ops)
    s.add_label(graph_id="g1", target="ethos-u55-128", run_id=run, latency_ms=0.5,
                extra={"op_cycles": [1000 * (k + 1) for k in range(n_ops)], "core_clock_hz": 5e8})  # fmt: skip
    yield s, n_ops
    s.dispose()


def test_per_op_cycles_become_per_op_latencies(store):
    s, n_ops = store
    data, digest = load_training_data(s)
    assert len(data.graphs) == 2 and data.labels[0]["cpu-xnnpack-1t"]["latency_ms"] == 2.0
    assert data.node_labels[0] == {}
    # 1000 cycles at 500 MHz = 2 us.
    assert data.node_labels[1]["ethos-u55-128"] == pytest.approx([0.002 * (k + 1) for k in range(n_ops)])
    assert len(digest) == 16


def test_no_per_op_cycles_means_no_node_labels(tmp_path):
    s = Store(tmp_path / "plain.sqlite")
    run = s.start_run("build", machine={}, tool_versions={}, args={})
    s.add_architecture("a0", "toy", 0, {})
    g = toy_graph([3, 8], 16, "int8", seed=0)
    s.add_graphs("a0", [{"id": "g0", "precision": "int8", "size_bytes": 1, "opgraph": g.to_dict(),
                         "summary": {}}])  # fmt: skip
    s.add_label(graph_id="g0", target="ethos-u55-128", run_id=run, latency_ms=0.5,
                extra={"cycles_total": 10})  # fmt: skip
    data, _ = load_training_data(s)
    assert data.node_labels == []
    s.dispose()


def test_per_op_cycles_with_unassigned_rows_are_not_used(tmp_path):
    s = Store(tmp_path / "part.sqlite")
    run = s.start_run("build", machine={}, tool_versions={}, args={})
    s.add_architecture("a0", "toy", 0, {})
    g = toy_graph([3, 8], 16, "int8", seed=0)
    s.add_graphs("a0", [{"id": "g0", "precision": "int8", "size_bytes": 1, "opgraph": g.to_dict(),
                         "summary": {}}])  # fmt: skip
    n_ops = len(g.main.ops)
    s.add_label(graph_id="g0", target="ethos-u55-128", run_id=run, latency_ms=0.5,
                extra={"op_cycles": [100] * n_ops, "op_cycles_unassigned": 50,
                       "core_clock_hz": 5e8})  # fmt: skip
    data, _ = load_training_data(s)
    assert data.node_labels == []
    s.dispose()
