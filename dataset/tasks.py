"""The build's unit tasks, run in worker processes or on Ray: convert, label-static, measure.

Each takes plain data and returns plain data (dicts, bytes) so it can cross a process or network
boundary; the build loop owns the database and the .tflite cache. A task that fails on one model
answers ``{"error": ...}`` instead of raising, so one bad model never stops a build.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dataset.targets import LabelKind, all_targets

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "int8")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


def convert_task(spec: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """Build ``spec``'s Keras model, convert it to fp32 and int8 TFLite, and read both graphs."""
    from dataset.convert import clear_cache, configure_tensorflow, to_tflite
    from dataset.spaces import build_model
    from predictor.reader import read_model

    configure_tensorflow(num_threads=1)  # one core per worker: `workers` is the parallelism
    graphs = []
    try:
        model = build_model(spec)
        for precision in PRECISIONS:
            blob = to_tflite(model, precision, seed=seed)
            graph = read_model(blob)
            graphs.append(
                {
                    "id": hashlib.sha256(blob).hexdigest(),
                    "precision": precision,
                    "size_bytes": len(blob),
                    "opgraph": graph.to_dict(),
                    "summary": graph.summary.to_dict(),
                    "tflite": blob,
                }
            )
    # A worker boundary: TensorFlow's converter raises many unrelated types for models it cannot
    # convert; the reason is recorded on the architecture and the build goes on.
    except Exception as exc:  # noqa: BLE001
        log.warning("conversion of %s failed: %s", spec.get("space"), _describe(exc))
        return {"error": _describe(exc)}
    finally:
        import keras

        clear_cache()
        keras.backend.clear_session()
    return {"graphs": graphs}


def _analytic_label(opgraph: dict[str, Any], target: str) -> dict[str, Any]:
    from hwmodels.accelerator import estimate
    from hwmodels.errors import EdgePerfError
    from predictor.graph import OpGraph

    try:
        cost = estimate(OpGraph.from_dict(opgraph).layer_works(), target)
    except EdgePerfError as exc:
        return {"target": target, "null_reason": _describe(exc)}
    return {
        "target": target,
        "latency_ms": cost.latency_ms,
        "energy_mj": cost.energy_mj,
        "memory_kb": cost.peak_sram_kb,
        "storage_kb": cost.weight_kb,
    }


def static_task(
    tflite: bytes | None, precision: str, opgraph: dict[str, Any], targets: list[str]
) -> list[dict[str, Any]]:
    """Vela and analytic labels of one graph for ``targets`` (each a dict of label fields)."""
    from dataset.vela import label_ethosu

    table = all_targets()
    labels = []
    with tempfile.TemporaryDirectory(prefix="edgeperf-static-") as tmp:
        path = Path(tmp) / "model.tflite"
        if tflite is not None:
            path.write_bytes(tflite)
        for name in targets:
            row = table[name]
            if row.kind is LabelKind.ANALYTIC:
                labels.append(_analytic_label(opgraph, name))
            elif row.kind is LabelKind.VELA and row.ethosu is not None:
                if tflite is None and precision in row.precisions:
                    continue  # no .tflite to compile: leave it for a run that has the cache
                lab = label_ethosu(path, precision, row.ethosu)
                labels.append({"target": name, **asdict(lab)})
    return labels


def vela_again_task(
    spec: dict[str, Any],
    graph_id: str,
    tflite: bytes | None,
    targets: list[str],
    seed: int = 0,
    opgraph: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Vela labels of one int8 graph again, rebuilding its .tflite from ``spec`` if not given
    (see :func:`rebuild_task`; ``opgraph`` is the stored graph the rebuild must match).

    Returns ``{"labels": [...], "rebuild": "cached" | "exact" | "equivalent"}`` or ``{"error"}``.
    """
    if tflite is None:
        rebuilt = rebuild_task(spec, {graph_id: opgraph}, seed=seed)[graph_id]
        if "error" in rebuilt:
            return rebuilt
        tflite, rebuild = rebuilt["tflite"], rebuilt["rebuild"]
    else:
        rebuild = "cached"
    return {"labels": static_task(tflite, "int8", {}, targets), "rebuild": rebuild}


def rebuild_task(
    spec: dict[str, Any], stored: dict[str, dict[str, Any] | None], seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Convert ``spec`` again and find each stored graph (id -> its stored OpGraph dict) in it.

    A rebuilt file that hashes to the stored id is that graph (``"rebuild": "exact"``).
    Conversion on another CPU can differ in the last bits of calibrated float scales; a file is
    then accepted as ``"equivalent"`` when its op graph equals the stored one op for op, tensor for
    tensor, with scales within :data:`SCALE_REL_TOL`. Per id: ``{"tflite", "rebuild"}`` or
    ``{"error"}``.
    """
    converted = convert_task(spec, seed=seed)
    if "error" in converted:
        return {gid: {"error": f"rebuild failed: {converted['error']}"} for gid in stored}
    by_id = {g["id"]: g for g in converted["graphs"]}
    out: dict[str, dict[str, Any]] = {}
    for gid, opgraph in stored.items():
        if gid in by_id:
            out[gid] = {"tflite": by_id[gid]["tflite"], "rebuild": "exact"}
            continue
        near = [
            g for g in converted["graphs"]
            if opgraph is not None and equivalent_opgraphs(g["opgraph"], opgraph)
        ]  # fmt: skip
        out[gid] = (
            {"tflite": near[0]["tflite"], "rebuild": "equivalent"}
            if near
            else {"error": f"rebuilt model does not hash to {gid[:12]} nor match its graph"}
        )
    return out


SCALE_REL_TOL = 1e-4


def equivalent_opgraphs(a: Any, b: Any, *, rel_tol: float = SCALE_REL_TOL) -> bool:
    """Two ``OpGraph.to_dict()`` forms equal but for the file hash and float rounding.

    Everything but floats (op types, options, shapes, dtypes, zero points, names) must be equal;
    floats (quantisation scales) may differ by ``rel_tol`` relative.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) - {"sha256"}
        return keys == set(b) - {"sha256"} and all(
            equivalent_opgraphs(a[k], b[k], rel_tol=rel_tol) for k in keys
        )
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(
            equivalent_opgraphs(x, y, rel_tol=rel_tol) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, float) or isinstance(b, float):
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        return numbers and abs(a - b) <= rel_tol * max(abs(a), abs(b))
    return type(a) is type(b) and a == b


def measure_task(tflite: bytes, settings: dict[str, Any]) -> dict[str, Any]:
    """Measure one model on the machine this runs on; ``{"error": ...}`` if it cannot run."""
    from dataset.errors import MeasureError
    from dataset.measure import MeasureSettings, measure_file, tool_versions

    with tempfile.TemporaryDirectory(prefix="edgeperf-measure-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(tflite)
        try:
            m = measure_file(path, MeasureSettings(**settings))
        except MeasureError as exc:
            return {"error": str(exc), "tool_versions": tool_versions()}
    return {"measurement": asdict(m), "tool_versions": tool_versions()}
