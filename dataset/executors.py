"""Where the build's tasks run: a local process pool, or a Ray cluster.

Both hand back ``concurrent.futures.Future`` objects, so the build loop is the same. Tasks take
and return plain data (model bytes in, dicts out); the caller owns the database and the cache.
On Ray a task may ask for a custom resource (``device:cpu-xnnpack-1t``), which pins measurement to
the nodes that declare that device, one model at a time per unit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from dataset.errors import BuildError
from predictor.workers import worker_pool

log = logging.getLogger(__name__)


def device_resource(target: str) -> str:
    """The Ray custom resource a node declares to measure ``target`` (``device:<target>``)."""
    return f"device:{target}"


class LocalExecutor:
    """A pool of ``workers`` spawned processes (TensorFlow does not survive ``fork``).

    Each worker is replaced after ``tasks_per_worker`` tasks, so Keras/TF memory that grows with
    every built model is given back, and exits when the build that spawned it is killed.
    """

    def __init__(self, workers: int, tasks_per_worker: int = 25) -> None:
        if workers < 1:
            raise BuildError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._pool = worker_pool(workers, max_tasks_per_child=tasks_per_worker)

    @property
    def slots(self) -> int:
        return self.workers

    def submit(
        self, fn: Callable[..., Any], *args: Any, resources: dict[str, float] | None = None
    ) -> Future:
        # One machine: a resource request is met by running here.
        return self._pool.submit(fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Tasks on a Ray cluster at ``address`` (``"local"``: start Ray in this process).

    Args:
        address: Ray address (``ray://host:10001``, ``auto``) or ``local``.
        local_resources: Custom resources of the in-process cluster (``local`` only), e.g.
            ``{"device:cpu-xnnpack-1t": 1}`` so this machine measures.
        num_cpus: CPUs of the in-process cluster (``local`` only).
    """

    def __init__(
        self,
        address: str,
        *,
        local_resources: dict[str, float] | None = None,
        num_cpus: int | None = None,
    ) -> None:
        import ray

        self._ray = ray
        self._owns = False
        if not ray.is_initialized():
            if address == "local":
                ray.init(
                    num_cpus=num_cpus,
                    resources=local_resources or {},
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            else:
                ray.init(address=address, log_to_driver=False)
            self._owns = True
        self._remotes: dict[Callable[..., Any], Any] = {}

    @property
    def slots(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def submit(
        self, fn: Callable[..., Any], *args: Any, resources: dict[str, float] | None = None
    ) -> Future:
        remote = self._remotes.get(fn)
        if remote is None:
            remote = self._remotes[fn] = self._ray.remote(fn)
        return remote.options(num_cpus=1, resources=resources or {}).remote(*args).future()

    def shutdown(self) -> None:
        if self._owns:
            self._ray.shutdown()
