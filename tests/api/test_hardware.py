"""``/hardware/...`` routes and the ``edgeperf hw`` commands, on a real converted model."""

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import hw
from hwmodels.accelerator import PRESETS, estimate
from hwmodels.errors import UnknownAcceleratorError, UnknownFormatError
from hwmodels.mac import mac_unit
from predictor.reader import read_model


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


@pytest.fixture(scope="module")
def ds_cnn_int8(zoo_model):
    return zoo_model("ds_cnn", "int8")


# ---- API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("node", ["7nm", "45nm"])
def test_formats_lists_every_format_relative_to_int8(client, node):
    body = client.get("/hardware/formats", params={"node": node}).json()
    rows = {r["format"]: r for r in body["formats"]}
    assert rows["int8"]["gates_vs_int8"] == 1.0
    assert rows["fp8-e4m3"]["gates"] == round(mac_unit("fp8-e4m3", node=node).gates, 1)
    assert {"int4", "int8", "fp8-e4m3", "fp8-e5m2", "fp16", "bf16", "fp32"} <= rows.keys()


@pytest.mark.parametrize(("fmt", "acc"), [("fp8-e4m3", "fp16"), ("int8", None), ("int8", "int32")])
def test_mac_returns_the_library_unit(client, fmt, acc):
    params = {"format": fmt, "node": "45nm"} | ({"acc": acc} if acc else {})
    body = client.get("/hardware/mac", params=params).json()
    unit = mac_unit(fmt, acc, "45nm")
    assert body["gates"] == round(unit.gates, 1)
    assert body["energy_pj"] == pytest.approx(unit.energy_pj, rel=1e-3)
    assert body["area_um2"] == pytest.approx(unit.area_um2, rel=1e-3)
    assert len(body["components"]) == len(unit.components)


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"format": "int9"}, 404, "unknown number format 'int9'; expected one of: int4"),
        (
            {"format": "int8", "node": "3nm"},
            404,
            "unknown process node '3nm'; expected one of: 45nm, 7nm",
        ),
        ({"format": "int8", "acc": "q16"}, 404, "unknown accumulator 'q16'"),
        (
            {"format": "int8", "acc": "int3"},
            422,
            "fixed-point accumulator 'int3' for int8 must be 15",
        ),
        ({"format": "int8", "acc": "fp16"}, 422, "integer format int8 accumulates in fixed point"),
    ],
)
def test_mac_errors_have_clear_detail(client, params, status, detail):
    r = client.get("/hardware/mac", params=params)
    assert r.status_code == status
    assert r.json()["detail"].startswith(detail)


def test_mac_without_format_is_422(client):
    r = client.get("/hardware/mac")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "format"]


def test_accelerators_lists_presets(client):
    names = [a["name"] for a in client.get("/hardware/accelerators").json()["accelerators"]]
    assert names == list(PRESETS)


def _post(client, path, params=None, data=None):
    with path.open("rb") as fh:
        return client.post(
            "/hardware/estimate",
            params=params,
            data=data,
            files={"file": (path.name, fh, "application/octet-stream")},
        )


def test_estimate_matches_library_on_a_real_model(client, ds_cnn_int8):
    r = _post(client, ds_cnn_int8, data={"accel": "npu-int8,npu-fp16,ethos-u65-256"})
    assert r.status_code == 200, r.text
    body = r.json()
    works = read_model(ds_cnn_int8).layer_works()
    assert [e["accelerator"] for e in body["estimates"]] == ["npu-int8", "npu-fp16", "ethos-u65-256"]
    assert body["model"]["num_layers"] == len(works)
    for e in body["estimates"]:
        lib = estimate(works, e["accelerator"])
        assert e["latency_ms"] == pytest.approx(lib.latency_ms)
        assert e["energy_mj"] == pytest.approx(lib.energy_mj)
        assert len(e["layers"]) == len(works)
    fp16, int8 = body["estimates"][1], body["estimates"][0]
    assert fp16["weight_kb"] == pytest.approx(2 * int8["weight_kb"], abs=2e-3)  # both rounded


def test_estimate_accepts_query_field_and_defaults_to_all_presets(client, ds_cnn_int8):
    q = _post(client, ds_cnn_int8, params={"accel": "npu-bf16", "layers": "false"}).json()
    assert [e["accelerator"] for e in q["estimates"]] == ["npu-bf16"]
    assert "layers" not in q["estimates"][0]
    every = _post(client, ds_cnn_int8, params={"layers": "false"}).json()
    assert [e["accelerator"] for e in every["estimates"]] == list(PRESETS)


@pytest.mark.parametrize(
    ("params", "data", "status", "detail"),
    [
        (
            None,
            {"accel": "npu-int2"},
            404,
            "unknown accelerator 'npu-int2'; expected one of: npu-int4",
        ),
        ({"layers": "maybe"}, None, 422, None),
    ],
)
def test_estimate_errors(client, ds_cnn_int8, params, data, status, detail):
    r = _post(client, ds_cnn_int8, params=params, data=data)
    assert r.status_code == status
    if detail:
        assert r.json()["detail"].startswith(detail)


def test_estimate_rejects_a_non_model(client, tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer at all" * 4)
    r = _post(client, junk, data={"accel": "npu-int8"})
    assert r.status_code == 400
    assert "expected b'TFL3' (not a TFLite model)" in r.json()["detail"]


# ---- CLI -------------------------------------------------------------------------------------


runner = CliRunner()


def test_cli_mac_json_has_gates_area_energy():
    res = runner.invoke(hw.app, ["mac", "fp8-e4m3", "--acc", "fp16", "--node", "45nm", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert body["gates"] == round(mac_unit("fp8-e4m3", "fp16", "45nm").gates, 1)
    assert {"area_um2", "energy_pj", "components"} <= body.keys()


def test_cli_mac_table_shows_breakdown():
    res = runner.invoke(hw.app, ["mac", "int8"])
    assert res.exit_code == 0
    assert "dadda multiplier 8x8" in res.output and "int27" in res.output


def test_cli_formats_table_and_json():
    res = runner.invoke(hw.app, ["formats"])
    assert res.exit_code == 0 and "fp8-e4m3" in res.output and "bf16" in res.output
    body = json.loads(runner.invoke(hw.app, ["formats", "--json", "--node", "45nm"]).output)
    assert body["node"] == "45nm" and len(body["formats"]) >= 9


def test_cli_chart_writes_a_png(tmp_path):
    out = tmp_path / "charts" / "formats.png"
    res = runner.invoke(hw.app, ["chart", str(out), "--node", "45nm"])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_estimate_on_a_real_model(ds_cnn_int8):
    res = runner.invoke(
        hw.app,
        [
            "estimate",
            str(ds_cnn_int8),
            "--accel",
            "npu-int4",
            "--accel",
            "npu-fp8-e4m3",
            "--json",
            "--no-layers",
        ],
    )
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    lib = estimate(read_model(ds_cnn_int8).layer_works(), "npu-fp8-e4m3")
    assert body["estimates"][1]["energy_mj"] == pytest.approx(lib.energy_mj)
    table = runner.invoke(hw.app, ["estimate", str(ds_cnn_int8)])
    assert table.exit_code == 0 and "npu-int8" in table.output and "peak SRAM" in table.output


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (["mac", "int9"], UnknownFormatError, "unknown number format 'int9'"),
        (
            ["estimate", "x.tflite", "--accel", "tpu"],
            UnknownAcceleratorError,
            "unknown accelerator 'tpu'",
        ),
    ],
)
def test_cli_errors_are_project_errors(args, error, match):
    res = runner.invoke(hw.app, args)
    assert isinstance(res.exception, error)
    assert match in str(res.exception)


def test_cli_entry_point_exits_2_on_unknown_format():
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "hw", "mac", "fp7"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown number format 'fp7'" in proc.stderr
