"""The reader against real TensorFlow-converted models and the LiteRT interpreter's own view."""

from __future__ import annotations

import json
from math import prod

import numpy as np
import pytest
from support import zoo

from hwmodels.work import OpKind
from predictor import OpGraph, read_model

CASES = zoo.all_cases()


def _interpreter(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    return Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )


def test_zoo_is_large_enough():
    assert len(zoo.ZOO) >= 20
    assert len(CASES) >= 50


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_ops_and_tensors_match_interpreter(zoo_model, name, precision):
    path = zoo_model(name, precision)
    graph = read_model(path)
    if zoo.ZOO[name].flex:
        pytest.skip("TF-select ops need the flex delegate; checked in test_custom_ops_are_kept")
    interp = _interpreter(path)
    ops = interp._get_ops_details()
    main = graph.main
    assert [o["op_name"] for o in ops] == [op.op_type for op in main.ops]
    for theirs, ours in zip(ops, main.ops, strict=True):
        assert list(theirs["inputs"]) == list(ours.inputs)
        assert list(theirs["outputs"]) == list(ours.outputs)
    details = {d["index"]: d for d in interp.get_tensor_details()}
    assert details, "interpreter reported no tensors"
    for idx, d in details.items():
        t = main.tensors[idx]
        assert list(d["shape_signature"]) == list(t.shape_signature), t
        if -1 not in d["shape_signature"]:
            assert list(d["shape"]) == list(t.shape), t
        assert np.dtype(d["dtype"]).name == {"bool": "bool"}.get(t.dtype, t.dtype), t
        scales = d["quantization_parameters"]["scales"]
        if len(scales):
            assert t.quant is not None
            np.testing.assert_allclose(t.quant.scale, scales, rtol=1e-6)
            assert list(t.quant.zero_point) == list(d["quantization_parameters"]["zero_points"])


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_summary_and_views_are_consistent(zoo_model, name, precision):
    graph = read_model(zoo_model(name, precision))
    s = graph.summary
    assert s.num_ops == len(graph.ops) == sum(s.op_counts.values())
    assert s.macs == sum(op.macs for op in graph.ops)
    works = graph.layer_works()
    assert len(works) == len(graph.main.ops)
    assert sum(w.macs for w in works) == sum(op.macs for op in graph.main.ops)
    for src, dst, t in graph.edges():
        a, b = graph.ops[src], graph.ops[dst]
        assert a.subgraph == b.subgraph
        assert t in a.outputs and t in b.inputs
    # The compact form survives JSON and rebuilds the same derived work.
    again = OpGraph.from_dict(json.loads(json.dumps(graph.to_dict())))
    assert again.summary == s
    assert again.layer_works() == works
    assert again.sha256 == graph.sha256
    # Per-channel quantisation comes back as its channel count and mean scale, held as one value.
    for t, u in zip(graph.main.tensors, again.main.tensors, strict=True):
        assert (t.quant is None) == (u.quant is None)
        if t.quant is not None:
            assert len(u.quant.scale) == len(t.quant.scale) == len(u.quant.zero_point)
            assert u.quant.scale[-1] == pytest.approx(float(t.quant.scale.mean()), rel=1e-6)
            assert u.quant.scale.strides == (0,) and not u.quant.scale.flags.writeable


def _keras_macs(model) -> int:
    """Independent MAC count from Keras layer configs and output shapes."""
    import keras

    total = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        out = prod(int(d) for d in layer.output.shape[1:])
        cin = int(layer.input.shape[-1])
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            total += out * prod(layer.kernel_size)
        elif isinstance(layer, (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)):
            mid = cin * layer.depth_multiplier
            spatial = prod(int(d) for d in layer.output.shape[1:-1])
            total += spatial * mid * prod(layer.kernel_size) + out * mid
        elif isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D)):
            total += out * prod(layer.kernel_size) * cin // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            total += out * cin
    return total


@pytest.mark.parametrize("name", [m.name for m in zoo.ZOO.values() if m.check_macs])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_macs_match_independent_keras_count(zoo_model, name, precision):
    graph = read_model(zoo_model(name, precision))
    expected = _keras_macs(zoo.keras_model(name))
    assert expected > 0
    assert graph.summary.macs == expected


# Not conv_mix: the converter gives a SeparableConv's depthwise half a zero bias Keras lacks.
@pytest.mark.parametrize("name", ["mlp", "ds_cnn"])
def test_params_match_keras_without_batchnorm(zoo_model, name):
    graph = read_model(zoo_model(name, "fp32"))
    assert graph.summary.params == zoo.keras_model(name).count_params()


@pytest.mark.parametrize("precision", ["fp32", "dynamic_int8"])
def test_lstm_macs_follow_the_gate_formula(zoo_model, precision):
    graph = read_model(zoo_model("lstm_fused", precision))
    lstm = [op for op in graph.ops if op.op_type == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert len(lstm) == 2
    assert all(op.kind is OpKind.RECURRENT for op in lstm)
    # 20 steps x 4 gates x units x (inputs + units)
    assert [op.macs for op in lstm] == [20 * 4 * 64 * (32 + 64), 20 * 4 * 32 * (64 + 32)]


@pytest.mark.parametrize(
    ("precision", "expected"),
    [("fp32", "fp32"), ("fp16", "fp16"), ("int8", "int8")],
)
def test_precision_classes(zoo_model, precision, expected):
    assert read_model(zoo_model("mobilenet_v2", precision)).summary.precision == expected


@pytest.mark.parametrize("name", ["lstm", "lstm_fused"])
def test_dynamic_range_precision(zoo_model, name):
    assert read_model(zoo_model(name, "dynamic_int8")).summary.precision == "dynamic_int8"


def test_int8_model_has_per_channel_weights(zoo_model):
    graph = read_model(zoo_model("mobilenet_v2", "int8"))
    conv = next(op for op in graph.ops if op.op_type == "CONV_2D")
    w = graph.tensor(conv, conv.inputs[1])
    assert w.is_constant and w.dtype == "int8"
    assert w.quant.per_channel and len(w.quant.scale) == w.shape[0]
    assert conv.options["stride_h"] == 2 and conv.options["padding"] == "SAME"
    assert conv.options["fused_activation_function"] == "RELU6"


def test_dynamic_batch_dimension_is_kept(zoo_model):
    graph = read_model(zoo_model("mobilenet_v2", "fp32"))
    (inp,) = graph.summary.inputs
    assert inp["shape"] == [-1, 96, 96, 3]
    assert graph.summary.dynamic
    assert graph.main.tensors[graph.main.inputs[0]].shape == (1, 96, 96, 3)


def test_multiple_inputs_and_outputs(zoo_model):
    s = read_model(zoo_model("multi_io", "fp32")).summary
    assert len(s.inputs) == 2 and len(s.outputs) == 2


def test_control_flow_subgraphs(zoo_model):
    graph = read_model(zoo_model("gru", "fp32"))
    assert graph.summary.num_subgraphs >= 2
    assert "WHILE" in graph.summary.op_counts
    assert {op.subgraph for op in graph.ops} == set(range(graph.summary.num_subgraphs))


def test_custom_ops_are_kept(zoo_model):
    graph = read_model(zoo_model("flex_det", "fp32"))
    custom = [op for op in graph.ops if op.is_custom]
    assert custom and all(op.op_type.startswith("Flex") for op in custom)
    assert graph.summary.custom_ops == sorted({op.op_type for op in custom})
    assert all(op.kind is OpKind.OTHER for op in custom)


@pytest.mark.parametrize(
    ("name", "op_types"),
    [
        ("transformer_block", {"FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX", "GELU"}),
        ("unet", {"TRANSPOSE_CONV", "CONCATENATION", "RESIZE_BILINEAR"}),
        ("mobilenet_v3_small", {"HARD_SWISH", "MUL", "MEAN"}),
        ("elementwise", {"LOGISTIC", "TANH", "PAD", "TRANSPOSE", "RESHAPE", "STRIDED_SLICE"}),
        ("embedding", {"GATHER"}),
    ],
)
def test_expected_ops_are_read(zoo_model, name, op_types):
    seen = set(read_model(zoo_model(name, "fp32")).summary.op_counts)
    assert op_types <= seen, op_types - seen


def test_transpose_conv_macs(zoo_model):
    graph = read_model(zoo_model("unet", "fp32"))
    (tconv,) = [op for op in graph.ops if op.op_type == "TRANSPOSE_CONV"]
    # input 8x8x32 scattered through a 3x3 kernel into 16 channels
    assert tconv.macs == 8 * 8 * 32 * 3 * 3 * 16
