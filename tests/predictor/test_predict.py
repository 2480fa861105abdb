"""The Predictor: the shipped checkpoint loads, answers every target, nulls carry notes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.toy_graphs import toy_graph

from predictor.checkpoint import DEFAULT_CHECKPOINT
from predictor.errors import UnknownTargetError
from predictor.predict import Predictor
from predictor.targets import METRICS, TARGETS, get_target, load_targets


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    # An empty registry, so a user's calibrated targets never leak into the test.
    return Predictor.load(registry=tmp_path_factory.mktemp("reg") / "targets.json")


def test_shipped_checkpoint_is_small_and_documented():
    assert DEFAULT_CHECKPOINT.is_file()
    assert DEFAULT_CHECKPOINT.stat().st_size <= 20 * 1024 * 1024


def test_default_load_carries_provenance(predictor):
    meta = predictor.meta
    for key in ("schema", "targets", "dataset_hash", "command", "seed", "weights_sha256"):
        assert key in meta
    assert meta["command"].startswith("edgeperf train")
    assert set(meta["targets"]) <= set(TARGETS)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_mobilenet_predictions_positive_with_notes(predictor, zoo_model, precision):
    [report] = predictor.predict_files([zoo_model("mobilenet_v2", precision)])
    assert report["model"]["precision"] == precision and report["model"]["macs"] > 0
    rows = {p["target"]: p for p in report["predictions"]}
    assert list(rows) == list(TARGETS)
    for name, p in rows.items():
        target = TARGETS[name]
        for m in METRICS:
            v = p[m]
            if target.null_note(m, precision) is None:
                assert v is not None and math.isfinite(v) and v > 0, (name, m, v)
            else:
                assert v is None and p["note"], (name, m)
    cpu = rows["cpu-xnnpack-1t"]
    assert cpu["energy_mj"] is None and "not measurable" in cpu["note"]
    ethos = rows["ethos-u55-128"]
    if precision == "fp32":
        assert ethos["latency_ms"] is None and ethos["source"] is None
        assert "Ethos-U runs int8 models only" in ethos["note"]
    else:
        assert ethos["latency_ms"] > 0 and ethos["source"] == "gnn"
    assert rows["npu-int8"]["source"] == "hwmodels"


def test_batch_equals_one_by_one(predictor):
    graphs = [
        toy_graph([3, 8, 16], 16, "fp32", 1),
        toy_graph([3, 12], 24, "int8", 2),
        toy_graph([3, 4], 8, "fp32", 3),
    ]
    together = predictor.predict_array(graphs)
    apart = np.concatenate([predictor.predict_array([g]) for g in graphs])
    np.testing.assert_allclose(together, apart, rtol=1e-5)
    assert together.shape == (3, len(predictor.trained_targets), len(METRICS))


def test_gnn_mode_answers_analytic_targets_with_the_gnn(predictor):
    fast = Predictor(predictor.model, predictor.meta, analytic="gnn")
    [row] = fast.predict([toy_graph([3, 8, 16], 16, "int8", 1)], ["npu-int8"])
    assert row[0]["source"] == "gnn" and row[0]["latency_ms"] > 0


def test_extrapolated_precision_is_noted(predictor, zoo_model):
    [report] = predictor.predict_files([zoo_model("mobilenet_v2", "fp16")], ["cpu-xnnpack-1t"])
    p = report["predictions"][0]
    assert report["model"]["precision"] == "fp16"
    assert p["latency_ms"] > 0 and "extrapolated" in p["note"]


def test_target_subset_and_unknown(predictor):
    g = toy_graph([3, 8], 16, "int8", 1)
    [row] = predictor.predict([g], ["ethos-u65-256"])
    assert [p["target"] for p in row] == ["ethos-u65-256"]
    with pytest.raises(UnknownTargetError, match="unknown target 'tpu-v9'; expected one of"):
        predictor.predict([g], ["tpu-v9"])


def test_registry_matches_dataset_names():
    from dataset.targets import all_targets

    assert set(TARGETS) == set(all_targets())
    assert get_target("ethos-u55-128").precisions == ("int8",)


def test_bad_registry_rows(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(
        '[targets.x]\nlabels = "guessed"\nmetrics = ["latency_ms"]\nprecisions = ["int8"]\n'
    )
    with pytest.raises(UnknownTargetError, match="labels 'guessed'; expected one of"):
        load_targets(path)
    path.write_text('[targets.x]\nlabels = "vela"\nmetrics = ["speed"]\nprecisions = ["int8"]\n')
    with pytest.raises(UnknownTargetError, match="unknown metrics \\['speed'\\]"):
        load_targets(path)


def test_bad_analytic_mode(predictor):
    with pytest.raises(ValueError, match="analytic must be 'direct' or 'gnn'"):
        Predictor(predictor.model, predictor.meta, analytic="exact")


def test_precomputed_features_and_graphs_give_the_same_outputs(predictor):
    graphs = [toy_graph([3, 8, 16], 16, "fp32", 1), toy_graph([3, 4], 8, "int8", 2)]
    direct = predictor.predict_array(graphs)
    np.testing.assert_array_equal(
        direct, predictor.predict_array(graphs, predictor.features(graphs))
    )
    np.testing.assert_array_equal(direct, predictor.predict_array(iter(graphs)))
    assert predictor.predict_array([]).shape == (0, len(predictor.trained_targets), len(METRICS))
    assert predictor.predict([]) == []


def test_threads_change_speed_not_values(predictor):
    import torch

    from predictor.train import PARALLEL_MIN_NODES

    n_ops = len(toy_graph([3, 8, 16, 16], 16, "fp32", 0).ops)
    graphs = [
        toy_graph([3, 8, 16, 16], 16, "fp32", s) for s in range(PARALLEL_MIN_NODES // n_ops + 1)
    ]
    before = torch.get_num_threads()
    try:
        one = predictor.predict_array(graphs)
        two = Predictor(predictor.model, predictor.meta, threads=2).predict_array(graphs)
        assert torch.get_num_threads() == 2  # left as asked, as before
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose(two, one, rtol=1e-5)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_direct_analytic_targets_equal_hwmodels_estimate(predictor, zoo_model, precision):
    from hwmodels.accelerator import estimate
    from predictor.reader import read_model

    graph = read_model(zoo_model("mobilenet_v2", precision))
    analytic = [t for t in TARGETS.values() if t.labels == "analytic"]
    assert analytic
    [row] = predictor.predict([graph], [t.name for t in analytic])
    works = graph.layer_works()
    for t, entry in zip(analytic, row, strict=True):
        cost = estimate(works, t.accelerator)
        assert entry["source"] == "hwmodels"
        expected = {
            "latency_ms": cost.latency_ms,
            "energy_mj": cost.energy_mj,
            "memory_kb": cost.peak_sram_kb,
            "storage_kb": cost.weight_kb,
        }
        for m, v in expected.items():
            if t.null_note(m, precision) is None:
                assert entry[m] == pytest.approx(v, rel=1e-12, abs=0), (t.name, m)
            else:
                assert entry[m] is None, (t.name, m)


def test_unknown_forward_dtype_is_refused(predictor):
    with pytest.raises(ValueError, match=r"dtype must be one of \('float32', 'bfloat16'\)"):
        Predictor(predictor.model, predictor.meta, dtype="float16")


def test_bfloat16_refused_where_the_cpu_lacks_it(predictor, monkeypatch):
    import torch

    # The capability probe answers for the CPU; here it is made to say "none".
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    with pytest.raises(ValueError, match="needs a CPU with native bfloat16"):
        Predictor(predictor.model, predictor.meta, dtype="bfloat16")


def test_bfloat16_forward_stays_close_to_float32(predictor, zoo_model):
    import torch

    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        pytest.skip("this CPU has no native bfloat16")
    from predictor.reader import read_model

    graphs = [
        read_model(zoo_model("mobilenet_v2", "int8")),
        read_model(zoo_model("ds_cnn", "int8")),
    ]
    graphs += [toy_graph([3, 8, 16], 16, "int8", s) for s in range(8)]
    exact = np.log(predictor.predict_array(graphs))
    fast = Predictor(predictor.model, predictor.meta, dtype="bfloat16")
    approx = np.log(fast.predict_array(graphs))
    gap = np.abs(approx - exact)
    # Readout and heads stay float32: the body's rounding moves a prediction by tenths of a per
    # cent (docs/predictor.md: +0.01-0.03 points of test MAPE), yet it does move them.
    assert gap.mean() < 0.005 and gap.max() < 0.1
    assert gap.max() > 0
    # The float32 default is untouched by the option's existence.
    np.testing.assert_array_equal(np.log(predictor.predict_array(graphs)), exact)
