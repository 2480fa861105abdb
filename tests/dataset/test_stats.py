"""Dataset statistics, the noise floor, the data card and the ``edgeperf dataset`` commands."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from dataset.card import write_card
from dataset.stats import dataset_stats, noise_floor_mape, noise_pairs
from dataset.store import Store

ROOT = Path(__file__).resolve().parents[2]
FIRST = [1.0, 2.0, 4.0, 0.5]
SECOND = [1.1, 1.9, 4.0, 0.45]


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "ds.sqlite")
    build = s.start_run("build", machine={"cpu_model": "cpu A"}, tool_versions={},
                        args={"spaces": ["all"], "n": 4, "workers": 2, "seed": 0, "anchors": 1,
                              "noise_n": 3})  # fmt: skip
    for i, latency in enumerate(FIRST):
        s.add_architecture(f"a{i}", "toy" if i < 3 else "kws", i, {"i": i}, anchor=i == 0)
        s.add_graphs(f"a{i}", [{"id": f"g{i}", "precision": "int8" if i % 2 else "fp32",
                                "size_bytes": 10, "opgraph": {}, "summary": {}}])  # fmt: skip
        s.add_label(graph_id=f"g{i}", target="cpu-xnnpack-1t", run_id=build, latency_ms=latency)
        s.add_label(graph_id=f"g{i}", target="ethos-u55-128", run_id=build,
                    latency_ms=latency / 10 if i % 2 else None,
                    null_reason=None if i % 2 else "Ethos-U runs int8 models only; got fp32",
                    extra={"op_cycles": [5, 7]} if i == 1 else {})  # fmt: skip
    s.add_architecture("a9", "kws", 9, {"i": 9})
    s.set_convert_error("a9", "ConversionError: no")
    s.record_phase(build, "convert", 4, 10.0)
    s.record_phase(build, "measure", 8, 26.0)
    s.finish_run(build)
    noise = s.start_run("noise", machine={"cpu_model": "cpu A"}, tool_versions={}, args={})
    for i, latency in enumerate(SECOND):
        s.add_label(graph_id=f"g{i}", target="cpu-xnnpack-1t", run_id=noise, latency_ms=latency)
    yield s
    s.dispose()


def test_noise_floor_is_mape_between_passes(store):
    expected = 100 * sum(abs(b - a) / a for a, b in zip(FIRST, SECOND, strict=True)) / len(FIRST)
    assert noise_floor_mape(store) == pytest.approx(expected)
    assert [p[1:] for p in noise_pairs(store)] == list(zip(FIRST, SECOND, strict=True))


def test_no_noise_pass_means_no_floor(tmp_path):
    s = Store(tmp_path / "empty.sqlite")
    assert noise_floor_mape(s) is None
    assert dataset_stats(s)["graphs"] == 0
    s.dispose()


def test_stats_counts(store):
    st = dataset_stats(store)
    assert {"graphs", "architectures", "spaces", "targets", "noise_floor_mape"} <= set(st)
    assert st["graphs"] == 4 and st["architectures"] == 5
    assert st["spaces"]["toy"] == {
        "architectures": 3, "anchors": 1, "convert_failed": 0, "graphs": {"fp32": 2, "int8": 1}
    }  # fmt: skip
    assert st["spaces"]["kws"]["convert_failed"] == 1
    cpu, u55 = st["targets"]["cpu-xnnpack-1t"], st["targets"]["ethos-u55-128"]
    assert cpu == {"labels": 8, "valued": 8, "null": 0}
    assert (u55["valued"], u55["null"]) == (2, 2)
    assert sum(u55["null_reasons"].values()) == 2
    assert st["runs"] == {"build": 1, "noise": 1}


def test_card_is_generated_from_the_data(store, tmp_path):
    md = write_card(store, tmp_path / "docs" / "dataset.md")
    text = md.read_text()
    st = dataset_stats(store)
    assert f"architectures: **{st['architectures']}**" in text
    assert f"**{st['noise_floor_mape']:.2f}%**" in text
    pngs = sorted((tmp_path / "docs" / "img").glob("*.png"))
    assert [p.name for p in pngs] == [
        "dataset-latency-cpu-xnnpack-1t.png", "dataset-latency-ethos-u55-128.png"
    ]  # fmt: skip
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert "](img/dataset-latency-cpu-xnnpack-1t.png)" in text
    # 4 architectures with graphs over 36 s of build phases.
    assert "**400.0 architectures/hour**" in text
    assert "edgeperf dataset build --spaces all --n 4 --workers 2 --seed 0 --anchors 1" in text
    assert "per-node targets: 1 of 2 Vela labels have them" in text


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "dataset", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip


def test_cli_stats_json(store):
    out = _cli("stats", "--json", "--db", store.url)
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    assert st == json.loads(json.dumps(dataset_stats(store)))


def test_cli_export_and_import(store, tmp_path):
    path = tmp_path / "e.jsonl.xz"
    out = _cli("export", "--db", store.url, "--out", str(path))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"]["labels"] == 12
    out = _cli("import", str(path), "--db", str(tmp_path / "copy.sqlite"))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"]["graphs"] == 4


def test_cli_export_adds_parts_to_a_directory(store, tmp_path):
    directory = tmp_path / "export"
    out = _cli("export", "--db", store.url, "--out", str(directory))
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert first["path"] == str(directory / "part-0000.jsonl.xz") and first["rows"]["graphs"] == 4
    out = _cli("export", "--db", store.url, "--out", str(directory))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"path": None, "bytes": 0, "rows": dict.fromkeys(first["rows"], 0)}
    out = _cli("import", str(directory), "--db", str(tmp_path / "copy.sqlite"))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == first["rows"]


def test_cli_build_rejects_unknown_phase(tmp_path):
    out = _cli("build", "--phase", "bake", "--db", str(tmp_path / "x.sqlite"), "--no-progress")
    assert out.returncode == 2
    assert "unknown phase(s) ['bake']" in out.stderr


def test_rebuild_command_ignores_an_interrupted_bigger_run(store):
    from dataset.card import rebuild_command

    store.start_run("build", machine={}, tool_versions={}, args={"n": 99, "workers": 1})
    cmd = rebuild_command(store)
    assert "--n 4 " in cmd and "--n 99" not in cmd


def test_cpu_labels_of_another_machine_are_counted_apart_and_reconciled_by_anchors(store, tmp_path):
    from sqlalchemy import select
    from support.toy_graphs import toy_graph

    from api.cli.train import load_training_data
    from dataset.stats import anchor_ratios, measuring_machines, reference_machine
    from dataset.store import Graph

    with store.session() as sess:  # the reader needs real graphs
        for g in sess.scalars(select(Graph)):
            g.opgraph = toy_graph([3, 8], 16, g.precision, 1).to_dict()
    before, digest = load_training_data(store)
    other = store.start_run("build", machine={"cpu_model": "cpu B"}, tool_versions={}, args={})
    # The anchor g0 measured on both machines (B 40 % faster); g3 only on B.
    store.add_label(graph_id="g0", target="cpu-xnnpack-1t", run_id=other, latency_ms=0.6,
                    machine={"cpu_model": "cpu B"})  # fmt: skip
    store.add_label(graph_id="g3", target="cpu-xnnpack-1t", run_id=other, latency_ms=9.0,
                    machine={"cpu_model": "cpu B"})  # fmt: skip
    assert measuring_machines(store) == {"cpu A": 4, "cpu B": 2}
    assert reference_machine(store) == "cpu A"
    ratios = anchor_ratios(store)
    assert list(ratios) == ["cpu B"] and ratios["cpu B"]["anchors"] == 1
    assert ratios["cpu B"]["median_ratio"] == pytest.approx(0.6)
    stats = dataset_stats(store)
    assert stats["cpu_reference_machine"] == "cpu A" and stats["cpu_machines"]["cpu B"] == 2
    # Training sees the reference machine's labels only: nothing about it changed.
    after, digest_after = load_training_data(store)
    assert digest_after == digest and after.labels == before.labels
    assert [lab["cpu-xnnpack-1t"]["latency_ms"] for lab in after.labels] == FIRST
    # Outnumbered by the second machine, the first stays the reference: the target keeps its device.
    later = store.start_run("build", machine={"cpu_model": "cpu B"}, tool_versions={}, args={})
    for gid in ("g0", "g1", "g2", "g3"):
        store.add_label(graph_id=gid, target="cpu-xnnpack-1t", run_id=later, latency_ms=2.0,
                        machine={"cpu_model": "cpu B"})  # fmt: skip
    assert measuring_machines(store) == {"cpu B": 6, "cpu A": 4}
    assert reference_machine(store) == "cpu A" and dataset_stats(store)["cpu_reference_machine"] == "cpu A"
    assert load_training_data(store)[1] == digest
    # The card's latency histograms and medians are the reference machine's too.
    from dataset.card import latencies

    cpu = sorted(v for (t, _), vs in latencies(store).items() if t == "cpu-xnnpack-1t" for v in vs)
    assert cpu == sorted(FIRST)


def test_a_run_of_the_same_cpu_name_whose_anchors_disagree_is_another_device(store):
    """Cloud VMs report one CPU name for different hosts: the anchors, not the name, decide."""
    from sqlalchemy import select
    from support.toy_graphs import toy_graph

    from api.cli.train import load_training_data
    from dataset.stats import ANCHOR_AGREEMENT, other_device_runs, reference_runs
    from dataset.store import Architecture, Graph

    with store.session() as sess:
        for g in sess.scalars(select(Graph)):
            g.opgraph = toy_graph([3, 8], 16, g.precision, 1).to_dict()
        sess.get(Architecture, "a1").anchor = True  # two anchors: g0 (1.0 ms) and g1 (2.0 ms)
    first = reference_runs(store)
    (build,) = first
    assert first[build] == 0.0
    # The same machine again: anchors within 3 %, new graph g5 labelled and kept.
    store.add_architecture("a5", "toy", 5, {"i": 5})
    store.add_graphs("a5", [{"id": "g5", "precision": "fp32", "size_bytes": 10,
                             "opgraph": toy_graph([3, 8], 16, "fp32", 1).to_dict(), "summary": {}}])  # fmt: skip
    same = store.start_run("build", machine={"cpu_model": "cpu A"}, tool_versions={}, args={})
    for gid, ms in (("g0", 1.03), ("g1", 1.96), ("g5", 3.0)):
        store.add_label(graph_id=gid, target="cpu-xnnpack-1t", run_id=same, latency_ms=ms)
    # Another host under the same name: one anchor as fast, the other 2.5x faster (median 0.46).
    store.add_architecture("a6", "toy", 6, {"i": 6})
    store.add_graphs("a6", [{"id": "g6", "precision": "fp32", "size_bytes": 10,
                             "opgraph": toy_graph([3, 8], 16, "fp32", 1).to_dict(), "summary": {}}])  # fmt: skip
    other = store.start_run("build", machine={"cpu_model": "cpu A"}, tool_versions={}, args={})
    for gid, ms in (("g0", 1.0), ("g1", 0.8), ("g6", 5.0)):
        store.add_label(graph_id=gid, target="cpu-xnnpack-1t", run_id=other, latency_ms=ms)
    runs = reference_runs(store)
    assert set(runs) == {build, same} and runs[same] == pytest.approx(0.0250, abs=1e-3)
    assert runs[same] <= ANCHOR_AGREEMENT
    assert other_device_runs(store) == {
        other: {"labels": 3, "anchor_disagreement": pytest.approx(abs(math.log(0.4)) / 2)}
    }
    data, _ = load_training_data(store)
    cpu = {g: lab.get("cpu-xnnpack-1t") for g, lab in zip(["g0", "g1", "g2", "g3", "g5", "g6"], data.labels)}
    assert cpu["g5"]["latency_ms"] == 3.0  # the same device's new graph trains the target
    assert cpu["g6"] is None  # the other host's does not
