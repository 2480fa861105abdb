"""What the dataset holds: counts per space, precision and target, and the measurement noise floor.

The noise floor is the MAPE between two independent measurement passes over the same graphs (the
first ``build`` measurement and the ``noise`` pass): no latency predictor can beat it.
"""

from __future__ import annotations

import math
import re
import statistics
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


def machine_name(*machines: dict[str, Any] | None) -> str:
    """The CPU a measurement ran on: the first of its machine records (label's, run's) to say."""
    for machine in machines:
        if (machine or {}).get("cpu_model"):
            return str(machine["cpu_model"])
    return "unknown"


def measuring_machines(store: Store, target: str = CPU_TARGET) -> dict[str, int]:
    """Valued build measurements of ``target`` per machine, the most first."""
    with store.session() as sess:
        rows = sess.execute(
            select(Label.machine, Run.machine)
            .join(Run, Run.id == Label.run_id)
            .where(Label.target == target, Label.latency_ms.is_not(None), Run.kind == "build")
        ).all()
    counts = Counter(machine_name(m, r) for m, r in rows)
    return dict(counts.most_common())


def reference_machine(store: Store, target: str = CPU_TARGET) -> str | None:
    """The machine that made the first measurement of ``target``: the one the target stands for.

    A measured target is one device; labels from another machine are kept in the store (with
    their machine) but are not the same target until reconciled through the anchors. The first
    machine, not the one with the most labels, so that the target cannot change device when
    another machine's share grows.
    """
    with store.session() as sess:
        row = sess.execute(
            select(Label.machine, Run.machine)
            .join(Run, Run.id == Label.run_id)
            .where(Label.target == target, Label.latency_ms.is_not(None), Run.kind == "build")
            .order_by(Label.created_at, Label.id)
            .limit(1)
        ).first()
    return None if row is None else machine_name(*row)


#: A run stands for the reference device when the median over the anchors it shares with the
#: target's first measuring run of |ln(its latency / the first run's)| is at most this. Runs of
#: the first machine agree within 0.02-0.03 here; a VM host with the same CPU name but other cores
#: (this dataset's 2026-12-02 run) sits at 0.12, with anchors 0.28-1.20x the reference's.
ANCHOR_AGREEMENT = 0.08


def _run_disagreements(store: Store, target: str) -> dict[str, tuple[int, float | None]]:
    """Per build run of the reference machine's name, in order of its first label: (valued
    labels, median |ln ratio| of its anchors against the first run's; ``None``: none shared)."""
    ref = reference_machine(store, target)
    if ref is None:
        return {}
    with store.session() as sess:
        rows = sess.execute(
            select(Label.run_id, Label.graph_id, Label.latency_ms, Architecture.anchor, Label.machine, Run.machine)
            .join(Graph, Graph.id == Label.graph_id)
            .join(Architecture, Architecture.id == Graph.arch_id)
            .join(Run, Run.id == Label.run_id)
            .where(Label.target == target, Label.latency_ms.is_not(None), Run.kind == "build")
            .order_by(Label.created_at, Label.id)
        ).all()
    counts: Counter[str] = Counter()
    anchors: dict[str, dict[str, float]] = defaultdict(dict)
    for run_id, gid, latency_ms, anchor, machine, run_machine in rows:
        if machine_name(machine, run_machine) != ref:
            continue
        counts[run_id] += 1  # insertion order: the order of each run's first label
        if anchor and latency_ms > 0:
            anchors[run_id][gid] = latency_ms
    first = anchors[next(iter(counts))] if counts else {}
    out: dict[str, tuple[int, float | None]] = {}
    for i, (run_id, n) in enumerate(counts.items()):
        shared = [g for g in anchors[run_id] if g in first]
        if i == 0 or not shared:
            out[run_id] = (n, 0.0 if i == 0 else None)
        else:
            out[run_id] = (n, statistics.median(abs(math.log(anchors[run_id][g] / first[g])) for g in shared))
    return out


def reference_runs(store: Store, target: str = CPU_TARGET) -> dict[str, float | None]:
    """The build runs whose ``target`` labels stand for its reference device, with their anchor
    disagreement (the median |log ratio| against the first measuring run; ``None``: no anchor in
    common, the machine name alone decides).

    The machine name is not enough: cloud VMs report one CPU name for hosts of different
    microarchitectures, and their kernels differ by up to 3-4x. The anchors, re-measured in every
    run, tell them apart; a run of the reference's name whose anchors disagree is another device.
    """
    return {
        r: d for r, (_, d) in _run_disagreements(store, target).items() if d is None or d <= ANCHOR_AGREEMENT
    }


def other_device_runs(store: Store, target: str = CPU_TARGET) -> dict[str, dict[str, Any]]:
    """Build runs of the reference machine's name whose anchors say another device (see
    :func:`reference_runs`): ``{run_id: {"labels": n, "anchor_disagreement": d}}``."""
    return {
        r: {"labels": n, "anchor_disagreement": d}
        for r, (n, d) in _run_disagreements(store, target).items()
        if d is not None and d > ANCHOR_AGREEMENT
    }


def anchor_ratios(
    store: Store, target: str = CPU_TARGET, reference: str | None = None
) -> dict[str, dict[str, Any]]:
    """Per other machine: how its anchor latencies compare with the reference machine's.

    ``{machine: {"anchors": n, "median_ratio": r, "min_ratio": a, "max_ratio": b}}`` with ratio =
    that machine's mean latency over the reference's, per anchor graph measured on both.
    ``reference`` defaults to :func:`reference_machine`.
    """
    ref = reference if reference is not None else reference_machine(store, target)
    with store.session() as sess:
        rows = sess.execute(
            select(Label.graph_id, Label.latency_ms, Label.machine, Run.machine, Label.run_id)
            .join(Graph, Graph.id == Label.graph_id)
            .join(Architecture, Architecture.id == Graph.arch_id)
            .join(Run, Run.id == Label.run_id)
            .where(
                Architecture.anchor.is_(True),
                Label.target == target,
                Label.latency_ms.is_not(None),
                Run.kind == "build",
            )
        ).all()
    ref_runs = reference_runs(store, target) if ref == reference_machine(store, target) else None
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for gid, latency_ms, machine, run_machine, run_id in rows:
        name = machine_name(machine, run_machine)
        if name == ref and ref_runs is not None and run_id not in ref_runs:
            continue  # another host under the reference's name (reference_runs): not the reference
        per[name][gid].append(latency_ms)
    out: dict[str, dict[str, Any]] = {}
    for name, graphs in per.items():
        if name == ref:
            continue
        ratios = [
            statistics.fmean(v) / statistics.fmean(per[ref][g])
            for g, v in graphs.items()
            if per[ref].get(g)
        ]
        if ratios:
            out[name] = {
                "anchors": len(ratios),
                "median_ratio": statistics.median(ratios),
                "min_ratio": min(ratios),
                "max_ratio": max(ratios),
            }
    return out


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
    machines = measuring_machines(store)
    reference = reference_machine(store)
    return {
        "graphs": n_graphs,
        "architectures": n_arch,
        "spaces": {k: spaces[k] for k in sorted(spaces)},
        "targets": {k: targets[k] for k in sorted(targets)},
        "runs": dict(runs),
        "noise_floor_mape": noise_floor_mape(store),
        "noise_pairs": len(pairs),
        "cpu_machines": machines,
        "cpu_reference_machine": reference,
        "cpu_anchor_ratios": anchor_ratios(store, reference=reference),
        "cpu_other_device_runs": other_device_runs(store),
    }


def _reason_kind(reason: str | None) -> str:
    # Reasons quote counts and sizes: group them by their first clause with numbers masked.
    if not reason:
        return "no reason given"
    return _NUMBER.sub("N", reason.split(";")[0].split(": ")[0])[:100]
