"""The ``edgeperf`` command line as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, check=False
    )


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("inspect", "serve", "hw", "dataset"):
        assert cmd in r.stdout


def test_inspect_table(mobilenet_v2_fp32):
    r = run("inspect", str(mobilenet_v2_fp32))
    assert r.returncode == 0, r.stderr
    assert "DEPTHWISE_CONV_2D" in r.stdout
    assert "precision fp32" in r.stdout


def test_inspect_json(mobilenet_v2_fp32):
    r = run("inspect", str(mobilenet_v2_fp32), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["summary"]["num_ops"] == len(report["layers"]) > 60
    assert report["summary"]["macs"] > 0


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "empty input"), (b"hello world, not a model", "not a TFLite model")],
)
def test_inspect_bad_file_exits_2_with_one_line(tmp_path, content, match):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content)
    r = run("inspect", str(bad))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0]


def test_inspect_missing_file_exits_2(tmp_path):
    r = run("inspect", str(tmp_path / "missing.tflite"))
    assert r.returncode == 2
    assert "cannot read" in r.stderr
