"""Bring the labels derived from ``hwmodels`` up to date after the hardware model changed.

Two kinds of label are computed from the hardware model rather than measured: the analytic
``npu-*`` estimates (from the stored OpGraph) and the energy of the Ethos-U labels (from the Vela
counters each label keeps). Each records the :func:`hwmodels.fingerprint` it was computed with in
``tool_versions["hwmodels"]``; :func:`relabel_derived` recomputes those whose fingerprint differs,
in place and in small transactions (a killed run resumes where it stopped). Vela is not run again
and nothing measured is touched.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from dataset.store import Graph, Label, Store
from dataset.targets import LabelKind, all_targets
from dataset.tasks import _analytic_label
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
