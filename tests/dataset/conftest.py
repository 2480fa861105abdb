"""Fixtures of the dataset tests: a tiny real Keras model converted to fp32 and int8 TFLite."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory) -> dict[str, Path]:
    """``{"fp32": path, "int8": path}`` of a small conv net converted by ``dataset.convert``."""
    import keras

    from dataset.convert import to_tflite

    keras.utils.set_random_seed(7)
    inp = keras.Input((24, 24, 3), batch_size=1)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(24, 1)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(10)(x)
    model = keras.Model(inp, out)
    out_dir = tmp_path_factory.mktemp("tiny")
    paths = {}
    for precision in ("fp32", "int8"):
        path = out_dir / f"tiny_{precision}.tflite"
        path.write_bytes(to_tflite(model, precision, seed=0))
        paths[precision] = path
    return paths
