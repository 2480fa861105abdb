"""Throughput of the in-process predictor (graphs per second) and one MobileNetV2 on every target.

Usage: ``python bench/predict.py [--db URL] [--graphs 2000] [--threads 2] [--max-ops 100]``.
NAS graphs come from a dataset store (``--db``; graphs of <= ``--max-ops`` ops, repeated up to
``--graphs``) or, without one, from the test zoo. Goals (issue 5): >= 2,000 graphs/s for graphs of
<= 100 ops on 2 cores; one MobileNetV2 on every target in <= 10 ms. Throughputs are the best of
``--repeats`` runs, the MobileNetV2 time the median of 30.

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
from predictor.train import feature_batches, forward_log


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


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def median_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="dataset store URL to draw NAS graphs from")
    ap.add_argument("--graphs", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-ops", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--checkpoint", help="GNN checkpoint (default: the shipped one)")
    ap.add_argument("--members", type=int, help="of an ensemble, use only the first N members")
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

    p = Predictor.load(args.checkpoint, threads=args.threads, analytic="gnn", members=args.members)
    p.predict_array(graphs[:64])  # warm up
    batches = list(feature_batches(graphs, p.batch_size))
    t_feat = best_of(lambda: list(feature_batches(graphs, p.batch_size)), args.repeats)
    t_fwd = best_of(lambda: forward_log(p.model, batches, args.threads), args.repeats)
    t_all = best_of(lambda: p.predict_array(graphs), args.repeats)
    t_dicts = best_of(lambda: p.predict(graphs), args.repeats)
    n = len(graphs)
    print(f"features only            {n / t_feat:9.0f} graphs/s  ({t_feat / n * 1e3:.3f} ms/graph)")
    print(f"forward only (batched)   {n / t_fwd:9.0f} graphs/s  ({t_fwd / n * 1e3:.3f} ms/graph)")
    print(f"predict_array (both)     {n / t_all:9.0f} graphs/s")
    print(f"predict (dicts, all tgt) {n / t_dicts:9.0f} graphs/s")

    from support import zoo

    mnv2_path = zoo.model_path("mobilenet_v2", "int8")
    data = mnv2_path.read_bytes()
    for mode in ("gnn", "direct"):
        q = Predictor(p.model, p.meta, threads=args.threads, analytic=mode)
        q.predict([read_model(data)])
        t_pred = median_of(lambda q=q: q.predict([read_model(data)]), 30)
        print(
            f"MobileNetV2 int8, parse + every target (npu-* by {mode:6s}): {t_pred * 1e3:6.2f} ms median"
        )


if __name__ == "__main__":
    main()
