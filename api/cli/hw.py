"""``edgeperf hw``: what number formats cost in silicon and what a model costs on an accelerator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hwmodels.accelerator import PRESETS, estimate as estimate_cost, get_accelerator
from hwmodels.mac import compare_formats, mac_unit

app = typer.Typer(help="Hardware cost models: MAC units per number format, analytic accelerators.",
                  no_args_is_help=True)

NodeOpt = Annotated[str, typer.Option("--node", help="Process node: 7nm or 45nm.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _console() -> Console:
    return Console(width=max(Console().width, 110))


@app.command("formats")
def formats(node: NodeOpt = "7nm", as_json: JsonOpt = False) -> None:
    """Every number format's MAC unit: gates, area, pJ/MAC, relative to INT8."""
    rows = compare_formats(node)
    if as_json:
        typer.echo(json.dumps({"node": node, "baseline": "int8", "formats": rows}))
        return
    table = Table(title=f"MAC unit per format at {node} (default accumulator)")
    for col in ("format", "acc", "gates", "area um2", "pJ/MAC", "gates x int8", "area x int8",
                "energy x int8"):
        table.add_column(col, justify="left" if col in ("format", "acc") else "right")
    for r in rows:
        table.add_row(str(r["format"]), str(r["acc"]), f"{r['gates']:,.0f}", f"{r['area_um2']:.2f}",
                      f"{r['energy_pj']:.4f}", f"{r['gates_vs_int8']:.2f}", f"{r['area_vs_int8']:.2f}",
                      f"{r['energy_vs_int8']:.2f}")
    _console().print(table)


@app.command("mac")
def mac(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="Input format, e.g. int8, fp8-e4m3.")],
    acc: Annotated[str | None, typer.Option("--acc", help="Accumulator: a format (fp16, fp32) or a "
                                            "fixed-point width (int27); default: exact.")] = None,
    node: NodeOpt = "7nm",
    as_json: JsonOpt = False,
) -> None:
    """One MAC unit's component breakdown: gates, area and energy per MAC."""
    unit = mac_unit(fmt, acc, node)
    if as_json:
        typer.echo(json.dumps(unit.to_dict()))
        return
    table = Table(title=f"{unit.fmt} MAC, accumulator {unit.acc}, {unit.node}")
    for col in ("component", "role", "gates", "share", "formula"):
        table.add_column(col, justify="right" if col in ("gates", "share") else "left")
    for c in unit.components:
        table.add_row(c.name, str(c.role), f"{c.gates:,.1f}", f"{c.gates / unit.gates:.1%}", c.formula)
    console = _console()
    console.print(table)
    console.print(f"gates {unit.gates:,.1f}  area {unit.area_um2:,.3f} um2  "
                  f"energy {unit.energy_pj:.5f} pJ/MAC")


@app.command("estimate")
def estimate(
    model: Annotated[Path, typer.Argument(help="A .tflite model file.", show_default=False)],
    accel: Annotated[list[str] | None, typer.Option(
        "--accel", help=f"Accelerator preset (repeatable): {', '.join(PRESETS)}.")] = None,
    layers: Annotated[bool, typer.Option("--layers/--no-layers", help="Show per-layer rows.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Per-layer latency, energy and memory of MODEL on analytic accelerators."""
    from predictor.reader import read_model  # the reader is heavier than hwmodels; load on use

    configs = [get_accelerator(name) for name in (accel or ["npu-int8"])]
    works = read_model(model).layer_works()
    costs = [estimate_cost(works, c) for c in configs]
    if as_json:
        typer.echo(json.dumps({"model": str(model), "estimates": [c.to_dict(layers) for c in costs]}))
        return
    console = _console()
    for cost in costs:
        a = cost.accelerator
        if layers:
            table = Table(title=f"{a.name}: {a.rows}x{a.cols} {a.fmt} @ {a.clock_mhz:g} MHz")
            for col in ("layer", "MACs", "cycles", "util", "bound", "latency ms", "energy uJ",
                        "SRAM KiB"):
                table.add_column(col, justify="left" if col in ("layer", "bound") else "right")
            for lc in cost.layers:
                table.add_row(lc.name, f"{lc.macs:,}", f"{lc.cycles:,.0f}", f"{lc.utilisation:.0%}",
                              lc.bound, f"{lc.latency_ms:.4f}", f"{lc.energy_mj * 1e3:.3f}",
                              f"{lc.sram_kb:,.1f}")
            console.print(table)
        t = cost.total
        console.print(
            f"[bold]{a.name}[/bold]: latency {cost.latency_ms:.4f} ms  energy {cost.energy_mj:.5f} mJ "
            f"(MAC {t.mac_mj:.5f}, SRAM {t.sram_mj:.5f}, off-chip {t.offchip_mj:.5f}, "
            f"static {t.static_mj:.5f})  peak SRAM {cost.peak_sram_kb:,.1f} KiB  "
            f"weights {cost.weight_kb:,.1f} KiB"
        )
