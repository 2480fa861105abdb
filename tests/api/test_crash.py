"""Killed mid-write (SIGKILL under concurrent batch writes), the service restarts with every
answered prediction still stored and a consistent SQLite file."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
from support.toy_graphs import toy_graph

TARGETS = ["cpu-xnnpack-1t", "npu-int8"]


def test_kill_mid_write_loses_nothing_committed(start_server, tmp_path):
    workdir = tmp_path / "srv"
    workdir.mkdir()
    server = start_server(workdir=workdir)
    acked: list[str] = []
    stop = threading.Event()

    def writer(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for n in range(10_000):
                if stop.is_set():
                    return
                seed = 10_000 * (worker + 1) + n
                graphs = [toy_graph([3, 8 + i, 12 + n % 40], 16, "int8", seed=seed + i).to_dict() for i in range(4)]
                try:
                    r = c.post("/predict/batch", json={"graphs": graphs, "targets": TARGETS})
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:  # answered: must be committed
                    acked.extend(e["model"]["sha256"] for e in r.json()["results"])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 24 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.proc.kill()  # SIGKILL: no shutdown hooks, writes in flight
    server.proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= 24

    db_path = workdir / "edgeperf.sqlite"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    again = start_server(workdir=workdir)
    with again.client() as c:
        for sha in set(acked):
            r = c.get(f"/models/{sha}")
            assert r.status_code == 200, f"answered model {sha} lost: {r.text}"
            assert sorted(p["target"] for p in r.json()["predictions"]) == sorted(TARGETS)
        # and the service keeps working on the same store
        fresh = toy_graph([3, 5, 7], 16, "fp32", seed=1).to_dict()
        assert c.post("/predict/batch", json={"graphs": [fresh], "targets": TARGETS}).status_code == 200
