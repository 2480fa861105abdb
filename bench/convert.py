"""Conversion speed: seconds per architecture per search space, fast route vs TF's default.

Builds N sampled architectures per space and times build, fp32 and int8 export with
``dataset.convert`` (one tracing, int8 quantized from the fp32 bytes); with ``--baseline`` also
times ``TFLiteConverter.from_keras_model`` (SavedModel round trip, a full conversion per
precision) on the same models. Run it niced:

    nice .venv/bin/python bench/convert.py --per-space 5 --baseline
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
import tensorflow as tf  # noqa: E402

IMPORT_S = time.perf_counter() - _t0

from dataset.convert import (  # noqa: E402
    clear_cache,
    configure_tensorflow,
    representative_data,
    to_tflite,
)
from dataset.spaces import SPACES, build_model, sample_spec  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-space", type=int, default=5, help="architectures per space")
    parser.add_argument("--seed-start", type=int, default=1000)
    parser.add_argument("--spaces", default=",".join(SPACES), help="comma-separated space names")
    parser.add_argument("--threads", type=int, default=1, help="TF intra/inter-op threads")
    parser.add_argument("--baseline", action="store_true", help="also time from_keras_model")
    args = parser.parse_args()
    configured = configure_tensorflow(args.threads)
    print(f"tensorflow {tf.__version__}: import {IMPORT_S:.2f} s, threads={args.threads} "
          f"(applied: {configured})")
    header = f"{'space':22s} {'n':>3s} {'build_s':>8s} {'fp32_s':>7s} {'int8_s':>7s} {'total_s':>8s}"
    print(header + ("  baseline fp32_s int8_s total_s  speed-up" if args.baseline else ""))
    grand: list[float] = []
    for space in args.spaces.split(","):
        rows = []
        for seed in range(args.seed_start, args.seed_start + args.per_space):
            start = time.perf_counter()
            model = build_model(sample_spec(space, seed))
            built = time.perf_counter()
            clear_cache()
            to_tflite(model, "fp32", seed=seed)
            fp32 = time.perf_counter()
            to_tflite(model, "int8", seed=seed)
            int8 = time.perf_counter()
            row = [built - start, fp32 - built, int8 - fp32]
            if args.baseline:
                base = baseline_pair(model, seed)
                row += [base["fp32"], base["int8"]]
            rows.append(row)
        mean = [statistics.fmean(col) for col in zip(*rows, strict=True)]
        total = sum(mean[:3])
        grand.append(total)
        line = f"{space:22s} {len(rows):3d} {mean[0]:8.2f} {mean[1]:7.2f} {mean[2]:7.2f} {total:8.2f}"
        if args.baseline:
            base_total = mean[0] + mean[3] + mean[4]
            line += f"  {'':8s} {mean[3]:6.2f} {mean[4]:6.2f} {base_total:7.2f}  {base_total / total:7.1f}x"
        print(line, flush=True)
    per_arch = statistics.fmean(grand)
    print(f"mean over spaces: {per_arch:.2f} s per architecture (both precisions, build included); "
          f"10,000 architectures on 2 cores ~ {10_000 * per_arch / 2 / 3600:.1f} h")


if __name__ == "__main__":
    main()
