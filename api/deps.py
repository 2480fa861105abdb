"""``Annotated`` dependencies: settings, the prediction service, a store connection, the API key."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from sqlalchemy.engine import Connection

from api.service import PredictionService
from api.settings import Settings


async def app_settings(request: Request) -> Settings:
    """The app's settings (``get_settings()`` unless the factory was given others).

    ``async`` so FastAPI calls it inline rather than on a worker thread (a hop per request).
    """
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


async def get_service(request: Request) -> PredictionService:
    """The process's service, built once at startup by the app's lifespan."""
    return request.app.state.service


ServiceDep = Annotated[PredictionService, Depends(get_service)]


def get_conn(service: ServiceDep) -> Iterator[Connection]:
    """A read connection to the store for one request."""
    with service.engine.connect() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]


def require_api_key(
    request: Request,
    x_api_key: Annotated[
        str | None, Header(description="One of the service's keys (EDGEPERF_API_KEYS).")
    ] = None,
) -> None:
    """Write endpoints: 401 unless the request carries a configured key."""
    keys = request.app.state.settings.api_keys
    if x_api_key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API key: send header X-API-Key",
            headers={"WWW-Authenticate": "X-API-Key"},
        )
    if not any(secrets.compare_digest(x_api_key.encode(), k.encode()) for k in keys):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="invalid API key",
            headers={"WWW-Authenticate": "X-API-Key"},
        )


ApiKeyDep = Depends(require_api_key)
