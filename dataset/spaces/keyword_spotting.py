"""Keyword-spotting search space: DS-CNN (Zhang et al. 2017, "Hello Edge") on MFCC/log-mel
images and Conv1D stacks (TC-ResNet-style, Choi et al. 2019) on (frames, features) sequences.
Frame counts and feature sizes are those of Speech Commands front ends (10-64 features, 49-124 frames).
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import numpy as np
from keras import layers

from dataset.spaces import blocks
from dataset.spaces.base import (
    Range,
    SearchSpace,
    pick,
    round_channels,
    sized,
    sized_int,
    sized_pick,
)

FRAMES: tuple[int, ...] = (49, 62, 98, 124)  # 1 s of audio at 20/16/10/8 ms hops
FEATURES: tuple[int, ...] = (10, 13, 20, 40, 64)  # MFCC counts and log-mel bins
NUM_CLASSES: tuple[int, ...] = (2, 12, 35)
# DS-CNN first-conv kernels (time, freq) and strides, from Hello Edge's S/M/L models.
DSCNN_STEMS: tuple[tuple[list[int], list[int]], ...] = (
    ([10, 4], [2, 2]),
    ([10, 4], [2, 1]),
    ([3, 3], [2, 2]),
    ([3, 3], [1, 1]),
)
DSCNN_FILTERS = (16, 320)  # log scale, tied to the size draw
MAX_FILTERS = 320
DSCNN_BLOCKS = (2, 8)
CONV1D_FILTERS = (16, 256)  # log scale, tied to the size draw
CONV1D_LAYERS = (3, 10)
CONV1D_KERNELS: tuple[int, ...] = (3, 5, 7, 9)
ACTIVATIONS: tuple[str, ...] = ("relu", "relu6", "hard_swish")


class KeywordSpottingSpace(SearchSpace):
    """DS-CNN and Conv1D keyword spotters; see the module docstring."""

    name = "keyword_spotting"
    description = "DS-CNN on MFCC images and Conv1D/TC-ResNet stacks on feature sequences"
    ranges: ClassVar[dict[str, Range]] = {
        "frames": Range(min(FRAMES), max(FRAMES)),
        "features": Range(min(FEATURES), max(FEATURES)),
        "filters": Range(8, MAX_FILTERS),
        "num_layers": Range(DSCNN_BLOCKS[0], CONV1D_LAYERS[1] + 1),
    }

    def required_keys(self) -> tuple[str, ...]:
        return ("arch", "num_classes", "layers", "activation")

    def _sample(self, rng: np.random.Generator) -> dict[str, Any]:
        arch = pick(rng, ("ds_cnn", "conv1d"))
        size = float(rng.uniform())
        frames = sized_pick(rng, size, FRAMES, jitter=0.4)
        features = sized_pick(rng, size, FEATURES, jitter=0.4)
        spec: dict[str, Any] = {
            "arch": arch,
            "num_classes": pick(rng, NUM_CLASSES),
            "activation": pick(rng, ACTIVATIONS),
        }
        if arch == "ds_cnn":
            kernel, stride = pick(rng, DSCNN_STEMS)
            filters = round_channels(sized(rng, size, *DSCNN_FILTERS))
            spec["input_shape"] = [frames, features, 1]
            spec["stem"] = {"filters": filters, "kernel": kernel, "stride": stride}
            spec["layers"] = [
                {"filters": filters, "kernel": pick(rng, (3, 5)), "stride": 1}
                for _ in range(sized_int(rng, size, *DSCNN_BLOCKS, jitter=0.3))
            ]
        else:
            base = sized(rng, size, *CONV1D_FILTERS)
            num_layers = sized_int(rng, size, *CONV1D_LAYERS, jitter=0.3)
            spec["input_shape"] = [frames, features]
            spec["residual"] = pick(rng, (False, True))
            spec["layers"] = []
            for i in range(num_layers):
                stride = 2 if i % 3 == 0 and i > 0 and pick(rng, (False, True)) else 1
                spec["layers"].append(
                    {
                        "filters": min(MAX_FILTERS, round_channels(base * 1.5 ** (i // 3), 4, 8)),
                        "kernel": pick(rng, CONV1D_KERNELS),
                        "stride": stride,
                        "dilation": 1 if stride > 1 else pick(rng, (1, 1, 2, 4)),
                    }
                )
        return spec

    def measure(self, spec: dict[str, Any]) -> dict[str, float]:
        filters = [layer["filters"] for layer in spec["layers"]]
        return {
            "frames": spec["input_shape"][0],
            "features": spec["input_shape"][1],
            "filters": max(filters),
            "num_layers": len(spec["layers"]) + (1 if spec["arch"] == "ds_cnn" else 0),
        }

    def _build(self, spec: dict[str, Any]) -> keras.Model:
        inputs = blocks.model_input(spec["input_shape"])
        activation = spec["activation"]
        if spec["arch"] == "ds_cnn":
            stem = spec["stem"]
            x = blocks.conv_bn(
                inputs,
                "stem",
                stem["filters"],
                tuple(stem["kernel"]),
                tuple(stem["stride"]),
                activation,
            )
            for i, layer in enumerate(spec["layers"]):
                x = blocks.separable(
                    x, f"ds{i}", layer["filters"], layer["kernel"], layer["stride"], activation
                )
        elif spec["arch"] == "conv1d":
            x = inputs
            for i, layer in enumerate(spec["layers"]):
                y = layers.Conv1D(
                    layer["filters"],
                    layer["kernel"],
                    layer["stride"],
                    padding="same",
                    dilation_rate=layer["dilation"],
                    use_bias=False,
                    name=f"c{i}_conv",
                )(x)
                y = layers.BatchNormalization(name=f"c{i}_bn")(y)
                if spec["residual"] and x.shape[1:] == y.shape[1:]:
                    y = layers.Add(name=f"c{i}_add")([x, y])
                x = blocks.act(y, f"c{i}_act", activation)
        else:
            raise ValueError(f"arch {spec['arch']!r} is not ds_cnn or conv1d")
        outputs = blocks.classifier(x, "classifier", spec["num_classes"])
        return keras.Model(inputs, outputs, name=f"{self.name}_{spec['seed']}")
