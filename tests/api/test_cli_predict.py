"""``edgeperf predict`` and ``edgeperf target`` as a user runs them: real processes, real files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from predictor.targets import TARGETS


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def registry(tmp_path):
    return {"EDGEPERF_TARGETS_FILE": str(tmp_path / "targets.json")}


def test_predict_json_schema(zoo_model, registry):
    paths = [zoo_model("mobilenet_v2", "int8"), zoo_model("mobilenet_v2", "fp32")]
    r = run("predict", *map(str, paths), "--json", env=registry)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert isinstance(out, list) and len(out) == 2
    for entry, precision in zip(out, ("int8", "fp32")):
        assert set(entry["model"]) == {"sha256", "num_ops", "macs", "params", "precision"}
        assert entry["model"]["precision"] == precision
        assert [p["target"] for p in entry["predictions"]] == list(TARGETS)
        for p in entry["predictions"]:
            assert set(p) == {
                "target",
                "latency_ms",
                "energy_mj",
                "memory_kb",
                "storage_kb",
                "source",
                "note",
            }
    fp32 = {p["target"]: p for p in out[1]["predictions"]}
    assert fp32["ethos-u85-512"]["latency_ms"] is None
    assert fp32["ethos-u85-512"]["note"].startswith("Ethos-U runs int8 models only")
    assert fp32["cpu-xnnpack-1t"]["latency_ms"] > 0 and fp32["cpu-xnnpack-1t"]["energy_mj"] is None


def test_predict_table_and_targets(zoo_model, registry):
    r = run(
        "predict",
        str(zoo_model("mobilenet_v2", "int8")),
        "--targets",
        "cpu-xnnpack-1t,npu-int8",
        env=registry,
    )
    assert r.returncode == 0, r.stderr
    assert (
        "cpu-xnnpack-1t" in r.stdout and "npu-int8" in r.stdout and "ethos-u55-128" not in r.stdout
    )


def test_predict_unknown_target_exits_2(zoo_model, registry):
    r = run(
        "predict", str(zoo_model("mobilenet_v2", "int8")), "--targets", "gpu-9000", env=registry
    )
    assert r.returncode == 2
    assert "unknown target 'gpu-9000'" in r.stderr


def test_predict_bad_checkpoint_exits_2(zoo_model, registry, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    r = run(
        "predict", str(zoo_model("mobilenet_v2", "int8")), "--checkpoint", str(bad), env=registry
    )
    assert r.returncode == 2 and "not a loadable weights-only checkpoint" in r.stderr


def test_target_add_from_measurements(zoo_model, registry, tmp_path):
    models = [
        zoo_model(n, p)
        for n in ("mobilenet_v1", "mobilenet_v2", "ds_cnn", "conv_mix", "mobilenet_v3_small")
        for p in ("fp32", "int8")
    ]
    meas = tmp_path / "m.csv"
    r = run(
        "target",
        "measure",
        *map(str, models),
        "--out",
        str(meas),
        "--threads",
        "2",
        "--budget-s",
        "0.1",
        env=registry,
    )
    assert r.returncode == 0, r.stderr
    with meas.open() as fh:
        assert len(list(csv.DictReader(fh))) == 10
    r = run("target", "add", "litert-2t", "--measurements", str(meas), env=registry)
    assert r.returncode == 0, r.stderr
    assert "registered 'litert-2t'" in r.stdout
    r = run("target", "list", "--json", env=registry)
    assert "litert-2t" in [t["name"] for t in json.loads(r.stdout)]
    r = run("predict", str(models[0]), "--json", "--targets", "litert-2t", env=registry)
    [entry] = json.loads(r.stdout)
    assert (
        entry["predictions"][0]["source"] == "calibrated"
        and entry["predictions"][0]["latency_ms"] > 0
    )
    r = run("target", "add", "litert-2t", "--measurements", str(meas), env=registry)
    assert r.returncode == 2 and "already registered" in r.stderr


def test_target_add_too_few(zoo_model, registry, tmp_path):
    meas = tmp_path / "m.csv"
    meas.write_text(f"model,latency_ms\n{zoo_model('mobilenet_v2', 'int8')},1.5\n")
    r = run("target", "add", "tiny", "--measurements", str(meas), env=registry)
    assert r.returncode == 2 and "need at least 10 measured models" in r.stderr
