"""``edgeperf train`` and ``edgeperf evaluate``: fit the performance GNN on the dataset, and report it.

The dataset (a store URL or an export: a directory of parts, or one ``.jsonl.xz``) is read here into plain structures
(:class:`predictor.train.TrainingData`); :mod:`predictor.train` and :mod:`predictor.evaluate`
never import :mod:`dataset`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

log = logging.getLogger(__name__)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Dataset store URL or SQLite path (default: the dataset's own)."),
]
ExportOption = Annotated[
    Path | None,
    typer.Option("--export", help="An exported dataset (a directory of parts or one .jsonl.xz) to read instead of a store."),
]


def open_store(db: str | None, export: Path | None):
    """The dataset store to read: ``db``, or an in-memory store filled from ``export``."""
    from dataset.export import DEFAULT_EXPORT_PATH, import_dataset
    from dataset.store import DEFAULT_DB_URL, Store

    if export is not None or (db is None and not Path(DEFAULT_DB_URL.removeprefix("sqlite:///")).exists()):
        store = Store("sqlite://")
        import_dataset(store, export or DEFAULT_EXPORT_PATH)
        return store
    return Store(db or DEFAULT_DB_URL)


def load_training_data(store) -> tuple[Any, str]:
    """(TrainingData, dataset hash) of every converted graph with its first build labels.

    A measured target stands for one device: only the labels measured on its reference machine
    (the first to measure it) train it; the rest stay in the store for reconciliation.
    """
    from sqlalchemy import select

    from dataset.stats import noise_pairs, reference_runs
    from dataset.store import Architecture, Graph, Label, Run
    from dataset.targets import CPU_TARGET, VELA_TARGETS
    from predictor.graph import OpGraph
    from predictor.targets import METRICS
    from predictor.train import TrainingData

    graphs, labels, arch_ids, spaces = [], [], [], []
    digest = hashlib.sha256()
    with store.session() as sess:
        rows = sess.execute(
            select(Graph.id, Graph.arch_id, Graph.opgraph, Architecture.space)
            .join(Architecture, Architecture.id == Graph.arch_id)
            .order_by(Graph.id)
        ).all()
        label_rows = sess.execute(
            select(Label.graph_id, Label.target, Label.run_id, Label.latency_ms, Label.energy_mj, Label.memory_kb, Label.storage_kb)
            .join(Run, Run.id == Label.run_id)
            .where(Run.kind != "noise")
            .order_by(Label.created_at, Label.id)
        ).all()
        # Vela's per-layer cycles per op (labels made since they are kept), as per-op latencies.
        per_op_rows = sess.execute(
            select(Label.graph_id, Label.target, Label.extra)
            .where(Label.target.in_(VELA_TARGETS), Label.latency_ms.is_not(None))
            .order_by(Label.created_at, Label.id)
        ).all()
    cpu_runs = reference_runs(store, CPU_TARGET)
    by_graph: dict[str, dict[str, dict[str, float | None]]] = {}
    for gid, target, run_id, *values in label_rows:
        if target == CPU_TARGET and run_id not in cpu_runs:
            continue  # another device's measurement: not this target until reconciled
        per = by_graph.setdefault(gid, {})
        if target not in per:  # the first build label; later runs are re-measurements
            per[target] = dict(zip(METRICS, values))
    per_op: dict[str, dict[str, list[float]]] = {}
    for gid, target, extra in per_op_rows:
        # Rows Vela names in a way no op could be matched to leave those cycles unassigned (and
        # their op at zero): such a graph teaches wrong per-op values, so it gives none.
        if (
            extra
            and "op_cycles" in extra
            and extra.get("core_clock_hz")
            and extra.get("op_cycles_unassigned", 0) <= 0.01 * sum(extra["op_cycles"])
        ):
            ms_per_cycle = 1e3 / extra["core_clock_hz"]
            per_op.setdefault(gid, {}).setdefault(target, [c * ms_per_cycle for c in extra["op_cycles"]])
    node_labels = []
    for gid, arch_id, opgraph, space in rows:
        graphs.append(OpGraph.from_dict(opgraph))
        labels.append(by_graph.get(gid, {}))
        node_labels.append(per_op.get(gid, {}))
        arch_ids.append(arch_id)
        spaces.append(space)
        digest.update(gid.encode())
        digest.update(json.dumps(by_graph.get(gid, {}), sort_keys=True).encode())
        if gid in per_op:  # graphs without per-op labels hash as before they existed
            digest.update(json.dumps(per_op[gid], sort_keys=True).encode())
    noise = {"cpu-xnnpack-1t": [(a, b) for _, a, b in noise_pairs(store)]}
    data = TrainingData(graphs, labels, arch_ids, spaces, noise, node_labels if per_op else [])
    return data, digest.hexdigest()[:16]


def _machine() -> dict[str, Any]:
    import os

    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


#: Where ``edgeperf train`` keeps the members' training state while it runs (see ``--state-dir``).
DEFAULT_STATE_DIR = Path(__file__).resolve().parents[2] / "var" / "train-state"


def train(
    db: DbOption = None,
    export: ExportOption = None,
    out: Annotated[Path | None, typer.Option(help="Checkpoint to write (default: the shipped one).")] = None,
    conv: Annotated[str, typer.Option(help="Convolution: sage, gin or gat.")] = "sage",
    readout: Annotated[str, typer.Option(help="Readout: mean, sum, mean+sum or lse (per-op contributions summed).")] = "mean",
    global_node: Annotated[bool, typer.Option(help="Add a BRP-NAS global node.")] = False,
    bidirectional: Annotated[bool, typer.Option(help="Also pass messages from consumers back to producers.")] = False,
    hidden: Annotated[int, typer.Option(help="Node state width.")] = 128,
    layers: Annotated[int, typer.Option(help="Message-passing layers.")] = 2,
    epochs: Annotated[int, typer.Option(help="Most epochs (early stopping may end sooner).")] = 300,
    patience: Annotated[int, typer.Option(help="Epochs without validation gain before stopping.")] = 40,
    batch_size: Annotated[int, typer.Option(help="Graphs per step.")] = 32,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 3e-3,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay.")] = 1e-4,
    dropout: Annotated[float, typer.Option(help="Dropout on node states while training.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the split, initialisation and batch order.")] = 0,
    node_weight: Annotated[
        float, typer.Option(help="Weight of the per-op loss on Vela's per-layer cycles (lse readout; 0: off).")
    ] = 1.0,
    analytic_weight: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Weight of each label of an analytic target (npu-*, answered by hwmodels itself) "
            "relative to the measured and Vela ones.",
        ),
    ] = 1.0,
    members: Annotated[
        int, typer.Option(min=1, help="Models trained from seeds seed, seed+1, ... and averaged (an ensemble).")
    ] = 1,
    workers: Annotated[int, typer.Option(min=1, help="Processes training ensemble members side by side.")] = 1,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 1,
    compare: Annotated[
        bool, typer.Option("--compare", help="Train every model choice, keep the best on validation.")
    ] = False,
    leave_out: Annotated[
        str | None, typer.Option(help="Hold out this search space as the test set (generalisation run).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show per-epoch progress.")] = True,
    state_dir: Annotated[
        Path,
        typer.Option(
            help="Where each ensemble member saves its training state after every epoch; the same "
            "command on the same data, run again after a kill, resumes from it. Removed once the "
            "checkpoint is written."
        ),
    ] = DEFAULT_STATE_DIR,
) -> None:
    """Train the GNN on the dataset (split by architecture) and write a checkpoint."""
    from predictor import train as tr
    from predictor.checkpoint import DEFAULT_CHECKPOINT, save_checkpoint
    from predictor.evaluate import evaluate_split

    data, data_hash = load_training_data(open_store(db, export))
    if leave_out:
        split = tr.split_leave_space_out(data.spaces, data.arch_ids, leave_out, seed=seed)
    else:
        split = tr.split_by_architecture(data.arch_ids, seed=seed)
    train_d, val_d, test_d = (data.subset(s) for s in split)
    typer.echo(
        f"dataset {data_hash}: {len(data.graphs)} graphs, {len(set(data.arch_ids))} architectures; "
        f"train/val/test {len(train_d.graphs)}/{len(val_d.graphs)}/{len(test_d.graphs)} graphs; "
        f"{sum(bool(n) for n in data.node_labels)} with per-op Vela cycles"
    )

    def show(epoch: int, train_loss: float, val_loss: float | None) -> None:
        if progress and (epoch % 10 == 0):
            typer.echo(f"  epoch {epoch:4d}  train {train_loss:.4f}  val {val_loss if val_loss is None else round(val_loss, 4)}")

    base = {"hidden": hidden, "layers": layers, "bidirectional": bidirectional, "epochs": epochs, "patience": patience, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay, "dropout": dropout, "node_weight": node_weight, "analytic_weight": analytic_weight, "members": members, "workers": workers, "report_every": 10 if progress else 0, "seed": seed, "threads": threads, "state_dir": state_dir, "progress": show}
    choices = (
        [{"conv": c, "readout": r, "global_node": gn} for c, r, gn in tr.MODEL_CHOICES]
        if compare
        else [{"conv": conv, "readout": readout, "global_node": global_node}]
    )
    results = []
    for choice in choices:
        typer.echo(f"training {choice}")
        reg = tr.GNNRegressor(**base, **choice).fit(train_d, val_d)
        results.append((reg.best_loss_, choice, reg))
        if members > 1:
            typer.echo(f"  members' best epochs {reg.member_best_epochs_}, validation log-L1 {[round(v, 4) for v in reg.member_losses_]}")
        typer.echo(f"  best epoch {reg.best_epoch_}, validation log-L1 {reg.best_loss_:.4f}, {reg.train_seconds_:.0f} s")
    best_loss, best_choice, best = min(results, key=lambda r: r[0])
    test_metrics = evaluate_split(best, test_d) if test_d.graphs else {}
    command = "edgeperf " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    meta = {
        "dataset_hash": data_hash,
        "dataset_graphs": len(data.graphs),
        "dataset_architectures": len(set(data.arch_ids)),
        "split": {"train": len(train_d.graphs), "val": len(val_d.graphs), "test": len(test_d.graphs), "leave_out": leave_out},
        "command": command,
        "seed": seed,
        "node_weight": node_weight,
        "analytic_weight": analytic_weight,
        "per_op_graphs": best.node_graphs_,
        "machine": _machine(),
        "comparison": [{"choice": c, "val_log_l1": loss} for loss, c, _ in results],
        "best_epoch": best.best_epoch_,
        **({"member_best_epochs": best.member_best_epochs_, "member_val_log_l1": best.member_losses_} if members > 1 else {}),
        "val_log_l1": best_loss,
        "test": test_metrics,
        "note": "trained on a small development dataset" if len(data.graphs) < 1000 else "",
    }
    path = save_checkpoint(best, out or DEFAULT_CHECKPOINT, meta)
    for _, _, reg in results:
        for state_file in reg.state_files_:
            state_file.unlink(missing_ok=True)
    typer.echo(f"kept {best_choice}; wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    for key, row in test_metrics.items():
        typer.echo(f"  test {key}: MAPE {row['mape']:.1f}%  within10 {row['within10']:.0f}%  tau {row['kendall_tau']:.2f}")


#: Where evaluate keeps each finished leave-one-space-out run's scores (see :func:`_loso_key`).
DEFAULT_LOSO_CACHE = Path(__file__).resolve().parents[2] / "var" / "exp" / "loso-runs.jsonl"


def _loso_key(data_hash: str, space: str, meta: dict[str, Any], epochs: int, members: int) -> str:
    """What a leave-one-space-out run's scores depend on: the data, the features, the model choice."""
    from predictor.features import schema_hash

    cfg = meta["model"]
    ident = {
        "dataset": data_hash,
        "space": space,
        "schema": schema_hash(),
        "epochs": epochs,
        "members": members,
        "seed": meta.get("seed", 0),
        "node_weight": meta.get("node_weight", 1.0),
        "targets": meta["targets"],
        "model": {k: cfg.get(k) for k in ("conv", "hidden", "layers", "readout", "global_node", "bidirectional")},
    }
    if meta.get("analytic_weight", 1.0) != 1.0:  # only then: keys of earlier runs stay valid
        ident["analytic_weight"] = meta["analytic_weight"]
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def _read_loso_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Cached runs by key; a line cut short by a killed evaluate is skipped."""
    out: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                out[row["key"]] = {"rows": row["rows"]}
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return out


def _append_loso_cache(path: Path, key: str, space: str, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{k: (float(v) if isinstance(v, float) else v) for k, v in r.items()} for r in result["rows"]]
    with path.open("a") as fh:
        fh.write(json.dumps({"key": key, "space": space, "rows": rows}) + "\n")
        fh.flush()


def loso_regressor(meta: dict[str, Any], *, epochs: int, members: int, threads: int) -> Any:
    """An untrained regressor of the checkpoint's model choice, for a leave-one-space-out run."""
    from predictor import train as tr

    cfg = meta["model"]
    return tr.GNNRegressor(
        conv=cfg["conv"], hidden=cfg["hidden"], layers=cfg["layers"], readout=cfg["readout"],
        global_node=cfg["global_node"], bidirectional=cfg.get("bidirectional", False), epochs=epochs,
        seed=meta.get("seed", 0), threads=threads, node_weight=meta.get("node_weight", 1.0), members=members,
        analytic_weight=meta.get("analytic_weight", 1.0),
    )  # fmt: skip


def leave_space_out_run(arrays: Any, *, meta: dict[str, Any], epochs: int, members: int, threads: int) -> Any:
    """Train the checkpoint's model choice from scratch on arrays prepared without one space
    (module level: it runs in worker processes, which get the arrays, not the graphs)."""
    return loso_regressor(meta, epochs=epochs, members=members, threads=threads).fit_arrays(arrays)


def evaluate(
    db: DbOption = None,
    export: ExportOption = None,
    checkpoint: Annotated[Path | None, typer.Option(help="Checkpoint to evaluate (default: the shipped one).")] = None,
    out: Annotated[Path, typer.Option(help="Markdown report to write (plots go beside it).")] = Path("docs/accuracy.md"),
    leave_space_out: Annotated[
        bool, typer.Option(help="Also retrain once per search space with that space held out.")
    ] = False,
    epochs: Annotated[int, typer.Option(help="Most epochs of each leave-one-space-out run.")] = 200,
    members: Annotated[
        int | None,
        typer.Option(min=1, help="Ensemble members of each leave-one-space-out run (default: the checkpoint's)."),
    ] = None,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 1,
    workers: Annotated[
        int, typer.Option(min=1, help="Leave-one-space-out runs trained side by side (processes).")
    ] = 1,
    loso_cache: Annotated[
        Path,
        typer.Option(
            help="JSON-lines file each finished leave-one-space-out run's scores are appended to; a "
            "later evaluate with the same dataset, features, model choice, epochs and members "
            "reuses them instead of retraining (a killed evaluate resumes)."
        ),
    ] = DEFAULT_LOSO_CACHE,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Retrain every leave-one-space-out run, ignoring the cache.")
    ] = False,
) -> None:
    """Score the checkpoint on its test split beside three baselines and the noise floor."""
    from predictor import train as tr
    from predictor.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
    from predictor.evaluate import compare, noise_floor, write_report

    data, data_hash = load_training_data(open_store(db, export))
    model, meta = load_checkpoint(checkpoint or DEFAULT_CHECKPOINT)
    if meta.get("dataset_hash") != data_hash:
        typer.echo(
            f"warning: checkpoint was trained on dataset {meta.get('dataset_hash')}, evaluating on {data_hash}; "
            "its test split may overlap this data's training graphs",
            err=True,
        )
    split = meta.get("split", {})
    if split.get("leave_out"):
        idx = tr.split_leave_space_out(data.spaces, data.arch_ids, split["leave_out"], seed=meta.get("seed", 0))
    else:
        idx = tr.split_by_architecture(data.arch_ids, seed=meta.get("seed", 0))
    train_d, _, test_d = (data.subset(s) for s in idx)
    reg = tr.GNNRegressor(threads=threads)
    reg.model_, reg.targets_ = model, meta["targets"]
    result = compare(reg, train_d, test_d, seed=meta.get("seed", 0))
    loso = {}
    n_members = members or int(meta["model"].get("members", 1))
    if leave_space_out:
        spaces = sorted(set(data.spaces))
        cached = {} if fresh else _read_loso_cache(loso_cache)
        keys = {space: _loso_key(data_hash, space, meta, epochs, n_members) for space in spaces}
        jobs = {}
        for space in spaces:
            if keys[space] in cached:
                typer.echo(f"leave out {space}: scores reused from {loso_cache}")
                loso[space] = cached[keys[space]]
                continue
            jobs[space] = tr.split_leave_space_out(data.spaces, data.arch_ids, space, seed=meta.get("seed", 0))
            typer.echo(f"leave out {space}: train {len(jobs[space][0])}, test {len(jobs[space][2])} graphs")
        args = {"meta": meta, "epochs": epochs, "members": n_members, "threads": threads}

        def arrays_of(space: str) -> Any:
            # Built in this process when the run starts: a worker gets arrays, never graphs.
            tri, vai, _ = jobs[space]
            return loso_regressor(**args).prepare(data.subset(tri), data.subset(vai), targets=meta["targets"])

        def finished(space: str, fitted: Any) -> None:
            tri, _, tei = jobs[space]
            res = compare(fitted, data.subset(tri), data.subset(tei), seed=meta.get("seed", 0))
            _append_loso_cache(loso_cache, keys[space], space, res)
            loso[space] = res

        if workers > 1 and len(jobs) > 1:
            from concurrent.futures import FIRST_COMPLETED, wait

            from predictor.workers import worker_pool

            todo, running = list(jobs), {}
            with worker_pool(min(workers, len(jobs))) as pool:
                while todo or running:
                    # At most `workers` runs' arrays are held at once.
                    while todo and len(running) < workers:
                        space = todo.pop(0)
                        running[pool.submit(leave_space_out_run, arrays_of(space), **args)] = space
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        finished(running.pop(fut), fut.result())
        else:
            for space in jobs:
                finished(space, leave_space_out_run(arrays_of(space), **args))
        loso = {space: loso[space] for space in spaces}
    noise = {t: noise_floor(p) for t, p in data.noise.items()}
    how = f"the checkpoint's model choice, at most {epochs} epochs, {n_members} member{'s' if n_members > 1 else ''}" if loso else ""
    path = write_report(result, test_d, out, {**meta, "dataset_hash": data_hash}, noise, loso or None, how)
    typer.echo(f"wrote {path}")
    for r in result["rows"]:
        if r["space"] == "all" and r["predictor"] == "gnn" and r["metric"] == "latency_ms":
            typer.echo(f"  {r['target']:16s} latency MAPE {r['mape']:6.1f}%  within10 {r['within10']:5.1f}%  tau {r['kendall_tau']:.3f}")
