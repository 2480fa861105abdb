"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter

from api import __version__

router = APIRouter(tags=["service"])


@router.get("/health")
def health() -> dict[str, str]:
    """The service is up."""
    return {"status": "ok", "version": __version__}
