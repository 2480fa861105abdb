"""Does a build pinned to the other cores disturb a measurement pinned to one core?

What `scripts/collect.sh cycle` with `CPU` set relies on when it runs the next chunk's static
phase beside this chunk's measurement. Each graph is timed three times on core ``--cpu``, as the
dataset's measure phase times it: quiet (the load stopped), busy (the load running on the other
cores), quiet again. The two quiet timings give the noise; busy against them gives the effect.

The load is either a real build of ours already running (``--sid``: its whole session is pinned
to the other cores for the run, then let back onto every core) or, by default, one started here:
``edgeperf dataset build --phase sample --phase convert`` into a scratch store, one worker per
other core (TensorFlow conversions, the static phase's heaviest part).

    .venv/bin/python bench/pinning.py --graphs 60
    .venv/bin/python bench/pinning.py --graphs 60 --sid "$(ps -o sid= -p BUILD_PID)"
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset.measure import MeasureSettings, measure_file
from dataset.store import DEFAULT_WORK_DIR


def session_pids(sid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def pin(sid: int, cores: set[int]) -> None:
    for pid in session_pids(sid):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                os.sched_setaffinity(int(task.name), cores)
            except OSError:
                continue


def ape_pct(a: list[float], b: list[float]) -> list[float]:
    return [100 * abs(x - y) / y for x, y in zip(a, b, strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, default=60, help="Cached .tflite files to time.")
    ap.add_argument(
        "--cache", type=Path, default=DEFAULT_WORK_DIR / "tflite", help="Where they are."
    )
    ap.add_argument("--cpu", type=int, default=0, help="Core the measurement is pinned to.")
    ap.add_argument("--sid", type=int, help="Session of a running build to use as the load.")
    args = ap.parse_args()
    files = sorted(args.cache.glob("*.tflite"))
    if not files:
        raise SystemExit(
            f"no .tflite files in {args.cache}; build some first (edgeperf dataset build)"
        )
    files = files[:: max(1, len(files) // args.graphs)][: args.graphs]
    every = set(os.sched_getaffinity(0))
    others = every - {args.cpu}
    if not others:
        raise SystemExit(f"only core {args.cpu} is available: nothing to pin the load to")
    scratch = None
    if args.sid is None:
        scratch = tempfile.TemporaryDirectory(prefix="edgeperf-pinning-")
        cmd = [str(ROOT / ".venv" / "bin" / "edgeperf"), "dataset", "build", "--spaces", "all",
               "--n", "1000", "--workers", str(len(others)), "--phase", "sample", "--phase",
               "convert", "--db", f"{scratch.name}/load.sqlite", "--work-dir", scratch.name,
               "--no-progress"]  # fmt: skip
        load = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        sid = load.pid
        time.sleep(30)  # TensorFlow's import and the first conversions
    else:
        sid = args.sid
    settings = MeasureSettings(cpu=args.cpu)
    quiet1, busy, quiet2 = [], [], []
    pin(sid, others)
    try:
        for i, path in enumerate(files):
            os.killpg(sid, signal.SIGSTOP)
            time.sleep(0.3)
            quiet1.append(measure_file(path, settings).latency_ms)
            os.killpg(sid, signal.SIGCONT)
            pin(sid, others)  # workers started since
            time.sleep(0.5)
            busy.append(measure_file(path, settings).latency_ms)
            os.killpg(sid, signal.SIGSTOP)
            time.sleep(0.3)
            quiet2.append(measure_file(path, settings).latency_ms)
            os.killpg(sid, signal.SIGCONT)
            print(f"{i + 1:3d}/{len(files)} {path.stem[:12]} quiet {quiet1[-1]:.4f} busy "
                  f"{busy[-1]:.4f} quiet {quiet2[-1]:.4f} ms", flush=True)  # fmt: skip
    finally:
        os.killpg(sid, signal.SIGCONT)
        if scratch is None:
            pin(sid, every)
        else:
            os.killpg(sid, signal.SIGTERM)
            load.wait()
            scratch.cleanup()
    ratios = [b / ((x + y) / 2) for b, x, y in zip(busy, quiet1, quiet2, strict=True)]
    print(f"{len(files)} graphs on core {args.cpu}, load on cores {sorted(others)}:")
    for name, errs in (
        ("quiet vs quiet", ape_pct(quiet2, quiet1)),
        ("busy vs first quiet", ape_pct(busy, quiet1)),
        ("busy vs second quiet", ape_pct(busy, quiet2)),
    ):
        print(
            f"  {name:21s} MAPE {statistics.mean(errs):5.2f} %  median {statistics.median(errs):5.2f} %"
        )
    print(f"  busy / mean quiet: median {statistics.median(ratios):.3f}, "
          f"range {min(ratios):.3f}-{max(ratios):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
