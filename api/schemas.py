"""Request and response bodies of the prediction service (validation lives here, not in routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
TargetName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
LatencyMs = Annotated[float, Field(gt=0, lt=1e9, allow_inf_nan=False)]


class Prediction(BaseModel):
    """One target's answer; a value the target cannot give is null and ``note`` says why."""

    target: str
    latency_ms: float | None
    energy_mj: float | None
    memory_kb: float | None
    storage_kb: float | None
    source: str | None = Field(description="gnn, hwmodels, calibrated, or null.")
    note: str | None


class ModelInfo(BaseModel):
    sha256: str
    num_ops: int
    macs: int
    params: int
    precision: str


class LayerCost(BaseModel):
    latency_ms: float
    energy_mj: float
    bound: str
    utilisation: float


class Layer(BaseModel):
    """One operator of the main subgraph with its analytic cost per accelerator."""

    index: int
    op: str
    kind: str
    outputs: list[list[int]]
    dtype: str | None
    macs: int
    params: int
    weight_bytes: int
    cost: dict[str, LayerCost]


class PredictResult(BaseModel):
    """The ``edgeperf predict --json`` entry of one model, plus where it came from."""

    model: ModelInfo
    predictions: list[Prediction]
    checkpoint: str = Field(description="Version (weights digest) of the checkpoint that answered.")
    cached: bool = Field(description="Answered from the store.")
    layers: list[Layer] | None = None


class BatchResult(BaseModel):
    count: int
    results: list[PredictResult]


class BatchGraphs(BaseModel):
    """``POST /predict/batch`` as JSON: graphs in ``OpGraph.to_dict()`` form."""

    model_config = ConfigDict(extra="forbid")

    graphs: list[dict[str, Any]] = Field(min_length=1)
    targets: list[str] | None = None
    layers: bool = False


class StoredPrediction(BaseModel):
    id: int
    model_sha256: str
    filename: str | None
    checkpoint: str
    target: str
    output: Prediction
    created_at: datetime


class PredictionsPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[StoredPrediction]


class Measurement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_sha256: Sha256
    latency_ms: LatencyMs


class MeasurementsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measurements: list[Measurement] = Field(min_length=1, max_length=10_000)


class MeasurementsOut(BaseModel):
    target: str
    ids: list[int]


class CalibrateIn(BaseModel):
    """Measured latencies of stored models on a new device (at least 10)."""

    model_config = ConfigDict(extra="forbid")

    measurements: list[Measurement] = Field(min_length=1, max_length=10_000)
    description: str = Field(default="", max_length=500)


class AccuracyPoint(BaseModel):
    model_sha256: str
    measured_ms: float
    predicted_ms: float | None


class Accuracy(BaseModel):
    target: str
    checkpoint: str
    n: int
    mape: float | None
    within10: float | None
    points: list[AccuracyPoint]


class StoredMeasurement(BaseModel):
    id: int
    target: str
    latency_ms: float
    created_at: datetime


class ModelRecord(BaseModel):
    sha256: str
    kind: str
    filename: str | None
    summary: dict[str, Any]
    created_at: datetime
    predictions: list[StoredPrediction]
    measurements: list[StoredMeasurement]
