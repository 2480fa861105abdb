"""Image-classification search space: MobileNetV2/V3, EfficientNet/MnasNet-style MBConv networks
and ResNet basic/bottleneck networks, with sampled width, depth, kernel, expansion, SE,
activation and input resolution (64-224). Stage templates follow the papers' tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import keras
import numpy as np

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


@dataclass(frozen=True)
class MBFamily:
    """Per-stage choices an MBConv family samples from."""

    kernels: tuple[int, ...]
    expansions: tuple[int, ...]
    se: tuple[bool, ...]
    activations: tuple[str, ...]


MB_FAMILIES: dict[str, MBFamily] = {
    "mobilenetv2": MBFamily((3,), (6,), (False,), ("relu6",)),
    "mobilenetv3": MBFamily((3, 5), (3, 4, 6), (False, True), ("relu", "hard_swish")),
    "efficientnet": MBFamily((3, 5), (1, 4, 6), (True,), ("swish",)),
    "mnasnet": MBFamily((3, 5, 7), (1, 3, 4, 6), (False, True), ("relu", "relu6", "hard_swish")),
}
# MobileNetV2 Table 2 (filters, repeats, stride) after the stem; a sample keeps a prefix of 4-7.
MB_STAGES: tuple[tuple[int, int, int], ...] = (
    (16, 1, 1),
    (24, 2, 2),
    (32, 3, 2),
    (64, 4, 2),
    (96, 3, 1),
    (160, 3, 2),
    (320, 1, 1),
)
# ResNet stages (filters, stride); repeats sampled per stage (ResNet-18: 2222, -50: 3463).
RESNET_STAGES: tuple[tuple[int, int], ...] = ((64, 1), (128, 2), (256, 2), (512, 2))
FAMILY_WEIGHTS: dict[str, float] = {
    "mobilenetv2": 0.2,
    "mobilenetv3": 0.2,
    "efficientnet": 0.15,
    "mnasnet": 0.2,
    "resnet": 0.25,
}
RESOLUTIONS_HW: tuple[int, ...] = (64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224)
NUM_CLASSES: tuple[int, ...] = (10, 100, 1000)
MB_WIDTH = (0.2, 2.0)  # width multiplier, log scale, tied to the size draw
RESNET_WIDTH = (0.125, 1.0)


class ImageClassificationSpace(SearchSpace):
    """MBConv and ResNet classifiers; see the module docstring."""

    name = "image_classification"
    description = "MobileNetV2/V3, EfficientNet, MnasNet (MBConv) and ResNet classifiers"
    ranges: ClassVar[dict[str, Range]] = {
        "input_hw": Range(64, 224),
        "num_blocks": Range(3, 24),
        "width_mult": Range(RESNET_WIDTH[0], MB_WIDTH[1]),
        "kernel": Range(3, 7),
    }

    def required_keys(self) -> tuple[str, ...]:
        return ("family", "num_classes", "stem", "stages", "head_filters")

    def _sample(self, rng: np.random.Generator) -> dict[str, Any]:
        families = list(FAMILY_WEIGHTS)
        family = families[int(rng.choice(len(families), p=list(FAMILY_WEIGHTS.values())))]
        size = float(rng.uniform())
        hw = sized_pick(rng, size, RESOLUTIONS_HW, jitter=0.3)
        spec: dict[str, Any] = {
            "input_shape": [hw, hw, 3],
            "family": family,
            "num_classes": pick(rng, NUM_CLASSES),
        }
        if family == "resnet":
            spec.update(self._sample_resnet(rng, size))
        else:
            spec.update(self._sample_mbconv(rng, size, MB_FAMILIES[family]))
        return spec

    @staticmethod
    def _sample_mbconv(rng: np.random.Generator, size: float, fam: MBFamily) -> dict[str, Any]:
        width = round(sized(rng, size, *MB_WIDTH), 3)
        num_stages = sized_int(rng, size, 4, len(MB_STAGES), jitter=0.4)
        stages = []
        for filters, repeats, stride in MB_STAGES[:num_stages]:
            stages.append(
                {
                    "block": "mbconv",
                    "filters": round_channels(filters * width),
                    "repeats": sized_int(rng, size, max(1, repeats - 1), repeats + 1, jitter=0.4),
                    "stride": stride,
                    "kernel": pick(rng, fam.kernels),
                    "expansion": 1 if not stages else pick(rng, fam.expansions),
                    "se": pick(rng, fam.se),
                    "activation": pick(rng, fam.activations),
                }
            )
        return {
            "width_mult": width,
            "stem": {
                "filters": round_channels(32 * width),
                "kernel": 3,
                "stride": 2,
                "activation": stages[0]["activation"],
            },
            "stages": stages,
            "head_filters": round_channels(1280 * width),
        }

    @staticmethod
    def _sample_resnet(rng: np.random.Generator, size: float) -> dict[str, Any]:
        width = round(sized(rng, size, *RESNET_WIDTH), 3)
        bottleneck = pick(rng, (False, True))
        stages = [
            {
                "block": "bottleneck" if bottleneck else "basic",
                "filters": round_channels(filters * width),
                "repeats": sized_int(rng, size, 1, 4 if bottleneck else 3, jitter=0.4),
                "stride": stride,
                "activation": "relu",
            }
            for filters, stride in RESNET_STAGES
        ]
        big_stem = pick(rng, (False, True))
        return {
            "width_mult": width,
            "stem": {
                "filters": round_channels(64 * width),
                "kernel": 7 if big_stem else 3,
                "stride": 2,
                "activation": "relu",
                "max_pool": big_stem,
            },
            "stages": stages,
            "head_filters": 0,
        }

    def measure(self, spec: dict[str, Any]) -> dict[str, float]:
        kernels = [s.get("kernel", 3) for s in spec["stages"]]
        return {
            "input_hw": spec["input_shape"][0],
            "num_blocks": sum(s["repeats"] for s in spec["stages"]),
            "width_mult": spec["width_mult"],
            "kernel": max(kernels),
        }

    def _build(self, spec: dict[str, Any]) -> keras.Model:
        inputs = blocks.model_input(spec["input_shape"])
        stem = spec["stem"]
        x = blocks.conv_bn(
            inputs, "stem", stem["filters"], stem["kernel"], stem["stride"], stem["activation"]
        )
        if stem.get("max_pool"):
            x = keras.layers.MaxPooling2D(3, 2, padding="same", name="stem_pool")(x)
        for i, stage in enumerate(spec["stages"]):
            for j in range(stage["repeats"]):
                stride = stage["stride"] if j == 0 else 1
                name = f"s{i}b{j}"
                if stage["block"] == "mbconv":
                    x = blocks.mbconv(
                        x,
                        name,
                        stage["filters"],
                        stage["kernel"],
                        stride,
                        stage["expansion"],
                        stage["se"],
                        stage["activation"],
                    )
                elif stage["block"] in ("basic", "bottleneck"):
                    x = blocks.resnet_block(
                        x,
                        name,
                        stage["filters"],
                        stride,
                        stage["block"] == "bottleneck",
                        stage["activation"],
                    )
                else:
                    raise ValueError(
                        f"stage block {stage['block']!r} is not mbconv/basic/bottleneck"
                    )
        if spec["head_filters"]:
            x = blocks.conv_bn(
                x, "head", spec["head_filters"], 1, 1, spec["stages"][-1]["activation"]
            )
        outputs = blocks.classifier(x, "classifier", spec["num_classes"])
        return keras.Model(inputs, outputs, name=f"{self.name}_{spec['seed']}")
