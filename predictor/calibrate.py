"""Adapting the predictor to a new device from a handful of measured models (HELP's problem).

HELP (Lee et al., NeurIPS'21) adapts to an unseen device from 10 samples. We fit, in log space, a
ridge regression of the new device's latency on the GNN's latency for one known target (the one
that predicts the samples best under leave-one-out) and the graph's MACs, and register the result
as a new target kept as data in a JSON file.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from predictor.errors import CalibrationError
from predictor.targets import TARGETS, Target

MIN_SAMPLES = 10
RIDGE = 1e-2  # on standardised inputs: keeps 10-sample fits from chasing noise
_ALL_PRECISIONS = ("fp32", "fp16", "int8", "dynamic_int8", "int16x8", "mixed")


@dataclass(frozen=True, slots=True)
class Calibration:
    """A calibrated target: ``log y = intercept + w . (features - mean) / std``.

    Attributes:
        name: The new target's name.
        base: Built-in target whose GNN latency is the first feature.
        intercept, weights, mean, std: The fitted log-space model over
            ``[log base latency_ms, log(1 + MACs)]``.
        n: Measured models it was fitted on.
        loo_mape: Leave-one-out MAPE (%) on those models.
        loo_spearman: Leave-one-out Spearman rho.
        description: What the device is.
        checkpoint_sha256: Weights digest of the GNN it was fitted against.
        created_at: ISO time of fitting.
    """

    name: str
    base: str
    intercept: float
    weights: tuple[float, float]
    mean: tuple[float, float]
    std: tuple[float, float]
    n: int
    loo_mape: float
    loo_spearman: float
    description: str = ""
    checkpoint_sha256: str = ""
    created_at: str = ""

    def predict_latency_ms(self, base_latency_ms: np.ndarray, macs: np.ndarray) -> np.ndarray:
        x = _design(np.asarray(base_latency_ms, np.float64), np.asarray(macs, np.float64))
        z = (x - np.array(self.mean)) / np.array(self.std)
        return np.exp(self.intercept + z @ np.array(self.weights))

    def target(self) -> Target:
        return Target(
            name=self.name,
            description=self.description
            or f"calibrated from {self.n} measured models on {self.base}",
            labels="calibrated",
            metrics=("latency_ms",),
            precisions=_ALL_PRECISIONS,
            labelled_precisions=_ALL_PRECISIONS,
            precision_note="",
            notes={
                m: f"a calibrated target gives latency only (fitted from {self.n} measurements)"
                for m in ("energy_mj", "memory_kb", "storage_kb")
            },
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: Mapping) -> Calibration:
        try:
            return cls(
                **{
                    **row,
                    "weights": tuple(row["weights"]),
                    "mean": tuple(row["mean"]),
                    "std": tuple(row["std"]),
                }
            )
        except (KeyError, TypeError) as exc:
            raise CalibrationError(
                f"malformed calibrated target {dict(row).get('name')!r}: {exc}"
            ) from exc


def _design(base_latency_ms: np.ndarray, macs: np.ndarray) -> np.ndarray:
    return np.stack(
        [np.log(np.maximum(base_latency_ms, 1e-9)), np.log1p(np.maximum(macs, 0))], axis=1
    )


def _ridge(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(0)
    std = np.maximum(x.std(0), 1e-6)
    z = (x - mean) / std
    intercept = y.mean()
    w = np.linalg.solve(z.T @ z + RIDGE * len(y) * np.eye(z.shape[1]), z.T @ (y - intercept))
    return float(intercept), w, mean, std


def _loo(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        b, w, m, s = _ridge(x[keep], y[keep])
        out[i] = b + ((x[i] - m) / s) @ w
    return out


def fit_calibration(
    name: str,
    base_latency_ms: Mapping[str, np.ndarray],
    macs: np.ndarray,
    measured_latency_ms: np.ndarray,
    description: str = "",
    checkpoint_sha256: str = "",
) -> Calibration:
    """Fit a calibrated target; ``base_latency_ms`` holds each candidate base target's GNN latency."""
    if name in TARGETS:
        raise CalibrationError(
            f"target name {name!r} is built in; choose a new name (built-ins: {sorted(TARGETS)})"
        )
    y_ms = np.asarray(measured_latency_ms, np.float64)
    if len(y_ms) < MIN_SAMPLES:
        raise CalibrationError(
            f"need at least {MIN_SAMPLES} measured models to calibrate {name!r}, got {len(y_ms)}"
        )
    if not np.all(np.isfinite(y_ms)) or np.any(y_ms <= 0):
        raise CalibrationError(
            f"measured latencies must be positive and finite; got {y_ms.tolist()}"
        )
    if not base_latency_ms:
        raise CalibrationError(
            "no base target to calibrate from; expected GNN latencies of at least one target"
        )
    y = np.log(y_ms)
    best = None
    for base, values in base_latency_ms.items():
        x = _design(np.asarray(values, np.float64), np.asarray(macs, np.float64))
        loo = np.exp(_loo(x, y))
        mape = float(100 * np.mean(np.abs(loo - y_ms) / y_ms))
        if best is None or mape < best[1]:
            best = (base, mape, x, loo)
    base, mape, x, loo = best
    intercept, w, mean, std = _ridge(x, y)
    rho = float(spearmanr(loo, y_ms).statistic)
    return Calibration(
        name=name,
        base=base,
        intercept=intercept,
        weights=(float(w[0]), float(w[1])),
        mean=(float(mean[0]), float(mean[1])),
        std=(float(std[0]), float(std[1])),
        n=len(y),
        loo_mape=mape,
        loo_spearman=rho if math.isfinite(rho) else float("nan"),
        description=description,
        checkpoint_sha256=checkpoint_sha256,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def default_registry_path() -> Path:
    """``$EDGEPERF_TARGETS_FILE``, else ``$XDG_DATA_HOME/edgeperf/targets.json``."""
    env = os.environ.get("EDGEPERF_TARGETS_FILE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "edgeperf" / "targets.json"


def load_registry(path: str | Path | None = None) -> dict[str, Calibration]:
    """Calibrated targets registered in ``path`` (none when the file does not exist)."""
    path = Path(path) if path is not None else default_registry_path()
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path} is not a JSON target registry: {exc}") from exc
    if not isinstance(rows, dict) or not isinstance(rows.get("targets"), list):
        raise CalibrationError(f"{path}: expected {{'targets': [...]}}, got {type(rows).__name__}")
    return {c.name: c for c in (Calibration.from_dict(r) for r in rows["targets"])}


def register(
    calibration: Calibration, path: str | Path | None = None, replace: bool = False
) -> Path:
    """Add ``calibration`` to the registry file (atomically); refuses to overwrite unless asked."""
    path = Path(path) if path is not None else default_registry_path()
    known = load_registry(path)
    if calibration.name in known and not replace:
        raise CalibrationError(
            f"target {calibration.name!r} is already registered in {path}; pass replace to overwrite"
        )
    known[calibration.name] = calibration
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_text(json.dumps({"targets": [c.to_dict() for c in known.values()]}, indent=1))
    tmp.replace(path)
    return path


def unregister(name: str, path: str | Path | None = None) -> None:
    path = Path(path) if path is not None else default_registry_path()
    known = load_registry(path)
    if name not in known:
        raise CalibrationError(
            f"no calibrated target {name!r} in {path}; registered: {sorted(known)}"
        )
    del known[name]
    path.write_text(json.dumps({"targets": [c.to_dict() for c in known.values()]}, indent=1))


def latency_bases(targets: Sequence[str]) -> list[str]:
    """Built-in targets whose GNN latency may serve as a calibration base."""
    return [t for t in targets if t in TARGETS and "latency_ms" in TARGETS[t].metrics]
