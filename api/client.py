"""A small Python client for the service, for NAS loops: ``Client(url).predict_batch(models)``.

Models are ``.tflite`` paths (or bytes) or OpGraphs / their ``to_dict()`` JSON. Graphs go as one
JSON request (no files), paths as one multipart request; answers come back in request order.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any, Self

import httpx

from hwmodels.errors import EdgePerfError


class ServiceError(EdgePerfError):
    """The service answered with an error: the message holds its status and ``detail``."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"HTTP {status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


Model = str | PathLike | bytes | dict[str, Any] | Any  # Any: an OpGraph


class Client:
    """Talks to one edgeperf service.

    Args:
        url: Base URL, e.g. ``http://127.0.0.1:8000``.
        api_key: Sent as ``X-API-Key`` (write endpoints only need it).
        timeout_s: Per-request timeout, seconds.
    """

    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 120.0) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s, headers=headers)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _check(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail")
            except ValueError:
                detail = r.text
            raise ServiceError(r.status_code, detail)
        return r.json()

    def health(self) -> dict[str, Any]:
        return self._check(self._http.get("/health"))

    def targets(self) -> list[dict[str, Any]]:
        return self._check(self._http.get("/targets"))["targets"]

    def predict(
        self, model: Model, targets: Sequence[str] | None = None, layers: bool = False
    ) -> dict[str, Any]:
        """One model's entry (``edgeperf predict --json``)."""
        if isinstance(model, (bytes, str, PathLike)):
            name, data = _file(model)
            params = {
                "layers": str(layers).lower(),
                **({"targets": ",".join(targets)} if targets else {}),
            }
            return self._check(
                self._http.post("/predict", files={"file": (name, data)}, params=params)
            )
        return self.predict_batch([model], targets, layers)[0]

    def predict_batch(
        self, models: Sequence[Model], targets: Sequence[str] | None = None, layers: bool = False
    ) -> list[dict[str, Any]]:
        """Entries for many models in order: all files, or all graphs (one request either way)."""
        if not models:
            return []
        params = {
            "layers": str(layers).lower(),
            **({"targets": ",".join(targets)} if targets else {}),
        }
        kinds = {isinstance(m, (bytes, str, PathLike)) for m in models}
        if kinds == {True}:
            files = [("files", _file(m)) for m in models]
            r = self._http.post("/predict/batch", files=files, params=params)
        elif kinds == {False}:
            graphs = [m if isinstance(m, dict) else m.to_dict() for m in models]
            r = self._http.post("/predict/batch", json={"graphs": graphs}, params=params)
        else:
            raise TypeError("predict_batch takes all files (paths/bytes) or all graphs, not a mix")
        return self._check(r)["results"]

    def history(self, **filters: Any) -> dict[str, Any]:
        """One page of ``GET /predictions`` (filters: target, model, since, until, limit, offset)."""
        return self._check(
            self._http.get(
                "/predictions", params={k: v for k, v in filters.items() if v is not None}
            )
        )


def _file(model: str | PathLike | bytes) -> tuple[str, bytes]:
    if isinstance(model, bytes):
        return "model.tflite", model
    path = Path(model)
    return path.name, path.read_bytes()
