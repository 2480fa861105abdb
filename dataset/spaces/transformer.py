"""Transformer search space: ViT (Dosovitskiy 2021; patch embedding, learned positions, pre-norm
encoder blocks of multi-head attention + LayerNorm + GELU MLP) and a MobileViT-style hybrid
(Mehta 2022; MBConv stem, 1x1 projection to tokens, encoder blocks, 1x1 fusion back to a map).
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

VIT_HW: tuple[int, ...] = (32, 64, 96, 128, 160, 192, 224)
PATCHES: tuple[int, ...] = (4, 8, 16, 32)
MAX_TOKENS = 256  # the ViT-S/16 @ 224 count (196), rounded up; keeps attention's N^2 bounded
DIM = (32, 512)  # embedding width, log scale tied to the size draw; a multiple of 8 x heads
HEADS: tuple[int, ...] = (1, 2, 4, 6, 8)
DEPTH = (1, 12)
MLP_RATIOS: tuple[int, ...] = (1, 2, 3, 4)
ACTIVATIONS: tuple[str, ...] = ("gelu", "gelu", "swish", "hard_swish")
HYBRID_HW: tuple[int, ...] = (64, 96, 128, 160, 192, 224, 256)
NUM_CLASSES: tuple[int, ...] = (10, 100, 1000)


class TransformerSpace(SearchSpace):
    """ViT and MobileViT-style hybrid classifiers; see the module docstring."""

    name = "transformer"
    description = "ViT (patch embedding + MHA/LayerNorm/GELU MLP) and MobileViT-style hybrids"
    ranges: ClassVar[dict[str, Range]] = {
        "input_hw": Range(min(VIT_HW), max(HYBRID_HW)),
        "tokens": Range(4, MAX_TOKENS),
        "dim": Range(DIM[0], DIM[1]),
        "depth": Range(DEPTH[0], DEPTH[1]),
    }

    def required_keys(self) -> tuple[str, ...]:
        return ("arch", "num_classes", "dim", "heads", "depth", "mlp_ratio", "activation")

    def _sample(self, rng: np.random.Generator) -> dict[str, Any]:
        arch = pick(rng, ("vit", "hybrid"))
        size = float(rng.uniform())
        heads = pick(rng, HEADS)
        step = 8 * heads  # head size a multiple of 8
        dim = round_channels(sized(rng, size, *DIM), divisor=step, minimum=step)
        spec: dict[str, Any] = {
            "arch": arch,
            "num_classes": pick(rng, NUM_CLASSES),
            "dim": min(dim, DIM[1] // step * step),
            "heads": heads,
            "depth": sized_int(rng, size, *DEPTH, jitter=0.3),
            "mlp_ratio": sized_pick(rng, size, MLP_RATIOS, jitter=0.4),
            "activation": pick(rng, ACTIVATIONS),
        }
        if arch == "vit":
            hw = sized_pick(rng, size, VIT_HW, jitter=0.3)
            # Patch sizes giving 4..MAX_TOKENS tokens, fewest tokens first.
            patches = [
                p for p in sorted(PATCHES, reverse=True) if 4 <= (hw // p) ** 2 <= MAX_TOKENS
            ]
            spec["input_shape"] = [hw, hw, 3]
            spec["patch"] = sized_pick(rng, size, patches, jitter=0.3)
        else:
            hw = sized_pick(rng, size, HYBRID_HW, jitter=0.3)
            # Stem stages until the map has at most MAX_TOKENS positions (>= 2 stride-2 stages).
            stem_stages, side = 0, hw
            while side * side > MAX_TOKENS or stem_stages < 2:
                stem_stages, side = stem_stages + 1, side // 2
            base = sized(rng, size, 8, 48)
            spec["input_shape"] = [hw, hw, 3]
            spec["stem"] = [
                {
                    "filters": round_channels(base * 1.5**i),
                    "expansion": 1 if i == 0 else pick(rng, (2, 4)),
                    "kernel": 3,
                }
                for i in range(stem_stages)
            ]
        return spec

    def measure(self, spec: dict[str, Any]) -> dict[str, float]:
        hw = spec["input_shape"][0]
        side = hw // spec["patch"] if spec["arch"] == "vit" else hw // 2 ** len(spec["stem"])
        return {"input_hw": hw, "tokens": side * side, "dim": spec["dim"], "depth": spec["depth"]}

    def _build(self, spec: dict[str, Any]) -> keras.Model:
        inputs = blocks.model_input(spec["input_shape"])
        dim, activation = spec["dim"], spec["activation"]
        if spec["dim"] % spec["heads"]:
            raise ValueError(f"dim {spec['dim']} is not a multiple of heads {spec['heads']}")
        if spec["arch"] == "vit":
            x = layers.Conv2D(dim, spec["patch"], spec["patch"], name="patch_embed")(inputs)
        elif spec["arch"] == "hybrid":
            x = inputs
            for i, stage in enumerate(spec["stem"]):
                x = blocks.mbconv(
                    x,
                    f"stem{i}",
                    stage["filters"],
                    stage["kernel"],
                    2,
                    stage["expansion"],
                    False,
                    "hard_swish",
                )
            x = blocks.conv_bn(x, "to_tokens", dim, 1, 1, None)
        else:
            raise ValueError(f"arch {spec['arch']!r} is not vit or hybrid")
        side_h, side_w = int(x.shape[1]), int(x.shape[2])
        x = layers.Reshape((side_h * side_w, dim), name="tokens")(x)
        x = blocks.PositionEmbedding(name="pos_embed")(x)
        for i in range(spec["depth"]):
            x = blocks.encoder_block(x, f"enc{i}", spec["heads"], spec["mlp_ratio"], activation)
        x = blocks.LayerNorm(name="final_ln")(x)
        if spec["arch"] == "hybrid":
            x = layers.Reshape((side_h, side_w, dim), name="to_map")(x)
            x = blocks.conv_bn(x, "fuse", dim * 2, 1, 1, "hard_swish")
        outputs = blocks.classifier(x, "classifier", spec["num_classes"])
        return keras.Model(inputs, outputs, name=f"{self.name}_{spec['seed']}")
