"""GET /targets, measurements and calibration (API key), and the predicted-vs-measured accuracy."""

from __future__ import annotations

import pytest
from support.toy_graphs import toy_graph, toy_latency_ms

from predictor.targets import TARGETS

KEY = {"X-API-Key": "test-key"}


def _store_toys(client, n: int, offset: int) -> list[tuple[str, float]]:
    """Store ``n`` toy graphs through the service; (sha256, synthetic measured latency) rows."""
    graphs = [
        toy_graph([3, 8 + 3 * i, 16 + 2 * i], 16 + 8 * (i % 3), "fp32", seed=offset + i)
        for i in range(n)
    ]
    r = client.post(
        "/predict/batch",
        json={"graphs": [g.to_dict() for g in graphs], "targets": ["cpu-xnnpack-1t"]},
    )
    assert r.status_code == 200, r.text
    return [
        (e["model"]["sha256"], 2.0 * toy_latency_ms(g)) for e, g in zip(r.json()["results"], graphs)
    ]


def _measurements(rows):
    return {"measurements": [{"model_sha256": s, "latency_ms": ms} for s, ms in rows]}


def test_targets_list(live_server):
    with live_server.client() as c:
        body = c.get("/targets").json()
    by_name = {t["name"]: t for t in body["targets"]}
    assert list(by_name)[: len(TARGETS)] == list(TARGETS)
    cpu = by_name["cpu-xnnpack-1t"]
    assert cpu["labels"] == "measured"
    assert cpu["notes"]["energy_mj"] == TARGETS["cpu-xnnpack-1t"].notes["energy_mj"]
    assert cpu["trained"] is True
    assert by_name["npu-int8"]["labels"] == "analytic"
    assert by_name["ethos-u85-512"]["trained"] is False  # the toy checkpoint has no labels for it
    assert set(cpu) >= {"description", "metrics", "precisions", "accuracy", "measurements"}


def test_one_target_and_unknown(live_server):
    with live_server.client() as c:
        ok = c.get("/targets/ethos-u55-128")
        missing = c.get("/targets/tpu-v9")
    assert ok.json()["precisions"] == ["int8"]
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"unknown target 'tpu-v9'; expected one of {sorted(TARGETS)}"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [({}, "missing API key: send header X-API-Key"), ({"X-API-Key": "wrong"}, "invalid API key")],
)
@pytest.mark.parametrize(
    "path", ["/targets/cpu-xnnpack-1t/measurements", "/targets/new-dev/calibrate"]
)
def test_writes_need_a_key(live_server, headers, detail, path):
    with live_server.client() as c:
        r = c.post(path, json=_measurements([("a" * 64, 1.0)]), headers=headers)
    assert r.status_code == 401
    assert r.json()["detail"] == detail


def test_measurements_and_accuracy(live_server):
    with live_server.client() as c:
        rows = _store_toys(c, 4, offset=100)
        r = c.post("/targets/cpu-xnnpack-1t/measurements", json=_measurements(rows), headers=KEY)
        acc = c.get("/targets/cpu-xnnpack-1t/accuracy").json()
        listed = {t["name"]: t for t in c.get("/targets").json()["targets"]}
        model = c.get(f"/models/{rows[0][0]}").json()
    assert r.status_code == 201, r.text
    assert len(r.json()["ids"]) == 4
    mine = [p for p in acc["points"] if p["model_sha256"] in dict(rows)]
    assert sorted((p["model_sha256"], p["measured_ms"]) for p in mine) == sorted(rows)
    assert all(p["predicted_ms"] > 0 for p in mine)
    assert acc["n"] >= 4 and acc["mape"] >= 0
    assert listed["cpu-xnnpack-1t"]["measurements"] >= 4
    assert [m["latency_ms"] for m in model["measurements"]] == [rows[0][1]]


@pytest.mark.parametrize(
    ("path", "body", "status", "detail"),
    [
        (
            "/targets/tpu-v9/measurements",
            _measurements([("a" * 64, 1.0)]),
            404,
            f"unknown target 'tpu-v9'; expected one of {sorted(TARGETS)}",
        ),
        (
            "/targets/cpu-xnnpack-1t/measurements",
            _measurements([("b" * 64, 1.0)]),
            404,
            f"unknown model {'b' * 64}: upload it with POST /predict first",
        ),
        (
            "/targets/npu-int8/calibrate",
            _measurements([("a" * 64, 1.0)]),
            409,
            "target 'npu-int8' already exists; choose a new name",
        ),
    ],
)
def test_write_errors(live_server, path, body, status, detail):
    with live_server.client() as c:
        r = c.post(path, json=body, headers=KEY)
    assert r.status_code == status, r.text
    assert r.json()["detail"] == detail


def test_measurement_validation(live_server):
    with live_server.client() as c:
        bad = c.post(
            "/targets/cpu-xnnpack-1t/measurements",
            json=_measurements([("a" * 64, -1.0)]),
            headers=KEY,
        )
        short = c.post(
            "/targets/cpu-xnnpack-1t/measurements", json=_measurements([("abc", 1.0)]), headers=KEY
        )
    assert bad.status_code == short.status_code == 422
    assert bad.json()["detail"][0]["msg"] == "Input should be greater than 0"
    assert short.json()["detail"][0]["loc"] == ["body", "measurements", 0, "model_sha256"]


def test_calibrate_a_new_device(start_server):
    server = start_server()  # its own store: the new target must not leak into other tests
    with server.client() as c:
        rows = _store_toys(c, 12, offset=200)
        few = c.post("/targets/slow-cpu/calibrate", json=_measurements(rows[:5]), headers=KEY)
        r = c.post(
            "/targets/slow-cpu/calibrate",
            json={**_measurements(rows), "description": "2x the toy CPU"},
            headers=KEY,
        )
        again = c.post("/targets/slow-cpu/calibrate", json=_measurements(rows), headers=KEY)
        names = [t["name"] for t in c.get("/targets").json()["targets"]]
        pred = c.post(
            "/predict/batch",
            json={
                "graphs": [toy_graph([3, 9, 17], 16, "fp32", seed=300).to_dict()],
                "targets": ["slow-cpu"],
            },
        )
        acc = c.get("/targets/slow-cpu/accuracy").json()
    assert few.status_code == 422
    assert few.json()["detail"] == "need at least 10 measured models to calibrate 'slow-cpu', got 5"
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["target"]["labels"] == "calibrated"
    assert body["target"]["description"] == "2x the toy CPU"
    assert body["calibration"]["n"] == 12
    assert again.status_code == 409
    assert "slow-cpu" in names
    [p] = pred.json()["results"][0]["predictions"]
    assert p["source"] == "calibrated" and p["latency_ms"] > 0
    assert acc["n"] == 12
