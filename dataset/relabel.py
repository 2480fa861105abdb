"""Bring the labels derived from ``hwmodels`` up to date after the hardware model changed.

Two kinds of label are computed from the hardware model rather than measured: the analytic
``npu-*`` estimates (from the stored OpGraph) and the energy of the Ethos-U labels (from the Vela
counters each label keeps). Each records the :func:`hwmodels.fingerprint` it was computed with in
``tool_versions["hwmodels"]``; :func:`relabel_derived` recomputes those whose fingerprint differs,
in place and in small transactions (a killed run resumes where it stopped). Vela is not run again
and nothing measured is touched.

:func:`add_vela_per_op` fills in what older Vela labels lack: the per-operator cycles
(``extra.op_cycles``) that Vela's per-layer report gives. It runs Vela again on those int8 graphs,
rebuilding a pruned .tflite from its stored spec (verified by its sha256, the graph's id), and
adds the per-op cycles only where the new run reproduces the stored totals exactly.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from dataset.store import Graph, Label, Store
from dataset.targets import VELA_TARGETS, LabelKind, all_targets
from dataset.tasks import _analytic_label, vela_again_task
from dataset.vela import ethosu_energy

log = logging.getLogger(__name__)

_GRAPHS_PER_TRANSACTION = 200


def relabel_derived(store: Store, *, progress: bool = True) -> dict[str, int]:
    """Recompute stale hwmodels-derived labels; returns counts per kind of update."""
    from hwmodels import fingerprint

    current = fingerprint()
    table = all_targets()
    derived = [n for n, t in table.items() if t.kind in (LabelKind.VELA, LabelKind.ANALYTIC)]
    with store.session() as sess:
        rows = sess.execute(
            select(Label.id, Label.graph_id, Label.tool_versions).where(Label.target.in_(derived))
        ).all()
    stale: dict[str, list[int]] = defaultdict(list)
    for label_id, graph_id, versions in rows:
        if (versions or {}).get("hwmodels") != current:
            stale[graph_id].append(label_id)
    counts = {"analytic": 0, "ethosu_energy": 0, "stamped": 0, "up_to_date": len(rows)}
    counts["up_to_date"] -= sum(len(ids) for ids in stale.values())
    graph_ids = sorted(stale)
    with tqdm(total=len(graph_ids), desc="relabel", unit="graph", disable=not progress) as bar:
        for start in range(0, len(graph_ids), _GRAPHS_PER_TRANSACTION):
            with store.session() as sess:
                for graph_id in graph_ids[start : start + _GRAPHS_PER_TRANSACTION]:
                    labels = sess.scalars(select(Label).where(Label.id.in_(stale[graph_id]))).all()
                    opgraph: dict[str, Any] | None = None
                    for lab in labels:
                        row = table[lab.target]
                        if row.kind is LabelKind.ANALYTIC:
                            if opgraph is None:
                                opgraph = sess.scalar(
                                    select(Graph.opgraph).where(Graph.id == graph_id)
                                )
                            fresh = _analytic_label(opgraph, lab.target)
                            for key in ("latency_ms", "energy_mj", "memory_kb", "storage_kb"):
                                setattr(lab, key, fresh.get(key))
                            lab.null_reason = fresh.get("null_reason")
                            counts["analytic"] += 1
                        elif lab.energy_mj is not None and row.ethosu is not None:
                            lab.energy_mj, parts = ethosu_energy(row.ethosu.accelerator, lab.extra)
                            lab.extra = {**lab.extra, "energy_breakdown_mj": parts}
                            counts["ethosu_energy"] += 1
                        else:
                            counts["stamped"] += 1  # a null label: nothing derived to redo
                        lab.tool_versions = {**(lab.tool_versions or {}), "hwmodels": current}
                    bar.update()
    log.info("relabelled with hwmodels %s: %s", current, counts)
    return counts


def add_vela_per_op(
    store: Store,
    cache_dir: Path,
    *,
    workers: int = 1,
    limit: int | None = None,
    progress: bool = True,
) -> dict[str, int]:
    """Add per-operator Vela cycles to the int8 graphs whose Vela labels lack them.

    Each such graph is compiled by Vela again for every Ethos-U target it has a valued label for
    (from ``cache_dir``'s .tflite, or rebuilt from its spec). A label gains ``op_cycles`` and
    ``op_cycles_unassigned`` only if the new run gives the same ``cycles_total``; nothing else in
    it changes. Each graph is stored as it finishes, so a killed run resumes where it stopped.
    Returns counts: ``labels`` updated, ``graphs`` done, ``mismatch`` (Vela disagreed with the
    stored label), ``no_layers`` (no per-layer report), ``failed`` (rebuild failed or differed),
    ``equivalent`` (graphs rebuilt with the same op graph but other bytes, as conversion on another
    CPU gives: float scales differ in their last bits; each label says so in ``op_cycles_rebuild``).
    """
    from dataset.build import _bounded
    from dataset.executors import LocalExecutor

    with store.session() as sess:
        rows = sess.execute(
            select(Label.graph_id, Label.target, Label.extra, Graph.arch_id)
            .join(Graph, Graph.id == Label.graph_id)
            .where(
                Label.target.in_(VELA_TARGETS),
                Label.latency_ms.is_not(None),
                Graph.precision == "int8",
            )
            .order_by(Label.graph_id)
        ).all()
    todo: dict[str, tuple[str, list[str]]] = {}
    for graph_id, target, extra, arch_id in rows:
        if "op_cycles" not in (extra or {}):
            todo.setdefault(graph_id, (arch_id, []))[1].append(target)
    jobs = sorted(todo.items())[: limit if limit is not None else None]
    counts = {"graphs": 0, "labels": 0, "mismatch": 0, "no_layers": 0, "failed": 0,
              "equivalent": 0}  # fmt: skip
    if not jobs:
        return counts
    specs = store.specs(arch for arch, _ in todo.values())
    executor = LocalExecutor(workers)

    def submit(job: tuple[str, tuple[str, list[str]]]):
        graph_id, (arch_id, targets) = job
        path = Path(cache_dir) / f"{graph_id}.tflite"
        blob = path.read_bytes() if path.is_file() else None
        opgraph = None if blob is not None else store.opgraph(graph_id)
        return executor.submit(
            vela_again_task, specs[arch_id], graph_id, blob, sorted(targets), 0, opgraph
        )

    try:
        with tqdm(total=len(jobs), desc="vela per-op", unit="graph", disable=not progress) as bar:
            for (graph_id, _), result in _bounded(jobs, submit, 2 * workers):
                bar.update()
                if "error" in result:
                    log.warning("graph %s: %s", graph_id[:12], result["error"])
                    counts["failed"] += 1
                    continue
                fresh = {lab["target"]: lab.get("extra") or {} for lab in result["labels"]}
                counts["equivalent"] += result.get("rebuild") == "equivalent"
                with store.session() as sess:
                    labels = sess.scalars(
                        select(Label).where(
                            Label.graph_id == graph_id, Label.target.in_(list(fresh))
                        )
                    ).all()
                    for lab in labels:
                        new = fresh[lab.target]
                        old = lab.extra or {}
                        if "op_cycles" in old:
                            continue
                        if new.get("cycles_total") != old.get("cycles_total"):
                            log.warning(
                                "graph %s %s: Vela now gives %s cycles, the label has %s",
                                graph_id[:12], lab.target, new.get("cycles_total"),
                                old.get("cycles_total"),
                            )  # fmt: skip
                            counts["mismatch"] += 1
                        elif "op_cycles" not in new:
                            counts["no_layers"] += 1
                        else:
                            lab.extra = {
                                **old,
                                "op_cycles": new["op_cycles"],
                                "op_cycles_unassigned": new["op_cycles_unassigned"],
                                "op_cycles_rebuild": result.get("rebuild", "cached"),
                            }
                            counts["labels"] += 1
                counts["graphs"] += 1
    finally:
        executor.shutdown()
    log.info("per-op Vela cycles added: %s", counts)
    return counts
