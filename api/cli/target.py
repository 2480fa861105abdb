"""``edgeperf target ...``: list targets, measure models on this machine, register a new device.

``target add`` fits a calibrated target from >= 10 measured models (HELP's few-shot adaptation,
:mod:`predictor.calibrate`); ``target measure`` makes such measurements with the LiteRT
interpreter here (e.g. with 2 threads as "a new device").
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Prediction targets: list them, add a calibrated one.", no_args_is_help=True)

RegistryOption = Annotated[
    Path | None,
    typer.Option(help="Calibrated-target registry (default: $EDGEPERF_TARGETS_FILE or the user data dir)."),
]


def read_measurements(path: Path) -> list[tuple[Path, float]]:
    """(model path, latency_ms) rows of a CSV (``model,latency_ms``) or JSON list file.

    Relative model paths are relative to the measurements file.
    """
    from predictor.errors import CalibrationError

    if not path.is_file():
        raise CalibrationError(f"no measurements file at {path}; expected a CSV or JSON file")
    text = path.read_text()
    try:
        rows = json.loads(text) if path.suffix == ".json" else list(csv.DictReader(text.splitlines()))
        out = [(Path(r["model"]), float(r["latency_ms"])) for r in rows]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(
            f"{path}: expected rows with 'model' and 'latency_ms' (CSV header or JSON list): {exc!r}"
        ) from exc
    return [(p if p.is_absolute() else path.parent / p, v) for p, v in out]


def measure_latency_ms(model: Path, threads: int = 1, budget_s: float = 0.5, warmup: int = 3) -> float:
    """Median latency of LiteRT ``invoke`` on ``model`` with ``threads`` (random inputs)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(model), num_threads=threads)
    interp.allocate_tensors()
    rng = np.random.default_rng(0)
    for det in interp.get_input_details():
        dtype = np.dtype(det["dtype"])
        if dtype.kind == "f":
            arr = rng.standard_normal(det["shape"]).astype(dtype)
        elif dtype in (np.int8, np.uint8, np.int16):
            info = np.iinfo(dtype)
            arr = rng.integers(info.min, info.max, size=det["shape"], endpoint=True, dtype=dtype)
        else:
            arr = np.zeros(det["shape"], dtype)
        interp.set_tensor(det["index"], arr)
    for _ in range(warmup):
        interp.invoke()
    times = []
    start = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < budget_s and len(times) < 500):
        t0 = time.perf_counter_ns()
        interp.invoke()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return statistics.median(times)


@app.command("list")
def list_targets(
    registry: RegistryOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List built-in and calibrated targets."""
    from predictor.calibrate import load_registry
    from predictor.targets import TARGETS

    rows = [t.to_dict() for t in TARGETS.values()]
    for cal in load_registry(registry).values():
        rows.append({**cal.target().to_dict(), "calibration": cal.to_dict()})
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        typer.echo(f"{r['name']:18s} {r['labels']:10s} {','.join(r['metrics']):40s} {r['description']}")


@app.command()
def measure(
    models: Annotated[list[Path], typer.Argument(help=".tflite files to time.", show_default=False)],
    out: Annotated[Path, typer.Option(help="CSV to write (model,latency_ms).")],
    threads: Annotated[int, typer.Option(help="LiteRT interpreter threads.")] = 1,
    budget_s: Annotated[float, typer.Option(help="Timing budget per model (s).")] = 0.5,
) -> None:
    """Time models with the LiteRT interpreter on this machine and write a measurements file."""
    rows = []
    for path in models:
        latency = measure_latency_ms(path, threads, budget_s)
        rows.append((str(path.resolve()), latency))
        typer.echo(f"{path.name}: {latency:.3f} ms")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "latency_ms"])
        w.writerows(rows)
    typer.echo(f"wrote {out} ({len(rows)} models)")


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="Name of the new target.", show_default=False)],
    measurements: Annotated[Path, typer.Option(help="CSV/JSON of model,latency_ms (>= 10 models).")],
    description: Annotated[str, typer.Option(help="What the device is.")] = "",
    registry: RegistryOption = None,
    checkpoint: Annotated[Path | None, typer.Option(help="GNN checkpoint (default: the shipped one).")] = None,
    replace: Annotated[bool, typer.Option(help="Overwrite a registered target of that name.")] = False,
) -> None:
    """Fit and register a calibrated target from measured models."""
    from predictor.calibrate import register
    from predictor.predict import Predictor
    from predictor.reader import read_model

    rows = read_measurements(measurements)
    predictor = Predictor.load(checkpoint, registry=registry)
    graphs = [read_model(p) for p, _ in rows]
    cal = predictor.calibrate(name, graphs, [v for _, v in rows], description)
    path = register(cal, registry, replace=replace)
    typer.echo(
        f"registered {name!r} in {path}: base {cal.base}, {cal.n} models, leave-one-out MAPE "
        f"{cal.loo_mape:.1f}%, Spearman {cal.loo_spearman:.3f}"
    )


@app.command()
def remove(
    name: Annotated[str, typer.Argument(help="Calibrated target to remove.", show_default=False)],
    registry: RegistryOption = None,
) -> None:
    """Remove a calibrated target."""
    from predictor.calibrate import unregister

    unregister(name, registry)
    typer.echo(f"removed {name!r}")
