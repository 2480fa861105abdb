"""Predictions: one uploaded model, or a batch of files or OpGraph JSON (the NAS fast path)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.formparsers import MultiPartException

from api import metrics, multipart
from api.deps import ServiceDep, SettingsDep
from api.errors import BatchTooLargeError
from api.schemas import BatchGraphs, BatchResult, PredictResult
from api.service import ModelSource
from api.uploads import read_upload

router = APIRouter(tags=["predict"])

TargetsQuery = Annotated[
    str | None,
    Query(
        alias="targets", description="Comma-separated target names (default: all).", max_length=2000
    ),
]
LayersQuery = Annotated[bool, Query(description="Add the per-layer breakdown.")]


def split_targets(*values: str | list[str] | None) -> list[str] | None:
    """Target names from comma-separated strings or lists; ``None`` (all) when none given."""
    names: list[str] = []
    for v in values:
        for item in [v] if isinstance(v, str) else v or []:
            names += [n.strip() for n in item.split(",") if n.strip()]
    return names or None


_PREDICT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "A .tflite model",
                    },
                    "targets": {"type": "string", "description": "Comma-separated target names."},
                },
            }
        }
    },
}
_PART_HEADERS_BYTES = 64 * 1024  # room for the multipart framing around the capped file


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


@router.post("/predict", response_model=PredictResult, openapi_extra={"requestBody": _PREDICT_BODY})
async def predict(
    request: Request,
    service: ServiceDep,
    settings: SettingsDep,
    targets_query: TargetsQuery = None,
    layers: LayersQuery = False,
) -> dict:
    """Latency, energy and memory of one model on each target (``edgeperf predict --json``).

    Multipart field ``file`` (the .tflite) and optional ``targets`` (or the query parameter).
    """
    if _media_type(request) != "multipart/form-data":
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"content type {_media_type(request) or 'none'!r}; expected multipart/form-data with a 'file' part",
        )
    cap = settings.max_upload_bytes
    body = await _read_body(request, cap, slack_bytes=_PART_HEADERS_BYTES)
    try:
        parts = multipart.parse(body, request.headers["content-type"])
        targets_form = [p.data.decode() for p in parts if p.name == "targets"]
    except (multipart.MultipartError, UnicodeDecodeError) as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"malformed multipart body: {exc}"
        ) from None
    upload = next((p for p in parts if p.name == "file"), None)
    if upload is None:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body", "file"), "msg": "Field required", "input": None}]
        )
    label = upload.filename or "upload"
    if len(upload.data) > cap:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"upload {label!r} is {len(upload.data)} bytes; the limit is {cap}",
        )
    if not upload.data:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=f"upload {label!r} is empty: expected a .tflite model",
        )
    names = split_targets(targets_form, targets_query)
    # hashlib releases the GIL: hashing in a pool thread lets the event loop take in the next
    # upload meanwhile (about 1 ms of a MobileNetV2-sized request).
    source = await run_in_threadpool(ModelSource, label, upload.data)
    remembered = None if layers else service.remembered([source], names)
    [result] = remembered or await run_in_threadpool(service.predict, [source], names, layers)
    metrics.count_predictions([result])
    # The service's entries already have PredictResult's shape: skip re-validating them.
    return JSONResponse(result)


_BATCH_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "targets": {"type": "string", "description": "Comma-separated target names."},
                },
            }
        },
        "application/json": {"schema": BatchGraphs.model_json_schema()},
    },
}


async def _read_body(request: Request, max_bytes: int, slack_bytes: int = 0) -> bytes:
    """The whole body, refused with 413 once past ``max_bytes`` (plus framing ``slack_bytes``)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + slack_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"request body is {declared} bytes; the limit is {max_bytes}",
        )
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes + slack_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                detail=f"request body exceeds the limit of {max_bytes} bytes",
            )
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_size(n: int, max_batch: int) -> None:
    if n > max_batch:
        raise BatchTooLargeError(f"batch of {n} models; the limit is {max_batch} per request")


@router.post(
    "/predict/batch", response_model=BatchResult, openapi_extra={"requestBody": _BATCH_BODY}
)
async def predict_batch(
    request: Request,
    service: ServiceDep,
    settings: SettingsDep,
    targets_query: TargetsQuery = None,
    layers: LayersQuery = False,
) -> dict:
    """Many models, answered in request order: multipart ``files`` or JSON ``{"graphs": [...]}``."""
    ctype = _media_type(request)
    if ctype == "application/json":
        body = await _read_body(request, settings.max_upload_bytes)
        try:
            req = BatchGraphs.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                exc.errors(include_url=False, include_context=False, include_input=False)
            ) from None
        _check_size(len(req.graphs), settings.max_batch)
        sources = [ModelSource(label=f"graphs[{i}]", graph=g) for i, g in enumerate(req.graphs)]
        names = split_targets(req.targets, targets_query)
        layers = layers or req.layers
    elif ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=settings.max_batch + 1, max_fields=100)
        except MultiPartException as exc:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, detail=f"malformed multipart body: {exc.message}"
            ) from None
        files = form.getlist("files")
        if not files:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail="no models: send one or more 'files' parts",
            )
        _check_size(len(files), settings.max_batch)
        sources = []
        for i, f in enumerate(files):
            if not isinstance(f, StarletteUpload):
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    detail=f"files[{i}] is a text field; expected a .tflite file part",
                )
            data = await read_upload(f, settings.max_upload_bytes)
            sources.append(ModelSource(label=f.filename or f"files[{i}]", data=data))
        form_targets = [v for v in form.getlist("targets") if isinstance(v, str)]
        names = split_targets(form_targets, targets_query)
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"content type {ctype or 'none'!r}; expected multipart/form-data or application/json",
        )
    results = await run_in_threadpool(service.predict, sources, names, layers)
    metrics.count_predictions(results, batch=True)
    return {"count": len(results), "results": results}
