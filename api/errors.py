"""One place that maps the project's errors to HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from hwmodels.errors import EdgePerfError, EstimateError, UnknownFormatError
from predictor.errors import CalibrationError, CheckpointError, ReaderError, UnknownTargetError


class UnknownModelError(EdgePerfError, LookupError):
    """A model hash the service's store has never seen."""


class ConflictError(EdgePerfError):
    """A write that would overwrite something that exists (a target name already taken)."""


class BatchTooLargeError(EdgePerfError, ValueError):
    """More models in one batch request than the service accepts."""


# Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: list[tuple[type[EdgePerfError], int]] = [
    (ReaderError, status.HTTP_400_BAD_REQUEST),
    (UnknownFormatError, status.HTTP_404_NOT_FOUND),
    (UnknownTargetError, status.HTTP_404_NOT_FOUND),
    (UnknownModelError, status.HTTP_404_NOT_FOUND),
    (ConflictError, status.HTTP_409_CONFLICT),
    (BatchTooLargeError, status.HTTP_413_CONTENT_TOO_LARGE),
    (CalibrationError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (EstimateError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (CheckpointError, status.HTTP_503_SERVICE_UNAVAILABLE),
]


def register_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        code = next(
            (s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), status.HTTP_400_BAD_REQUEST
        )
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    app.add_exception_handler(EdgePerfError, handle)
