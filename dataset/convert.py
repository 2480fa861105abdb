"""Keras model -> .tflite bytes, fp32 and full-integer int8 (int8 I/O, TFLITE_BUILTINS_INT8 only).

Fast route (measured by ``bench/convert.py``): trace one ``tf.function`` and freeze it in memory
(no SavedModel round trip, unlike ``from_keras_model``), convert the frozen graph to fp32 once, and
make int8 by calibrating and quantizing *those fp32 bytes* with TensorFlow's own post-conversion
step. Both outputs are byte-identical to ``TFLiteConverter.from_concrete_functions`` with
``exclude_conversion_metadata=True`` (we skip that optional metadata entry and its flatbuffer
round trip), at a fraction of the cost. The last traced model is cached, so
``to_tflite(m, "fp32")`` then ``to_tflite(m, "int8")`` trace once.

Determinism: the same model (same layer names, same weights) and seed give the same bytes, for
both precisions, in one process and across processes (checked by ``tests/dataset/test_convert.py``).
Calibration data is synthetic: uniform [-1, 1) inputs from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ info/warning spam, before TF loads

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import lite as _lite
from tensorflow.lite.python.convert import build_conversion_flags

from dataset.errors import ConversionError

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]
PRECISIONS: tuple[str, ...] = ("fp32", "int8")
# Calibration only sets activation ranges; latency, op choice and Vela's plan do not depend on how
# well they fit, so two synthetic samples suffice (each costs one fp32 inference).
CALIBRATION_SAMPLES = 2
CALIBRATION_RANGE = (-1.0, 1.0)


@dataclass
class _Traced:
    """One model's frozen graph and fp32 flatbuffer, kept to quantize without re-tracing."""

    model_ref: weakref.ReferenceType
    concrete: Any  # the traced tf ConcreteFunction
    graph_def: Any
    input_tensors: list
    fp32: bytes


_cache_lock = threading.Lock()
_cache: _Traced | None = None


def configure_tensorflow(num_threads: int = 1) -> bool:
    """Limit TF's op thread pools and silence its Python loggers; call before TF runs anything.

    Returns False (and logs) when TF's runtime already started and the thread pools are fixed.
    """
    logging.getLogger("absl").setLevel(logging.ERROR)
    tf.get_logger().setLevel(logging.ERROR)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(num_threads)
    except RuntimeError as exc:
        log.info("TensorFlow thread pools already fixed: %s", exc)
        return False
    return True


def to_tflite(
    model,
    precision: Precision,
    *,
    seed: int = 0,
    calibration_samples: int = CALIBRATION_SAMPLES,
) -> bytes:
    """The .tflite flatbuffer of ``model`` at ``precision`` ("fp32" or "int8").

    int8 is full-integer post-training quantization: int8 input and output, every op from
    ``TFLITE_BUILTINS_INT8`` (conversion fails rather than leaving float ops), calibrated on
    ``calibration_samples`` synthetic inputs drawn from ``seed``. Treat ``model`` as immutable
    between calls: its traced graph is cached for the next call on the same model.
    """
    if precision not in PRECISIONS:
        raise ConversionError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if not isinstance(calibration_samples, int) or calibration_samples < 1:
        raise ConversionError(
            f"calibration_samples must be an int >= 1, got {calibration_samples!r}"
        )
    traced = _traced(model)
    if precision == "fp32":
        return traced.fp32
    return _quantize(model, traced, seed, calibration_samples)


def to_tflite_pair(model, *, seed: int = 0) -> dict[str, bytes]:
    """Both precisions of ``model`` from one tracing: ``{"fp32": ..., "int8": ...}``."""
    return {precision: to_tflite(model, precision, seed=seed) for precision in PRECISIONS}


def clear_cache() -> None:
    """Forget the cached traced model (e.g. after changing its weights in place)."""
    global _cache
    with _cache_lock:
        _cache = None


def representative_data(model, seed: int, samples: int) -> Iterator[list[np.ndarray]]:
    """Synthetic calibration inputs: uniform in ``CALIBRATION_RANGE``, one list per sample."""
    rng = np.random.default_rng([seed, 0xCA1])
    shapes = [tuple(int(d) for d in tensor.shape) for tensor in model.inputs]
    for _ in range(samples):
        yield [rng.uniform(*CALIBRATION_RANGE, shape).astype(np.float32) for shape in shapes]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide TF's per-conversion Python warnings (deprecated-path notice, missing input stats)."""
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        absl.setLevel(level)


def _traced(model) -> _Traced:
    global _cache
    with _cache_lock:
        if _cache is not None and _cache.model_ref() is model:
            return _cache
    traced = _trace_and_convert(model)
    with _cache_lock:
        _cache = traced
    return traced


def _trace_and_convert(model) -> _Traced:
    name = getattr(model, "name", type(model).__name__)
    try:
        specs = [
            tf.TensorSpec(t.shape, t.dtype, name=f"input_{i}") for i, t in enumerate(model.inputs)
        ]
    except (AttributeError, TypeError) as exc:
        raise ConversionError(f"expected a built Keras model with inputs, got {model!r}") from exc
    if any(d is None for spec in specs for d in spec.shape):
        raise ConversionError(
            f"model {name!r} has unknown input dims {[s.shape for s in specs]}; "
            "expected fully static shapes (batch 1)"
        )

    def serve(*inputs):
        return model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)

    try:
        concrete = tf.function(serve).get_concrete_function(*specs)
        with _quiet():
            # No trackable object: the frozen-graph path, with no SavedModel written to disk.
            converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
            graph_def, input_tensors, output_tensors, frozen = converter._freeze_concrete_function()
            graph_def = converter._optimize_tf_model(
                graph_def, input_tensors, output_tensors, frozen
            )
            fp32 = _lite.TFLiteConverterBaseV2.convert(
                converter, graph_def, input_tensors, output_tensors
            )
    except ConversionError:
        raise
    except Exception as exc:  # TF raises ConverterError, ValueError, InvalidArgumentError, ...
        raise ConversionError(f"fp32 conversion of model {name!r} failed: {exc}") from exc
    return _Traced(weakref.ref(model), concrete, graph_def, input_tensors, bytes(fp32))


def _quantize(model, traced: _Traced, seed: int, samples: int) -> bytes:
    name = getattr(model, "name", "model")
    converter = tf.lite.TFLiteConverter.from_concrete_functions([traced.concrete])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: representative_data(model, seed, samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        with _quiet():
            # The same steps TFLiteConverterBaseV2.convert runs after its graph conversion.
            converter._validate_inputs(traced.graph_def, traced.input_tensors)
            flags = converter._get_base_converter_args()
            flags.update(converter._quant_mode.converter_flags())
            int8 = converter._optimize_tflite_model(
                traced.fp32,
                converter._quant_mode,
                build_conversion_flags(**flags).debug_options,
                quant_io=converter.experimental_new_quantizer,
            )
    except Exception as exc:  # the calibrator and MLIR quantizer raise RuntimeError/ValueError
        raise ConversionError(f"int8 quantization of model {name!r} failed: {exc}") from exc
    return bytes(int8)
