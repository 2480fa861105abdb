"""Spawned worker pools exit when the process that made them is killed (a real SIGKILL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from predictor.workers import PARENT_POLL_S

# Training members are killed mid-task; the dataset build's workers sit idle on their queue
# once their task is done, which is where they used to wait forever.
_SCRIPTS = {
    "train-pool-busy": """
import time
from predictor.workers import worker_pool

if __name__ == "__main__":
    pool = worker_pool(2)
    futures = [pool.submit(time.sleep, 300) for _ in range(2)]
    print("submitted", flush=True)
    time.sleep(300)
""",
    "build-executor-idle": """
import time
from dataset.executors import LocalExecutor

if __name__ == "__main__":
    ex = LocalExecutor(2)
    futures = [ex.submit(time.sleep, 0.5) for _ in range(4)]
    for f in futures:
        f.result()
    print("submitted", flush=True)
    time.sleep(300)
""",
}


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process from /proc, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]
    return state, int(ppid)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _proc_stat(int(entry))) and st[1] == pid:
            out.append(int(entry))
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes from /proc")
@pytest.mark.parametrize("case", sorted(_SCRIPTS))
def test_pool_workers_exit_when_their_parent_is_killed(tmp_path, case):
    script = tmp_path / "pool.py"
    script.write_text(_SCRIPTS[case])
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert parent.stdout.readline().strip() == "submitted"
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline:
            # Spawned workers (not the resource tracker) are the children running our initializer.
            workers = [p for p in _children(parent.pid) if "spawn_main" in _cmdline(p)]
            if len(workers) == 2:
                break
            time.sleep(0.2)
        assert len(workers) == 2, f"expected 2 worker processes, found {workers}"
        time.sleep(3 * PARENT_POLL_S)  # still there while their parent lives
        assert all((_proc_stat(p) or ("Z",))[0] != "Z" for p in workers)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 20 * PARENT_POLL_S
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [p for p in workers if (st := _proc_stat(p)) is not None and st[0] != "Z"]
        time.sleep(0.2)
    for p in alive:  # a failing run must not leave them behind
        os.kill(p, 9)
    assert not alive, f"workers {alive} outlived their killed parent"
