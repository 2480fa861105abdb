"""``edgeperf serve``: run the HTTP service with uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (SQLite serves several on one host; PostgreSQL for more).")
    ] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL (default: EDGEPERF_DATABASE_URL or var/edgeperf.sqlite)."
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="GNN checkpoint (default: EDGEPERF_CHECKPOINT or the shipped one)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the prediction API (and dashboard) on HOST:PORT."""
    import uvicorn

    # Settings are read from the environment, so workers started by uvicorn see these too.
    if database_url:
        os.environ["EDGEPERF_DATABASE_URL"] = database_url
    if checkpoint:
        os.environ["EDGEPERF_CHECKPOINT"] = str(checkpoint.resolve())
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )
