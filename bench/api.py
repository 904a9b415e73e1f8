"""HTTP API benchmark: a real ``sluice serve`` process and client threads on loopback.

Run by hand: ``python bench/api.py [--backend sqlite|postgres|both] [--requests N]``.
Prints requests per second and latency percentiles of ``POST /v1/actions/echo`` (8 client
threads with keep-alive), ``GET /v1/queues``, and ``GET /metrics`` over a 10k backlog.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.pgdb import fresh_database

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("SLUICE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench")
THREADS = 8


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _timed(base: str, method: str, path: str, n: int, body: bytes | None = None) -> str:
    def worker(count: int) -> list[float]:
        took = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(count):
                start = time.perf_counter()
                answer = client.request(method, path, content=body)
                took.append(time.perf_counter() - start)
                assert answer.status_code < 300, answer.text
        return took

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        latencies = [t for part in pool.map(worker, [n // THREADS] * THREADS) for t in part]
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    return (
        f"{method} {path}: {len(latencies) / elapsed:,.0f} req/s, "
        f"p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"
    )


def run(url: str, requests: int) -> None:
    port = _port()
    env = {**os.environ, "SLUICE_URL": url, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    env.pop("SLUICE_TOKENS", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sluice.cli",
            "serve",
            "bench.api_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        print(_timed(base, "POST", "/v1/actions/echo", requests, b'{"order": 42}'))
        print(_timed(base, "GET", "/v1/queues", requests // 2))
        with httpx.Client(base_url=base, timeout=30) as client:
            while client.get("/v1/queues/default").json()["stats"]["depth"] < 10_000:
                for _ in range(500):
                    client.post("/v1/actions/echo", content=b"1")
        print(_timed(base, "GET", "/metrics", requests // 4))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            print("sqlite:")
            run(f"sqlite:///{tmp}/bench.db", args.requests)
    if args.backend in ("postgres", "both"):
        print("postgres:")
        run(fresh_database(PG), args.requests)


if __name__ == "__main__":
    main()
