"""The in-process predictor: OpGraphs in, latency/energy/memory per target out, batched.

Loads the shipped GNN checkpoint (weights only) and any calibrated targets; one forward pass per
batch under ``torch.inference_mode``. The analytic ``npu-*`` targets are, by definition, the
``hwmodels`` estimate, so they are answered by it directly unless the GNN is asked for speed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hwmodels.accelerator import estimate
from predictor.calibrate import Calibration, fit_calibration, latency_bases, load_registry
from predictor.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
from predictor.errors import UnknownTargetError
from predictor.features import GraphFeatures, graph_features
from predictor.graph import OpGraph
from predictor.model import PerfGNN
from predictor.reader import read_model
from predictor.targets import METRICS, TARGETS, Target, get_target
from predictor.train import predict_log

_ANALYTIC = {
    "latency_ms": lambda c: c.latency_ms,
    "energy_mj": lambda c: c.energy_mj,
    "memory_kb": lambda c: c.peak_sram_kb,
    "storage_kb": lambda c: c.weight_kb,
}


class Predictor:
    """Predicts every target's metrics for batches of graphs.

    Args:
        model: A trained :class:`PerfGNN`.
        meta: Its checkpoint metadata (targets, schema, provenance).
        calibrations: Calibrated targets by name (:mod:`predictor.calibrate`).
        threads: torch intra-op threads for the forward pass.
        analytic: ``"direct"``: answer ``npu-*`` targets with hwmodels (exact); ``"gnn"``: with
            the GNN head (faster in NAS loops).
        batch_size: Graphs per forward pass.
    """

    def __init__(
        self,
        model: PerfGNN,
        meta: dict[str, Any],
        calibrations: dict[str, Calibration] | None = None,
        threads: int = 1,
        analytic: str = "direct",
        batch_size: int = 512,
    ) -> None:
        if analytic not in ("direct", "gnn"):
            raise ValueError(f"analytic must be 'direct' or 'gnn', got {analytic!r}")
        self.model = model
        self.meta = meta
        self.calibrations = dict(calibrations or {})
        self.threads = threads
        self.analytic = analytic
        self.batch_size = batch_size
        self.trained_targets: list[str] = list(meta["targets"])
        self._col = {
            (t, m): i
            for i, (t, m) in enumerate((t, m) for t in self.trained_targets for m in METRICS)
        }

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        registry: str | Path | None = None,
        threads: int = 1,
        analytic: str = "direct",
    ) -> Predictor:
        """The checkpoint at ``path`` (default: the shipped one) with the registered calibrations."""
        model, meta = load_checkpoint(path or DEFAULT_CHECKPOINT)
        return cls(model, meta, load_registry(registry), threads=threads, analytic=analytic)

    # -- targets ------------------------------------------------------------------------------
    @property
    def targets(self) -> list[str]:
        """Every target this predictor answers: the registry's, then the calibrated ones."""
        return [*TARGETS, *self.calibrations]

    def target(self, name: str) -> Target:
        extra = {n: c.target() for n, c in self.calibrations.items()}
        return get_target(name, extra)

    def _resolve(self, targets: Sequence[str] | None) -> list[Target]:
        names = list(targets) if targets else self.targets
        return [self.target(n) for n in names]

    # -- prediction ---------------------------------------------------------------------------
    def features(self, graphs: Sequence[OpGraph]) -> list[GraphFeatures]:
        return [graph_features(g) for g in graphs]

    def predict_array(
        self, graphs: Sequence[OpGraph], feats: Sequence[GraphFeatures] | None = None
    ) -> np.ndarray:
        """Raw GNN outputs ``[G, trained targets, metrics]`` in natural units (the NAS fast path)."""
        feats = feats if feats is not None else self.features(graphs)
        out = np.exp(
            predict_log(self.model, feats, self.threads, self.batch_size).astype(np.float64)
        )
        return out.reshape(len(feats), len(self.trained_targets), len(METRICS))

    def predict(
        self, graphs: Sequence[OpGraph], targets: Sequence[str] | None = None
    ) -> list[list[dict[str, Any]]]:
        """Per graph, one entry per target: ``{"target", <metrics>, "source", "note"}``.

        A value a target cannot give is ``None`` and ``note`` says why.
        """
        chosen = self._resolve(targets)
        feats = self.features(graphs)
        raw = self.predict_array(graphs, feats)
        precisions = [f[5] for f in feats]
        macs = np.array([sum(op.macs for op in g.ops) for g in graphs], np.float64)
        calibrated = {}
        for t in chosen:
            if t.labels == "calibrated":
                cal = self.calibrations[t.name]
                base = raw[:, self.trained_targets.index(cal.base), METRICS.index("latency_ms")]
                calibrated[t.name] = cal.predict_latency_ms(base, macs)
        results: list[list[dict[str, Any]]] = []
        for gi, graph in enumerate(graphs):
            costs: dict[str, Any] = {}
            works = None
            row = []
            for t in chosen:
                entry: dict[str, Any] = {"target": t.name}
                notes: list[str] = []
                if t.labels == "calibrated":
                    source = "calibrated"
                elif t.labels == "analytic" and self.analytic == "direct":
                    source = "hwmodels"
                elif t.name in self.trained_targets:
                    source = "gnn"
                else:
                    source = None
                for m in METRICS:
                    why = t.null_note(m, precisions[gi])
                    value = None
                    if why is None:
                        if source == "calibrated":
                            value = float(calibrated[t.name][gi]) if m == "latency_ms" else None
                        elif source == "hwmodels":
                            if t.accelerator not in costs:
                                works = works if works is not None else graph.layer_works()
                                costs[t.accelerator] = estimate(works, t.accelerator)
                            value = float(_ANALYTIC[m](costs[t.accelerator]))
                        elif source == "gnn":
                            value = float(
                                raw[gi, self.trained_targets.index(t.name), METRICS.index(m)]
                            )
                        else:
                            why = "the loaded checkpoint was not trained on this target"
                    if why and why not in notes:
                        notes.append(why)
                    entry[m] = value
                if (
                    source == "gnn"
                    and precisions[gi] not in t.labelled_precisions
                    and precisions[gi] in t.precisions
                ):
                    notes.append(
                        f"extrapolated: trained on {', '.join(t.labelled_precisions)} models only"
                    )
                entry["source"] = source if any(entry[m] is not None for m in METRICS) else None
                entry["note"] = "; ".join(notes) or None
                row.append(entry)
            results.append(row)
        return results

    def predict_files(
        self, paths: Sequence[str | Path], targets: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The ``edgeperf predict --json`` list: per file, its summary and its predictions."""
        graphs = [read_model(p) for p in paths]
        return self.report(graphs, targets)

    def report(
        self, graphs: Sequence[OpGraph], targets: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        preds = self.predict(graphs, targets)
        out = []
        for g, p in zip(graphs, preds):
            s = g.summary
            out.append(
                {
                    "model": {
                        "sha256": g.sha256,
                        "num_ops": s.num_ops,
                        "macs": s.macs,
                        "params": s.params,
                        "precision": s.precision,
                    },
                    "predictions": p,
                }
            )
        return out

    # -- new devices --------------------------------------------------------------------------
    def calibrate(
        self,
        name: str,
        graphs: Sequence[OpGraph],
        latency_ms: Sequence[float],
        description: str = "",
    ) -> Calibration:
        """Fit a new target from measured latencies of ``graphs`` (>= 10); not yet registered."""
        bases = latency_bases(self.trained_targets)
        if not bases:
            raise UnknownTargetError(
                f"the checkpoint has no latency target to calibrate from; it has {self.trained_targets}"
            )
        raw = self.predict_array(graphs)
        m = METRICS.index("latency_ms")
        base_lat = {b: raw[:, self.trained_targets.index(b), m] for b in bases}
        macs = np.array([sum(op.macs for op in g.ops) for g in graphs], np.float64)
        return fit_calibration(
            name,
            base_lat,
            macs,
            np.asarray(latency_ms, np.float64),
            description,
            str(self.meta.get("weights_sha256", "")),
        )

    def fingerprint(self) -> str:
        """A short id of the weights and the calibrations (for caches and the service's /health)."""
        h = hashlib.sha256(str(self.meta.get("weights_sha256")).encode())
        for name in sorted(self.calibrations):
            h.update(name.encode())
        return h.hexdigest()[:12]


def set_threads(threads: int) -> None:
    """Set torch's intra-op threads (the service and CLI call this once)."""
    torch.set_num_threads(threads)
