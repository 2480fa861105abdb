"""Three baselines the GNN must beat, fitted on the same training data, all in log space.

A MACs-only log-log regression (what HELP calls a FLOPs predictor), the ``hwmodels`` analytic
accelerator estimate with a fitted log-space scale, and a gradient-boosted model on whole-graph
summary features (nn-Meter's and LitePred's kind of model, but per graph, not per kernel).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from hwmodels.accelerator import estimate
from hwmodels.work import OpKind
from predictor.features import featurize
from predictor.graph import OpGraph
from predictor.targets import TARGETS

_KINDS = tuple(OpKind)


def _fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``y = a + b x``; a constant when x does not vary."""
    if len(x) < 2 or np.ptp(x) < 1e-9:
        return float(y.mean()), 0.0
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


class MacsRegression:
    """``log y = a + b log(1 + MACs)`` per target x metric (scikit-learn shape)."""

    def fit(self, graphs: Sequence[OpGraph], y: np.ndarray, mask: np.ndarray) -> MacsRegression:
        x = self._x(graphs)
        self.coef_ = [
            _fit_line(x[mask[:, j] > 0], y[mask[:, j] > 0, j])
            if mask[:, j].any()
            else (np.nan, 0.0)
            for j in range(y.shape[1])
        ]
        return self

    @staticmethod
    def _x(graphs: Sequence[OpGraph]) -> np.ndarray:
        return np.log1p(np.array([sum(op.macs for op in g.ops) for g in graphs], np.float64))

    def predict_log(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        x = self._x(graphs)
        return np.stack([a + b * x for a, b in self.coef_], axis=1)


_ANALYTIC_FIELDS = {
    "latency_ms": lambda c: c.latency_ms,
    "energy_mj": lambda c: c.energy_mj,
    "memory_kb": lambda c: c.peak_sram_kb,
    "storage_kb": lambda c: c.weight_kb,
}


class AnalyticBaseline:
    """The target's hwmodels prior (its registry ``accelerator``: an ``npu-*`` preset, or an
    Ethos-U system's roofline), with ``log y = a + b log(estimate)`` fitted.

    Args:
        columns: (target, metric) of every output column.
    """

    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        self.columns = columns

    def _x(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        out = np.zeros((len(graphs), len(self.columns)))
        for i, g in enumerate(graphs):
            works = g.layer_works()
            costs = {}
            for j, (t, m) in enumerate(self.columns):
                accel = TARGETS[t].accelerator if t in TARGETS else "npu-int8"
                if accel not in costs:
                    costs[accel] = estimate(works, accel)
                out[i, j] = _ANALYTIC_FIELDS[m](costs[accel])
        return np.log(np.maximum(out, 1e-9))

    def fit(self, graphs: Sequence[OpGraph], y: np.ndarray, mask: np.ndarray) -> AnalyticBaseline:
        x = self._x(graphs)
        self.coef_ = [
            _fit_line(x[mask[:, j] > 0, j], y[mask[:, j] > 0, j])
            if mask[:, j].any()
            else (np.nan, 0.0)
            for j in range(y.shape[1])
        ]
        return self

    def predict_log(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        x = self._x(graphs)
        return np.stack([a + b * x[:, j] for j, (a, b) in enumerate(self.coef_)], axis=1)


def summary_features(graphs: Sequence[OpGraph]) -> np.ndarray:
    """Whole-graph features: the GNN's graph vector plus log1p op counts and MACs per op kind."""
    rows = []
    graph_attr = featurize(graphs).graph_attr
    for g, attr in zip(graphs, graph_attr):
        counts = np.zeros(len(_KINDS))
        macs = np.zeros(len(_KINDS))
        for op in g.ops:
            k = _KINDS.index(op.kind)
            counts[k] += 1
            macs[k] += op.macs
        rows.append(np.concatenate([attr, np.log1p(counts), np.log1p(macs)]))
    return np.array(rows, np.float64)


class GBMBaseline:
    """Gradient-boosted trees on :func:`summary_features`, one per target x metric.

    Args:
        max_iter: Boosting iterations.
        seed: Random state of the trees.
    """

    def __init__(self, max_iter: int = 200, seed: int = 0) -> None:
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, graphs: Sequence[OpGraph], y: np.ndarray, mask: np.ndarray) -> GBMBaseline:
        x = summary_features(graphs)
        self.models_ = []
        for j in range(y.shape[1]):
            rows = mask[:, j] > 0
            if rows.sum() < 2:
                self.models_.append(float(y[rows, j].mean()) if rows.any() else np.nan)
                continue
            model = HistGradientBoostingRegressor(
                max_iter=self.max_iter,
                learning_rate=0.1,
                min_samples_leaf=max(2, min(20, int(rows.sum()) // 5)),
                random_state=self.seed,
            )
            self.models_.append(model.fit(x[rows], y[rows, j]))
        return self

    def predict_log(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        x = summary_features(graphs)
        cols = [np.full(len(x), m) if isinstance(m, float) else m.predict(x) for m in self.models_]
        return np.stack(cols, axis=1)
