"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api import __version__
from api.errors import register_error_handlers
from api.routes import hardware, health, inspect


def create_app() -> FastAPI:
    """Build the service app (``uvicorn --factory api.app:create_app``)."""
    app = FastAPI(
        title="edgeperf",
        version=__version__,
        description="Latency, energy and memory of TFLite models on edge hardware.",
    )
    register_error_handlers(app)
    app.include_router(health.router)
    app.include_router(inspect.router)
    app.include_router(hardware.router)
    return app
