"""The FastAPI application factory: one predictor and one store engine per process (lifespan)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import __version__
from api.errors import register_error_handlers
from api.metrics import MetricsMiddleware
from api.routes import dashboard, hardware, health, inspect, models, predict, targets
from api.settings import Settings, get_settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service app (``uvicorn --factory api.app:create_app``)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from api.db import make_engine
        from api.service import PredictionService
        from predictor.predict import Predictor, set_threads

        set_threads(settings.threads)
        predictor = Predictor.load(
            settings.checkpoint, registry=settings.targets_file, threads=settings.threads
        )
        engine = make_engine(settings.database_url)
        app.state.service = PredictionService(predictor, engine)
        log.info(
            "edgeperf %s: checkpoint %s, store %s",
            __version__,
            app.state.service.checkpoint,
            engine.url,
        )
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="edgeperf",
        version=__version__,
        description="Latency, energy and memory of TFLite models on edge hardware.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(MetricsMiddleware)
    register_error_handlers(app)
    app.include_router(health.router)
    app.include_router(inspect.router)
    app.include_router(predict.router)
    app.include_router(targets.router)
    app.include_router(models.router)
    app.include_router(hardware.router)
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
