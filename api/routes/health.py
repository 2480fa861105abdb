"""Liveness, with the version of the checkpoint answering."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api import __version__

router = APIRouter(tags=["service"])


@router.get("/health")
def health(request: Request) -> dict[str, str]:
    """The service is up; ``checkpoint`` is the weights digest stored with every prediction."""
    return {
        "status": "ok",
        "version": __version__,
        "checkpoint": request.app.state.service.checkpoint,
    }
