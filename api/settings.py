"""Service settings, from the environment (prefix ``EDGEPERF_``) or the CLI."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var") / "edgeperf.sqlite"


class Settings(BaseSettings):
    """Everything the service can be configured with.

    Every field can be set as ``EDGEPERF_<NAME>`` (e.g. ``EDGEPERF_DATABASE_URL``).
    """

    model_config = SettingsConfigDict(env_prefix="EDGEPERF_", env_file=None, extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        description="SQLAlchemy URL; SQLite by default, PostgreSQL in production.",
    )
    checkpoint: Path | None = Field(
        default=None, description="GNN checkpoint; the one shipped in the package when unset."
    )
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Largest accepted .tflite upload (HTTP 413 beyond).",
    )
    max_batch: int = Field(default=1024, gt=0, description="Most models in one batch request.")
    api_keys: list[str] = Field(
        default_factory=list,
        description='Keys accepted on write endpoints (header X-API-Key), a JSON list: ["k1","k2"].',
    )
    targets_file: Path | None = Field(
        default=None,
        description="Calibrated-target registry of `edgeperf target add` (default: the user's).",
    )
    threads: int = Field(default=1, ge=1, le=64, description="torch threads per worker.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
