"""One place that maps the project's errors to HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from hwmodels.errors import EdgePerfError, EstimateError, UnknownFormatError
from predictor.errors import ReaderError

# Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: list[tuple[type[EdgePerfError], int]] = [
    (ReaderError, status.HTTP_400_BAD_REQUEST),
    (UnknownFormatError, status.HTTP_404_NOT_FOUND),
    (EstimateError, status.HTTP_422_UNPROCESSABLE_CONTENT),
]


def register_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        code = next(
            (s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), status.HTTP_400_BAD_REQUEST
        )
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    app.add_exception_handler(EdgePerfError, handle)
