"""``edgeperf train``'s reading of the dataset store: graph labels and Vela's per-op cycles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.toy_graphs import toy_graph

from api.cli.train import load_training_data
from dataset.store import Store
from predictor.checkpoint import load_checkpoint


def _store(path: Path, vela_extra: dict) -> tuple[Store, int]:
    """fp32 + int8 twins of one toy architecture with CPU labels; the int8 one also gets an
    ``ethos-u55-128`` label whose ``extra`` is ``vela_extra``. Returns the store and the int8
    graph's op count."""
    s = Store(path)
    run = s.start_run("build", machine={}, tool_versions={}, args={})
    s.add_architecture("a0", "toy", 0, {})
    for i, precision in enumerate(("fp32", "int8")):
        g = toy_graph([3, 8, 16], 16, precision, seed=i)
        s.add_graphs("a0", [{"id": f"g{i}", "precision": precision, "size_bytes": 1,
                             "opgraph": g.to_dict(), "summary": {}}])  # fmt: skip
        s.add_label(graph_id=f"g{i}", target="cpu-xnnpack-1t", run_id=run, latency_ms=2.0 + i)
    s.add_label(graph_id="g1", target="ethos-u55-128", run_id=run, latency_ms=0.5, extra=vela_extra)
    return s, len(g.main.ops)


def _cycles(n_ops: int) -> list[int]:
    return [1000 * (k + 1) for k in range(n_ops)]


N_OPS = len(toy_graph([3, 8, 16], 16, "int8", seed=1).main.ops)


def test_per_op_cycles_become_per_op_latencies(tmp_path):
    s, n_ops = _store(tmp_path / "ds.sqlite", {"op_cycles": _cycles(N_OPS), "core_clock_hz": 5e8})
    data, digest = load_training_data(s)
    s.dispose()
    assert len(data.graphs) == 2 and data.labels[0]["cpu-xnnpack-1t"]["latency_ms"] == 2.0
    assert data.node_labels[0] == {}
    # 1000 cycles at 500 MHz = 2 us.
    assert data.node_labels[1]["ethos-u55-128"] == pytest.approx([0.002 * (k + 1) for k in range(n_ops)])
    assert len(digest) == 16


@pytest.mark.parametrize(
    "extra",
    [
        {"cycles_total": 10},  # labelled before per-op cycles were kept
        # a row no op could be matched to: the per-op values would be wrong
        {"op_cycles": _cycles(N_OPS), "op_cycles_unassigned": 5000, "core_clock_hz": 5e8},
    ],
)
def test_graphs_without_usable_per_op_cycles_give_no_node_labels(tmp_path, extra):
    s, _ = _store(tmp_path / "ds.sqlite", extra)
    data, _ = load_training_data(s)
    s.dispose()
    assert data.node_labels == []
    assert data.labels[1]["ethos-u55-128"]["latency_ms"] == 0.5


def test_train_then_evaluate_with_parallel_leave_space_out(tmp_path):
    """The two commands end to end on a real store: an ensemble checkpoint whose members trained
    in two processes, then a report whose leave-one-space-out runs (ensembles too) were trained in
    two processes."""
    import subprocess
    import sys

    from support.toy_graphs import toy_data

    data = toy_data(n_arch=16)
    s = Store(tmp_path / "ds.sqlite")
    run = s.start_run("build", machine={}, tool_versions={}, args={})
    for i, (g, lab, arch, space) in enumerate(
        zip(data.graphs, data.labels, data.arch_ids, data.spaces, strict=True)
    ):
        if i % 2 == 0:
            s.add_architecture(arch, space, i // 2, {})
        s.add_graphs(arch, [{"id": f"g{i}", "precision": "int8" if i % 2 else "fp32",
                             "size_bytes": 1, "opgraph": g.to_dict(), "summary": {}}])  # fmt: skip
        for target, metrics in lab.items():
            s.add_label(graph_id=f"g{i}", target=target, run_id=run, **metrics)
    s.dispose()
    root = Path(__file__).resolve().parents[2]
    db, ck, report = tmp_path / "ds.sqlite", tmp_path / "m.pt", tmp_path / "acc.md"

    def edgeperf(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "api.cli", *args], check=False, cwd=root,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    out = edgeperf("train", "--db", str(db), "--out", str(ck), "--epochs", "3", "--hidden", "16",
                   "--readout", "lse", "--members", "2", "--workers", "2", "--no-progress",
                   "--state-dir", str(tmp_path / "state"))  # fmt: skip
    assert "members' best epochs" in out
    # The members saved their state as they trained, and it went once the checkpoint was written.
    assert (tmp_path / "state").is_dir() and not list((tmp_path / "state").iterdir())
    _, meta = load_checkpoint(ck)
    assert meta["model"]["members"] == 2 and len(meta["member_best_epochs"]) == 2
    cache = tmp_path / "loso.jsonl"
    evaluate = ("evaluate", "--db", str(db), "--checkpoint", str(ck), "--out", str(report),
                "--leave-space-out", "--epochs", "2", "--workers", "2", "--loso-cache", str(cache))  # fmt: skip
    out = edgeperf(*evaluate)
    assert "leave out small: train" in out and "leave out wide: train" in out
    text = report.read_text()
    section = text[text.index("## Leave one search space out") :]
    assert "small" in section and "wide" in section
    assert "at most 2 epochs, 2 members" in section
    # Each finished run was kept: the same evaluate again retrains none and writes the same scores.
    assert sorted(json.loads(line)["space"] for line in cache.read_text().splitlines()) == ["small", "wide"]
    out = edgeperf(*evaluate)
    assert "leave out small: scores reused" in out and "leave out wide: scores reused" in out
    again = report.read_text()
    assert again[again.index("## Leave one search space out") :] == section
    # Retrained here, one run after the other, the runs score the same as in the workers.
    edgeperf("evaluate", "--db", str(db), "--checkpoint", str(ck), "--out", str(report),
             "--leave-space-out", "--epochs", "2", "--workers", "1", "--fresh",
             "--loso-cache", str(tmp_path / "loso-here.jsonl"))  # fmt: skip
    here = report.read_text()
    assert here[here.index("## Leave one search space out") :] == section
    # Another model choice (epochs) is not the cached one: it retrains.
    out = edgeperf("evaluate", "--db", str(db), "--checkpoint", str(ck), "--out", str(report),
                   "--leave-space-out", "--epochs", "1", "--loso-cache", str(cache))  # fmt: skip
    assert "leave out small: train" in out and "at most 1 epochs" in report.read_text()
    # Without --leave-space-out the report says it was not run rather than dropping the section.
    edgeperf("evaluate", "--db", str(db), "--checkpoint", str(ck), "--out", str(report))
    section = report.read_text().split("## Leave one search space out", 1)[1]
    assert "Not run for this report" in section and "held out:" not in section
