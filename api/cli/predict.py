"""``edgeperf predict``: latency, energy and memory of .tflite models on every target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:,.4g}"


def predict(
    models: Annotated[list[Path], typer.Argument(help="One or more .tflite files.", show_default=False)],
    targets: Annotated[
        str | None, typer.Option("--targets", help="Comma-separated target names (default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one entry per file.")] = False,
    checkpoint: Annotated[Path | None, typer.Option(help="GNN checkpoint (default: the shipped one).")] = None,
    registry: Annotated[
        Path | None, typer.Option(help="Calibrated-target registry (default: $EDGEPERF_TARGETS_FILE or the user data dir).")
    ] = None,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 1,
) -> None:
    """Predict every target's latency, energy and memory for each model."""
    from predictor.predict import Predictor

    names = [t.strip() for t in targets.split(",") if t.strip()] if targets else None
    predictor = Predictor.load(checkpoint, registry=registry, threads=threads)
    report = predictor.predict_files(models, names)
    if as_json:
        typer.echo(json.dumps(report))
        return
    console = Console(width=max(Console().width, 120))
    for path, entry in zip(models, report):
        m = entry["model"]
        table = Table(title=f"{path}  ({m['precision']}, {m['num_ops']} ops, {m['macs']:,} MACs)")
        for col in ("target", "latency ms", "energy mJ", "memory KiB", "storage KiB", "source", "note"):
            table.add_column(col, justify="right" if col.endswith(("ms", "mJ", "KiB")) else "left")
        for p in entry["predictions"]:
            table.add_row(
                p["target"], _fmt(p["latency_ms"]), _fmt(p["energy_mj"]), _fmt(p["memory_kb"]),
                _fmt(p["storage_kb"]), p["source"] or "", p["note"] or "",
            )
        console.print(table)
