"""Saving and loading a trained GNN: tensors plus JSON metadata, never pickled code.

One file written by ``torch.save`` holding only a dict of tensors and one JSON string, read back
with ``torch.load(weights_only=True)``. The metadata carries the feature schema, the targets, the
dataset hash, the training command and a SHA-256 of the tensors, checked on every load.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import torch

from predictor.errors import CheckpointError
from predictor.features import schema, schema_hash
from predictor.model import PerfEnsemble, PerfGNN, build_model
from predictor.targets import METRICS

FORMAT = "edgeperf-gnn"
FORMAT_VERSION = 1
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "edgeperf-gnn.pt"
MAX_BYTES = 20 * 1024 * 1024


def tensors_sha256(state: dict[str, torch.Tensor]) -> str:
    """Digest of every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_checkpoint(regressor: Any, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write a fitted :class:`predictor.train.GNNRegressor` (its model and targets) to ``path``."""
    path = Path(path)
    state = {k: v.detach().cpu().clone() for k, v in regressor.model_.state_dict().items()}
    full = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_hash": schema_hash(),
        "schema": schema(),
        "model": regressor.model_.config,
        "targets": list(regressor.targets_),
        "metrics": list(METRICS),
        "weights_sha256": tensors_sha256(state),
        **(meta or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    torch.save({"meta_json": json.dumps(full, sort_keys=True), "state_dict": state}, tmp)
    size = tmp.stat().st_size
    if size > MAX_BYTES:
        tmp.unlink()
        raise CheckpointError(
            f"checkpoint would be {size / 2**20:.1f} MiB; the limit is {MAX_BYTES / 2**20:.0f} MiB"
        )
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path = DEFAULT_CHECKPOINT) -> tuple[PerfGNN | PerfEnsemble, dict[str, Any]]:
    """(model in eval mode, metadata); refuses a tampered, foreign or incompatible file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint at {path}; expected a file written by 'edgeperf train'"
        )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        zipfile.BadZipFile,
        EOFError,
        ValueError,
        struct.error,
    ) as exc:
        raise CheckpointError(f"{path} is not a loadable weights-only checkpoint: {exc}") from exc
    if not isinstance(blob, dict) or set(blob) != {"meta_json", "state_dict"}:
        raise CheckpointError(
            f"{path}: expected keys ['meta_json', 'state_dict'], got {sorted(blob) if isinstance(blob, dict) else type(blob).__name__}"
        )
    try:
        meta = json.loads(blob["meta_json"])
    except (TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: metadata is not JSON: {exc}") from exc
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format {meta.get('format')!r} v{meta.get('format_version')}; expected {FORMAT!r} v{FORMAT_VERSION}"
        )
    if meta.get("schema_hash") != schema_hash():
        raise CheckpointError(
            f"{path}: feature schema {meta.get('schema_hash')} (v{meta.get('schema', {}).get('version')}) does not "
            f"match this code's {schema_hash()} (v{schema()['version']}); retrain with 'edgeperf train'"
        )
    state = blob["state_dict"]
    digest = tensors_sha256(state)
    if digest != meta.get("weights_sha256"):
        raise CheckpointError(
            f"{path}: weights SHA-256 {digest[:12]}... does not match the recorded {str(meta.get('weights_sha256'))[:12]}...; the file was altered"
        )
    try:
        model = build_model(meta["model"])
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path}: weights do not fit the recorded model {meta.get('model')}: {exc}"
        ) from exc
    model.eval()
    return model, meta
