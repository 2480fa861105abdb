"""What the dataset holds: counts per space, precision and target, and the measurement noise floor.

The noise floor is the MAPE between two independent measurement passes over the same graphs (the
first ``build`` measurement and the ``noise`` pass): no latency predictor can beat it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select

from dataset.store import Architecture, Graph, Label, Run, Store
from dataset.targets import CPU_TARGET

_NUMBER = re.compile(r"\b\d+(\.\d+)?\b")


def noise_pairs(store: Store, target: str = CPU_TARGET) -> list[tuple[str, float, float]]:
    """(graph id, first build latency, noise-pass latency) for every graph measured twice."""
    with store.session() as sess:
        rows = sess.execute(
            select(Label.graph_id, Label.latency_ms, Run.kind, Label.created_at)
            .join(Run, Run.id == Label.run_id)
            .where(Label.target == target, Label.latency_ms.is_not(None))
            .order_by(Label.created_at)
        ).all()
    first: dict[str, float] = {}
    again: dict[str, float] = {}
    for graph_id, latency_ms, kind, _ in rows:
        if kind == "build":
            first.setdefault(graph_id, latency_ms)
        elif kind == "noise":
            again.setdefault(graph_id, latency_ms)
    return [(g, first[g], again[g]) for g in sorted(again) if g in first]


def noise_floor_mape(store: Store, target: str = CPU_TARGET) -> float | None:
    """MAPE (%) of the noise pass against the first measurement; ``None`` without pairs."""
    pairs = noise_pairs(store, target)
    if not pairs:
        return None
    return 100.0 * sum(abs(b - a) / a for _, a, b in pairs) / len(pairs)


def dataset_stats(store: Store) -> dict[str, Any]:
    """Counts of architectures, graphs and labels, per space and per target, and the noise floor."""
    with store.session() as sess:
        n_arch = sess.scalar(select(func.count()).select_from(Architecture)) or 0
        n_graphs = sess.scalar(select(func.count()).select_from(Graph)) or 0
        spaces: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"architectures": 0, "anchors": 0, "convert_failed": 0, "graphs": {}}
        )
        for space, anchor, failed, count in sess.execute(
            select(
                Architecture.space,
                Architecture.anchor,
                Architecture.convert_error.is_not(None),
                func.count(),
            ).group_by(Architecture.space, Architecture.anchor, Architecture.convert_error.is_not(None))
        ):
            row = spaces[space]
            row["architectures"] += count
            row["anchors"] += count if anchor else 0
            row["convert_failed"] += count if failed else 0
        for space, precision, count in sess.execute(
            select(Architecture.space, Graph.precision, func.count())
            .join(Graph, Graph.arch_id == Architecture.id)
            .group_by(Architecture.space, Graph.precision)
        ):
            spaces[space]["graphs"][precision] = count
        targets: dict[str, dict[str, Any]] = {}
        reasons: dict[str, Counter] = defaultdict(Counter)
        for target, has_value, reason, count in sess.execute(
            select(
                Label.target,
                Label.latency_ms.is_not(None),
                Label.null_reason,
                func.count(),
            ).group_by(Label.target, Label.latency_ms.is_not(None), Label.null_reason)
        ):
            row = targets.setdefault(target, {"labels": 0, "valued": 0, "null": 0})
            row["labels"] += count
            row["valued" if has_value else "null"] += count
            if not has_value:
                reasons[target][_reason_kind(reason)] += count
        for target, counter in reasons.items():
            targets[target]["null_reasons"] = dict(counter.most_common(5))
        runs = Counter(dict(sess.execute(select(Run.kind, func.count()).group_by(Run.kind)).all()))
    pairs = noise_pairs(store)
    return {
        "graphs": n_graphs,
        "architectures": n_arch,
        "spaces": {k: spaces[k] for k in sorted(spaces)},
        "targets": {k: targets[k] for k in sorted(targets)},
        "runs": dict(runs),
        "noise_floor_mape": noise_floor_mape(store),
        "noise_pairs": len(pairs),
    }


def _reason_kind(reason: str | None) -> str:
    # Reasons quote counts and sizes: group them by their first clause with numbers masked.
    if not reason:
        return "no reason given"
    return _NUMBER.sub("N", reason.split(";")[0].split(": ")[0])[:100]
