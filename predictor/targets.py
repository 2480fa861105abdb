"""The registry of prediction targets, read from ``predictor/data/targets.toml``.

A target names a piece of hardware and says which metrics it gives, which graph precisions it runs,
and why a value it cannot give is null. Calibrated targets registered with ``edgeperf target add``
(HELP's few-shot adaptation, :mod:`predictor.calibrate`) are rows of the same shape kept in a
user data file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from predictor.errors import UnknownTargetError

DATA_PATH = Path(__file__).resolve().parent / "data" / "targets.toml"

#: Every metric a target may give, in the order of the model's output head.
METRICS: tuple[str, ...] = ("latency_ms", "energy_mj", "memory_kb", "storage_kb")
LABEL_KINDS = ("measured", "vela", "analytic", "calibrated")


@dataclass(frozen=True, slots=True)
class Target:
    """One prediction target.

    Attributes:
        name: Target name (``"cpu-xnnpack-1t"``).
        description: What the hardware is.
        labels: How its labels are obtained: ``measured``, ``vela``, ``analytic`` or ``calibrated``.
        metrics: Metrics it gives (subset of :data:`METRICS`).
        precisions: Graph precisions it runs; others get null values and ``precision_note``.
        labelled_precisions: Precisions with training labels; others are predicted with a note.
        precision_note: Why a precision outside ``precisions`` gets nulls.
        notes: Per metric not given, why it is null.
        accelerator: hwmodels preset that serves as its analytic prior.
    """

    name: str
    description: str
    labels: str
    metrics: tuple[str, ...]
    precisions: tuple[str, ...]
    labelled_precisions: tuple[str, ...]
    precision_note: str
    notes: dict[str, str] = field(default_factory=dict)
    accelerator: str = "npu-int8"

    def null_note(self, metric: str, precision: str) -> str | None:
        """Why ``metric`` is null for a graph of ``precision`` (``None``: it has a value)."""
        if precision not in self.precisions:
            return f"{self.precision_note}; got a {precision} model"
        if metric not in self.metrics:
            return self.notes.get(metric, f"{self.name} does not give {metric}")
        return None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "labels": self.labels,
            "metrics": list(self.metrics),
            "precisions": list(self.precisions),
            "labelled_precisions": list(self.labelled_precisions),
            "precision_note": self.precision_note,
            "notes": dict(self.notes),
            "accelerator": self.accelerator,
        }


def target_from_dict(name: str, row: dict) -> Target:
    """Build a :class:`Target` from a registry row, checking its fields."""
    unknown = set(row.get("metrics", ())) - set(METRICS)
    if unknown:
        raise UnknownTargetError(
            f"target {name!r}: unknown metrics {sorted(unknown)}; expected {list(METRICS)}"
        )
    if row.get("labels") not in LABEL_KINDS:
        raise UnknownTargetError(
            f"target {name!r}: labels {row.get('labels')!r}; expected one of {list(LABEL_KINDS)}"
        )
    return Target(
        name=name,
        description=row.get("description", ""),
        labels=row["labels"],
        metrics=tuple(m for m in METRICS if m in row["metrics"]),
        precisions=tuple(row["precisions"]),
        labelled_precisions=tuple(row.get("labelled_precisions", row["precisions"])),
        precision_note=row.get("precision_note", ""),
        notes=dict(row.get("notes", {})),
        accelerator=row.get("accelerator", "npu-int8"),
    )


def load_targets(path: Path = DATA_PATH) -> dict[str, Target]:
    """Read a targets TOML file into name -> :class:`Target`, in file order."""
    with open(path, "rb") as fh:
        rows = tomllib.load(fh).get("targets", {})
    return {name: target_from_dict(name, row) for name, row in rows.items()}


#: The built-in targets, in registry order (the order of the model's output head).
TARGETS: dict[str, Target] = load_targets()


def get_target(name: str, extra: dict[str, Target] | None = None) -> Target:
    """The target called ``name`` (built-in or in ``extra``); raises naming the valid ones."""
    known = {**TARGETS, **(extra or {})}
    try:
        return known[name]
    except KeyError:
        raise UnknownTargetError(
            f"unknown target {name!r}; expected one of {sorted(known)}"
        ) from None
