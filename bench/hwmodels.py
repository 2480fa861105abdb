"""Time ``hwmodels.estimate`` on a 100-layer graph (goal: <= 1 ms median per call).

Usage: ``python bench/hwmodels.py [MODEL.tflite] [--repeats N]``. Without a model, a synthetic
MobileNet-like stack of 100 layers (conv, depthwise, pointwise, add, pool, dense) is used; with
one, its reader layers. Prints the median and p90 per accelerator preset and per 100 layers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# This script shares its name with the package it times: keep its own folder off the path.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from hwmodels.accelerator import PRESETS, estimate
from hwmodels.work import LayerWork, OpKind


def synthetic_layers(n: int = 100) -> list[LayerWork]:
    """A MobileNet-like stack: depthwise 3x3, pointwise 1x1, residual add, repeated."""
    layers: list[LayerWork] = []
    hw, c = 56, 32
    kinds = (OpKind.DEPTHWISE, OpKind.CONV, OpKind.ELEMENTWISE, OpKind.CONV)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if i % 16 == 15:
            hw, c = max(hw // 2, 7), min(c * 2, 1024)
        out = hw * hw * c
        if kind is OpKind.DEPTHWISE:
            layers.append(
                LayerWork(
                    f"{i}:DW",
                    kind,
                    macs=out * 9,
                    weight_elems=9 * c,
                    input_elems=out,
                    output_elems=out,
                    output_shape=(1, hw, hw, c),
                    kernel_hw=(3, 3),
                    in_channels=1,
                    out_channels=c,
                    reduction=9,
                )
            )
        elif kind is OpKind.CONV:
            layers.append(
                LayerWork(
                    f"{i}:PW",
                    kind,
                    macs=out * c,
                    weight_elems=c * c,
                    input_elems=out,
                    output_elems=out,
                    output_shape=(1, hw, hw, c),
                    in_channels=c,
                    out_channels=c,
                    reduction=c,
                )
            )
        else:
            layers.append(
                LayerWork(
                    f"{i}:ADD",
                    kind,
                    elem_ops=out,
                    input_elems=2 * out,
                    output_elems=out,
                    output_shape=(1, hw, hw, c),
                )
            )
    return layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, help="optional .tflite model")
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    if args.model:
        from predictor.reader import read_model

        layers = read_model(args.model).layer_works()
        label = f"{args.model.name} ({len(layers)} layers)"
    else:
        layers = synthetic_layers()
        label = "synthetic (100 layers)"
    print(f"graph: {label}; {args.repeats} calls per accelerator after warm-up")
    for name, accel in PRESETS.items():
        estimate(layers, accel)  # warm: per-accelerator constants are built once
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            estimate(layers, accel)
            times.append(time.perf_counter() - t0)
        times.sort()
        med_ms = statistics.median(times) * 1e3
        p90_ms = times[int(0.9 * len(times))] * 1e3
        per100 = med_ms * 100 / max(len(layers), 1)
        print(
            f"{name:14s} median {med_ms:.3f} ms  p90 {p90_ms:.3f} ms  "
            f"median per 100 layers {per100:.3f} ms"
        )


if __name__ == "__main__":
    main()
