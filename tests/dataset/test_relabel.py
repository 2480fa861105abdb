"""Relabelling: hwmodels-derived labels follow the hardware model; measured ones are untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from support.toy_graphs import toy_graph

from dataset.relabel import relabel_derived
from dataset.store import Label, Store
from dataset.targets import CPU_TARGET, ETHOSU_CONFIGS
from dataset.tasks import _analytic_label
from dataset.vela import ethosu_energy
from hwmodels import fingerprint

ROOT = Path(__file__).resolve().parents[2]
COUNTERS = {"macs": 2_000_000, "sram_bytes": 3.0e6, "offchip_bytes": 5.0e5,
            "offchip_kind": "flash", "cycles_total": 1.5e6, "core_clock_hz": 5.0e8}  # fmt: skip


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "ds.sqlite")
    run = s.start_run("build", machine={}, tool_versions={}, args={})
    graph = toy_graph([3, 8, 16], 16, "int8", 1)
    s.add_architecture("a0", "toy", 0, {})
    s.add_graphs("a0", [{"id": "g0", "precision": "int8", "size_bytes": 1,
                         "opgraph": graph.to_dict(), "summary": {}}])  # fmt: skip
    stale = {"hwmodels": "0000000000000000"}
    s.add_label(graph_id="g0", target="npu-int8", run_id=run, latency_ms=9.0, energy_mj=9.0,
                memory_kb=9.0, storage_kb=9.0, tool_versions=stale)  # fmt: skip
    s.add_label(graph_id="g0", target="ethos-u55-128", run_id=run, latency_ms=3.0,
                energy_mj=123.0, memory_kb=4.0, storage_kb=5.0,
                extra={**COUNTERS, "energy_breakdown_mj": {}}, tool_versions=stale)  # fmt: skip
    s.add_label(graph_id="g0", target="ethos-u65-256", run_id=run, null_reason="refused",
                tool_versions={})  # fmt: skip
    s.add_label(graph_id="g0", target=CPU_TARGET, run_id=run, latency_ms=7.0, memory_kb=1.0)
    yield s
    s.dispose()


def _labels(store: Store) -> dict[str, Label]:
    with store.session() as sess:
        return {lab.target: lab for lab in sess.scalars(select(Label))}


def test_relabel_recomputes_derived_labels_only(store):
    counts = relabel_derived(store, progress=False)
    assert counts == {"analytic": 1, "ethosu_energy": 1, "stamped": 1, "up_to_date": 0}
    labs = _labels(store)
    fresh = _analytic_label(store.opgraph("g0"), "npu-int8")
    assert labs["npu-int8"].latency_ms == pytest.approx(fresh["latency_ms"])
    assert labs["npu-int8"].energy_mj == pytest.approx(fresh["energy_mj"])
    energy_mj, parts = ethosu_energy(ETHOSU_CONFIGS["ethos-u55-128"].accelerator, COUNTERS)
    u55 = labs["ethos-u55-128"]
    assert u55.energy_mj == pytest.approx(energy_mj) and u55.energy_mj != 123.0
    assert u55.extra["energy_breakdown_mj"] == pytest.approx(parts)
    assert (u55.latency_ms, u55.memory_kb, u55.storage_kb) == (3.0, 4.0, 5.0)  # Vela's own
    assert labs["ethos-u65-256"].null_reason == "refused"
    assert labs[CPU_TARGET].latency_ms == 7.0 and "hwmodels" not in labs[CPU_TARGET].tool_versions
    for target in ("npu-int8", "ethos-u55-128", "ethos-u65-256"):
        assert labs[target].tool_versions["hwmodels"] == fingerprint()
    # A second run finds nothing stale.
    again = relabel_derived(store, progress=False)
    assert again == {"analytic": 0, "ethosu_energy": 0, "stamped": 0, "up_to_date": 3}


def test_relabel_command(store, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "dataset", "relabel", "--db",
         str(tmp_path / "ds.sqlite"), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["analytic"] == 1


def test_vela_per_op_rebuilds_pruned_models_and_keeps_totals(tmp_path):
    from dataset.relabel import add_vela_per_op
    from dataset.spaces import arch_id, sample_spec
    from dataset.targets import VELA_TARGETS
    from dataset.tasks import convert_task, static_task

    spec = sample_spec("keyword_spotting", 3)
    graphs = convert_task(spec)["graphs"]
    int8 = next(g for g in graphs if g["precision"] == "int8")
    fresh = {lab["target"]: lab for lab in static_task(int8["tflite"], "int8", {}, VELA_TARGETS)}
    assert all("op_cycles" in lab["extra"] for lab in fresh.values())
    s = Store(tmp_path / "ds.sqlite")
    run = s.start_run("build", machine={}, tool_versions={}, args={})
    aid = arch_id(spec)
    s.add_architecture(aid, spec["space"], 3, spec)
    s.add_graphs(aid, [{k: v for k, v in g.items() if k != "tflite"} for g in graphs])
    # A second architecture whose stored graph id no rebuild reproduces.
    s.add_architecture("bogus", spec["space"], 4, spec)
    s.add_graphs("bogus", [{"id": "0" * 64, "precision": "int8", "size_bytes": 1,
                            "opgraph": {}, "summary": {}}])  # fmt: skip
    # A third, converted on another CPU: other bytes, scales off in their last bits.
    s.add_architecture("near", spec["space"], 5, spec)
    s.add_graphs("near", [{"id": "1" * 64, "precision": "int8", "size_bytes": 1,
                           "opgraph": _nudge_scales(int8["opgraph"]), "summary": {}}])  # fmt: skip
    for target, lab in fresh.items():
        old = {k: v for k, v in lab["extra"].items() if not k.startswith("op_cycles")}
        if target == "ethos-u85-512":
            old["cycles_total"] += 1  # a label Vela no longer reproduces keeps what it has
        for gid in (int8["id"], "0" * 64, "1" * 64):
            s.add_label(graph_id=gid, target=target, run_id=run, latency_ms=lab["latency_ms"],
                        memory_kb=lab["memory_kb"], extra=old)  # fmt: skip
    # No .tflite in the cache: the graph is rebuilt from its spec and checked by its sha256.
    counts = add_vela_per_op(s, tmp_path / "empty-cache", workers=1, progress=False)
    assert counts == {"graphs": 2, "labels": 4, "mismatch": 2, "no_layers": 0, "failed": 1,
                      "equivalent": 1}  # fmt: skip
    with s.session() as sess:
        stored = {(lab.graph_id, lab.target): lab.extra for lab in sess.scalars(select(Label))}
    for target in VELA_TARGETS:
        for gid, how in ((int8["id"], "exact"), ("1" * 64, "equivalent")):
            extra = stored[(gid, target)]
            if target == "ethos-u85-512":
                assert "op_cycles" not in extra
            else:
                assert extra["op_cycles"] == fresh[target]["extra"]["op_cycles"]
                assert extra["cycles_total"] == fresh[target]["extra"]["cycles_total"]
                assert extra["op_cycles_rebuild"] == how
        assert "op_cycles" not in stored[("0" * 64, target)]
    # Resumable: what is done is not done again.
    again = add_vela_per_op(s, tmp_path / "empty-cache", workers=1, progress=False)
    assert again["labels"] == 0 and again["graphs"] == 2  # only the U85 mismatches are retried
    s.dispose()


def _nudge_scales(opgraph: dict) -> dict:
    """``opgraph`` with every quantisation scale moved by 3e-7 relative (float rounding)."""
    out = json.loads(json.dumps(opgraph))
    for sub in out["subgraphs"]:
        for tensor in sub["tensors"]:
            quant = tensor[4]
            if quant and isinstance(quant[0], float):
                quant[0] *= 1 + 3e-7
    return out


def test_equivalent_opgraphs_allows_float_rounding_only():
    from dataset.tasks import equivalent_opgraphs

    graph = toy_graph([3, 8, 16], 16, "int8", 1).to_dict()
    assert equivalent_opgraphs(_nudge_scales(graph), graph)
    assert equivalent_opgraphs({**graph, "sha256": "other"}, graph)
    wider = json.loads(json.dumps(graph))
    wider["subgraphs"][0]["tensors"][0][0][-1] += 1  # one shape dimension
    assert not equivalent_opgraphs(wider, graph)
    far = json.loads(json.dumps(graph))
    for tensor in far["subgraphs"][0]["tensors"]:
        if tensor[4] and isinstance(tensor[4][0], float):
            tensor[4][0] *= 1.01
    assert not equivalent_opgraphs(far, graph)
    assert not equivalent_opgraphs(graph, {k: v for k, v in graph.items() if k != "subgraphs"})
