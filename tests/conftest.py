"""Fixtures shared by every test package: real converted models and a real running service."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import zoo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def zoo_model():
    """``zoo_model(name, precision) -> Path`` of a TensorFlow-converted zoo model (cached)."""
    return zoo.model_path


@pytest.fixture(scope="session")
def mobilenet_v2_int8(zoo_model) -> Path:
    return zoo_model("mobilenet_v2", "int8")


@pytest.fixture(scope="session")
def mobilenet_v2_fp32(zoo_model) -> Path:
    return zoo_model("mobilenet_v2", "fp32")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A real ``edgeperf serve`` (uvicorn) subprocess on a loopback port."""

    def __init__(
        self, workdir: Path, env: dict[str, str], args: list[str] | tuple[str, ...] = ()
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                *args,
            ],
            cwd=workdir,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}:\n{self.log_path.read_text()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer within 90 s:\n{self.log_path.read_text()}")

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="session")
def test_checkpoint() -> Path:
    """A small real GNN checkpoint (toy graphs, brief training) the test servers load."""
    from support.checkpoint import toy_checkpoint

    return toy_checkpoint()


def server_env(workdir: Path, checkpoint: Path, **extra: str) -> dict[str, str]:
    """A test server's settings: its own SQLite file and target registry, 16 MiB uploads, key."""
    return {
        "EDGEPERF_DATABASE_URL": f"sqlite:///{workdir / 'edgeperf.sqlite'}",
        "EDGEPERF_MAX_UPLOAD_BYTES": str(16 * 1024 * 1024),
        "EDGEPERF_API_KEYS": '["test-key"]',
        "EDGEPERF_CHECKPOINT": str(checkpoint),
        "EDGEPERF_TARGETS_FILE": str(workdir / "targets.json"),
        **extra,
    }


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, test_checkpoint) -> Iterator[LiveServer]:
    """The service, started once per test worker, with its own SQLite file and a small upload cap."""
    workdir = tmp_path_factory.mktemp("server")
    server = LiveServer(workdir, server_env(workdir, test_checkpoint))
    yield server
    server.stop()


@pytest.fixture
def start_server(tmp_path_factory, test_checkpoint) -> Iterator:
    """``start_server(**env) -> LiveServer``: a fresh server with settings overridden; stopped after."""
    started: list[LiveServer] = []

    def start(
        workdir: Path | None = None, args: list[str] | tuple[str, ...] = (), **env: str
    ) -> LiveServer:
        workdir = workdir or tmp_path_factory.mktemp("server")
        server = LiveServer(workdir, server_env(workdir, test_checkpoint, **env), args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
