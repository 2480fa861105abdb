"""The data card (``docs/dataset.md``), written from the store so no number in it is typed by hand.

Counts per space and precision, label coverage per target, latency histograms (PNG), the noise
floor, collection throughput from the runs' phase timings, and the command that rebuilds it.
"""

from __future__ import annotations

import math
import shlex
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dataset.stats import ANCHOR_AGREEMENT, dataset_stats, reference_runs
from dataset.store import Architecture, Graph, Label, Run, Store
from dataset.targets import CPU_TARGET, LABEL_TARGETS, VELA_TARGETS

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
ANALYTIC_PREFIX = "npu-"


def latencies(store: Store) -> dict[tuple[str, str], list[float]]:
    """First valued latency (ms) per graph, grouped by (target, precision).

    The CPU target's are its reference device's only (``dataset.stats.reference_runs``): another
    CPU runs at another speed, and pooling both would blur the distribution the target stands for.
    """
    cpu_runs = reference_runs(store, CPU_TARGET)
    out: dict[tuple[str, str], list[float]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    with store.session() as sess:
        rows = sess.execute(
            select(Label.graph_id, Label.target, Graph.precision, Label.latency_ms, Label.run_id)
            .join(Graph, Graph.id == Label.graph_id)
            .join(Run, Run.id == Label.run_id)
            .where(Label.latency_ms.is_not(None), Run.kind != "noise")
            .order_by(Label.created_at)
        ).all()
    for graph_id, target, precision, latency_ms, run_id in rows:
        if target == CPU_TARGET and run_id not in cpu_runs:
            continue
        if (graph_id, target) not in seen:
            seen.add((graph_id, target))
            out[(target, precision)].append(latency_ms)
    return out


def throughput(store: Store) -> dict[str, Any]:
    """Architectures per hour of the build runs, overall and per phase (from their timings)."""
    seconds: dict[str, float] = defaultdict(float)
    items: dict[str, int] = defaultdict(int)
    with store.session() as sess:
        for (phases,) in sess.execute(select(Run.phases).where(Run.kind == "build")):
            for phase, tally in (phases or {}).items():
                seconds[phase] += tally["seconds"]
                items[phase] += tally["items"]
        n_arch = len(set(sess.scalars(select(Graph.arch_id))))
    total_s = sum(seconds.values())
    return {
        "architectures": n_arch,
        "seconds": round(total_s, 1),
        "architectures_per_hour": round(3600 * n_arch / total_s, 1) if total_s else None,
        "phases": {
            p: {"items": items[p], "seconds": round(seconds[p], 1),
                "items_per_hour": round(3600 * items[p] / seconds[p], 1) if seconds[p] else None}
            for p in sorted(seconds)
        },
    }


def rebuild_command(store: Store) -> str:
    """The ``edgeperf dataset build`` command of the largest build run in the store."""
    with store.session() as sess:
        runs = sess.scalars(select(Run).where(Run.kind == "build")).all()
    if not runs:
        return "edgeperf dataset build --spaces all --n N --workers W"
    # An interrupted run may have planned more than it sampled: prefer finished ones.
    finished = [r for r in runs if r.finished_at is not None] or runs
    args = max(finished, key=lambda r: (r.args or {}).get("n", 0)).args
    cmd = [
        "edgeperf", "dataset", "build",
        "--spaces", ",".join(args.get("spaces", ["all"])),
        "--n", str(args.get("n")),
        "--workers", str(args.get("workers")),
        "--seed", str(args.get("seed")),
        "--anchors", str(args.get("anchors")),
    ]  # fmt: skip
    return shlex.join(cmd) + "\n" + shlex.join(
        ["edgeperf", "dataset", "build", "--phase", "noise", "--noise-n", str(args.get("noise_n"))]
    )


def plot_histograms(
    lat: dict[tuple[str, str], list[float]], out_dir: Path, cpu_machine: str | None = None
) -> list[Path]:
    """One PNG per target: log-spaced latency histogram, one series per precision."""
    titles = {"npu": "npu-* analytic presets (int8 graphs)"}
    if cpu_machine:
        titles[CPU_TARGET] = f"{CPU_TARGET} (measured on {cpu_machine})"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for (target, precision), values in lat.items():
        if target.startswith(ANALYTIC_PREFIX):
            # The analytic accelerator costs a graph in its own format: fp32 and int8 graphs of
            # one architecture get the same numbers, so one figure, one series per preset.
            if precision == "int8":
                figures["npu"][target] = values
        else:
            figures[target][precision] = values
    paths = []
    for target in sorted(figures):
        series = {k: v for k, v in figures[target].items() if v}
        if not series:
            continue
        lo = min(min(v) for v in series.values())
        hi = max(max(v) for v in series.values())
        edges = _log_edges(lo, hi, 40)
        fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
        for name, values in sorted(series.items()):
            ax.hist(values, bins=edges, alpha=0.5, label=f"{name} (n={len(values)})")
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("graphs")
        ax.set_title(titles.get(target, target))
        ax.legend()
        fig.tight_layout()
        path = out_dir / f"dataset-latency-{target}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def _log_edges(lo: float, hi: float, n: int) -> list[float]:
    lo, hi = max(lo, 1e-6), max(hi, lo * 1.01)
    a, b = math.log10(lo) - 0.01, math.log10(hi) + 0.01
    return [10 ** (a + (b - a) * i / n) for i in range(n + 1)]


def _median(values: list[float]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def render_card(store: Store, img_dir: Path, md_path: Path) -> str:
    """The data card's markdown; writes the histograms into ``img_dir``."""
    stats = dataset_stats(store)
    lat = latencies(store)
    pngs = plot_histograms(lat, img_dir, stats.get("cpu_reference_machine"))
    tp = throughput(store)
    with store.session() as sess:
        machines = {
            r.machine.get("cpu_model", "?") for r in sess.scalars(select(Run)) if r.machine
        }
        n_anchor_graphs = len(
            sess.scalars(select(Graph.id).join(Architecture).where(Architecture.anchor)).all()
        )
        n_anchor_archs = len(sess.scalars(select(Architecture.id).where(Architecture.anchor)).all())
        vela_extras = sess.scalars(
            select(Label.extra).where(Label.target.in_(VELA_TARGETS), Label.latency_ms.is_not(None))
        ).all()
    n_per_op = sum("op_cycles" in (e or {}) for e in vela_extras)
    lines = [
        "# The edgeperf dataset: data card",
        "",
        "Generated by `edgeperf dataset card` from the dataset store; do not edit by hand.",
        "Random architectures from the task search spaces in `dataset/spaces/`, each converted to",
        "fp32 and int8 TFLite and labelled per target (see `dataset/targets.py`).",
        "",
        "## Counts",
        "",
        (f"- architectures: **{stats['architectures']}**, graphs: **{stats['graphs']}**; "
        f"anchors (re-measured in every run): {n_anchor_archs} architectures, "
        f"{n_anchor_graphs} graphs"),
        (f"- collection runs: {', '.join(f'{v} {k}' for k, v in sorted(stats['runs'].items()))}; "
        f"measured on: {', '.join(sorted(machines)) or '-'}"),
        "",
        "| space | architectures | conversion failed | fp32 graphs | int8 graphs |",
        "|---|---:|---:|---:|---:|",
    ]
    for space, row in stats["spaces"].items():
        lines.append(
            f"| {space} | {row['architectures']} | {row['convert_failed']} | "
            f"{row['graphs'].get('fp32', 0)} | {row['graphs'].get('int8', 0)} |"
        )
    lines += [
        "",
        "## Labels per target",
        "",
        ("A null label carries its reason (an Ethos-U target given a float model, a model Vela "
        "refuses or leaves partly on the CPU); the CPU target's energy is always null: not "
        "measurable on the build machine."),
        "",
        ("| target | labels | with values | null | median latency fp32 (ms) | "
        "median latency int8 (ms) | main null reasons |"),
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for target, row in stats["targets"].items():
        med = {
            p: f"{_median(lat[(target, p)]):.4g}" if lat.get((target, p)) else "-"
            for p in ("fp32", "int8")
        }
        reasons = "; ".join(f"{k} ({v})" for k, v in row.get("null_reasons", {}).items())
        lines.append(
            f"| {target} | {row['labels']} | {row['valued']} | {row['null']} | {med['fp32']} | "
            f"{med['int8']} | {reasons or '-'} |"
        )
    nf = stats["noise_floor_mape"]
    lines += [
        "",
        "## Noise floor",
        "",
        f"MAPE between two independent measurement passes of `{CPU_TARGET}` over "
        f"{stats['noise_pairs']} graphs: **{nf:.2f}%**." if nf is not None else
        "No noise pass yet (`edgeperf dataset build --phase noise`).",
        "No latency predictor for this target can be trusted below this error.",
        "",
        "## Measuring machines",
        "",
        *_machine_lines(stats),
        "",
        "## Latency histograms",
        "",
    ]  # fmt: skip
    for png in pngs:
        rel = Path(_relpath(png, md_path.parent))
        lines.append(f"![{png.stem}]({rel.as_posix()})")
    lines += [
        "",
        "## Throughput on the build machine",
        "",
        (f"{tp['architectures']} architectures in {tp['seconds'] / 3600:.2f} h of build phases: "
        f"**{tp['architectures_per_hour']} architectures/hour** (sample, convert, label-static "
        "and measure, as run; phase times are summed, so a static phase run beside a "
        "measurement on other cores counts both, and the wall-clock rate is higher)."),
        "",
        "| phase | items | seconds | items/hour |",
        "|---|---:|---:|---:|",
    ]
    for phase, row in tp["phases"].items():
        lines.append(f"| {phase} | {row['items']} | {row['seconds']} | {row['items_per_hour']} |")
    lines += [
        "",
        "## How the labels are made",
        "",
        (f"- `{CPU_TARGET}`: LiteRT interpreter (XNNPACK, `num_threads=1`), one fresh worker "
        "process per model. Latency = median of timed `invoke()` calls after warm-up; the repeat "
        "count adapts to the model (budget 1 s, 10 to 300 calls, 10 s cap) and p10/p90, IQR and "
        "n are stored. Memory = rise of the worker's peak resident set (`VmHWM`, reset via "
        "`/proc/self/clear_refs`) over its resident set before the interpreter is built, after "
        "a throw-away interpreter has paged in the runtime's code."),
    ]
    for name, row in LABEL_TARGETS.items():
        if row.ethosu is not None:
            e = row.ethosu
            lines.append(
                f"- `{name}`: Vela `--accelerator-config {e.accelerator} --config Arm/vela.ini "
                f"--system-config {e.system_config} --memory-mode {e.memory_mode}`; latency = "
                "`inference_time`, memory = SRAM used, storage = off-chip memory used, energy = "
                f"hwmodels' Ethos-U model over Vela's traffic and cycles ({e.offchip_kind})."
            )
    lines.append(
        "- Vela's per-layer cycles (`--verbose-performance`), given to the operators of the main "
        "subgraph (by operator type, then output-name prefix, then order), are kept in the label's "
        f"`extra.op_cycles` as per-node targets: {n_per_op} of {len(vela_extras)} Vela labels have "
        "them (labels made before they were kept do not)."
    )
    lines += [
        ("- `npu-*`: hwmodels' analytic accelerator over the reader's per-layer work, costed in "
        "the preset's own number format (so an architecture's fp32 and int8 graphs get nearly "
        "the same numbers)."),
        "",
        "## How it is collected",
        "",
        ("- Phases run separately and in order: `sample` (specs from `dataset/spaces/`), "
        "`convert` (fp32 + int8 TFLite, `--workers` processes), `label-static` (Vela and analytic, "
        "parallel), `measure` (one model at a time, after the pools are gone), and `noise` (a "
        "second measurement of `--noise-n` graphs in a run of its own)."),
        ("- Every item is committed as it is done; a killed build loses at most the items in "
        "flight, and a rerun of the same command skips what is stored. Growing `--n` extends "
        "a build: architecture *i* of a space always has sampling seed `seed*10^6 + i`."),
        ("- Labels computed from `hwmodels` (the `npu-*` estimates, Ethos-U energy from Vela's "
        "counters) record its fingerprint; after a change to the hardware model, `edgeperf "
        "dataset relabel` recomputes the stale ones in place (Vela is not run again). "
        "`edgeperf dataset relabel --vela-per-op` runs Vela again on int8 graphs labelled "
        "before per-operator cycles were kept, rebuilding pruned .tflite files from their specs "
        "(checked by sha256, or, where the rebuild ran on another CPU and its calibrated float "
        "scales differ in their last bits, by an op graph equal to the stored one), and adds "
        "those cycles only where Vela's totals come out exactly the same."),
        ("- A fixed anchor set (`--anchors`, round-robin over every space, seeds from "
        "900000000) is re-measured in every run, so runs on different machines can be "
        "reconciled and a new device calibrated from a handful of measurements."),
        ("- Working files: store `var/dataset/edgeperf.sqlite` (any SQLAlchemy URL with `--db`), "
        "`.tflite` cache `var/dataset/tflite/` (`edgeperf dataset prune` deletes the files no "
        "phase needs any more; conversion is deterministic on one machine, so any of them can "
        "be rebuilt from its spec; on another CPU only up to float rounding of the int8 "
        "scales), one log per run in `var/dataset/logs/`. The "
        "committed copy is the export, the directory `dataset/export/`: each snapshot adds a "
        "part holding only the rows the earlier parts lack, so the repository grows by the "
        "dataset's growth, not by the whole dataset again (`edgeperf dataset import "
        "dataset/export` loads every part back)."),
        ("- On a Ray cluster (`--ray ADDRESS`), convert and label-static tasks go to any node; "
        "measurement tasks need the custom resource `device:cpu-xnnpack-1t`, which only the "
        "nodes that should measure declare (`ray start --address HEAD "
        "--resources '{\"device:cpu-xnnpack-1t\": 1}'`), one model at a time per node."),
        "",
        "## Rebuild",
        "",
        "```sh",
        rebuild_command(store),
        "# or in chunks, each fully labelled and its cache pruned before the next:",
        "#   CPU=0 STEP=100 TARGET=2500 WORKERS=2 scripts/collect.sh cycle",
        "#   (measured on core 0; the next chunk's static phase runs on the others meanwhile)",
        "edgeperf dataset relabel --vela-per-op   # per-op Vela cycles for labels made without",
        "edgeperf dataset export   # adds dataset/export/part-NNNN.jsonl.xz: the rows not yet there",
        "edgeperf dataset card     # writes this file",
        "# or, while a collection goes on: scripts/snapshot.sh N  (export + card of a copy of",
        "# the store cut at the last finished chunk, N architectures per space);",
        "# SNAPSHOT=1 scripts/collect.sh cycle  does that after every chunk",
        "```",
        "",
    ]
    return "\n".join(lines)


def _relpath(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path, start)


def _machine_lines(stats: dict[str, Any]) -> list[str]:
    machines = stats.get("cpu_machines") or {}
    ref = stats.get("cpu_reference_machine")
    if not machines:
        return [f"No `{CPU_TARGET}` measurements yet."]
    lines = [
        f"`{CPU_TARGET}` labels per machine: "
        + ", ".join(f"{name} {count}" for name, count in machines.items())
        + f". The target is the reference machine's ({ref}: the first to measure it); `edgeperf train` "
        "trains on its labels only and keeps the others in the store.",
    ]
    for name, row in (stats.get("cpu_anchor_ratios") or {}).items():
        lines.append(
            f"- {name} against {ref}, over {row['anchors']} anchor graphs measured on both: "
            f"latency ratio median {row['median_ratio']:.2f}, range {row['min_ratio']:.2f}-"
            f"{row['max_ratio']:.2f}"
            + (" (a spread this wide is no single speed factor: the machines differ per kernel)"
               if row["max_ratio"] > 2 * row["min_ratio"] else "")
            + "."
        )  # fmt: skip
    for run_id, row in (stats.get("cpu_other_device_runs") or {}).items():
        d = row["anchor_disagreement"]
        lines.append(
            f"- Run `{run_id}` reports {ref} too, but its anchors disagree with the first run's "
            f"(median |ln ratio| {'-' if d is None else f'{d:.3f}'} > {ANCHOR_AGREEMENT}): another "
            f"host under the same CPU name, so its {row['labels']} labels do not train the target "
            "either (nor enter the histograms)."
        )
    return lines


def write_card(
    store: Store,
    md_path: str | Path = DOCS_DIR / "dataset.md",
    img_dir: str | Path | None = None,
) -> Path:
    """Write the data card to ``md_path`` (histograms beside it in ``img/``); returns the path."""
    md_path = Path(md_path)
    img_dir = Path(img_dir) if img_dir is not None else md_path.parent / "img"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(render_card(store, img_dir, md_path))
    return md_path
