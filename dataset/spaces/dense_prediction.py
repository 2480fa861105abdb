"""Dense-prediction search space: U-Net segmentation (Ronneberger 2015; encoder-decoder with
skip concatenation, transposed-conv or resize upsampling) and SSDLite detection (MobileNetV2
paper, Sandler 2018: separable box/class heads on MBConv feature maps at several strides).
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

SEG_HW: tuple[int, ...] = (64, 96, 128, 160, 192, 224, 256)
SEG_LEVELS = (2, 4)  # number of down-sampling steps
SEG_BASE_FILTERS = (8, 32)  # log scale, tied to the size draw; doubled per level
SEG_CLASSES: tuple[int, ...] = (2, 6, 21)
UPSAMPLERS: tuple[str, ...] = ("transpose", "bilinear", "nearest")
DOWNSAMPLERS: tuple[str, ...] = ("max_pool", "stride_conv")
DET_HW: tuple[int, ...] = (96, 128, 160, 192, 224, 256, 320)
DET_CLASSES: tuple[int, ...] = (2, 21, 91)
DET_WIDTH = (0.2, 1.4)
# SSDLite backbone stages (filters, repeats, stride): MobileNetV2 down to stride 32.
DET_STAGES: tuple[tuple[int, int, int], ...] = (
    (16, 1, 1),
    (24, 2, 2),
    (32, 3, 2),
    (64, 4, 2),
    (96, 3, 1),
    (160, 3, 2),
)


class DensePredictionSpace(SearchSpace):
    """U-Net segmenters and SSDLite detectors; see the module docstring."""

    name = "dense_prediction"
    description = "U-Net segmentation and SSDLite detection heads on an MBConv backbone"
    ranges: ClassVar[dict[str, Range]] = {
        "input_hw": Range(min(SEG_HW + DET_HW), max(SEG_HW + DET_HW)),
        "levels": Range(2, 5),  # U-Net levels; SSDLite feature maps
        "base_filters": Range(8, 48),  # U-Net base filters; SSDLite stem filters
    }

    def required_keys(self) -> tuple[str, ...]:
        return ("task", "num_classes")

    def _sample(self, rng: np.random.Generator) -> dict[str, Any]:
        task = pick(rng, ("segmentation", "detection"))
        size = float(rng.uniform())
        if task == "segmentation":
            return self._sample_segmentation(rng, size)
        return self._sample_detection(rng, size)

    @staticmethod
    def _sample_segmentation(rng: np.random.Generator, size: float) -> dict[str, Any]:
        hw = sized_pick(rng, size, SEG_HW, jitter=0.3)
        return {
            "task": "segmentation",
            "input_shape": [hw, hw, 3],
            "num_classes": pick(rng, SEG_CLASSES),
            "levels": int(rng.integers(SEG_LEVELS[0], SEG_LEVELS[1] + 1)),
            "base_filters": round_channels(sized(rng, size, *SEG_BASE_FILTERS), 4, 8),
            "convs_per_level": sized_int(rng, size, 1, 2, jitter=0.3),
            "separable": pick(rng, (False, True)),
            "downsample": pick(rng, DOWNSAMPLERS),
            "upsample": pick(rng, UPSAMPLERS),
            "activation": pick(rng, ("relu", "relu6", "hard_swish")),
        }

    @staticmethod
    def _sample_detection(rng: np.random.Generator, size: float) -> dict[str, Any]:
        hw = sized_pick(rng, size, DET_HW, jitter=0.3)
        width = round(sized(rng, size, *DET_WIDTH), 3)
        stages = [
            {
                "filters": round_channels(filters * width),
                "stride": stride,
                "repeats": sized_int(rng, size, max(1, repeats - 1), repeats, jitter=0.4),
                "kernel": pick(rng, (3, 5)),
                "expansion": 1 if i == 0 else pick(rng, (3, 4, 6)),
            }
            for i, (filters, repeats, stride) in enumerate(DET_STAGES)
        ]
        num_extra = int(rng.integers(0, 4))
        return {
            "task": "detection",
            "input_shape": [hw, hw, 3],
            "num_classes": pick(rng, DET_CLASSES),
            "width_mult": width,
            "stem_filters": round_channels(32 * width),
            "stages": stages,
            # SSDLite extra layers: 1x1 reduce + stride-2 depthwise + 1x1 expand.
            "extra_filters": [round_channels(f * width) for f in (512, 256, 256)[:num_extra]],
            "anchors": pick(rng, (3, 4, 6)),
            "head_kernel": pick(rng, (3, 5)),
            "activation": pick(rng, ("relu6", "hard_swish")),
        }

    def measure(self, spec: dict[str, Any]) -> dict[str, float]:
        seg = spec["task"] == "segmentation"
        return {
            "input_hw": spec["input_shape"][0],
            "levels": spec["levels"] if seg else 2 + len(spec["extra_filters"]),
            "base_filters": spec["base_filters"] if seg else spec["stem_filters"],
        }

    def _build(self, spec: dict[str, Any]) -> keras.Model:
        if spec["task"] == "segmentation":
            return self._build_unet(spec)
        if spec["task"] == "detection":
            return self._build_ssdlite(spec)
        raise ValueError(f"task {spec['task']!r} is not segmentation or detection")

    def _build_unet(self, spec: dict[str, Any]) -> keras.Model:
        inputs = blocks.model_input(spec["input_shape"])
        activation = spec["activation"]

        def conv_stack(x, name: str, filters: int):
            for k in range(spec["convs_per_level"]):
                if spec["separable"]:
                    x = blocks.separable(x, f"{name}_{k}", filters, 3, 1, activation)
                else:
                    x = blocks.conv_bn(x, f"{name}_{k}", filters, 3, 1, activation)
            return x

        x, skips = inputs, []
        for level in range(spec["levels"]):
            filters = spec["base_filters"] * 2**level
            x = conv_stack(x, f"enc{level}", filters)
            skips.append(x)
            if spec["downsample"] == "max_pool":
                x = layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
            else:
                x = blocks.conv_bn(x, f"enc{level}_down", filters, 3, 2, activation)
        x = conv_stack(x, "bottom", spec["base_filters"] * 2 ** spec["levels"])
        for level in reversed(range(spec["levels"])):
            filters = spec["base_filters"] * 2**level
            if spec["upsample"] == "transpose":
                x = layers.Conv2DTranspose(filters, 2, 2, name=f"dec{level}_up")(x)
            else:
                x = layers.UpSampling2D(2, interpolation=spec["upsample"], name=f"dec{level}_up")(x)
            x = layers.Concatenate(name=f"dec{level}_concat")([x, skips[level]])
            x = conv_stack(x, f"dec{level}", filters)
        outputs = layers.Conv2D(spec["num_classes"], 1, name="logits")(x)
        return keras.Model(inputs, outputs, name=f"{self.name}_{spec['seed']}")

    def _build_ssdlite(self, spec: dict[str, Any]) -> keras.Model:
        inputs = blocks.model_input(spec["input_shape"])
        activation = spec["activation"]
        x = blocks.conv_bn(inputs, "stem", spec["stem_filters"], 3, 2, activation)
        features = []
        for i, stage in enumerate(spec["stages"]):
            if stage["stride"] == 2 and i >= 4:
                features.append(x)  # stride-16 map, before the last down-sampling stage
            for j in range(stage["repeats"]):
                x = blocks.mbconv(
                    x,
                    f"s{i}b{j}",
                    stage["filters"],
                    stage["kernel"],
                    stage["stride"] if j == 0 else 1,
                    stage["expansion"],
                    False,
                    activation,
                )
        features.append(x)
        for i, filters in enumerate(spec["extra_filters"]):
            x = blocks.conv_bn(x, f"extra{i}_reduce", filters // 2, 1, 1, activation)
            x = blocks.dw_bn(x, f"extra{i}_down", 3, 2, activation)
            x = blocks.conv_bn(x, f"extra{i}_expand", filters, 1, 1, activation)
            features.append(x)
        boxes, scores = [], []
        anchors, classes = spec["anchors"], spec["num_classes"]
        for i, feature in enumerate(features):
            for kind, per_anchor, out in (("box", 4, boxes), ("cls", classes, scores)):
                y = blocks.dw_bn(feature, f"head{i}_{kind}", spec["head_kernel"], 1, activation)
                y = layers.Conv2D(anchors * per_anchor, 1, name=f"head{i}_{kind}_pred")(y)
                out.append(layers.Reshape((-1, per_anchor), name=f"head{i}_{kind}_flat")(y))
        if len(features) > 1:
            box_out = layers.Concatenate(axis=1, name="boxes")(boxes)
            cls_out = layers.Concatenate(axis=1, name="scores")(scores)
        else:
            box_out, cls_out = boxes[0], scores[0]
        return keras.Model(inputs, [box_out, cls_out], name=f"{self.name}_{spec['seed']}")
