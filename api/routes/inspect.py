"""Model inspection: the reader's per-layer table and totals for an uploaded .tflite."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile

from api.settings import Settings, get_settings
from api.uploads import read_upload
from predictor.reader import read_model

router = APIRouter(tags=["models"])


@router.post("/inspect")
async def inspect(
    file: Annotated[UploadFile, File(description="A .tflite model")],
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[str, Any]:
    """Parse a model: summary (ops, MACs, params, weight bytes, precision) and layers."""
    data = await read_upload(file, settings.max_upload_bytes)
    return read_model(data).report()
