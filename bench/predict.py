"""Throughput of the in-process predictor (graphs per second) and one MobileNetV2 on every target.

Usage: ``python bench/predict.py [--db URL] [--graphs 2000] [--threads 2] [--max-ops 100]
[--dtype float32 [bfloat16]]``.
NAS graphs come from a dataset store (``--db``; graphs of <= ``--max-ops`` ops, repeated up to
``--graphs``) or, without one, from the test zoo. Goals (issue 5): >= 2,000 graphs/s for graphs of
<= 100 ops on 2 cores; one MobileNetV2 on every target in <= 10 ms. Throughputs are the best (and
median) of ``--repeats`` rounds, the MobileNetV2 time the median of 10 per round; with several
``--dtype`` values, each round times every one, so that they share the host's slow spells.

The load average is printed first: on a busy machine, torch's OpenMP threads spin-wait for a
thread that the scheduler runs late, and the forward pass with ``--threads 2`` can be several times
slower than with one (``OMP_WAIT_POLICY=PASSIVE`` in the environment avoids it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests")]

import torch

from predictor.graph import OpGraph
from predictor.predict import Predictor
from predictor.reader import read_model
from predictor.train import FORWARD_DTYPES, feature_batches, forward_log


def store_graphs(db: str, max_ops: int) -> list[OpGraph]:
    from dataset.store import Store

    store = Store(db)
    graphs = [OpGraph.from_dict(store.opgraph(ref.id)) for ref in store.graphs()]
    return [g for g in graphs if len(g.ops) <= max_ops]


def zoo_graphs(max_ops: int) -> list[OpGraph]:
    from support import zoo

    out = []
    for name in (
        "mobilenet_v2",
        "mobilenet_v1",
        "ds_cnn",
        "conv_mix",
        "mlp",
        "conv1d_audio",
        "mobilenet_v3_small",
    ):
        for precision in ("fp32", "int8"):
            g = read_model(zoo.model_path(name, precision))
            if len(g.ops) <= max_ops:
                out.append(g)
    return out


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="dataset store URL to draw NAS graphs from")
    ap.add_argument("--graphs", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-ops", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--checkpoint", help="GNN checkpoint (default: the shipped one)")
    ap.add_argument("--members", type=int, help="of an ensemble, use only the first N members")
    ap.add_argument(
        "--dtype",
        nargs="+",
        choices=FORWARD_DTYPES,
        default=["float32"],
        help="arithmetic of the GNN's message passing (bfloat16: CPUs with native bfloat16); "
        "several are timed round by round, each round running every one",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load1, _, _ = os.getloadavg()
    print(
        f"load average {load1:.2f} on {os.cpu_count()} cores before starting; "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}"
    )
    pool = store_graphs(args.db, args.max_ops) if args.db else zoo_graphs(args.max_ops)
    graphs = (pool * (args.graphs // len(pool) + 1))[: args.graphs]
    mean_ops = statistics.mean(len(g.ops) for g in graphs)
    print(
        f"{len(graphs)} graphs of <= {args.max_ops} ops (mean {mean_ops:.0f}), {args.threads} torch threads"
    )

    from support import zoo

    mnv2 = zoo.model_path("mobilenet_v2", "int8").read_bytes()
    loaded = Predictor.load(args.checkpoint, threads=args.threads, members=args.members)
    runs = {}  # (dtype, what) -> seconds per round
    predictors = {}
    for dtype in args.dtype:
        for mode in ("gnn", "direct"):
            p = Predictor(
                loaded.model, loaded.meta, threads=args.threads, analytic=mode, dtype=dtype
            )
            p.predict_array(graphs[:64])  # warm up (oneDNN builds its kernels on first use)
            p.predict([read_model(mnv2)])
            predictors[dtype, mode] = p
    batches = list(feature_batches(graphs, loaded.batch_size))

    # Rounds interleave the dtypes, so that a slower spell of a shared host hits them alike.
    def parse_and_predict(q: Predictor) -> None:
        q.predict([read_model(mnv2)])

    for _ in range(args.repeats):
        for dtype in args.dtype:
            p = predictors[dtype, "gnn"]
            for what, seconds in (
                ("features", timed(list, feature_batches(graphs, p.batch_size))),
                ("forward", timed(forward_log, p.model, batches, args.threads, dtype)),
                ("predict_array", timed(p.predict_array, graphs)),
                ("predict", timed(p.predict, graphs)),
            ):
                runs.setdefault((dtype, what), []).append(seconds)
            for mode in ("gnn", "direct"):
                q = predictors[dtype, mode]
                runs.setdefault((dtype, f"mnv2-{mode}"), []).extend(
                    timed(parse_and_predict, q) for _ in range(10)
                )
    n = len(graphs)
    for dtype in args.dtype:
        print(f"-- dtype {dtype}: graphs/s best (median) of {args.repeats} rounds")
        for what, label in (
            ("features", "features only           "),
            ("forward", "forward only (batched)  "),
            ("predict_array", "predict_array (both)    "),
            ("predict", "predict (dicts, all tgt)"),
        ):
            t = runs[dtype, what]
            print(f"{label} {n / min(t):9.0f} ({n / statistics.median(t):.0f}) graphs/s")
        for mode in ("gnn", "direct"):
            t = runs[dtype, f"mnv2-{mode}"]
            print(
                f"MobileNetV2 int8, parse + every target (npu-* by {mode:6s}): "
                f"{statistics.median(t) * 1e3:6.2f} ms median of {len(t)}"
            )


if __name__ == "__main__":
    main()
