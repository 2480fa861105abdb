"""Parse time of the TFLite reader per model (median of many parses), printed as a table.

Usage: ``python bench/reader.py [MODEL.tflite ...]``. With no arguments it converts a
MobileNetV2 (alpha 0.35, 96x96, about 65 ops) to fp32 and int8 with TensorFlow and times both.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

# The repo root first: tests/predictor/ would otherwise shadow the predictor package.
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests")]

from predictor import read_model

REPEATS = 300


def time_parse(data: bytes, repeats: int = REPEATS) -> tuple[float, float]:
    read_model(data)  # warm caches (struct formats, schema tables)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        read_model(data)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.9 * len(samples))]


def default_models() -> list[Path]:
    from support import zoo

    return [zoo.model_path("mobilenet_v2", p) for p in ("fp32", "int8")]


def main(argv: list[str]) -> None:
    paths = [Path(a) for a in argv] or default_models()
    print(f"{'model':<48} {'ops':>5} {'tensors':>8} {'median_ms':>10} {'p90_ms':>8}")
    for path in paths:
        data = path.read_bytes()
        graph = read_model(data)
        median_ms, p90_ms = time_parse(data)
        tensors = sum(len(sg.tensors) for sg in graph.subgraphs)
        print(
            f"{path.name:<48} {graph.summary.num_ops:>5} {tensors:>8} {median_ms:>10.3f} {p90_ms:>8.3f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
