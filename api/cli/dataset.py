"""``edgeperf dataset ...``: build, inspect, export, import and document the training dataset.

Thin wrappers over :mod:`dataset.build`, :mod:`dataset.stats`, :mod:`dataset.export` and
:mod:`dataset.card`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Build and inspect the labelled dataset.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL or SQLite path (default: var/dataset/edgeperf.sqlite)."),
]


def _store(db: str | None):
    from dataset.store import DEFAULT_DB_URL, Store

    return Store(db or DEFAULT_DB_URL)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@app.command()
def build(
    spaces: Annotated[str, typer.Option(help="Comma-separated search spaces, or 'all'.")] = "all",
    n: Annotated[int, typer.Option("--n", help="Architectures sampled per space.")] = 10,
    workers: Annotated[int, typer.Option(help="Parallel processes for convert/label-static.")] = 1,
    db: DbOption = None,
    seed: Annotated[int, typer.Option(help="Build seed (architecture i: seed*1e6 + i).")] = 0,
    phase: Annotated[
        list[str],
        typer.Option(help="Phases: sample, convert, label-static, measure, noise, or all."),
    ] = ["all"],  # noqa: B006 - typer reads the default, never mutates it
    noise_pass: Annotated[
        bool, typer.Option("--noise-pass", help="Also measure --noise-n graphs a second time.")
    ] = False,
    noise_n: Annotated[int, typer.Option(help="Graphs in the noise pass.")] = 200,
    anchors: Annotated[int, typer.Option(help="Fixed anchor models re-measured every run.")] = 10,
    ray: Annotated[
        str | None, typer.Option("--ray", help="Ray address ('local': in-process cluster).")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where the .tflite cache and logs go.")
    ] = None,
    budget_s: Annotated[float, typer.Option(help="Timed-invoke budget per model (s).")] = 1.0,
    cpu: Annotated[int | None, typer.Option(help="Pin measurement to this CPU core.")] = None,
    retry_failed: Annotated[bool, typer.Option(help="Retry failed conversions.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Sample, convert, label and measure architectures; resumable, phase by phase."""
    from dataset.build import BuildConfig
    from dataset.build import build as run_build
    from dataset.measure import MeasureSettings
    from dataset.store import DEFAULT_DB_URL, DEFAULT_WORK_DIR

    phases = _split(phase) + (["noise"] if noise_pass else [])
    cfg = BuildConfig(
        spaces=tuple(_split([spaces])),
        n=n,
        workers=workers,
        seed=seed,
        db_url=db or DEFAULT_DB_URL,
        work_dir=work_dir or DEFAULT_WORK_DIR,
        phases=tuple(phases),
        ray_address=ray,
        measure=MeasureSettings(budget_s=budget_s, cpu=cpu),
        anchors=anchors,
        noise_n=noise_n,
        retry_failed=retry_failed,
        progress=progress,
    )
    try:
        result = run_build(cfg)
    except KeyboardInterrupt:
        # SIGINT/SIGTERM: what is stored stays; typer would turn this into a return value.
        typer.echo("interrupted: items done so far are stored; rerun to resume", err=True)
        raise SystemExit(130) from None
    typer.echo(json.dumps(result))


@app.command()
def prune(
    db: DbOption = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="The build's work directory (its tflite/ cache).")
    ] = None,
    noise_n: Annotated[int, typer.Option(help="Keep enough files for a noise pass this big.")] = 200,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, delete nothing.")] = False,
) -> None:
    """Delete cached .tflite files that no phase needs any more (fully labelled, not anchors).

    Conversion is deterministic: on the same machine a pruned file is rebuilt byte for byte from
    its stored spec (on another CPU, up to float rounding of the int8 scales).
    """
    from dataset.build import prune_cache
    from dataset.store import DEFAULT_DB_URL, DEFAULT_WORK_DIR

    counts = prune_cache(
        db or DEFAULT_DB_URL, work_dir or DEFAULT_WORK_DIR, noise_n=noise_n, dry_run=dry_run
    )
    typer.echo(json.dumps(counts))


@app.command()
def relabel(
    db: DbOption = None,
    vela_per_op: Annotated[
        bool,
        typer.Option(
            "--vela-per-op",
            help="Also run Vela again on int8 graphs whose Vela labels lack per-operator cycles "
            "(a pruned .tflite is rebuilt from its spec and checked by sha256, or by an op graph "
            "equal but for float-scale rounding) and add them where Vela's totals reproduce.",
        ),
    ] = False,
    work_dir: Annotated[
        Path | None, typer.Option(help="The build's work directory (its tflite/ cache).")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes for --vela-per-op.")] = 1,
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many graphs for --vela-per-op.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Recompute the labels derived from hwmodels (npu-* estimates, Ethos-U energy) left stale
    by a change to the hardware model; measurements are not touched. Vela runs again only with
    --vela-per-op, which adds per-operator cycles to labels that lack them (totals unchanged;
    resumable: kill it and run it again)."""
    from dataset.relabel import add_vela_per_op, relabel_derived
    from dataset.store import DEFAULT_WORK_DIR

    store = _store(db)
    result: dict[str, Any] = relabel_derived(store, progress=progress)
    if vela_per_op:
        try:
            result["vela_per_op"] = add_vela_per_op(
                store, Path(work_dir or DEFAULT_WORK_DIR) / "tflite", workers=workers,
                limit=limit, progress=progress,
            )  # fmt: skip
        except KeyboardInterrupt:
            typer.echo("interrupted: graphs done so far are stored; rerun to resume", err=True)
            raise SystemExit(130) from None
    typer.echo(json.dumps(result))


@app.command()
def stats(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts per space, precision and target, and the measurement noise floor."""
    from dataset.stats import dataset_stats

    result = dataset_stats(_store(db))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"architectures {result['architectures']}  graphs {result['graphs']}")
    for space, row in result["spaces"].items():
        typer.echo(f"  {space:24s} arch {row['architectures']:6d}  graphs {row['graphs']}")
    for target, row in result["targets"].items():
        typer.echo(f"  {target:24s} labels {row['labels']:6d}  valued {row['valued']:6d}")
    nf = result["noise_floor_mape"]
    typer.echo(f"noise floor MAPE: {'-' if nf is None else f'{nf:.2f}%'} ({result['noise_pairs']} graphs)")
    machines = ", ".join(f"{k} {v}" for k, v in result["cpu_machines"].items()) or "-"
    typer.echo(f"cpu-xnnpack-1t measured on: {machines} (reference: {result['cpu_reference_machine']})")
    for name, row in result["cpu_anchor_ratios"].items():
        typer.echo(f"  {name}: anchor latency ratio median {row['median_ratio']:.2f} "
                   f"({row['min_ratio']:.2f}-{row['max_ratio']:.2f}, {row['anchors']} anchors)")


@app.command("export")
def export_cmd(
    db: DbOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="An export directory (a new part is added), or one .jsonl.xz file (every row)."),
    ] = None,
) -> None:
    """Add the rows the committed export lacks as a new part of dataset/export/ (or write one file)."""
    from dataset.export import DEFAULT_EXPORT_PATH, export_dataset, export_part, is_single_file

    path = out or DEFAULT_EXPORT_PATH
    if is_single_file(path):
        written: Path | None = path
        counts = export_dataset(_store(db), path)
    else:
        written, counts = export_part(_store(db), path)
    size = written.stat().st_size if written else 0
    typer.echo(json.dumps({"path": str(written) if written else None, "bytes": size, "rows": counts}))


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="An export directory or file written by 'edgeperf dataset export'.")],
    db: DbOption = None,
) -> None:
    """Add the rows of an export that the store lacks."""
    from dataset.export import import_dataset

    typer.echo(json.dumps({"added": import_dataset(_store(db), path)}))


@app.command()
def card(
    db: DbOption = None,
    out: Annotated[Path | None, typer.Option(help="Markdown path (default docs/dataset.md).")] = None,
) -> None:
    """Write the data card (counts, histograms, noise floor, throughput) from the store."""
    from dataset.card import DOCS_DIR, write_card

    typer.echo(str(write_card(_store(db), out or DOCS_DIR / "dataset.md")))
