"""How much of Vela's per-op cost an op's neighbours in execution order explain, per Ethos-U target.

Usage: ``python bench/neighbours.py [--db URL | --export DIR] [--train-graphs 2500] [--seed 0]``.
Fits gradient-boosted trees (scikit-learn's ``HistGradientBoostingRegressor``, log of Vela's
per-op time) on the main-subgraph ops of ``--train-graphs`` graphs with Vela per-op cycles, drawn
from the training split (split by architecture, as ``edgeperf train`` does), with four feature
sets: the op's own GNN node features and op type; with the previous op's (in execution order)
added; with the next op's too; and with the previous op's true time as well (an oracle no
predictor has). For the test split's graphs it prints the MAPE over every op with non-zero cycles,
and the MAPE of each graph's sum over those ops (where Vela books the cycles of a fused pair, on
the op or its neighbour, cancels in the sum but not per op).

The neighbours help on every target; on the U65/U85 (``Dedicated_Sram``), where Vela copies each
op's weights from DRAM under the previous op and places feature maps in SRAM for the whole graph at
once, the error left with all four sets stays about twice the U55's (weights in flash, arena in
SRAM): the whole graph's schedule weighs more there (docs/predictor.md, "Shipped checkpoint and
where it stands").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

sys.path[0] = str(Path(__file__).resolve().parents[1])

from api.cli.train import load_training_data, open_store
from dataset.targets import VELA_TARGETS
from predictor import train as tr
from predictor.features import features_list

FEATURE_SETS = ("op alone", "+ previous op", "+ next op", "+ previous op's true time")


def op_rows(data, indices: list[int], target: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, Vela per-op ms, graph number) of every main-subgraph op of ``indices`` with
    per-op labels.

    Columns: own features + op type, the previous op's, the next op's (zeros at the ends), then
    log of the previous op's true time.
    """
    keep = [
        i
        for i in indices
        if (per_op := data.node_labels[i].get(target))
        and len(per_op) == len(data.graphs[i].main.ops)
    ]
    x_parts, y_parts, g_parts = [], [], []
    for gi, (i, feats) in enumerate(
        zip(keep, features_list([data.graphs[i] for i in keep]), strict=True)
    ):
        own = np.column_stack([feats[0], feats[1]]).astype(np.float64)
        zero = np.zeros_like(own[:1])
        prev = np.vstack([zero, own[:-1]])
        nxt = np.vstack([own[1:], zero])
        ms = np.asarray(data.node_labels[i][target], np.float64)
        prev_ms = np.log(np.concatenate([[0.0], ms[:-1]]) + 1e-9)
        x_parts.append(np.column_stack([own, prev, nxt, prev_ms]))
        y_parts.append(ms)
        g_parts.append(np.full(len(ms), gi))
    if not x_parts:
        return np.zeros((0, 1)), np.zeros(0), np.zeros(0, np.int64)
    return np.vstack(x_parts), np.concatenate(y_parts), np.concatenate(g_parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", help="dataset store URL (default: read --export)")
    ap.add_argument(
        "--export",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "dataset" / "export",
        help="dataset export to read when --db is not given",
    )
    ap.add_argument(
        "--train-graphs", type=int, default=2500, help="training graphs the trees fit on"
    )
    ap.add_argument("--seed", type=int, default=0, help="split and sampling seed")
    args = ap.parse_args()
    if args.train_graphs < 1:
        ap.error("--train-graphs must be >= 1")

    data, digest = load_training_data(open_store(args.db, None if args.db else args.export))
    if not data.node_labels:
        raise SystemExit("the dataset holds no Vela per-op cycles")
    train, _, test = tr.split_by_architecture(data.arch_ids, seed=args.seed)
    # Vela compiles int8 graphs only: those are the graphs with per-op cycles.
    costed = {i for i, per_op in enumerate(data.node_labels) if per_op}
    rng = np.random.default_rng(args.seed)
    train_costed = [i for i in train if i in costed]
    sample = sorted(
        rng.choice(train_costed, min(args.train_graphs, len(train_costed)), replace=False)
    )
    test_costed = [i for i in test if i in costed]
    print(
        f"dataset {digest}: {len(sample)} training graphs with per-op cycles, {len(test_costed)} test graphs"
    )
    print(f"{'target':15s} {'metric':11s} " + " ".join(f"{s:>25s}" for s in FEATURE_SETS))
    for target in VELA_TARGETS:
        x_train, y_train, _ = op_rows(data, sample, target)
        x_test, y_test, graph_of = op_rows(data, test_costed, target)
        costed_train, costed_test = y_train > 0, y_test > 0  # ops Vela folds into others cost 0
        if not costed_train.any() or not costed_test.any():
            print(f"{target:15s} no per-op labels")
            continue
        true_graph_ms = np.bincount(graph_of, weights=y_test)
        width = (x_train.shape[1] - 1) // 3
        op_cells, graph_cells = [], []
        for n_cols in (width, 2 * width, 3 * width, 3 * width + 1):
            model = HistGradientBoostingRegressor(max_iter=400, random_state=args.seed)
            model.fit(x_train[costed_train, :n_cols], np.log(y_train[costed_train]))
            pred_ms = np.zeros_like(y_test)
            pred_ms[costed_test] = np.exp(model.predict(x_test[costed_test, :n_cols]))
            op_err = np.abs(pred_ms[costed_test] / y_test[costed_test] - 1)
            # A graph's sum over the ops Vela costs: where Vela books a fused pair's cycles
            # (this op or its neighbour) cancels here but not per op.
            graph_err = np.abs(np.bincount(graph_of, weights=pred_ms) / true_graph_ms - 1)
            op_cells.append(f"{100 * op_err.mean():24.1f}%")
            graph_cells.append(f"{100 * graph_err.mean():24.1f}%")
        print(f"{target:15s} {'op MAPE':11s} " + " ".join(op_cells))
        print(f"{'':15s} {'graph MAPE':11s} " + " ".join(graph_cells), flush=True)
        print(
            f"{'':15s} ({int(costed_train.sum())} training ops, {int(costed_test.sum())} test ops,"
            f" {len(true_graph_ms)} test graphs)"
        )


if __name__ == "__main__":
    main()
