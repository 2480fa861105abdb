"""Process pools whose workers exit when the process that made them dies.

A killed ``edgeperf train`` or ``edgeperf dataset build`` would otherwise leave its spawned workers
running: a training member trains on for hours and keeps writing its state file; an idle build
worker waits forever on its task queue, holding the memory TensorFlow took. Light on purpose (no
torch, no TensorFlow): every spawned worker imports it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

#: How often an orphaned worker notices (seconds).
PARENT_POLL_S = 1.0


def worker_pool(workers: int, max_tasks_per_child: int | None = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (``fork`` is unsafe once torch or TensorFlow has
    started threads) that exit within about :data:`PARENT_POLL_S` of their parent's death.

    Args:
        workers: Number of worker processes.
        max_tasks_per_child: Replace a worker after this many tasks (``None``: never).
    """
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
        max_tasks_per_child=max_tasks_per_child,
    )


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: a daemon thread ends the worker once it is orphaned."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
