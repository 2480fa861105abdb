"""Two checkpoints trained on different exports, scored on graphs neither trained on.

Usage: ``python bench/checkpoints.py --old-export OLD.jsonl.xz --new-export NEW.jsonl.xz
OLD.pt NEW.pt [--threads 2]``. The split is by architecture with each checkpoint's seed, so a grown
export reshuffles it: the new test split holds architectures the old checkpoint trained on. This
scores every checkpoint on the new export's test split (rows ``new-test``) and on the part of it
whose architectures lie in neither the old split's train nor its validation part (rows ``unseen``):
the fair comparison of what more data bought. Prints latency MAPE and share within +/-10 % for
the Ethos-U and CPU targets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from api.cli.train import load_training_data, open_store
from predictor import train as tr
from predictor.checkpoint import load_checkpoint
from predictor.evaluate import evaluate_split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--old-export", type=Path, required=True, help="export the older checkpoint trained on"
    )
    ap.add_argument(
        "--new-export", type=Path, required=True, help="export the newer checkpoint trained on"
    )
    ap.add_argument("checkpoints", type=Path, nargs="+", help="checkpoints to score")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--seed", type=int, default=0, help="split seed of both checkpoints")
    args = ap.parse_args()

    old, _ = load_training_data(open_store(None, args.old_export))
    new, new_hash = load_training_data(open_store(None, args.new_export))
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
    for path in args.checkpoints:
        model, meta = load_checkpoint(path)
        reg = tr.GNNRegressor(threads=args.threads)
        reg.model_, reg.targets_ = model, meta["targets"]
        for name, idx in (("new-test", new_test), ("unseen", unseen)):
            scores = evaluate_split(reg, new.subset(idx))
            cells = [
                f"{key.split('/')[0]} {v['mape']:.2f}% ({v['within10']:.0f}%, n {v['n']})"
                for key, v in scores.items()
                if key.endswith("/latency_ms") and not key.startswith("npu-")
            ]
            print(f"{path.name:24s} {name:8s} " + "  ".join(cells))


if __name__ == "__main__":
    main()
