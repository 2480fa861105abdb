"""The dashboard end to end in real headless Chromium: upload a model, see bars, layers, history, accuracy."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from support.browser import Browser, chromium_path
from support.toy_graphs import toy_graph, toy_latency_ms

from predictor.reader import read_model

PLOTLY_BLUE = (31, 119, 180)  # the first trace colour of plotly.min.js (#1f77b4)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = chromium_path()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    b = Browser(tmp_path_factory.mktemp("chromium-profile"), binary)
    yield b
    b.close()


def test_dashboard_end_to_end(browser, start_server, mobilenet_v2_int8, tmp_path):
    server = start_server()
    graphs = [toy_graph([3, 8 + 2 * i, 20], 16, "fp32", seed=700 + i) for i in range(5)]
    with server.client() as c:
        stored = c.post(
            "/predict/batch",
            json={"graphs": [g.to_dict() for g in graphs], "targets": ["npu-int8"]},
        ).json()
        rows = [
            {"model_sha256": e["model"]["sha256"], "latency_ms": toy_latency_ms(g)}
            for e, g in zip(stored["results"], graphs)
        ]
        r = c.post(
            "/targets/cpu-xnnpack-1t/measurements",
            json={"measurements": rows},
            headers={"X-API-Key": "test-key"},
        )
        assert r.status_code == 201, r.text
        plotly_js = c.get("/vendor/plotly.min.js")
    assert plotly_js.status_code == 200 and plotly_js.headers["content-type"].startswith(
        "text/javascript"
    )

    browser.goto(server.url + "/")
    browser.wait_for("document.body.dataset.ready === 'true'")
    assert browser.evaluate("typeof Plotly") == "object"  # served by the app itself, no network
    assert browser.evaluate("document.querySelectorAll('#chart-format-area .point').length") == len(
        c_formats := server.client().get("/hardware/formats").json()["formats"]
    )
    assert len(c_formats) >= 4
    assert (
        browser.evaluate(
            "document.querySelectorAll('#accuracy-cpu-xnnpack-1t .scatterlayer .point').length"
        )
        == 5
    )
    assert "cpu-xnnpack-1t: MAPE" in browser.evaluate(
        "document.querySelector('#accuracy-cpu-xnnpack-1t .gtitle').textContent"
    )

    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('#targets tbody tr')).map(r => [r.cells[0].textContent, r.cells[1].textContent])"
    )
    with server.client() as c:
        listed = c.get("/targets").json()["targets"]
    assert rows == [[t["name"], t["labels"]] for t in listed]

    # An error is shown, not swallowed.
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"junk" * 16)
    browser.set_file("#file", junk)
    browser.evaluate("document.getElementById('predict-btn').click()")
    browser.wait_for("document.getElementById('status').dataset.state === 'error'")
    assert browser.evaluate("document.getElementById('status').textContent").startswith(
        "400: junk.tflite: "
    )

    browser.set_file("#file", mobilenet_v2_int8)
    browser.evaluate("document.getElementById('predict-btn').click()")
    browser.wait_for("document.getElementById('status').dataset.state === 'done'")
    graph = read_model(mobilenet_v2_int8)
    summary = browser.evaluate("document.getElementById('summary').textContent")
    assert summary.startswith(f"{mobilenet_v2_int8.name}: int8, {graph.summary.num_ops} ops")

    with server.client() as c:
        result = c.post(
            "/predict", files={"file": ("m.tflite", mobilenet_v2_int8.read_bytes())}
        ).json()
    with_latency = [p["target"] for p in result["predictions"] if p["latency_ms"] is not None]
    bars = browser.evaluate(
        "Array.from(document.querySelectorAll('#chart-latency .xtick text')).map(t => t.textContent)"
    )
    assert bars == with_latency
    assert browser.evaluate("document.querySelectorAll('#chart-latency .point').length") == len(
        with_latency
    )
    assert browser.evaluate("document.querySelectorAll('#chart-layers .point').length") == 2 * len(
        graph.main.ops
    )
    npu = [p for p in result["predictions"] if p["target"].startswith("npu-")]
    assert browser.evaluate("document.querySelectorAll('#chart-npu .point').length") == 2 * len(npu)
    history = json.loads(
        browser.evaluate(
            "JSON.stringify(Array.from(document.querySelectorAll('#history tbody tr')).map(r => r.cells[2].textContent))"
        )
    )
    assert set(history) >= {p["target"] for p in result["predictions"]}
    assert browser.console_errors == []

    png = Image.open(io.BytesIO(browser.screenshot())).convert("RGB")
    png.save(tmp_path / "dashboard.png")
    assert png.width >= 1200 and png.height >= 2000
    blue = int((np.abs(np.asarray(png, np.int16) - PLOTLY_BLUE).max(axis=2) <= 8).sum())
    assert blue > 5000, f"only {blue} pixels of bar colour in the screenshot: charts not painted"
