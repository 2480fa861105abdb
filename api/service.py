"""The glue between routes and the predictor: hash, look up the store, predict what is missing, store.

A model is known by the SHA-256 of its ``.tflite`` bytes (or of its canonical OpGraph JSON), so a
repeated upload is answered from the store without parsing it. Predictions are computed in one
batched :meth:`Predictor.predict` call for every model of a request that needs one.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from api import db
from api.errors import ConflictError, UnknownModelError
from hwmodels.accelerator import estimate
from predictor.calibrate import Calibration
from predictor.errors import ReaderError
from predictor.graph import OpGraph
from predictor.predict import Predictor
from predictor.reader import read_model
from predictor.targets import METRICS, TARGETS

_SUMMARY_KEYS = ("num_ops", "macs", "params", "precision")
_MEMO_ENTRIES = 200_000  # (model, target) answers kept in memory per worker
_CALIBRATION_CHECK_S = 1.0  # a target calibrated by another worker is seen within this


@dataclass(slots=True)
class ModelSource:
    """One model of a request: ``.tflite`` bytes, an OpGraph JSON dict, or a stored model's hash."""

    label: str  # filename or "graphs[i]", for messages
    data: bytes | None = None
    graph: dict[str, Any] | None = None
    sha256: str = ""

    def __post_init__(self) -> None:
        if self.data is not None and not self.sha256:
            self.sha256 = hashlib.sha256(self.data).hexdigest()
        elif self.graph is not None:
            self.sha256 = graph_sha256(self.graph)

    def read(self) -> OpGraph:
        try:
            if self.data is not None:
                return read_model(self.data)
            if self.graph is not None:
                return OpGraph.from_dict({**self.graph, "sha256": self.sha256})
        except ReaderError as exc:
            raise ReaderError(f"{self.label}: {exc}") from exc
        raise ReaderError(f"{self.label}: neither bytes nor a graph to read")


def graph_sha256(graph: dict[str, Any]) -> str:
    """Content hash of an OpGraph JSON dict, ignoring any sha256 the client put in it."""
    body = {k: v for k, v in graph.items() if k != "sha256"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def model_entry(sha256: str, summary: dict[str, Any]) -> dict[str, Any]:
    return {"sha256": sha256, **{k: summary[k] for k in _SUMMARY_KEYS}}


def layer_breakdown(graph: OpGraph, accelerators: Sequence[str]) -> list[dict[str, Any]]:
    """Per main-subgraph operator: the reader's row plus each accelerator's latency and energy."""
    main = graph.main
    rows = [r for r in graph.layers() if r["subgraph"] == main.index]
    works = graph.layer_works()
    costs = {a: estimate(works, a).layers for a in accelerators}
    out = []
    for i, row in enumerate(rows):
        out.append(
            {
                "index": row["index"],
                "op": row["op"],
                "kind": row["kind"],
                "outputs": row["outputs"],
                "dtype": row["dtype"],
                "macs": row["macs"],
                "params": row["params"],
                "weight_bytes": row["weight_bytes"],
                "cost": {
                    a: {
                        "latency_ms": c[i].latency_ms,
                        "energy_mj": c[i].energy_mj,
                        "bound": c[i].bound,
                        "utilisation": round(c[i].utilisation, 4),
                    }
                    for a, c in costs.items()
                },
            }
        )
    return out


class PredictionService:
    """One per process: the loaded predictor and the store's engine.

    Args:
        predictor: The loaded :class:`Predictor` (its built-in targets and file-registered ones).
        engine: The store.
    """

    def __init__(self, predictor: Predictor, engine: Engine) -> None:
        self.predictor = predictor
        self.engine = engine
        self.checkpoint = str(predictor.meta.get("weights_sha256", "unknown"))[:16]
        self._file_calibrations = dict(predictor.calibrations)
        self._cal_version = -1
        self._cal_checked_s = -_CALIBRATION_CHECK_S
        self._lock = threading.Lock()
        # Stored answers never change for a (model, checkpoint, target): a per-process read cache.
        self._memo: dict[tuple[str, str], dict[str, Any]] = {}
        self._memo_summaries: dict[str, dict[str, Any]] = {}

    # -- targets ------------------------------------------------------------------------------
    def sync_calibrations(self, force: bool = False) -> None:
        """Pick up targets calibrated by any worker (one cheap query, at most once a second)."""
        now_s = time.monotonic()
        if not force and now_s - self._cal_checked_s < _CALIBRATION_CHECK_S:
            return
        self._cal_checked_s = now_s
        with self.engine.connect() as conn:
            version = db.calibrations_version(conn)
            if version == self._cal_version:
                return
            version, rows = db.load_calibrations(conn)
        with self._lock:
            cals = {c.name: c for c in (Calibration.from_dict(r) for r in rows)}
            self.predictor.calibrations = {**self._file_calibrations, **cals}
            self._cal_version = version

    def resolve_targets(self, names: Sequence[str] | None) -> list[str]:
        """Requested target names (default: all), each checked; unknown ones raise (404)."""
        self.sync_calibrations()
        chosen = list(dict.fromkeys(names)) if names else self.predictor.targets
        for n in chosen:
            self.predictor.target(n)
        return chosen

    def targets_info(self) -> list[dict[str, Any]]:
        """Every target: its registry row, the checkpoint's test accuracy, and measured accuracy."""
        self.sync_calibrations()
        test = self.predictor.meta.get("test", {})
        with self.engine.connect() as conn:
            counts = db.measurement_counts(conn)
        out = []
        for name in self.predictor.targets:
            t = self.predictor.target(name)
            info = t.to_dict()
            info["trained"] = name in self.predictor.trained_targets
            info["accuracy"] = {m: test[f"{name}/{m}"] for m in METRICS if f"{name}/{m}" in test}
            cal = self.predictor.calibrations.get(name)
            if cal is not None:
                info["accuracy"] = {
                    "latency_ms": {
                        "n": cal.n,
                        "mape": cal.loo_mape,
                        "spearman": cal.loo_spearman,
                        "kind": "leave-one-out",
                    }
                }
            info["measurements"] = counts.get(name, 0)
            out.append(info)
        return out

    # -- prediction ---------------------------------------------------------------------------
    def remembered(
        self, sources: Sequence[ModelSource], targets: Sequence[str] | None = None
    ) -> list[dict[str, Any]] | None:
        """The answers when every one is in this worker's memory (no I/O), else ``None``."""
        names = self.resolve_targets(targets)
        memo, summaries = self._memo, self._memo_summaries
        try:
            return [
                {
                    "model": model_entry(s.sha256, summaries[s.sha256]),
                    "predictions": [memo[(s.sha256, n)] for n in names],
                    "checkpoint": self.checkpoint,
                    "cached": True,
                    "layers": None,
                }
                for s in sources
            ]
        except KeyError:
            return None

    def predict(
        self,
        sources: Sequence[ModelSource],
        targets: Sequence[str] | None = None,
        layers: bool = False,
    ) -> list[dict[str, Any]]:
        """One ``edgeperf predict --json`` entry per source, in order, stored and reused."""
        names = self.resolve_targets(targets)
        shas = [s.sha256 for s in sources]
        memo = self._memo
        if all(sha in self._memo_summaries for sha in shas) and all(
            (sha, n) in memo for sha in shas for n in names
        ):
            cached = {(sha, n): memo[(sha, n)] for sha in shas for n in names}
            summaries = {sha: self._memo_summaries[sha] for sha in shas}
        else:
            with self.engine.connect() as conn:
                cached = db.cached_outputs(conn, self.checkpoint, shas, names)
                summaries = db.known_models(conn, shas)
        graphs: dict[str, OpGraph] = {}
        for s in sources:
            missing = any((s.sha256, n) not in cached for n in names)
            if (missing or layers or s.sha256 not in summaries) and s.sha256 not in graphs:
                if s.data is None and s.graph is None:
                    raise UnknownModelError(
                        f"unknown model {s.sha256}: upload it with POST /predict first"
                    )
                graphs[s.sha256] = s.read()
        todo = [sha for sha in graphs if any((sha, n) not in cached for n in names)]
        new_models = [
            {
                "sha256": sha,
                "kind": "graph" if src.graph is not None else "tflite",
                "filename": src.label[:255],
                "summary": graphs[sha].summary.to_dict(),
                "graph": graphs[sha].to_dict(),
            }
            for sha, src in {s.sha256: s for s in sources}.items()
            if sha in graphs and sha not in summaries
        ]
        fresh: list[tuple[str, dict[str, Any]]] = []
        if todo:
            missing_names = [n for n in names if any((sha, n) not in cached for sha in todo)]
            results = self.predictor.predict([graphs[sha] for sha in todo], missing_names)
            for sha, entries in zip(todo, results):
                for e in entries:
                    if (sha, e["target"]) not in cached:
                        cached[(sha, e["target"])] = e
                        fresh.append((sha, e))
        if new_models or fresh:
            with self.engine.begin() as conn:  # committed before any answer is sent
                db.store_models(conn, new_models)
                db.store_predictions(conn, self.checkpoint, fresh)
        for m in new_models:
            summaries[m["sha256"]] = m["summary"]
        self._remember(cached, summaries)
        fresh_shas = {sha for sha, _ in fresh}
        accels = (
            list(dict.fromkeys(self.predictor.target(n).accelerator for n in names))
            if layers
            else []
        )
        out = []
        for s in sources:
            entry = {
                "model": model_entry(s.sha256, summaries[s.sha256]),
                "predictions": [cached[(s.sha256, n)] for n in names],
                "checkpoint": self.checkpoint,
                "cached": s.sha256 not in fresh_shas,
                "layers": layer_breakdown(graphs[s.sha256], accels) if layers else None,
            }
            out.append(entry)
        return out

    def _remember(
        self, outputs: dict[tuple[str, str], dict[str, Any]], summaries: dict[str, dict[str, Any]]
    ) -> None:
        if len(self._memo) > _MEMO_ENTRIES:  # bounded: start again rather than track recency
            self._memo.clear()
            self._memo_summaries.clear()
        self._memo.update(outputs)
        self._memo_summaries.update(summaries)

    # -- measurements and calibration ---------------------------------------------------------
    def _stored_sources(self, shas: Sequence[str]) -> list[ModelSource]:
        with self.engine.connect() as conn:
            sources = []
            for sha in dict.fromkeys(shas):
                row = db.get_model(conn, sha)
                if row is None:
                    raise UnknownModelError(
                        f"unknown model {sha}: upload it with POST /predict first"
                    )
                sources.append(ModelSource(label=row["filename"] or sha, graph=row["graph"]))
                sources[-1].sha256 = sha  # the stored hash, whatever form the model came in
        return sources

    def add_measurements(self, target: str, rows: Sequence[tuple[str, float]]) -> list[int]:
        """Record measured latencies of stored models on a known target."""
        self.resolve_targets([target])
        self._stored_sources([sha for sha, _ in rows])
        with self.engine.begin() as conn:
            return db.add_measurements(conn, target, rows)

    def accuracy(self, target: str) -> dict[str, Any]:
        """Predicted against measured latency of every measured model on ``target``."""
        self.resolve_targets([target])
        with self.engine.connect() as conn:
            measured = db.list_measurements(conn, target=target)
        points: list[dict[str, Any]] = []
        if measured:
            sources = self._stored_sources([m["model_sha256"] for m in measured])
            by_sha = {e["model"]["sha256"]: e for e in self.predict(sources, [target])}
            for m in measured:
                predicted = by_sha[m["model_sha256"]]["predictions"][0]["latency_ms"]
                points.append(
                    {
                        "model_sha256": m["model_sha256"],
                        "measured_ms": m["latency_ms"],
                        "predicted_ms": predicted,
                    }
                )
        valid = [p for p in points if p["predicted_ms"] is not None and p["measured_ms"] > 0]
        mape = (
            100
            * sum(abs(p["predicted_ms"] - p["measured_ms"]) / p["measured_ms"] for p in valid)
            / len(valid)
            if valid
            else None
        )
        within10 = (
            100
            * sum(
                abs(p["predicted_ms"] - p["measured_ms"]) <= 0.1 * p["measured_ms"] for p in valid
            )
            / len(valid)
            if valid
            else None
        )
        return {
            "target": target,
            "checkpoint": self.checkpoint,
            "n": len(valid),
            "mape": mape,
            "within10": within10,
            "points": points,
        }

    def calibrate(
        self, name: str, rows: Sequence[tuple[str, float]], description: str
    ) -> dict[str, Any]:
        """Fit and store a new calibrated target from measured latencies of stored models."""
        if self.is_target(name):
            raise ConflictError(f"target {name!r} already exists; choose a new name")
        sources = self._stored_sources([sha for sha, _ in rows])
        graphs = {s.sha256: s.read() for s in sources}
        with self._lock:
            cal = self.predictor.calibrate(
                name, [graphs[sha] for sha, _ in rows], [ms for _, ms in rows], description
            )
        try:
            with self.engine.begin() as conn:
                db.add_calibration(conn, name, cal.to_dict())
                db.add_measurements(conn, name, rows)
        except IntegrityError:  # another worker calibrated the same name a moment ago
            raise ConflictError(f"target {name!r} already exists; choose a new name") from None
        self.sync_calibrations(force=True)
        return cal.to_dict()

    def is_target(self, name: str) -> bool:
        self.sync_calibrations(force=True)
        return name in TARGETS or name in self.predictor.calibrations
