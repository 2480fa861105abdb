"""``edgeperf inspect``: the per-layer table and totals of a .tflite model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from predictor.reader import read_model


def _fmt_shapes(shapes: list[list[int]]) -> str:
    return " ".join("x".join(map(str, s)) or "scalar" for s in shapes)


def inspect(
    model: Annotated[Path, typer.Argument(help="A .tflite model file.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Print a model's layers (op, shapes, MACs, params) and totals."""
    report = read_model(model).report()
    if as_json:
        typer.echo(json.dumps(report))
        return
    console = Console(width=max(Console().width, 120))
    table = Table(title=str(model), show_lines=False)
    for col, justify in (
        ("#", "right"),
        ("op", "left"),
        ("inputs", "left"),
        ("outputs", "left"),
        ("dtype", "left"),
        ("MACs", "right"),
        ("params", "right"),
    ):
        table.add_column(col, justify=justify, no_wrap=col != "inputs")  # type: ignore[arg-type]
    for row in report["layers"]:
        op = row["op"] + (" (custom)" if row["custom"] else "")
        table.add_row(
            str(row["index"]),
            op,
            _fmt_shapes(row["inputs"]),
            _fmt_shapes(row["outputs"]),
            row["dtype"] or "",
            f"{row['macs']:,}",
            f"{row['params']:,}",
        )
    console.print(table)
    s = report["summary"]
    console.print(
        f"ops {s['num_ops']}  MACs {s['macs']:,}  params {s['params']:,}  "
        f"weights {s['weight_bytes']:,} B  precision {s['precision']}  "
        f"subgraphs {s['num_subgraphs']}"
        + (f"  custom ops {', '.join(s['custom_ops'])}" if s["custom_ops"] else "")
    )
