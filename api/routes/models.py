"""Stored models and the prediction history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status

from api import db
from api.deps import ConnDep, ServiceDep
from api.errors import UnknownModelError
from api.schemas import ModelRecord, PredictionsPage

router = APIRouter(tags=["models"])

SHA256 = r"^[0-9a-f]{64}$"


def _utc(value: datetime | None, name: str) -> datetime | None:
    """Store times are UTC; naive inputs are taken as UTC."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{name}={value.isoformat()} is out of range",
        ) from None


def _row(r: dict[str, Any]) -> dict[str, Any]:
    stamp = r["created_at"]
    return {**r, "created_at": stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)}


@router.get("/models/{sha256}", response_model=ModelRecord)
def get_model(
    sha256: Annotated[str, Path(pattern=SHA256, description="SHA-256 of the model (hex).")],
    conn: ConnDep,
) -> dict[str, Any]:
    """A stored model: summary, every prediction made for it, and its measurements."""
    row = db.get_model(conn, sha256)
    if row is None:
        raise UnknownModelError(f"unknown model {sha256}: upload it with POST /predict first")
    preds = [_row({**p, "filename": row["filename"]}) for p in db.model_predictions(conn, sha256)]
    return {
        **_row(row),
        "predictions": preds,
        "measurements": [_row(m) for m in db.list_measurements(conn, model=sha256)],
    }


@router.get("/predictions", response_model=PredictionsPage)
def list_predictions(
    conn: ConnDep,
    service: ServiceDep,
    target: Annotated[str | None, Query(max_length=64, description="Only this target.")] = None,
    model: Annotated[str | None, Query(pattern=SHA256, description="Only this model.")] = None,
    checkpoint: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="Made at or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Made before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Prediction history, newest first, filtered and paginated."""
    if target is not None:
        service.resolve_targets([target])
    total, items = db.list_predictions(
        conn,
        target=target,
        model=model,
        checkpoint=checkpoint,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        limit=limit,
        offset=offset,
    )
    return {"total": total, "limit": limit, "offset": offset, "items": [_row(i) for i in items]}
