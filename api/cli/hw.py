"""``edgeperf hw``: what number formats cost in silicon and what a model costs on an accelerator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hwmodels.accelerator import ACCELERATORS, get_accelerator
from hwmodels.accelerator import estimate as estimate_cost
from hwmodels.mac import compare_formats, mac_unit

app = typer.Typer(
    help="Hardware cost models: MAC units per number format, analytic accelerators.",
    no_args_is_help=True,
)

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
    for col in (
        "format",
        "acc",
        "gates",
        "area um2",
        "pJ/MAC",
        "gates x int8",
        "area x int8",
        "energy x int8",
    ):
        table.add_column(col, justify="left" if col in ("format", "acc") else "right")
    for r in rows:
        table.add_row(
            str(r["format"]),
            str(r["acc"]),
            f"{r['gates']:,.0f}",
            f"{r['area_um2']:.2f}",
            f"{r['energy_pj']:.4f}",
            f"{r['gates_vs_int8']:.2f}",
            f"{r['area_vs_int8']:.2f}",
            f"{r['energy_vs_int8']:.2f}",
        )
    _console().print(table)


@app.command("mac")
def mac(
    fmt: Annotated[
        str, typer.Argument(metavar="FORMAT", help="Input format, e.g. int8, fp8-e4m3.")
    ],
    acc: Annotated[
        str | None,
        typer.Option(
            "--acc",
            help="Accumulator: a format (fp16, fp32) or a "
            "fixed-point width (int27); default: exact.",
        ),
    ] = None,
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
        table.add_row(
            c.name, str(c.role), f"{c.gates:,.1f}", f"{c.gates / unit.gates:.1%}", c.formula
        )
    console = _console()
    console.print(table)
    console.print(
        f"gates {unit.gates:,.1f}  area {unit.area_um2:,.3f} um2  "
        f"energy {unit.energy_pj:.5f} pJ/MAC"
    )


@app.command("estimate")
def estimate(
    model: Annotated[Path, typer.Argument(help="A .tflite model file.", show_default=False)],
    accel: Annotated[
        list[str] | None,
        typer.Option(
            "--accel",
            help=f"Accelerator preset or Ethos-U system roofline (repeatable): {', '.join(ACCELERATORS)}.",
        ),
    ] = None,
    layers: Annotated[
        bool, typer.Option("--layers/--no-layers", help="Show per-layer rows.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Per-layer latency, energy and memory of MODEL on analytic accelerators."""
    from predictor.reader import read_model  # the reader is heavier than hwmodels; load on use

    configs = [get_accelerator(name) for name in (accel or ["npu-int8"])]
    works = read_model(model).layer_works()
    costs = [estimate_cost(works, c) for c in configs]
    if as_json:
        typer.echo(
            json.dumps({"model": str(model), "estimates": [c.to_dict(layers) for c in costs]})
        )
        return
    console = _console()
    for cost in costs:
        a = cost.accelerator
        if layers:
            table = Table(title=f"{a.name}: {a.rows}x{a.cols} {a.fmt} @ {a.clock_mhz:g} MHz")
            for col in (
                "layer",
                "MACs",
                "cycles",
                "util",
                "bound",
                "latency ms",
                "energy uJ",
                "SRAM KiB",
            ):
                table.add_column(col, justify="left" if col in ("layer", "bound") else "right")
            for lc in cost.layers:
                table.add_row(
                    lc.name,
                    f"{lc.macs:,}",
                    f"{lc.cycles:,.0f}",
                    f"{lc.utilisation:.0%}",
                    lc.bound,
                    f"{lc.latency_ms:.4f}",
                    f"{lc.energy_mj * 1e3:.3f}",
                    f"{lc.sram_kb:,.1f}",
                )
            console.print(table)
        t = cost.total
        console.print(
            f"[bold]{a.name}[/bold]: latency {cost.latency_ms:.4f} ms  "
            f"energy {cost.energy_mj:.5f} mJ "
            f"(MAC {t.mac_mj:.5f}, SRAM {t.sram_mj:.5f}, off-chip {t.offchip_mj:.5f}, "
            f"static {t.static_mj:.5f})  peak SRAM {cost.peak_sram_kb:,.1f} KiB  "
            f"weights {cost.weight_kb:,.1f} KiB"
        )


# MAC units shown in the chart: every format's default, plus FP8 with the accumulators that
# van Baalen et al. compare against INT8.
_CHART_UNITS: tuple[tuple[str, str | None], ...] = (
    ("int4", None),
    ("int8", None),
    ("fp4-e2m1", None),
    ("fp8-e4m3", "fp16"),
    ("fp8-e4m3", "fp32"),
    ("fp8-e4m3", None),
    ("fp8-e5m2", None),
    ("bf16", None),
    ("fp16", None),
    ("int16", None),
    ("fp32", None),
)


@app.command("chart")
def chart(
    out: Annotated[Path, typer.Argument(help="PNG file to write.", show_default=False)],
    node: NodeOpt = "7nm",
) -> None:
    """Render relative area (by block role) and energy per MAC of the formats to a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # matplotlib is in the dev extra, not the service's dependencies
        raise typer.BadParameter("the chart needs matplotlib: pip install 'edgeperf[dev]'") from exc
    from hwmodels.components import Role

    base = mac_unit("int8", node=node)
    units = [mac_unit(f, a, node) for f, a in _CHART_UNITS]
    labels = [f"{u.fmt}\n+{u.acc}" for u in units]
    fig, (ax_area, ax_energy) = plt.subplots(1, 2, figsize=(13, 5.2))
    bottom = [0.0] * len(units)
    for role in Role:
        share = [sum(c.gates for c in u.components if c.role is role) / base.gates for u in units]
        ax_area.bar(labels, share, bottom=bottom, label=str(role))
        bottom = [b + s for b, s in zip(bottom, share, strict=True)]
    for x, total in enumerate(bottom):
        ax_area.text(x, total, f"{total:.2f}", ha="center", va="bottom", fontsize=8)
    ax_area.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax_area.set_ylabel("area per MAC relative to INT8 (+int27)")
    ax_area.set_title(f"Area per MAC by block role ({node}, {base.area_um2:.1f} um2 = 1)")
    ax_area.legend(fontsize=8)
    width = 0.4
    xs = range(len(units))
    for i, n in enumerate(("45nm", "7nm")):
        e = [mac_unit(u.fmt, u.acc, n).energy_pj for u in units]
        ax_energy.bar([x + (i - 0.5) * width for x in xs], e, width, label=n)
    ax_energy.set_xticks(list(xs), labels)
    ax_energy.set_yscale("log")
    ax_energy.set_ylabel("energy per MAC (pJ, log)")
    ax_energy.set_title("Energy per MAC at 45 nm (Horowitz fit) and 7 nm (TPUv4i fit)")
    ax_energy.legend(fontsize=8)
    for ax in (ax_area, ax_energy):
        ax.tick_params(axis="x", labelsize=7, labelrotation=40)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    typer.echo(f"wrote {out}")
