"""How much of Vela's per-op cost is local: ops alike in everything they see, across graphs.

Usage: ``python bench/locality.py [--export FILE]``. Groups the main-subgraph ops of every int8
graph with Vela per-op cycles by their local configuration (op type, every input and output
tensor shape, builtin options) and prints, per Ethos-U target:

- the spread of Vela's per-op time within a configuration seen in two or more graphs (median
  |ln(time / the configuration's median)|, weighted by ops; share of configurations above 5 %);
- a local oracle: each graph's latency predicted as the sum over its ops of the median time of its
  configuration *in other graphs* (graphs whose every costed op has such a configuration), and
  that oracle's MAPE and share within +/-10 % against Vela's total.

A per-op model that sees only an op's own configuration cannot beat the oracle on these graphs;
what it misses is what Vela decides across ops (tensor placement in SRAM, cascading, DMA).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parents[1])

from api.cli.train import load_training_data, open_store
from dataset.targets import VELA_TARGETS

DEFAULT_EXPORT = Path(__file__).resolve().parents[1] / "dataset" / "export"


def local_key(graph, op) -> tuple:
    sg = graph.main
    shapes = tuple(tuple(sg.tensors[t].shape) if t >= 0 else () for t in (*op.inputs, *op.outputs))
    return op.op_type, shapes, tuple(sorted((k, str(v)) for k, v in op.options.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", type=Path, default=DEFAULT_EXPORT, help="dataset export to read")
    args = ap.parse_args()
    data, digest = load_training_data(open_store(None, args.export))
    if not data.node_labels:
        raise SystemExit("the export holds no Vela per-op cycles")
    print(f"dataset {digest}: {len(data.graphs)} graphs")
    print(
        f"{'target':15s} {'configs':>8s} {'ops':>8s} {'spread':>7s} {'>5 %':>6s}"
        f" {'graphs':>7s} {'oracle MAPE':>12s} {'<=10 %':>7s}"
    )
    for target in VELA_TARGETS:
        # key -> graph -> that graph's per-op times of the key (ms)
        groups: dict[tuple, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        graph_ops: dict[int, list[tuple[tuple, float]]] = {}
        for gi, graph in enumerate(data.graphs):
            per_op = data.node_labels[gi].get(target)
            total = (data.labels[gi].get(target) or {}).get("latency_ms")
            if not per_op or not total or len(per_op) != len(graph.main.ops):
                continue
            ops = []
            for op, ms in zip(graph.main.ops, per_op, strict=True):
                key = local_key(graph, op)
                groups[key][gi].append(ms)
                ops.append((key, ms))
            graph_ops[gi] = ops
        spreads, weights = [], []
        for by_graph in groups.values():
            values = np.array([v for vs in by_graph.values() for v in vs])
            if len(by_graph) < 2 or values.min() <= 0:
                continue
            spreads.append(np.median(np.abs(np.log(values / np.median(values)))))
            weights.append(len(values))
        spreads_a, weights_a = np.array(spreads), np.array(weights)
        errors, spaces = [], []
        for gi, ops in graph_ops.items():
            pred, ok = 0.0, True
            for key, ms in ops:
                if ms <= 0:
                    continue  # fused or free: Vela gives it no cycles
                others = [v for g, vs in groups[key].items() if g != gi for v in vs]
                if not others:
                    ok = False
                    break
                pred += float(np.median(others))
            if ok:
                total = data.labels[gi][target]["latency_ms"]
                errors.append(abs(pred / total - 1))
                spaces.append(data.spaces[gi])
        err, space_a = np.array(errors), np.array(spaces)
        print(
            f"{target:15s} {len(spreads_a):8d} {int(weights_a.sum()):8d}"
            f" {100 * np.average(spreads_a, weights=weights_a):6.2f}% {100 * (spreads_a > 0.05).mean():5.1f}%"
            f" {len(err):7d} {100 * err.mean():11.2f}% {100 * (err <= 0.1).mean():6.1f}%"
        )
        by_space = "  ".join(
            f"{s} {100 * err[space_a == s].mean():.2f}% (n {(space_a == s).sum()})"
            for s in sorted(set(spaces))
        )
        print(f"{'':15s} oracle by space: {by_space}")


if __name__ == "__main__":
    main()
