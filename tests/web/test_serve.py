"""``sluice serve`` through the real console script."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from sluice import App
from tests.cli.test_cli import SLUICE
from tests.web.conftest import ADMIN, READ

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.web.serve_app:app"


def _env(url: str, tokens: str | None = None) -> dict[str, str]:
    env = {**os.environ, "SLUICE_URL": url}
    env.pop("SLUICE_TOKENS", None)
    if tokens is not None:
        env["SLUICE_TOKENS"] = tokens
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(url: str, *args: str, tokens: str | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SLUICE, "serve", TARGET, *args],
        cwd=ROOT,
        env=_env(url, tokens),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("sluice serve did not become healthy")


def test_serve_without_tokens_binds_loopback_only(url: str) -> None:
    refused = subprocess.run(
        [SLUICE, "serve", TARGET, "--host", "0.0.0.0"],
        cwd=ROOT,
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert "refusing to serve on 0.0.0.0 without tokens" in refused.stderr
    port = _free_port()
    process = _serve(url, "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, process)
        sent = httpx.post(f"{base}/v1/actions/echo", json={"n": 1}, timeout=10)
        assert sent.status_code == 202
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    # A clean shutdown on SIGTERM is a normal end: status 0 (uvicorn re-raises the signal).
    assert process.returncode == 0, err
    assert "Finished server process" in err
    assert "the API is open without tokens, so it is bound to 127.0.0.1 only" in err


def test_serve_with_tokens(url: str) -> None:
    port = _free_port()
    process = _serve(url, "--port", str(port), tokens=f"admin:{ADMIN}, read:{READ}")
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, process)
        assert httpx.get(f"{base}/v1/queues", timeout=10).status_code == 401
        read = {"Authorization": f"Bearer {READ}"}
        assert httpx.get(f"{base}/v1/queues", headers=read, timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert "open without tokens" not in err


def test_serve_names_a_bad_token_entry(tmp_path: Path) -> None:
    bad = subprocess.run(
        [SLUICE, "serve", TARGET],
        cwd=ROOT,
        env=_env(f"sqlite:///{tmp_path}/s.db", "root:x"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert "SLUICE_TOKENS entry 1 must look like 'admin:TOKEN'" in bad.stderr


def test_sigterm_exits_0_without_a_traceback(url: str) -> None:
    port = _free_port()
    process = _serve(url, "--port", str(port))
    _wait_healthy(f"http://127.0.0.1:{port}", process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_a_token_written_before_its_scope_is_never_printed(tmp_path: Path) -> None:
    secret = "supersecretpassword1"
    for tokens in (f"{secret}:admin", f"admin:ok-token-0123456789,{secret}:read", secret):
        bad = subprocess.run(
            [SLUICE, "serve", TARGET],
            cwd=ROOT,
            env=_env(f"sqlite:///{tmp_path}/s.db", tokens),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert bad.returncode == 1
        assert "SLUICE_TOKENS entry" in bad.stderr and "must look like 'admin:TOKEN'" in bad.stderr
        for part in ("supersecret", "password", "ecretpa", "ok-token"):
            assert part not in bad.stdout + bad.stderr, bad.stderr


def test_demo_etl_follows_the_same_serving_rule(tmp_path: Path) -> None:
    """Every command that serves the API refuses an open one off loopback (issue 12 item 5)."""
    refused = subprocess.run(
        [
            SLUICE,
            "demo",
            "etl",
            "--store",
            f"sqlite:///{tmp_path}/etl.db",
            "--blobs",
            str(tmp_path / "blobs"),
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        cwd=tmp_path,
        env=_env(f"sqlite:///{tmp_path}/unused.db"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refusing to serve on 0.0.0.0 without tokens" in refused.stderr
    assert "SLUICE_TOKENS=admin:TOKEN" in refused.stderr
    assert not (tmp_path / "etl.db").exists(), "nothing may start before the refusal"


def _workers_of(parent: int) -> list[int]:
    """The live worker processes ``sluice serve --workers`` spawned (not multiprocessing's
    resource tracker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = stat.read_text().rpartition(")")[2].split()[1]
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == str(parent) and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return sorted(found)


def _until(check: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.1)


def test_serve_with_workers_runs_that_many_processes_and_replaces_a_killed_one(url: str) -> None:
    port = _free_port()
    process = _serve(
        url, "--port", str(port), "--workers", "2", tokens=f"admin:{ADMIN}, read:{READ}"
    )
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {ADMIN}"}
    try:
        _wait_healthy(base, process)
        _until(lambda: len(_workers_of(process.pid)) == 2)
        first = _workers_of(process.pid)
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        _until(lambda: len(set(_workers_of(process.pid)) - {first[0]}) == 2)
        assert first[0] not in _workers_of(process.pid) and len(_workers_of(process.pid)) == 2
        for n in range(20):  # a new connection each: the processes share the port
            with httpx.Client(base_url=base, timeout=10) as http:
                assert http.get("/v1/queues").status_code == 401  # every process has the tokens
                assert (
                    http.post("/v1/actions/echo", json={"n": n}, headers=admin).status_code == 202
                )
        with App(url) as check:
            assert check.store.stats(["default"])[0].depth == 20
        workers = _workers_of(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    _until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 10)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
