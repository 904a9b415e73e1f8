"""A hostile run id posted to the ETL demo's API (``{"run": ".."}`` to ``etl_done``) is
dead-lettered with its reason: the blob directory's parent, store included, stays intact."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sluice import App

pytestmark = pytest.mark.timeout(120)
SLUICE = str(Path(sys.executable).with_name("sluice"))


def _dead_letters(base: str, deadline: float) -> list[dict[str, object]]:
    """The ``etl`` queue's dead letters, once there are two (or the deadline passes)."""
    while True:
        items: list[dict[str, object]] = httpx.get(f"{base}/v1/queues/etl/dlq").json()["messages"]
        if len(items) >= 2 or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_a_hostile_run_id_through_the_api_removes_nothing(url: str, tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    keep = tmp_path / "keep.txt"
    keep.write_text("still here")
    with App(url) as setup:  # a finished run named "..", so the blob folder check is reached
        setup.start_run("hostile", id="..").seal()
        assert setup.store.run_state("..").status == "succeeded"
    demo = subprocess.Popen(
        [
            SLUICE,
            "demo",
            "etl",
            "--store",
            url,
            "--blobs",
            str(blobs),
            "--port",
            "0",
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        base = next(
            (line.split()[1].rstrip("/") for line in demo.stdout if line.startswith("dashboard: ")),
            "",
        )
        assert base.startswith("http://127.0.0.1:"), "the demo printed no dashboard URL"
        for run_id in ("..", "/"):
            answer = httpx.post(f"{base}/v1/actions/etl_done", json={"run": run_id})
            assert answer.status_code == 202, answer.text
        dead = _dead_letters(base, time.monotonic() + 60)
        reasons = sorted(str(item["last_error"]) for item in dead)
        assert len(reasons) == 2, dead
        assert any("run id '..' cannot name a blob folder" in r for r in reasons), reasons
        assert any("no run has the id '/'" in r for r in reasons), reasons
        assert keep.read_text() == "still here"
        if url.startswith("sqlite:"):
            assert (tmp_path / "sluice.db").is_file()
    finally:
        demo.send_signal(signal.SIGINT)  # the demo stops its workers on the way out
        demo.wait(timeout=60)
