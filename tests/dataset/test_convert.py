"""TFLite export: both precisions of each space load and run in LiteRT with the model's output
shapes, int8 has int8 I/O and passes Vela, bytes are deterministic (in and across processes) and
equal TensorFlow's public converter output, and bad requests raise ConversionError."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from dataset.convert import clear_cache, representative_data, to_tflite, to_tflite_pair
from dataset.errors import ConversionError
from dataset.spaces import SPACES, build_model, sample_spec
from dataset.spaces.blocks import ACTIVATIONS

REPO = Path(__file__).resolve().parents[2]
VELA = Path(sys.executable).with_name("vela")


def small_seeds(space: str, count: int) -> list[int]:
    """The first ``count`` seeds with a small input (sampled widths grow with the input size)."""
    limit = 62 * 20 if space == "keyword_spotting" else 96 * 96 * 3
    found = [s for s in range(200) if np.prod(sample_spec(space, s)["input_shape"]) <= limit]
    return found[:count]


@pytest.fixture(scope="module", params=sorted(SPACES))
def converted(request):
    """One small architecture per space: its spec, Keras model and both flatbuffers."""
    spec = sample_spec(request.param, small_seeds(request.param, 1)[0])
    model = build_model(spec)
    return spec, model, to_tflite_pair(model, seed=spec["seed"])


def _outputs(model) -> list[tuple[int, ...]]:
    return sorted(tuple(int(d) for d in t.shape) for t in model.outputs)


def _run(flatbuffer: bytes, x: np.ndarray) -> tuple[Interpreter, list[np.ndarray]]:
    interpreter = Interpreter(model_content=flatbuffer, num_threads=1)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    results = []
    for out in interpreter.get_output_details():
        y = interpreter.get_tensor(out["index"]).astype(np.float32)
        if out["dtype"] == np.int8:
            scale, zero = out["quantization"]
            y = (y - zero) * scale
        results.append(y)
    return interpreter, results


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_flatbuffer_runs_in_litert_with_the_model_shapes(converted, precision):
    spec, model, flatbuffers = converted
    x = np.random.default_rng(1).uniform(-1, 1, (1, *spec["input_shape"])).astype(np.float32)
    interpreter, results = _run(flatbuffers[precision], x)
    dtype = np.float32 if precision == "fp32" else np.int8
    assert [d["dtype"] for d in interpreter.get_input_details()] == [dtype]
    assert {d["dtype"] for d in interpreter.get_output_details()} == {dtype}
    assert sorted(tuple(r.shape) for r in results) == _outputs(model)
    assert all(np.isfinite(r).all() for r in results)
    if precision == "fp32":  # the float flatbuffer computes what Keras computes
        expected = model(x, training=False)
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        by_shape = {tuple(r.shape): r for r in results}
        for e in expected:
            e = np.asarray(e)
            np.testing.assert_allclose(by_shape[e.shape], e, rtol=1e-3, atol=1e-3 * np.abs(e).max())


def test_int8_is_full_integer(converted):
    _, _, flatbuffers = converted
    assert _full_integer(flatbuffers["int8"]) == []
    assert len(flatbuffers["int8"]) < len(flatbuffers["fp32"])


def _full_integer(flatbuffer: bytes) -> list[str]:
    """Names of float tensors left in a flatbuffer (none in a full-integer model)."""
    interpreter = Interpreter(model_content=flatbuffer)
    return [t["name"] for t in interpreter.get_tensor_details() if t["dtype"] == np.float32]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_quantizes_fully(activation):
    spec = sample_spec("keyword_spotting", small_seeds("keyword_spotting", 1)[0])
    spec["activation"] = activation
    assert _full_integer(to_tflite(build_model(spec), "int8")) == []


def test_squeeze_excite_with_hard_swish_quantizes_fully():
    spec = sample_spec("image_classification", small_seeds("image_classification", 1)[0])
    stage = {
        "block": "mbconv",
        "filters": 16,
        "repeats": 1,
        "stride": 2,
        "kernel": 5,
        "expansion": 4,
        "se": True,
        "activation": "hard_swish",
    }
    spec.update(
        family="mobilenetv3",
        stages=[stage],
        head_filters=32,
        stem={"filters": 8, "kernel": 3, "stride": 2, "activation": "hard_swish"},
    )
    assert _full_integer(to_tflite(build_model(spec), "int8")) == []


def test_int8_is_accepted_by_vela(converted, tmp_path):
    _, _, flatbuffers = converted
    model_path = tmp_path / "m.tflite"
    model_path.write_bytes(flatbuffers["int8"])
    done = subprocess.run(
        [
            str(VELA),
            "--accelerator-config",
            "ethos-u55-128",
            str(model_path),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tmp_path / "out" / "m_vela.tflite").stat().st_size > 0


def test_rebuilt_model_gives_identical_bytes(converted):
    spec, _, flatbuffers = converted
    clear_cache()
    again = to_tflite_pair(build_model(json.loads(json.dumps(spec))), seed=spec["seed"])
    assert again == flatbuffers


def test_calibration_seed_changes_only_int8(converted):
    spec, model, flatbuffers = converted
    assert to_tflite(model, "fp32", seed=spec["seed"] + 1) == flatbuffers["fp32"]
    assert to_tflite(model, "int8", seed=spec["seed"] + 1) != flatbuffers["int8"]


@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs")
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_same_bytes_as_tensorflows_public_converter(precision):
    """The fast route only skips the optional conversion-metadata entry."""
    spec = sample_spec("keyword_spotting", small_seeds("keyword_spotting", 1)[0])
    model = build_model(spec)
    ours = to_tflite(model, precision, seed=5)

    def serve(x):
        return model(x, training=False)

    concrete = tf.function(serve).get_concrete_function(
        tf.TensorSpec(model.inputs[0].shape, tf.float32, name="input_0")
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    converter.exclude_conversion_metadata = True
    if precision == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: representative_data(model, 5, 2)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    assert converter.convert() == ours


def test_bytes_are_identical_across_processes():
    spec = sample_spec("keyword_spotting", small_seeds("keyword_spotting", 1)[0])
    script = (
        "import hashlib, json, sys\n"
        "from dataset.spaces import build_model\n"
        "from dataset.convert import to_tflite_pair\n"
        "pair = to_tflite_pair(build_model(json.loads(sys.argv[1])), seed=2)\n"
        "print(json.dumps({k: hashlib.sha256(v).hexdigest() for k, v in pair.items()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(spec)],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    there = json.loads(done.stdout.strip().splitlines()[-1])
    clear_cache()
    here = {
        k: hashlib.sha256(v).hexdigest()
        for k, v in to_tflite_pair(build_model(spec), seed=2).items()
    }
    assert here == there


def test_cache_does_not_mix_models():
    first = build_model(sample_spec("keyword_spotting", small_seeds("keyword_spotting", 2)[0]))
    second = build_model(sample_spec("keyword_spotting", small_seeds("keyword_spotting", 2)[1]))
    a = to_tflite(first, "fp32")
    b = to_tflite(second, "int8")
    assert a != to_tflite(second, "fp32")
    assert b != to_tflite(first, "int8")


@pytest.mark.parametrize("precision", ["fp16", "INT8", None])
def test_unknown_precision_raises(precision):
    model = build_model(sample_spec("keyword_spotting", small_seeds("keyword_spotting", 1)[0]))
    with pytest.raises(ConversionError, match=r"precision must be one of \['fp32', 'int8'\], got"):
        to_tflite(model, precision)


@pytest.mark.parametrize("samples", [0, -2, 1.5])
def test_bad_calibration_count_raises(samples):
    model = build_model(sample_spec("keyword_spotting", small_seeds("keyword_spotting", 1)[0]))
    with pytest.raises(ConversionError, match="calibration_samples must be an int >= 1"):
        to_tflite(model, "int8", calibration_samples=samples)


def test_non_model_raises():
    with pytest.raises(ConversionError, match="expected a built Keras model"):
        to_tflite("model.h5", "fp32")


def test_dynamic_input_shape_raises():
    inputs = keras.Input(shape=(None, 8), name="seq")
    model = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    with pytest.raises(ConversionError, match="unknown input dims.*expected fully static"):
        to_tflite(model, "fp32")
