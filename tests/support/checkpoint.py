"""A small real checkpoint for service tests: the GNN trained briefly on the toy graphs.

The service tests check the plumbing (store, cache, errors) against whatever checkpoint the
server loads, so they use this one, independent of the shipped checkpoint's progress.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock

from predictor.checkpoint import save_checkpoint
from predictor.features import schema_hash
from predictor.train import GNNRegressor, split_by_architecture
from support.toy_graphs import toy_data

CACHE = Path(__file__).resolve().parents[1] / ".model-cache"


def toy_checkpoint() -> Path:
    """Path of the cached toy checkpoint, trained once (file-locked across test workers)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"toy-gnn-{schema_hash()[:12]}.pt"  # retrained when the features change
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            data = toy_data(16, seed=0)
            tr, va, _ = split_by_architecture(data.arch_ids, seed=0)
            reg = GNNRegressor(
                hidden=16, epochs=20, patience=20, batch_size=16, lr=5e-3, seed=0, threads=1
            )
            reg.fit(data.subset(tr), data.subset(va))
            save_checkpoint(reg, path, {"command": "tests/support/checkpoint.py", "test": {}})
    return path
