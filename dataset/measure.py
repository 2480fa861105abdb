"""Measured CPU labels: LiteRT interpreter, XNNPACK, one thread, one fresh process per model.

Latency is the median of many timed ``invoke()`` calls after warm-up, with its spread (p10/p90,
IQR, n); the repeat count adapts to the model (many invokes for fast models, fewer for slow ones,
under a time cap). Peak working memory is the rise of the worker's resident-set high-water mark
(``VmHWM``, reset through ``/proc/self/clear_refs``) over its resident set just before the
interpreter is built: the arena, XNNPACK's packed weights and the interpreter's structures. A
throw-away interpreter built first pages in the runtime's own code, so that constant is not
counted; a fresh process per model keeps one model's freed memory from hiding the next one's. Run as ``python -m dataset.measure`` it is that worker (JSON on stdin and stdout).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dataset.errors import MeasureError

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A fixed mmap threshold stops glibc from raising it as blocks are freed, so the interpreter's
# large buffers are mmapped (and show in the resident set) the same way for every model.
_WORKER_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "131072",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "OMP_NUM_THREADS": "1",
}


@dataclass(frozen=True, slots=True)
class MeasureSettings:
    """How hard to measure one model.

    Attributes:
        budget_s: Target time spent in timed invokes; the repeat count is budget / time per call.
        n_min: Fewest timed invokes (a slow model still gets this many, unless ``cap_s`` hits).
        n_max: Most timed invokes (a very fast model stops here).
        warmup_s: Time spent in untimed warm-up invokes (at least ``warmup_min`` of them).
        warmup_min: Fewest warm-up invokes.
        cap_s: Hard cap on the timed loop; ends it even below ``n_min`` (never below 3 samples).
        timeout_s: The parent kills a worker that has run this long.
        cpu: CPU core to pin the worker to (``None``: leave affinity alone).
        seed: Seed of the random input tensors.
    """

    budget_s: float = 1.0
    n_min: int = 10
    n_max: int = 300
    warmup_s: float = 0.2
    warmup_min: int = 3
    cap_s: float = 10.0
    timeout_s: float = 180.0
    cpu: int | None = None
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Measurement:
    """One model measured on this machine. Times in milliseconds, memory in KiB.

    Attributes:
        latency_ms: Median of the timed invokes.
        p10_ms, p90_ms, q1_ms, q3_ms, mean_ms, min_ms: Spread of the timed invokes.
        n: Number of timed invokes.
        warmup_n: Number of untimed warm-up invokes.
        first_invoke_ms: The very first invoke (XNNPACK packs weights there).
        memory_kb: Peak resident-set rise: VmHWM after build + allocate + first invoke - VmRSS before.
        anon_kb: Rise of anonymous resident memory (heap and mmaps, no code pages) after that.
        hwm_reset: Whether ``VmHWM`` could be reset; if not, ``memory_kb`` is an upper bound.
        cpu: Core the worker ran on, if pinned.
        loadavg_1m: The machine's 1-minute load average when the timing ended (a busy machine
            makes noisy labels; this says how quiet it was).
        machine: :func:`machine_description` of the machine that measured.
    """

    latency_ms: float
    p10_ms: float
    p90_ms: float
    q1_ms: float
    q3_ms: float
    mean_ms: float
    min_ms: float
    n: int
    warmup_n: int
    first_invoke_ms: float
    memory_kb: float
    anon_kb: float
    hwm_reset: bool
    cpu: int | None = None
    loadavg_1m: float = 0.0
    machine: dict = field(default_factory=dict)

    def spread(self) -> dict[str, float | int]:
        """The spread as stored beside the label."""
        return {
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "iqr_ms": self.q3_ms - self.q1_ms,
            "min_ms": self.min_ms,
            "mean_ms": self.mean_ms,
            "n": self.n,
        }


def measure_file(path: str | Path, settings: MeasureSettings | None = None) -> Measurement:
    """Measure the ``.tflite`` at ``path`` in a fresh worker process.

    Raises:
        MeasureError: the file is missing, the worker failed or timed out, or its answer is bad.
    """
    settings = settings or MeasureSettings()
    path = Path(path)
    if not path.is_file():
        raise MeasureError(f"cannot measure {str(path)!r}: expected an existing .tflite file")
    request = {"path": str(path.resolve()), "settings": asdict(settings)}
    env = {**os.environ, **_WORKER_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dataset.measure"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=settings.timeout_s,
            env=env,
            check=False,
            cwd=str(PROJECT_ROOT),
        )
    except subprocess.TimeoutExpired as exc:
        raise MeasureError(
            f"measuring {path.name} took more than {settings.timeout_s:.0f} s; "
            "expected a model that runs within the timeout"
        ) from exc
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise MeasureError(
            f"measurement worker for {path.name} exited with {proc.returncode}: "
            f"{' | '.join(tail) or 'no output'}"
        )
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise MeasureError(f"LiteRT could not run {path.name}: {answer['error']}")
    return Measurement(**answer)


#: SIMD extensions that change which XNNPACK kernels run (and so the latencies), when present.
_ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_int8")


def machine_description() -> dict[str, str | int]:
    """What the labels were measured on: CPU model, family/model numbers, cache, SIMD extensions,
    cores, kernel, Python, governor.

    Cloud VMs report one CPU name for hosts of different generations (an "AMD EPYC" that is Zen 2
    on one host and Zen 4 with AVX-512 on another): the numbers and the ISA tell them apart where
    the name cannot (the anchors decide for runs recorded before these fields existed).
    """
    cpu_model = platform.processor() or "unknown"
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model", "stepping", "cache size", "flags"):
                info.setdefault(key, value.strip())
            if not line.strip() and info:
                break  # the first processor's block is enough
    except OSError:
        pass
    cpu_model = info.get("model name", cpu_model)
    flags = set(info.get("flags", "").split())
    governor = "unknown"
    gov_path = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    if gov_path.is_file():
        governor = gov_path.read_text().strip()
    return {
        "cpu_model": cpu_model,
        "cpu_family": info.get("cpu family", "unknown"),
        "cpu_model_number": info.get("model", "unknown"),
        "cpu_stepping": info.get("stepping", "unknown"),
        "cpu_cache": info.get("cache size", "unknown"),
        "cpu_isa": " ".join(f for f in _ISA_FLAGS if f in flags),
        "cpu_count": os.cpu_count() or 0,
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "governor": governor,
        "node": platform.node(),
    }


def _runnable_tasks(cpu: int | None) -> int:
    """Threads of other processes in state R now; with ``cpu``, only those allowed on that core."""
    me, count = os.getpid(), 0
    for stat in Path("/proc").glob("[0-9]*/task/[0-9]*/stat"):
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
            if state != "R" or int(stat.parts[2]) == me:
                continue
            if cpu is None or cpu in os.sched_getaffinity(int(stat.parts[4])):
                count += 1
        except (OSError, IndexError, ValueError):
            continue  # the task ended while we looked
    return count


def runnable_others(window_s: float = 1.0, samples: int = 10, cpu: int | None = None) -> float:
    """Threads of other processes runnable, averaged over ``window_s``; with ``cpu``, only those
    the scheduler may put on that core (a build pinned to the other cores does not count).

    What a timing competes with now: the 1-minute load average still shows work that ended a
    minute ago (right after the static phase's workers it read ~2.4 on a quiet machine).
    """
    seen = []
    for i in range(samples):
        seen.append(_runnable_tasks(cpu))
        if i < samples - 1:
            time.sleep(window_s / samples)
    return sum(seen) / len(seen)


def tool_versions() -> dict[str, str]:
    """Versions of the tools that make labels (read from package metadata; nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("ai-edge-litert", "ethos-u-vela", "tensorflow-cpu", "tensorflow", "keras"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out


# --- the worker: runs in its own process, imports only numpy and LiteRT --------------------


def _proc_status_kb() -> dict[str, int]:
    wanted = ("VmHWM", "VmRSS", "RssAnon")
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key = line.split(":", 1)[0]
            if key in wanted:
                out[key] = int(line.split()[1])
    return out


def _reset_hwm() -> bool:
    # Writing 5 to clear_refs resets the peak RSS (Linux >= 4.0).
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _random_inputs(details: list[dict], seed: int) -> list:
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = []
    for det in details:
        shape, dtype = tuple(int(d) for d in det["shape"]), np.dtype(det["dtype"])
        if dtype.kind == "f":
            arrays.append(rng.standard_normal(shape).astype(dtype))
        elif dtype in (np.int8, np.uint8, np.int16):
            info = np.iinfo(dtype)
            arrays.append(rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype))
        else:  # indices and flags: zeros are always in range
            arrays.append(np.zeros(shape, dtype))
    return arrays


def _worker(request: dict) -> dict:
    import gc
    import time

    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    s = MeasureSettings(**request["settings"])
    if s.cpu is not None:
        os.sched_setaffinity(0, {s.cpu})
    model = Path(request["path"]).read_bytes()
    # A throw-away interpreter first: it pages in the runtime's code (several MB, the same for
    # every model), so the measured rise below is the model's own working memory.
    scout = Interpreter(model_content=model, num_threads=1)
    scout.allocate_tensors()
    inputs = _random_inputs(scout.get_input_details(), s.seed)
    for det, arr in zip(scout.get_input_details(), inputs, strict=True):
        scout.set_tensor(det["index"], arr)
    scout.invoke()
    del scout
    gc.collect()
    hwm_reset = _reset_hwm()
    before = _proc_status_kb()

    interp = Interpreter(model_content=model, num_threads=1)
    interp.allocate_tensors()
    for det, arr in zip(interp.get_input_details(), inputs, strict=True):
        interp.set_tensor(det["index"], arr)
    t0 = time.perf_counter_ns()
    interp.invoke()
    first_ms = (time.perf_counter_ns() - t0) / 1e6
    after = _proc_status_kb()

    warm = []
    warm_start = time.perf_counter()
    while len(warm) < s.warmup_min or time.perf_counter() - warm_start < s.warmup_s:
        t0 = time.perf_counter_ns()
        interp.invoke()
        warm.append(time.perf_counter_ns() - t0)
        if len(warm) >= s.n_max:
            break
    per_call_s = float(np.median(warm)) / 1e9
    n_target = int(min(s.n_max, max(s.n_min, s.budget_s / max(per_call_s, 1e-9))))

    times = []
    loop_start = time.perf_counter()
    while len(times) < n_target:
        t0 = time.perf_counter_ns()
        interp.invoke()
        times.append(time.perf_counter_ns() - t0)
        if len(times) >= 3 and time.perf_counter() - loop_start > s.cap_s:
            break
    ms = np.asarray(times, dtype=np.float64) / 1e6
    p10, q1, med, q3, p90 = np.percentile(ms, [10, 25, 50, 75, 90])
    return {
        "latency_ms": float(med),
        "p10_ms": float(p10),
        "p90_ms": float(p90),
        "q1_ms": float(q1),
        "q3_ms": float(q3),
        "mean_ms": float(ms.mean()),
        "min_ms": float(ms.min()),
        "n": len(times),
        "warmup_n": len(warm),
        "first_invoke_ms": first_ms,
        "memory_kb": float(after["VmHWM"] - before["VmRSS"]),
        "anon_kb": float(after.get("RssAnon", 0) - before.get("RssAnon", 0)),
        "hwm_reset": hwm_reset,
        "cpu": s.cpu,
        "loadavg_1m": os.getloadavg()[0],
        "machine": machine_description(),
    }


def _main() -> None:
    request = json.loads(sys.stdin.read())
    try:
        answer = _worker(request)
    except (RuntimeError, ValueError, OSError) as exc:  # LiteRT raises these for bad models
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")


if __name__ == "__main__":
    _main()
