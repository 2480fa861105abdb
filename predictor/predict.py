"""The in-process predictor: OpGraphs in, latency/energy/memory per target out, batched.

Loads the shipped GNN checkpoint (weights only) and any calibrated targets; one forward pass per
batch under ``torch.inference_mode``. The analytic ``npu-*`` targets are, by definition, the
``hwmodels`` estimate, so they are answered by it directly unless the GNN is asked for speed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hwmodels.batch import LayerWorkArrays, accelerator_constants, layer_costs, model_totals
from predictor.calibrate import Calibration, fit_calibration, latency_bases, load_registry
from predictor.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
from predictor.errors import UnknownTargetError
from predictor.features import FeatureBatch, GraphFeatures, features_list
from predictor.graph import OpGraph
from predictor.model import PerfEnsemble, PerfGNN
from predictor.reader import read_model
from predictor.targets import METRICS, TARGETS, Target, get_target
from predictor.train import check_forward_dtype, feature_batches, forward_log, predict_log


class Predictor:
    """Predicts every target's metrics for batches of graphs.

    Args:
        model: A trained :class:`PerfGNN` or :class:`PerfEnsemble`.
        meta: Its checkpoint metadata (targets, schema, provenance).
        calibrations: Calibrated targets by name (:mod:`predictor.calibrate`).
        threads: torch intra-op threads for the forward pass.
        analytic: ``"direct"``: answer ``npu-*`` targets with hwmodels (exact); ``"gnn"``: with
            the GNN head (faster in NAS loops).
        batch_size: Graphs per forward pass.
        dtype: Arithmetic of the GNN's message passing: ``"float32"`` (the accuracy reported in
            docs/accuracy.md) or ``"bfloat16"`` (faster on CPUs with native bfloat16, for NAS
            loops; readout and heads stay float32, docs/predictor.md gives what it costs).
    """

    def __init__(
        self,
        model: PerfGNN | PerfEnsemble,
        meta: dict[str, Any],
        calibrations: dict[str, Calibration] | None = None,
        threads: int = 1,
        analytic: str = "direct",
        batch_size: int = 512,
        dtype: str = "float32",
    ) -> None:
        if analytic not in ("direct", "gnn"):
            raise ValueError(f"analytic must be 'direct' or 'gnn', got {analytic!r}")
        check_forward_dtype(dtype)
        self.model = model
        self.meta = meta
        self.calibrations = dict(calibrations or {})
        self.threads = threads
        self.analytic = analytic
        self.batch_size = batch_size
        self.dtype = dtype
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
        members: int | None = None,
        dtype: str = "float32",
    ) -> Predictor:
        """The checkpoint at ``path`` (default: the shipped one) with the registered calibrations.

        ``members``: of an ensemble checkpoint, answer with its first ``members`` only (one forward
        pass each): faster, for NAS loops, at the single model's accuracy (docs/predictor.md).
        ``dtype``: see the class.
        """
        model, meta = load_checkpoint(path or DEFAULT_CHECKPOINT)
        if members is not None:
            if isinstance(model, PerfEnsemble):
                model = model.first(members)
            elif members != 1:
                raise ValueError(
                    f"members must be an int in [1, 1] for this checkpoint, got {members!r}"
                )
        return cls(
            model, meta, load_registry(registry), threads=threads, analytic=analytic, dtype=dtype
        )

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
        return features_list(graphs)

    def predict_array(
        self, graphs: Sequence[OpGraph], feats: Sequence[GraphFeatures] | None = None
    ) -> np.ndarray:
        """Raw GNN outputs ``[G, trained targets, metrics]`` in natural units (the NAS fast path)."""
        return self._forward(graphs, feats)[0]

    def _forward(
        self, graphs: Sequence[OpGraph], feats: Sequence[GraphFeatures] | None = None
    ) -> tuple[np.ndarray, list[str]]:
        # Features are built batch by batch and go straight into the model (no per-graph arrays).
        graphs = list(graphs)
        if feats is not None:
            log = predict_log(self.model, feats, self.threads, self.batch_size, self.dtype)
            precisions = [f[5] for f in feats]
        else:
            precisions = []

            def batches() -> Iterator[FeatureBatch]:
                for fb in feature_batches(graphs, self.batch_size):
                    precisions.extend(fb.precisions)
                    yield fb

            log = forward_log(self.model, batches(), self.threads, self.dtype)
        out = np.exp(log.astype(np.float64))
        return out.reshape(len(precisions), len(self.trained_targets), len(METRICS)), precisions

    def _entry_plan(self, t: Target, precision: str) -> tuple[str | None, list[bool], str | None]:
        """For graphs of ``precision`` on ``t``: its source, which metrics have a value, the note."""
        if t.labels == "calibrated":
            source = "calibrated"
        elif t.labels == "analytic" and self.analytic == "direct":
            source = "hwmodels"
        elif t.name in self.trained_targets:
            source = "gnn"
        else:
            source = None
        notes: list[str] = []
        has_value = []
        for m in METRICS:
            why = t.null_note(m, precision)
            value = why is None and (
                source in ("hwmodels", "gnn") or (source == "calibrated" and m == "latency_ms")
            )
            if why is None and source is None:
                why = "the loaded checkpoint was not trained on this target"
            if why and why not in notes:
                notes.append(why)
            has_value.append(value)
        if source == "gnn" and precision not in t.labelled_precisions and precision in t.precisions:
            notes.append(f"extrapolated: trained on {', '.join(t.labelled_precisions)} models only")
        return (source if any(has_value) else None), has_value, "; ".join(notes) or None

    def predict(
        self, graphs: Sequence[OpGraph], targets: Sequence[str] | None = None
    ) -> list[list[dict[str, Any]]]:
        """Per graph, one entry per target: ``{"target", <metrics>, "source", "note"}``.

        A value a target cannot give is ``None`` and ``note`` says why.
        """
        chosen = self._resolve(targets)
        graphs = list(graphs)
        raw, precisions = self._forward(graphs)
        gnn = raw.tolist()
        calibrated: dict[str, list[float]] = {}
        for t in chosen:
            if t.labels == "calibrated":
                cal = self.calibrations[t.name]
                base = raw[:, self.trained_targets.index(cal.base), METRICS.index("latency_ms")]
                calibrated[t.name] = cal.predict_latency_ms(base, _total_macs(graphs)).tolist()
        trained = {name: i for i, name in enumerate(self.trained_targets)}
        plans: dict[tuple[str, str], tuple[str | None, list[bool], str | None]] = {}
        results: list[list[dict[str, Any]]] = []
        for gi, graph in enumerate(graphs):
            precision = precisions[gi]
            costs: dict[str, dict[str, float]] = {}
            works = None
            row = []
            for t in chosen:
                plan = plans.get((t.name, precision))
                if plan is None:
                    plan = plans[t.name, precision] = self._entry_plan(t, precision)
                source, has_value, note = plan
                entry: dict[str, Any] = {"target": t.name}
                if source == "gnn":
                    values = gnn[gi][trained[t.name]]
                    for mi, m in enumerate(METRICS):
                        entry[m] = values[mi] if has_value[mi] else None
                elif source == "hwmodels":
                    if t.accelerator not in costs:
                        works = (
                            works
                            if works is not None
                            else LayerWorkArrays.from_works(graph.layer_works())
                        )
                        costs[t.accelerator] = _analytic_metrics(works, t.accelerator)
                    cost = costs[t.accelerator]
                    for mi, m in enumerate(METRICS):
                        entry[m] = cost[m] if has_value[mi] else None
                else:
                    for mi, m in enumerate(METRICS):
                        entry[m] = calibrated[t.name][gi] if has_value[mi] else None
                entry["source"] = source
                entry["note"] = note
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
        return fit_calibration(
            name,
            base_lat,
            _total_macs(graphs),
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


def _analytic_metrics(work: LayerWorkArrays, accelerator: str) -> dict[str, float]:
    """One graph's hwmodels metrics on ``accelerator``: ``estimate``'s totals, vectorised (for a
    MobileNetV2 on the six presets 0.73 ms instead of the scalar loop's 1.65)."""
    costs = layer_costs(work, accelerator)
    graph0 = np.zeros(len(work.kind), np.int64)  # every layer belongs to graph 0
    latency_ms, energy_mj, peak_sram_kb = model_totals(costs, graph0, 1)
    bpe = accelerator_constants(accelerator).bytes_per_elem
    # Summed in layer order, as ModelCost.total adds weight_kb up (so the values stay equal).
    weight_kb = np.bincount(graph0, weights=work.weight_elems * bpe / 1024, minlength=1)
    return {
        "latency_ms": float(latency_ms[0]),
        "energy_mj": float(energy_mj[0]),
        "memory_kb": float(peak_sram_kb[0]),
        "storage_kb": float(weight_kb[0]),
    }


def _total_macs(graphs: Sequence[OpGraph]) -> np.ndarray:
    return np.array([sum(op.macs for op in g.ops) for g in graphs], np.float64)


def set_threads(threads: int) -> None:
    """Set torch's intra-op threads (the service and CLI call this once)."""
    torch.set_num_threads(threads)
