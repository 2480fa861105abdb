"""Hardware what-ifs: MAC units per number format and whole models on analytic accelerators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from api.settings import Settings, get_settings
from api.uploads import read_upload
from hwmodels.accelerator import PRESETS, estimate, get_accelerator
from hwmodels.mac import compare_formats, mac_unit

router = APIRouter(prefix="/hardware", tags=["hardware"])

Node = Annotated[str, Query(description="Process node: 7nm or 45nm.", max_length=16)]


@router.get("/formats")
def formats(node: Node = "7nm") -> dict[str, Any]:
    """Every number format's MAC unit: gates, area, pJ/MAC and ratios to INT8."""
    return {"node": node, "baseline": "int8", "formats": compare_formats(node)}


@router.get("/mac")
def mac(
    fmt: Annotated[
        str,
        Query(
            alias="format", description="Input format, e.g. fp8-e4m3.", min_length=1, max_length=32
        ),
    ],
    acc: Annotated[
        str | None,
        Query(
            description="Accumulator: fp16, fp32, int27...; default the format's exact one.",
            max_length=32,
        ),
    ] = None,
    node: Node = "7nm",
) -> dict[str, Any]:
    """One MAC unit: component breakdown, gates, area (um^2) and energy per MAC (pJ)."""
    return mac_unit(fmt, acc, node).to_dict()


@router.get("/accelerators")
def accelerators() -> dict[str, Any]:
    """The analytic accelerator presets (equal MAC-array area, one per format)."""
    return {"accelerators": [a.to_dict() for a in PRESETS.values()]}


def _names(values: list[str] | None) -> list[str]:
    return [n.strip() for v in values or [] for n in v.split(",") if n.strip()]


@router.post("/estimate")
async def estimate_model(
    file: Annotated[UploadFile, File(description="A .tflite model")],
    settings: Annotated[Settings, Depends(get_settings)],
    accel_form: Annotated[
        list[str] | None,
        Form(
            alias="accel",
            description="Accelerator presets or Ethos-U system rooflines to compare (repeat or "
            "comma-separate); default all presets.",
        ),
    ] = None,
    accel_query: Annotated[list[str] | None, Query(alias="accel")] = None,
    layers: Annotated[bool, Query(description="Include per-layer rows.")] = True,
) -> dict[str, Any]:
    """Per-layer and total latency, energy and memory of an uploaded model per accelerator."""
    from predictor.reader import read_model

    names = _names(accel_form) + _names(accel_query) or list(PRESETS)
    configs = [get_accelerator(n) for n in names]  # unknown names fail before the upload is read
    graph = read_model(await read_upload(file, settings.max_upload_bytes))
    works = graph.layer_works()
    return {
        "model": {"filename": file.filename, "num_layers": len(works)},
        "estimates": [estimate(works, c).to_dict(layers) for c in configs],
    }
