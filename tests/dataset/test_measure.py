"""The LiteRT measurement worker on real converted models (values are noisy here: sanity only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataset.errors import MeasureError
from dataset.measure import (
    MeasureSettings,
    machine_description,
    measure_file,
    runnable_others,
    tool_versions,
)

FAST = MeasureSettings(budget_s=0.1, n_min=5, n_max=60, warmup_s=0.02)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_measurement_is_a_sane_median_with_spread(tiny_tflite, precision):
    m = measure_file(tiny_tflite[precision], FAST)
    assert m.latency_ms > 0
    assert m.min_ms <= m.p10_ms <= m.latency_ms <= m.p90_ms
    assert m.q1_ms <= m.latency_ms <= m.q3_ms
    assert FAST.n_min <= m.n <= FAST.n_max
    assert m.warmup_n >= FAST.warmup_min
    spread = m.spread()
    assert spread["n"] == m.n and spread["iqr_ms"] >= 0
    # Working memory: the fp32 activations alone (24*24*16 floats) are 36 KiB.
    assert m.memory_kb > 0 and m.hwm_reset
    assert m.machine["cpu_count"] >= 1


def test_repeat_count_adapts_to_the_budget(tiny_tflite):
    """A fast model fills n_max under a generous budget, and stays near n_min under a tiny one."""
    generous = measure_file(tiny_tflite["int8"], MeasureSettings(budget_s=5.0, n_min=5, n_max=40))
    tiny = measure_file(tiny_tflite["int8"], MeasureSettings(budget_s=1e-6, n_min=7, n_max=40))
    assert generous.n == 40
    assert tiny.n == 7


def test_time_cap_ends_the_timed_loop(tiny_tflite):
    m = measure_file(
        tiny_tflite["fp32"], MeasureSettings(budget_s=100.0, n_min=10_000, n_max=10_000, cap_s=0.05)
    )
    assert 3 <= m.n < 10_000


def test_pinned_worker_reports_its_core(tiny_tflite):
    m = measure_file(tiny_tflite["int8"], MeasureSettings(budget_s=0.05, n_min=3, cpu=0))
    assert m.cpu == 0


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(MeasureError, match="expected an existing .tflite"):
        measure_file(tmp_path / "absent.tflite")


def test_garbage_model_is_a_measure_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer at all" * 8)
    with pytest.raises(MeasureError, match="LiteRT could not run bad.tflite"):
        measure_file(bad, FAST)


def test_worker_timeout_is_a_measure_error(tiny_tflite):
    with pytest.raises(MeasureError, match="took more than"):
        measure_file(tiny_tflite["fp32"], MeasureSettings(timeout_s=0.01))


def test_machine_and_tool_versions_are_described():
    machine = machine_description()
    assert machine["cpu_model"]
    if Path("/proc/cpuinfo").exists():  # Linux: the CPU generation and its SIMD extensions too
        assert machine["cpu_family"] != "unknown" and machine["cpu_model_number"] != "unknown"
        assert machine["cpu_isa"] == "" or set(machine["cpu_isa"].split()) <= {
            "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_int8"
        }
    versions = tool_versions()
    assert versions["ai-edge-litert"] and versions["ethos-u-vela"]


def test_runnable_others_sees_spinning_processes_at_once_and_where_they_may_run():
    spin = [sys.executable, "-c", "while True: pass"]
    procs = [subprocess.Popen(spin) for _ in range(2)]
    try:
        time.sleep(0.2)
        # Two spinners are runnable the whole window; a load average would take a minute to rise.
        assert runnable_others(window_s=0.5) >= 1.0
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) > 1:
            for p in procs:
                os.sched_setaffinity(p.pid, {cores[1]})
            time.sleep(0.1)
            # Pinned away from the first core, they do not compete with a timing pinned there.
            assert runnable_others(window_s=0.5, cpu=cores[1]) >= 1.0
            assert runnable_others(window_s=0.5, cpu=cores[0]) < runnable_others(window_s=0.5)
    finally:
        for p in procs:
            p.kill()
            p.wait()
