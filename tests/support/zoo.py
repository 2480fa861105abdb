"""A zoo of real Keras models converted to TFLite, for testing the reader and everything after it.

Keras applications (built without weights, at small resolutions to keep conversion quick) and
hand-built models covering transformers, Conv1D audio, LSTM/GRU (control flow), transposed convs,
resizes, several inputs/outputs and a TF-select (custom) op. Converted files are cached on disk
(``tests/.model-cache``, keyed by TensorFlow version) and shared between pytest-xdist workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CACHE_DIR = Path(__file__).resolve().parents[1] / ".model-cache"
ZOO_SEED = 1234


@dataclass(frozen=True)
class ZooModel:
    name: str
    build: Callable[[], object]
    precisions: tuple[str, ...] = ("fp32", "fp16", "int8")
    # Only conv/depthwise/dense layers: the reader's MAC total must equal the Keras count.
    check_macs: bool = False
    # Needs TF select ops: the plain LiteRT interpreter cannot load it.
    flex: bool = False


def _k():
    import keras

    keras.utils.set_random_seed(ZOO_SEED)
    return keras


def _trained_like(model):
    """Give every weight a random non-zero value: the converter drops all-zero biases, which a
    trained model never has, and tests count parameters against Keras."""
    import numpy as np

    rng = np.random.default_rng(ZOO_SEED)
    for w in model.weights:
        w.assign(rng.normal(0, 0.1, tuple(w.shape)).astype("float32"))
    return model


def _app(name: str, **kw):
    def build():
        keras = _k()
        return getattr(keras.applications, name)(weights=None, **kw)

    return build


def _transformer_block():
    keras = _k()
    x_in = keras.Input((16, 32), batch_size=1)
    h = keras.layers.LayerNormalization()(x_in)
    h = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8)(h, h)
    x = keras.layers.Add()([x_in, h])
    h = keras.layers.LayerNormalization()(x)
    h = keras.layers.Dense(64, activation="gelu")(h)
    h = keras.layers.Dense(32)(h)
    x = keras.layers.Add()([x, h])
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling1D()(x))
    return _trained_like(keras.Model(x_in, out, name="transformer_block"))


def _conv1d_audio():
    keras = _k()
    x_in = keras.Input((49, 40), batch_size=1)  # 49 frames of 40 MFCCs
    x = keras.layers.Conv1D(32, 5, strides=2, activation="relu")(x_in)
    x = keras.layers.SeparableConv1D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv1D(64, 3, dilation_rate=2, activation="relu")(x)
    x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    out = keras.layers.Dense(12, activation="softmax")(x)
    return _trained_like(keras.Model(x_in, out, name="conv1d_audio"))


def _ds_cnn():
    keras = _k()
    x_in = keras.Input((49, 10, 1), batch_size=1)
    x = keras.layers.Conv2D(64, (10, 4), strides=2, padding="same", activation="relu")(x_in)
    for _ in range(3):
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(64, 1, activation="relu")(x)
    x = keras.layers.AveragePooling2D((5, 5), padding="same")(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(12)(x)
    return _trained_like(keras.Model(x_in, out, name="ds_cnn"))


def _lstm():
    keras = _k()
    x_in = keras.Input((20, 16), batch_size=1)
    x = keras.layers.LSTM(32, return_sequences=True)(x_in)
    x = keras.layers.LSTM(16)(x)
    out = keras.layers.Dense(4)(x)
    return _trained_like(keras.Model(x_in, out, name="lstm"))


def _gru():
    keras = _k()
    x_in = keras.Input((12, 8), batch_size=1)
    x = keras.layers.GRU(16)(x_in)
    return _trained_like(keras.Model(x_in, keras.layers.Dense(3)(x), name="gru"))


def _unet():
    keras = _k()
    x_in = keras.Input((32, 32, 3), batch_size=1)
    e1 = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x_in)
    e2 = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(e1)
    b = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(e2)
    d2 = keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same")(b)
    d2 = keras.layers.Concatenate()([d2, e2])
    d1 = keras.layers.UpSampling2D(interpolation="bilinear")(d2)
    d1 = keras.layers.Concatenate()([d1, e1])
    out = keras.layers.Conv2D(2, 1, activation="softmax")(d1)
    return _trained_like(keras.Model(x_in, out, name="unet"))


def _multi_io():
    keras = _k()
    a = keras.Input((24, 24, 3), batch_size=1, name="image")
    b = keras.Input((10,), batch_size=1, name="meta")
    x = keras.layers.Conv2D(8, 3, activation="relu")(a)
    x = keras.layers.GlobalMaxPooling2D()(x)
    y = keras.layers.Dense(8, activation="tanh")(b)
    z = keras.layers.Concatenate()([x, y])
    out1 = keras.layers.Dense(5, activation="sigmoid", name="cls")(z)
    out2 = keras.layers.Dense(1, name="reg")(z)
    return _trained_like(keras.Model([a, b], [out1, out2], name="multi_io"))


def _dense_only():
    keras = _k()
    x_in = keras.Input((64,), batch_size=1)
    x = keras.layers.Dense(128, activation="relu")(x_in)
    x = keras.layers.Dense(64, activation="relu")(x)
    return _trained_like(keras.Model(x_in, keras.layers.Dense(10)(x), name="mlp"))


def _conv_mix():
    keras = _k()
    x_in = keras.Input((40, 40, 3), batch_size=1)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x_in)
    x = keras.layers.DepthwiseConv2D(5, padding="same", depth_multiplier=2)(x)
    x = keras.layers.Conv2D(24, 3, dilation_rate=2, padding="same", activation="relu6")(x)
    x = keras.layers.SeparableConv2D(32, 3, padding="same")(x)
    x = keras.layers.Conv2D(32, 3, groups=4, padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return _trained_like(keras.Model(x_in, keras.layers.Dense(7)(x), name="conv_mix"))


def _elementwise():
    keras = _k()
    x_in = keras.Input((8, 8, 16), batch_size=1)
    a = keras.layers.Activation("hard_swish")(x_in)
    b = keras.layers.Activation("sigmoid")(x_in)
    c = keras.layers.Activation("tanh")(x_in)
    x = keras.layers.Multiply()([a, b])
    x = keras.layers.Subtract()([x, c])
    x = keras.layers.ZeroPadding2D(1)(x)
    x = keras.layers.Cropping2D(((1, 0), (0, 1)))(x)
    x = keras.layers.Reshape((-1, 16))(x)
    x = keras.layers.Permute((2, 1))(x)
    x = keras.layers.Flatten()(x)
    return _trained_like(keras.Model(x_in, keras.layers.Softmax()(x), name="elementwise"))


def _embedding():
    keras = _k()
    x_in = keras.Input((12,), batch_size=1, dtype="int32")
    x = keras.layers.Embedding(100, 16)(x_in)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return _trained_like(keras.Model(x_in, keras.layers.Dense(2)(x), name="embedding"))


def _lstm_fused():
    # Keras 3 lowers LSTM to a WHILE loop; Keras 2 (tf_keras) layers convert to TFLite's fused
    # UNIDIRECTIONAL_SEQUENCE_LSTM, which real deployed models contain.
    import tf_keras

    tf_keras.utils.set_random_seed(ZOO_SEED)
    # Big enough (>= 1024-element weights) that dynamic-range quantisation applies.
    x_in = tf_keras.Input((20, 32), batch_size=1)
    x = tf_keras.layers.LSTM(64, return_sequences=True)(x_in)
    x = tf_keras.layers.LSTM(32)(x)
    return _trained_like(tf_keras.Model(x_in, tf_keras.layers.Dense(4)(x), name="lstm_fused"))


def _flex():
    keras = _k()
    import tensorflow as tf

    x_in = keras.Input((4, 4), batch_size=1)
    det = keras.layers.Lambda(lambda t: tf.linalg.det(t)[:, None])(x_in)
    return _trained_like(keras.Model(x_in, keras.layers.Dense(2)(det), name="flex_det"))


ZOO: dict[str, ZooModel] = {
    m.name: m
    for m in (
        ZooModel(
            "mobilenet_v1", _app("MobileNet", input_shape=(64, 64, 3), alpha=0.25), check_macs=True
        ),
        ZooModel(
            "mobilenet_v2",
            _app("MobileNetV2", input_shape=(96, 96, 3), alpha=0.35),
            check_macs=True,
        ),
        ZooModel(
            "mobilenet_v3_small", _app("MobileNetV3Small", input_shape=(64, 64, 3), alpha=0.75)
        ),
        ZooModel(
            "mobilenet_v3_large",
            _app("MobileNetV3Large", input_shape=(64, 64, 3), minimalistic=True),
        ),
        ZooModel("efficientnet_b0", _app("EfficientNetB0", input_shape=(64, 64, 3))),
        ZooModel("efficientnet_v2_b0", _app("EfficientNetV2B0", input_shape=(64, 64, 3))),
        ZooModel(
            "densenet121", _app("DenseNet121", input_shape=(32, 32, 3)), precisions=("fp32", "int8")
        ),
        ZooModel(
            "nasnet_mobile", _app("NASNetMobile", input_shape=(32, 32, 3)), precisions=("fp32",)
        ),
        ZooModel(
            "resnet50", _app("ResNet50", input_shape=(32, 32, 3)), precisions=("fp32", "int8")
        ),
        ZooModel("transformer_block", _transformer_block),
        ZooModel("conv1d_audio", _conv1d_audio),
        ZooModel("ds_cnn", _ds_cnn, check_macs=True),
        ZooModel("lstm", _lstm, precisions=("fp32", "fp16", "dynamic_int8")),
        ZooModel("lstm_fused", _lstm_fused, precisions=("fp32", "dynamic_int8")),
        ZooModel("gru", _gru, precisions=("fp32",)),
        ZooModel("unet", _unet),
        ZooModel("multi_io", _multi_io),
        ZooModel("mlp", _dense_only, check_macs=True),
        ZooModel("conv_mix", _conv_mix, check_macs=True),
        ZooModel("elementwise", _elementwise),
        ZooModel("embedding", _embedding, precisions=("fp32", "fp16")),
        ZooModel("flex_det", _flex, precisions=("fp32",), flex=True),
    )
}


def _representative(model, n: int = 4):
    import numpy as np

    rng = np.random.default_rng(ZOO_SEED)
    shapes = [tuple(1 if d is None else int(d) for d in t.shape) for t in model.inputs]
    dtypes = [t.dtype for t in model.inputs]
    names = [t.name.split(":")[0] for t in model.inputs]
    for _ in range(n):
        arrays = [
            rng.integers(0, 100, s).astype(np.int32)
            if "int" in str(d)
            else rng.uniform(-1, 1, s).astype(np.float32)
            for s, d in zip(shapes, dtypes, strict=True)
        ]
        # The converter may reorder inputs; by name, each array reaches its own input.
        yield dict(zip(names, arrays, strict=True)) if len(arrays) > 1 else arrays


def convert(model, precision: str, *, flex: bool = False) -> bytes:
    """Convert with TensorFlow's public converter API."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if flex:
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS,
            tf.lite.OpsSet.SELECT_TF_OPS,
        ]
    if precision == "fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif precision == "dynamic_int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif precision == "int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: _representative(model)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its SavedModel
        return bytes(conv.convert())


def cache_key(name: str) -> str:
    """Changes when TensorFlow, the conversion code, or this model's builder changes."""
    import importlib.metadata as md
    import inspect

    build = ZOO[name].build
    cells = [c.cell_contents for c in build.__closure__ or ()]
    parts = [
        md.version("tensorflow-cpu"),
        inspect.getsource(build),
        repr(cells),
        inspect.getsource(convert),
        inspect.getsource(_representative),
        repr(ZOO[name].flex),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def model_path(name: str, precision: str) -> Path:
    """Path of a converted zoo model, converting (and caching) it on first use."""
    from filelock import FileLock

    spec = ZOO[name]
    out = CACHE_DIR / f"{name}.{precision}.{cache_key(name)}.tflite"
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not out.exists():
            model = spec.build()
            data = convert(model, precision, flex=spec.flex)
            tmp = out.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(out)
    return out


def keras_model(name: str):
    return ZOO[name].build()


def all_cases() -> list[tuple[str, str]]:
    return [(m.name, p) for m in ZOO.values() for p in m.precisions]
