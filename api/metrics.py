"""Prometheus metrics: request latency by route, predictions by source (computed or stored).

Per process: with several uvicorn workers each answers for itself (scrape each, or set
``PROMETHEUS_MULTIPROC_DIR`` as prometheus_client documents).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "edgeperf_http_requests_total",
    "HTTP requests.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "edgeperf_http_request_seconds",
    "HTTP request latency, seconds.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
PREDICTIONS = Counter(
    "edgeperf_predictions_total",
    "Models predicted, by whether the store answered.",
    ["cached"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "edgeperf_batch_models",
    "Models per batch request.",
    buckets=(1, 8, 32, 128, 256, 512, 1024),
    registry=REGISTRY,
)


def count_predictions(results: Sequence[dict[str, Any]], batch: bool = False) -> None:
    for r in results:
        PREDICTIONS.labels(cached=str(r["cached"]).lower()).inc()
    if batch:
        BATCH_SIZE.observe(len(results))


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware); labels by route template."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = [500]

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                code[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            LATENCY.labels(scope["method"], name).observe(time.perf_counter() - start)
            REQUESTS.labels(scope["method"], name, str(code[0])).inc()
