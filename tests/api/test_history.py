"""GET /models/{sha256} and GET /predictions: the stored history, its filters, pages and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.toy_graphs import toy_graph

from predictor.targets import TARGETS


@pytest.fixture(scope="module")
def stored(live_server):
    """Three toy models predicted on two targets; their entries."""
    graphs = [toy_graph([3, 10, 30 + i], 24, "int8", seed=500 + i).to_dict() for i in range(3)]
    with live_server.client() as c:
        r = c.post("/predict/batch", json={"graphs": graphs, "targets": ["npu-int4", "npu-bf16"]})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_model_record(live_server, stored):
    sha = stored[0]["model"]["sha256"]
    with live_server.client() as c:
        body = c.get(f"/models/{sha}").json()
    assert body["sha256"] == sha
    assert body["kind"] == "graph"
    assert body["filename"] == "graphs[0]"
    assert body["summary"]["macs"] == stored[0]["model"]["macs"]
    assert {p["target"]: p["output"] for p in body["predictions"]} == {
        p["target"]: p for p in stored[0]["predictions"]
    }


def test_history_filters_and_pages(live_server, stored):
    sha = stored[1]["model"]["sha256"]
    start = datetime.now(UTC) - timedelta(minutes=10)
    with live_server.client() as c:
        by_model = c.get("/predictions", params={"model": sha}).json()
        by_both = c.get("/predictions", params={"model": sha, "target": "npu-bf16"}).json()
        p1 = c.get("/predictions", params={"limit": 2}).json()
        p2 = c.get("/predictions", params={"limit": 2, "offset": 2}).json()
        recent = c.get("/predictions", params={"model": sha, "since": start.isoformat()}).json()
        future = c.get(
            "/predictions", params={"model": sha, "since": (start + timedelta(days=1)).isoformat()}
        ).json()
        before = c.get("/predictions", params={"model": sha, "until": start.isoformat()}).json()
    assert by_model["total"] == 2
    assert {i["target"] for i in by_model["items"]} == {"npu-int4", "npu-bf16"}
    assert by_both["total"] == 1 and by_both["items"][0]["output"] == stored[1]["predictions"][1]
    assert p1["total"] == p2["total"] >= 6
    ids = [i["id"] for i in p1["items"] + p2["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert (recent["total"], future["total"], before["total"]) == (2, 0, 0)
    assert datetime.fromisoformat(recent["items"][0]["created_at"]) >= start


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        (
            f"/models/{'c' * 64}",
            404,
            f"unknown model {'c' * 64}: upload it with POST /predict first",
        ),
        (
            "/predictions?target=tpu-v9",
            404,
            f"unknown target 'tpu-v9'; expected one of {sorted(TARGETS)}",
        ),
        (
            "/predictions?since=9999-12-31T23:59:59-23:59",
            422,
            "since=9999-12-31T23:59:59-23:59 is out of range",
        ),
    ],
)
def test_history_errors(live_server, path, status, detail):
    with live_server.client() as c:
        r = c.get(path)
    assert r.status_code == status, r.text
    assert r.json()["detail"] == detail


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("/models/XYZ", ["path", "sha256"]),
        ("/predictions?limit=0", ["query", "limit"]),
        ("/predictions?limit=501", ["query", "limit"]),
        ("/predictions?offset=-1", ["query", "offset"]),
        ("/predictions?model=abc", ["query", "model"]),
        ("/predictions?since=yesterday", ["query", "since"]),
    ],
)
def test_history_validation(live_server, path, loc):
    with live_server.client() as c:
        r = c.get(path)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == loc


def test_metrics_endpoint(live_server, stored):
    with live_server.client() as c:
        text = c.get("/metrics").text
    assert 'edgeperf_http_requests_total{method="POST",route="/predict/batch",status="200"}' in text
    assert "edgeperf_predictions_total" in text
    assert "edgeperf_batch_models_bucket" in text
