"""Ethos-U labels from the real Vela 5.2 compiler."""

from __future__ import annotations

import dataclasses

import pytest

from dataset.errors import VelaError
from dataset.targets import LABEL_TARGETS, LabelKind
from dataset.vela import VelaLayer, label_ethosu, op_cycles, run_vela
from predictor.reader import read_model

ETHOS = [name for name, t in LABEL_TARGETS.items() if t.kind is LabelKind.VELA]


@pytest.mark.parametrize("target", ETHOS)
def test_int8_model_gets_vela_numbers(tiny_tflite, target):
    config = LABEL_TARGETS[target].ethosu
    label = label_ethosu(tiny_tflite["int8"], "int8", config)
    assert label.null_reason is None
    assert label.latency_ms > 0 and label.energy_mj > 0 and label.memory_kb > 0
    assert label.storage_kb > 0  # weights live off-chip in every configured memory mode
    assert label.extra["cpu_ops"] == 0 and label.extra["npu_ops"] > 0
    assert label.extra["offchip_kind"] == config.offchip_kind
    parts = label.extra["energy_breakdown_mj"]
    assert sum(parts.values()) == pytest.approx(label.energy_mj)
    # Latency is Vela's inference_time, which is its cycles over its clock.
    cycles, clock = label.extra["cycles_total"], label.extra["core_clock_hz"]
    assert label.latency_ms == pytest.approx(1e3 * cycles / clock, rel=1e-3)


def test_bigger_npu_is_not_slower(tiny_tflite):
    latency = {
        t: label_ethosu(tiny_tflite["int8"], "int8", LABEL_TARGETS[t].ethosu).latency_ms
        for t in ("ethos-u55-128", "ethos-u85-512")
    }
    assert latency["ethos-u85-512"] <= latency["ethos-u55-128"]


@pytest.mark.parametrize("target", ETHOS)
def test_float_model_gets_null_with_reason(tiny_tflite, target):
    label = label_ethosu(tiny_tflite["fp32"], "fp32", LABEL_TARGETS[target].ethosu)
    assert (label.latency_ms, label.energy_mj, label.memory_kb, label.storage_kb) == (None,) * 4
    assert label.null_reason == "Ethos-U runs int8 models only; got a fp32 model"


def test_float_graph_called_int8_falls_back_to_cpu_and_gets_null(tiny_tflite):
    label = label_ethosu(tiny_tflite["fp32"], "int8", LABEL_TARGETS["ethos-u55-128"].ethosu)
    assert label.latency_ms is None
    assert "fall back to the CPU" in label.null_reason
    assert label.extra["cpu_ops"] > 0


def test_report_counts_ops_and_traffic(tiny_tflite):
    report = run_vela(tiny_tflite["int8"], LABEL_TARGETS["ethos-u65-256"].ethosu)
    assert report.npu_ops > 0 and report.cpu_ops == 0
    assert report.sram_bytes > 0 and report.offchip_bytes > 0
    assert report.macs > 0
    assert report.csv["accelerator_configuration"] == "Ethos_U65_256"


def test_missing_model_is_a_vela_error(tmp_path):
    with pytest.raises(VelaError, match="expected an existing .tflite"):
        run_vela(tmp_path / "absent.tflite", LABEL_TARGETS["ethos-u55-128"].ethosu)


def test_unknown_system_config_is_refused(tiny_tflite):
    bad = dataclasses.replace(LABEL_TARGETS["ethos-u55-128"].ethosu, system_config="No_Such_System")
    with pytest.raises(VelaError, match="Vela refused tiny_int8.tflite for ethos-u55-128"):
        run_vela(tiny_tflite["int8"], bad)


def test_refused_model_label_is_null_with_the_reason(tmp_path):
    bad = tmp_path / "junk.tflite"
    bad.write_bytes(b"\x00" * 64)
    label = label_ethosu(bad, "int8", LABEL_TARGETS["ethos-u55-128"].ethosu)
    assert label.latency_ms is None
    assert label.null_reason.startswith("Vela refused junk.tflite")


@pytest.mark.parametrize("target", ETHOS)
def test_label_keeps_vela_cycles_per_operator(tiny_tflite, target):
    label = label_ethosu(tiny_tflite["int8"], "int8", LABEL_TARGETS[target].ethosu)
    main = read_model(tiny_tflite["int8"]).main
    per_op = label.extra["op_cycles"]
    assert len(per_op) == len(main.ops)
    # Every per-layer row lands on an operator of this small net, and the rows sum to the total.
    assert label.extra["op_cycles_unassigned"] == 0
    assert sum(per_op) == label.extra["cycles_total"]
    convs = [c for op, c in zip(main.ops, per_op) if op.op_type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert len(convs) == 3 and all(c > 0 for c in convs)


def test_report_has_per_layer_rows(tiny_tflite):
    report = run_vela(tiny_tflite["int8"], LABEL_TARGETS["ethos-u55-128"].ethosu)
    assert report.layers and {"Conv2D", "DepthwiseConv2D"} <= {r.original_op for r in report.layers}
    assert sum(r.cycles for r in report.layers) == report.cycles_total


def test_op_cycles_prefers_the_longest_name_prefix_of_the_same_type():
    ops = [("MEAN", "ln/Mean"), ("SQUARED_DIFFERENCE", "ln/SquaredDifference"), ("MEAN", "ln/Mean_1")]
    layers = [
        VelaLayer("Mean", "DepthwiseConv2D", 10, "ln/Mean_intermediate"),
        VelaLayer("Mean", "Mul", 1, "ln/Mean"),
        VelaLayer("SquaredDifference", "Sub", 5, "ln/SquaredDifference"),
        VelaLayer("Mean", "DepthwiseConv2D", 20, "ln/Mean_1_intermediate"),
        VelaLayer("Mean", "Mul", 2, "ln/Mean_1"),
    ]
    assert op_cycles(layers, ops) == ([11, 5, 22], 0)


def test_op_cycles_falls_back_to_order_and_vela_names():
    ops = [("LOGISTIC", "a/sig"), ("SOFTMAX", "b/Softmax"), ("CONCATENATION", "c/cat"), ("SOFTMAX", "d/Softmax")]
    layers = [
        VelaLayer("Sigmoid", "LUT", 3, "a/sig"),
        VelaLayer("Softmax", "MaxPool", 4, "b/x_softmax_0"),  # generated names: go by order
        VelaLayer("Softmax", "Sub", 6, "b/x_softmax_1"),
        VelaLayer("Concat", "MemoryCopy", 7, "c/cat"),
        VelaLayer("TransposeConv2D", "Conv2D", 1, "e/up"),  # no TRANSPOSE_CONV here either
        VelaLayer("Softmax", "MaxPool", 8, "d/Softmax"),
        VelaLayer("Tanh", "LUT", 9, "e/tanh"),  # no TANH in the graph: unassigned
    ]
    assert op_cycles(layers, ops) == ([3, 10, 7, 8], 10)
    assert op_cycles(layers[4:5], [("TRANSPOSE_CONV", "u")]) == ([1], 0)
