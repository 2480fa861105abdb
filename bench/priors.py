"""How close each analytic prior comes to Vela, per Ethos-U target: a log-space line fitted to it.

Usage: ``python bench/priors.py [--export FILE] [--limit N]``. For every int8 graph of the export
with a Vela latency, the whole-graph latency of ``npu-int8`` (the generic prior) and of the
target's own Ethos-U roofline (``hwmodels.ETHOSU_SYSTEMS``) is fitted to Vela's as
``log y = a + b log x`` (in-sample: this rates the prior as a feature, not as a predictor) and the
MAPE and share within +/-10 % printed; then, per operator kind, the median ratio of Vela's
per-layer cycles to the roofline's and the kind's share of Vela's total time.
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
from hwmodels.accelerator import estimate


def _fit_mape(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a = np.stack([np.ones_like(x), np.log(x)], 1)
    coef, *_ = np.linalg.lstsq(a, np.log(y), rcond=None)
    err = np.abs(np.exp(a @ coef) - y) / y
    return 100 * float(err.mean()), 100 * float((err <= 0.1).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", type=Path, default=Path("dataset/export"))
    ap.add_argument("--limit", type=int, default=0, help="Graphs to use (0: all).")
    args = ap.parse_args()
    data, digest = load_training_data(open_store(None, args.export))
    targets = list(VELA_TARGETS)
    whole: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    per_kind: dict[str, dict[str, list[float]]] = {t: defaultdict(list) for t in targets}
    kind_ms: dict[str, dict[str, float]] = {t: defaultdict(float) for t in targets}
    used = 0
    for graph, labels, node_labels in zip(
        data.graphs, data.labels, data.node_labels or [{}] * len(data.graphs)
    ):
        ys = {t: (labels.get(t) or {}).get("latency_ms") for t in targets}
        if not any(ys.values()):
            continue
        works = graph.layer_works()
        generic = estimate(works, "npu-int8").latency_ms
        for t in targets:
            own = estimate(works, t)
            if ys[t]:
                whole[t].append((ys[t], generic, own.latency_ms))
            vela_ms = node_labels.get(t) or []
            if len(vela_ms) == len(works):
                for w, c, v in zip(works, own.layers, vela_ms):
                    if v > 0:
                        per_kind[t][w.op_kind.value].append(v / c.latency_ms)
                        kind_ms[t][w.op_kind.value] += v
        used += 1
        if args.limit and used >= args.limit:
            break
    print(f"dataset {digest}: {used} int8 graphs with Vela labels")
    print(f"{'target':15s} {'prior':15s} {'MAPE %':>8s} {'<=10 %':>7s}")
    for t in targets:
        rows = np.array(whole[t])
        for name, col in (("npu-int8", 1), (t, 2)):
            mape, within = _fit_mape(rows[:, col], rows[:, 0])
            print(f"{t:15s} {name:15s} {mape:8.1f} {within:7.1f}")
    for t in targets:
        total = sum(kind_ms[t].values())
        print(f"\n{t}: Vela per-layer time / roofline, by op kind (median, p10-p90)")
        for kind in sorted(kind_ms[t], key=lambda k: -kind_ms[t][k]):
            r = np.array(per_kind[t][kind])
            p10, p50, p90 = np.percentile(r, [10, 50, 90])
            share = 100 * kind_ms[t][kind] / total
            print(
                f"  {kind:16s} share {share:5.1f} %  n {len(r):6d}  {p50:7.2f}  ({p10:.2f}-{p90:.2f})"
            )


if __name__ == "__main__":
    main()
