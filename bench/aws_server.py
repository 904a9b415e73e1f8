"""A real ``sluice serve`` process (``bench.api_app:app`` on ``url``) for the AWS scripts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(base: str, path: str = "/healthz", seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(base + path, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base} did not start in {seconds} s") from None
            time.sleep(0.1)


@contextlib.contextmanager
def sluice_server(url: str, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``url``'s store on a free loopback port; yield the base URL."""
    with sluice_process(url, extra_env) as (base, _):
        yield base


@contextlib.contextmanager
def sluice_process(
    url: str, extra_env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[tuple[str, int]]:
    """As :func:`sluice_server` (``sluice serve --workers workers``); yield the base URL and
    the server's process id."""
    port = free_port()
    env = {**os.environ, "SLUICE_URL": url, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    for name in ("SLUICE_TOKENS", "SLUICE_AWS_KEYS"):
        env.pop(name, None)
    env.update(extra_env or {})
    command = [sys.executable, "-m", "sluice.cli", "serve", "bench.api_app:app"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


@contextlib.contextmanager
def stub_server() -> Iterator[str]:
    """``bench/sqs_stub.py``: an SQS endpoint that stores nothing and answers at once (the
    ceiling of the boto3 clients on this machine)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "sqs_stub.py"), str(port)],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process and its live children (the worker processes of
    ``sluice serve --workers N``) have used (Linux ``/proc``)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def moto_server(python: str) -> Iterator[str]:
    """moto's own server (``moto_server`` of the venv of ``python``) on a free port."""
    port = free_port()
    server = subprocess.Popen(
        [python, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, "/moto-api/")
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
