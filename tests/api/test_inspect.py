"""The first service over real HTTP: health and model inspection, and its error edges."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from predictor import read_model


def test_health(live_server):
    with live_server.client() as c:
        r = c.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_inspect_matches_cli_json(live_server, mobilenet_v2_int8):
    with live_server.client() as c:
        r = c.post("/inspect", files={"file": ("m.tflite", mobilenet_v2_int8.read_bytes())})
    assert r.status_code == 200, r.text
    body = r.json()
    cli = subprocess.run(
        [sys.executable, "-m", "api.cli", "inspect", str(mobilenet_v2_int8), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert body == json.loads(cli.stdout)
    s = body["summary"]
    assert {"num_ops", "macs", "params", "weight_bytes", "precision"} <= set(s)
    assert s["precision"] == "int8"
    assert s["num_ops"] == len(body["layers"]) == read_model(mobilenet_v2_int8).summary.num_ops


@pytest.mark.parametrize(
    ("payload", "status", "match"),
    [
        (b"not a model at all", 400, "file identifier"),
        (b"", 400, "empty"),
        (b"\x1c\x00\x00\x00TFL3" + b"\xff" * 40, 400, "outside|vtable|offset"),
    ],
)
def test_inspect_bad_uploads(live_server, payload, status, match):
    with live_server.client() as c:
        r = c.post("/inspect", files={"file": ("bad.tflite", payload)})
    assert r.status_code == status
    assert re.search(match, r.json()["detail"])


def test_inspect_truncated_model(live_server, mobilenet_v2_int8):
    data = mobilenet_v2_int8.read_bytes()
    with live_server.client() as c:
        r = c.post("/inspect", files={"file": ("cut.tflite", data[: len(data) // 2])})
    assert r.status_code == 400
    assert r.json()["detail"]


def test_inspect_missing_field_is_422(live_server):
    with live_server.client() as c:
        r = c.post("/inspect", data={"other": "x"})
    assert r.status_code == 422


def test_upload_over_the_limit_is_413(live_server):
    # The live server is started with a 16 MiB cap.
    with live_server.client() as c:
        r = c.post("/inspect", files={"file": ("big.tflite", b"\x00" * (17 * 1024 * 1024))})
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]
