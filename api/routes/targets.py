"""Targets: what each is and how accurate; measured latencies and new calibrated devices (keyed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from fastapi.concurrency import run_in_threadpool

from api.deps import ApiKeyDep, ServiceDep
from api.schemas import Accuracy, CalibrateIn, MeasurementsIn, MeasurementsOut

router = APIRouter(prefix="/targets", tags=["targets"])

Name = Annotated[str, Path(description="Target name, e.g. cpu-xnnpack-1t.", max_length=64)]


@router.get("")
def list_targets(service: ServiceDep) -> dict[str, Any]:
    """Every target: description, how its labels were obtained, metrics, and accuracy."""
    return {"checkpoint": service.checkpoint, "targets": service.targets_info()}


@router.get("/{name}")
def get_target(name: Name, service: ServiceDep) -> dict[str, Any]:
    """One target (404 when unknown)."""
    service.resolve_targets([name])
    return next(t for t in service.targets_info() if t["name"] == name)


@router.get("/{name}/accuracy", response_model=Accuracy)
def accuracy(name: Name, service: ServiceDep) -> dict[str, Any]:
    """Predicted against measured latency of every model measured on this target."""
    return service.accuracy(name)


@router.post(
    "/{name}/measurements",
    response_model=MeasurementsOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[ApiKeyDep],
)
async def add_measurements(name: Name, body: MeasurementsIn, service: ServiceDep) -> dict[str, Any]:
    """Record measured latencies of stored models on a known target (API key required)."""
    rows = [(m.model_sha256, m.latency_ms) for m in body.measurements]
    ids = await run_in_threadpool(service.add_measurements, name, rows)
    return {"target": name, "ids": ids}


@router.post("/{name}/calibrate", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep])
async def calibrate(name: Name, body: CalibrateIn, service: ServiceDep) -> dict[str, Any]:
    """Fit a new target from >= 10 measured latencies of stored models (API key required)."""
    rows = [(m.model_sha256, m.latency_ms) for m in body.measurements]
    cal = await run_in_threadpool(service.calibrate, name, rows, body.description)
    return {"target": service.predictor.target(name).to_dict(), "calibration": cal}
