"""Conversion speed: seconds per architecture per search space, fast route vs TF's default.

Builds N sampled architectures per space and times build, fp32 and int8 export with
``dataset.convert`` (one tracing, int8 quantized from the fp32 bytes); with ``--baseline`` also
times ``TFLiteConverter.from_keras_model`` (SavedModel round trip, a full conversion per
precision) on the same models; with ``--latency`` also measures each flatbuffer on the
``cpu-xnnpack-1t`` target (LiteRT, 1 thread, median of 20 invokes) to show the latency range the
spaces cover. Wall seconds grow when the machine is shared; ``cpu_s`` is this process's CPU time.

    nice .venv/bin/python bench/convert.py --per-space 5 --baseline
    nice .venv/bin/python bench/convert.py --per-space 12 --latency
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_t0 = time.perf_counter()
import numpy as np
import tensorflow as tf

IMPORT_S = time.perf_counter() - _t0

from dataset.convert import (
    clear_cache,
    configure_tensorflow,
    representative_data,
    to_tflite,
)
from dataset.spaces import SPACES, build_model, sample_spec


def baseline_pair(model, seed: int) -> dict[str, float]:
    """Seconds for fp32 and int8 via from_keras_model, one full conversion each."""
    times = {}
    for precision in ("fp32", "int8"):
        start = time.perf_counter()
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if precision == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: representative_data(model, seed, 2)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
        converter.convert()
        times[precision] = time.perf_counter() - start
    return times


LATENCY_INVOKES = 20
LATENCY_BUDGET_S = 3.0  # stop timing a slow model after this many seconds of invokes


def latency_ms(flatbuffer: bytes) -> float:
    """Median wall time of one invoke in LiteRT (XNNPACK, 1 thread), after one warm-up."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer, num_threads=1)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()
    times_s: list[float] = []
    while len(times_s) < LATENCY_INVOKES and sum(times_s) < LATENCY_BUDGET_S:
        start = time.perf_counter()
        interpreter.invoke()
        times_s.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times_s)


def print_latencies(latencies: dict[str, dict[str, list[float]]]) -> None:
    """Per-space min/median/max and a histogram of log10(latency_ms) over all spaces."""
    print("\ncpu-xnnpack-1t latency (ms), median of invokes:")
    every: list[float] = []
    for space, by_precision in latencies.items():
        cells = []
        for precision, values in by_precision.items():
            cells.append(
                f"{precision} min {min(values):.3f} med {statistics.median(values):.2f} "
                f"max {max(values):.1f}"
            )
        every += by_precision["fp32"] + by_precision["int8"]
        print(f"  {space:22s} " + " | ".join(cells))
    edges = np.arange(-2.0, 3.01, 0.5)
    counts, _ = np.histogram(np.log10(every), bins=edges)
    print(
        "  log10(ms) histogram, both precisions: "
        + "  ".join(
            f"[{lo:+.1f},{lo + 0.5:+.1f}):{n}" for lo, n in zip(edges[:-1], counts, strict=True)
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-space", type=int, default=5, help="architectures per space")
    parser.add_argument("--seed-start", type=int, default=1000)
    parser.add_argument("--spaces", default=",".join(SPACES), help="comma-separated space names")
    parser.add_argument("--threads", type=int, default=1, help="TF intra/inter-op threads")
    parser.add_argument("--baseline", action="store_true", help="also time from_keras_model")
    parser.add_argument("--latency", action="store_true", help="also measure LiteRT latency")
    args = parser.parse_args()
    configured = configure_tensorflow(args.threads)
    print(
        f"tensorflow {tf.__version__}: import {IMPORT_S:.2f} s, threads={args.threads} "
        f"(applied: {configured})"
    )
    header = (
        f"{'space':22s} {'n':>3s} {'build_s':>8s} {'fp32_s':>7s} {'int8_s':>7s} {'total_s':>8s}"
        f" {'cpu_s':>6s}"
    )
    print(header + ("  baseline fp32_s int8_s total_s  speed-up" if args.baseline else ""))
    grand: list[float] = []
    cpu: list[float] = []
    latencies: dict[str, dict[str, list[float]]] = {}
    for space in args.spaces.split(","):
        rows = []
        latencies[space] = {"fp32": [], "int8": []}
        for seed in range(args.seed_start, args.seed_start + args.per_space):
            cpu_start, start = time.process_time(), time.perf_counter()
            model = build_model(sample_spec(space, seed))
            built = time.perf_counter()
            clear_cache()
            fp32_bytes = to_tflite(model, "fp32", seed=seed)
            fp32 = time.perf_counter()
            int8_bytes = to_tflite(model, "int8", seed=seed)
            int8 = time.perf_counter()
            row = [built - start, fp32 - built, int8 - fp32, time.process_time() - cpu_start]
            if args.latency:
                latencies[space]["fp32"].append(latency_ms(fp32_bytes))
                latencies[space]["int8"].append(latency_ms(int8_bytes))
            if args.baseline:
                base = baseline_pair(model, seed)
                row += [base["fp32"], base["int8"]]
            rows.append(row)
        mean = [statistics.fmean(col) for col in zip(*rows, strict=True)]
        total = sum(mean[:3])
        grand.append(total)
        cpu.append(mean[3])
        line = (
            f"{space:22s} {len(rows):3d} {mean[0]:8.2f} {mean[1]:7.2f} {mean[2]:7.2f} {total:8.2f}"
            f" {mean[3]:6.2f}"
        )
        if args.baseline:
            base_total = mean[0] + mean[4] + mean[5]
            line += f"  {'':8s} {mean[4]:6.2f} {mean[5]:6.2f} {base_total:7.2f}  {base_total / total:7.1f}x"
        print(line, flush=True)
    per_arch = statistics.fmean(grand)
    cpu_per_arch = statistics.fmean(cpu)
    print(
        f"mean over spaces: {per_arch:.2f} s wall, {cpu_per_arch:.2f} s CPU per architecture "
        f"(both precisions, build included); 10,000 architectures on 2 free cores "
        f"~ {10_000 * cpu_per_arch / 2 / 3600:.1f} h"
    )
    if args.latency:
        print_latencies(latencies)


if __name__ == "__main__":
    main()
