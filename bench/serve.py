"""The service under load: real uvicorn on loopback, concurrent clients, bounded run.

Usage: ``python bench/serve.py [--model M.tflite] [--clients 8] [--requests 400] [--batch 256]
[--workers 2]``.
Prints ``/predict`` latency percentiles at N concurrent clients (the same model again: answered
from the store after the first), the first-sight latency of distinct models (computed), and the
round trip of one ``/predict/batch`` of small OpGraph JSON graphs (computed, then stored).
Goals: p50 <= 20 ms and p99 <= 100 ms at 8 clients with no errors; a batch of 256 in <= 1 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    workdir: Path, checkpoint: Path | None, workers: int
) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "EDGEPERF_DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite'}"}
    if checkpoint:
        env["EDGEPERF_CHECKPOINT"] = str(checkpoint)
    cmd = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level", "warning"]
    cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(
        cmd, cwd=_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 120 s")


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def multipart(data: bytes) -> tuple[bytes, str]:
    """One pre-encoded multipart body with the model as field ``file`` (built once, sent often)."""
    boundary = "edgeperf-bench-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.tflite"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def concurrent_predict(
    url: str, data: bytes, clients: int, requests: int, budget_s: float
) -> tuple[list[float], int, float]:
    """Per-request latencies (ms), error count and wall time of ``requests`` spread over clients.

    Clients send a pre-encoded request over keep-alive connections (as wrk does), so the
    load generator, which shares the machine, costs as little CPU as it can.
    """
    body, ctype = multipart(data)
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = [0]
    remaining = [requests]
    lock = threading.Lock()
    deadline = time.monotonic() + budget_s

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                t0 = time.perf_counter()
                conn.request("POST", "/predict", body=body, headers={"Content-Type": ctype})
                resp = conn.getresponse()
                payload = resp.read()
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(ms)
                    errors[0] += resp.status != 200 or not payload.startswith(b'{"model"')
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model", type=Path, help="A .tflite (default: the test zoo's MobileNetV2 int8)."
    )
    ap.add_argument("--checkpoint", type=Path, help="GNN checkpoint (default: the shipped one).")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--budget-s", type=float, default=60.0, help="Upper bound on the load phase.")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="uvicorn worker processes (default: one per core, at most 2).",
    )
    args = ap.parse_args()

    from support import zoo
    from support.toy_graphs import toy_graph

    from predictor.reader import read_model

    model = args.model or zoo.model_path("mobilenet_v2", "int8")
    data = model.read_bytes()
    g = read_model(data)
    print(
        f"model {model.name}: {g.summary.num_ops} ops, {g.summary.macs:,} MACs, {len(data) / 1024:.0f} KiB"
    )
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp), args.checkpoint, args.workers)
        print(f"server: {args.workers} uvicorn worker(s), SQLite store")
        try:
            with httpx.Client(base_url=url, timeout=60) as c:
                t0 = time.perf_counter()
                first = c.post("/predict", files={"file": ("m.tflite", data)})
                first_ms = (time.perf_counter() - t0) * 1000
                assert first.status_code == 200 and not first.json()["cached"], first.text
                print(f"/predict first sight (parse + GNN + hwmodels + store): {first_ms:.1f} ms")

                cold = []
                others = sorted(set(zoo.CACHE_DIR.glob("*.tflite")) - {model})[
                    :20
                ]  # distinct models
                for p in others:
                    t0 = time.perf_counter()
                    r = c.post("/predict", files={"file": (p.name, p.read_bytes())})
                    if r.status_code == 200 and not r.json()["cached"]:
                        cold.append((time.perf_counter() - t0) * 1000)
                if cold:
                    print(
                        f"/predict first sight of {len(cold)} other zoo models: p50 {statistics.median(cold):.1f} ms, max {max(cold):.1f} ms"
                    )

            lat, errors, wall_s = concurrent_predict(url, data, 1, 100, args.budget_s)
            print(
                f"/predict x{len(lat)} at 1 client (answered from the store): p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, errors {errors}"
            )
            lat, errors, wall_s = concurrent_predict(
                url, data, args.clients, args.requests, args.budget_s
            )
            print(
                f"/predict x{len(lat)} at {args.clients} clients (answered from the store): "
                f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, max {max(lat):.1f} ms, "
                f"{len(lat) / wall_s:.0f} req/s, errors {errors}"
            )

            graphs = [
                toy_graph(
                    [3, 8 + i % 24, 16 + i % 32, 24 + i % 16],
                    16 + 8 * (i % 3),
                    "int8" if i % 2 else "fp32",
                    seed=i,
                ).to_dict()
                for i in range(args.batch)
            ]
            body = json.dumps({"graphs": graphs}).encode()
            with httpx.Client(base_url=url, timeout=60) as c:
                for label in ("computed", "from the store"):
                    t0 = time.perf_counter()
                    r = c.post(
                        "/predict/batch", content=body, headers={"content-type": "application/json"}
                    )
                    ms = (time.perf_counter() - t0) * 1000
                    assert r.status_code == 200 and r.json()["count"] == args.batch, r.text[:500]
                    print(
                        f"/predict/batch of {args.batch} small graphs ({label}, all targets): {ms:.0f} ms, {len(body) / 1024:.0f} KiB request"
                    )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
