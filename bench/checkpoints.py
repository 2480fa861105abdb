"""Two checkpoints trained on different exports, scored on graphs neither trained on.

Usage: ``python bench/checkpoints.py --old-export OLD.jsonl.xz --new-export NEW.jsonl.xz
OLD.pt NEW.pt [--threads 2]`` (the same export twice for checkpoints of other options on the
same data: it is loaded once; or ``--db URL`` for checkpoints trained on one dataset store, read
without the export's decompression). The split is by architecture with each checkpoint's seed, so
a grown export reshuffles it: the new test split holds architectures the old checkpoint trained on. This
scores every checkpoint on the new export's test split (rows ``new-test``) and on the part of it
whose architectures lie in neither the old split's train nor its validation part (rows ``unseen``):
the fair comparison of what more data bought. Prints latency MAPE and share within +/-10 % for
the Ethos-U and CPU targets; with two or more checkpoints, also the paired bootstrap 95 % interval
of the last one's unseen-graph MAPE minus the first one's (same graphs, resampled 2,000 times), so a
difference on a few graphs can be told from noise. ``--dtypes`` gives each checkpoint the
arithmetic of its forward pass (``float32`` or ``bfloat16``, see ``Predictor``): the same
checkpoint twice, ``--dtypes float32 bfloat16``, measures what bfloat16 costs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parents[1])

from api.cli.train import load_training_data, open_store
from predictor import train as tr
from predictor.checkpoint import load_checkpoint
from predictor.evaluate import evaluate_split

BOOTSTRAP_DRAWS = 2000


class _Scored(tr.GNNRegressor):
    """A loaded checkpoint, predicting with the forward-pass arithmetic ``dtype``."""

    dtype = "float32"

    def predict_log(self, graphs):
        return tr.forward_log(self.model_, tr.feature_batches(graphs), self.threads, self.dtype)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old-export", type=Path, help="export the older checkpoint trained on")
    ap.add_argument("--new-export", type=Path, help="export the newer checkpoint trained on")
    ap.add_argument(
        "--db", help="dataset store both checkpoints trained on (instead of the two exports)"
    )
    ap.add_argument("checkpoints", type=Path, nargs="+", help="checkpoints to score")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--seed", type=int, default=0, help="split seed of both checkpoints")
    ap.add_argument(
        "--dtypes",
        nargs="+",
        choices=tr.FORWARD_DTYPES,
        help="forward-pass arithmetic of each checkpoint, in order (default: float32 for all)",
    )
    args = ap.parse_args()
    dtypes = args.dtypes or ["float32"] * len(args.checkpoints)
    if len(dtypes) != len(args.checkpoints):
        ap.error(
            f"--dtypes needs one value per checkpoint ({len(args.checkpoints)}), got {len(dtypes)}"
        )
    n_exports = (args.old_export is not None) + (args.new_export is not None)
    if (args.db is None and n_exports != 2) or (args.db is not None and n_exports != 0):
        ap.error("give either --db or both --old-export and --new-export")

    if args.db is not None:
        new, new_hash = load_training_data(open_store(args.db, None))
        old = new
    else:
        new, new_hash = load_training_data(open_store(None, args.new_export))
        # One export for both (checkpoints of other options on the same data): loaded once,
        # and every test graph is unseen by both.
        same = args.old_export.resolve() == args.new_export.resolve()
        old = new if same else load_training_data(open_store(None, args.old_export))[0]
    old_train, old_val, _ = tr.split_by_architecture(old.arch_ids, seed=args.seed)
    seen = {old.arch_ids[i] for i in old_train + old_val}
    _, _, new_test = tr.split_by_architecture(new.arch_ids, seed=args.seed)
    unseen = [i for i in new_test if new.arch_ids[i] not in seen]
    print(
        f"new export {new_hash}: test split {len(new_test)} graphs, {len(unseen)} unseen by the old split"
    )
    if not unseen:
        raise SystemExit(
            "no test graph is unseen by the old split: are the exports given the right way round?"
        )
    unseen_data = new.subset(unseen)
    # per checkpoint: column -> per-graph |error| % on the unseen graphs (NaN: no label)
    ape: list[dict[str, np.ndarray]] = []
    for path, dtype in zip(args.checkpoints, dtypes):
        model, meta = load_checkpoint(path)
        reg = _Scored(threads=args.threads)
        reg.model_, reg.targets_, reg.dtype = model, meta["targets"], dtype
        for name, idx in (("new-test", new_test), ("unseen", unseen)):
            scores = evaluate_split(reg, new.subset(idx))
            cells = [
                f"{key.split('/')[0]} {v['mape']:.2f}% ({v['within10']:.0f}%, n {v['n']})"
                for key, v in scores.items()
                if key.endswith("/latency_ms") and not key.startswith("npu-")
            ]
            print(f"{path.name:24s} {dtype:8s} {name:8s} " + "  ".join(cells))
        y, mask = tr.label_matrix(unseen_data.labels, reg.targets_)
        pred = reg.predict_log(unseen_data.graphs)
        err = 100 * np.abs(np.expm1(pred - y))
        err[mask == 0] = np.nan
        ape.append(
            {f"{t}/{m}": err[:, j] for j, (t, m) in enumerate(tr.output_names(reg.targets_))}
        )
    if len(ape) >= 2:
        rng = np.random.default_rng(args.seed)
        cells = []
        for key in sorted(ape[-1]):
            if not key.endswith("/latency_ms") or key.startswith("npu-") or key not in ape[0]:
                continue
            both = ~np.isnan(ape[0][key]) & ~np.isnan(ape[-1][key])
            diff = ape[-1][key][both] - ape[0][key][both]
            if diff.size == 0:
                continue
            draws = rng.integers(0, diff.size, size=(BOOTSTRAP_DRAWS, diff.size))
            lo, hi = np.percentile(diff[draws].mean(axis=1), [2.5, 97.5])
            cells.append(f"{key.split('/')[0]} {diff.mean():+.2f} [{lo:+.2f}, {hi:+.2f}] pp")
        print(
            f"{args.checkpoints[-1].name} ({dtypes[-1]}) - {args.checkpoints[0].name} ({dtypes[0]}), unseen latency MAPE "
            "(paired bootstrap 95 %): " + "  ".join(cells)
        )


if __name__ == "__main__":
    main()
