"""The ETL story end to end at a small size, browser included: a task posted to the API runs
its three stages, the dashboard's bar reaches 100% live, ``sluice runs watch`` follows it from
another process, every row is loaded once and the run's claim-check blobs are gone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.web.test_dashboard import _browser_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
SLUICE = str(Path(sys.executable).with_name("sluice"))


def test_etl_demo_runs_a_posted_task_while_the_browser_watches(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    db, blobs = tmp_path / "etl.db", tmp_path / "blobs"
    url = f"sqlite:///{db}"
    demo = subprocess.Popen(
        [SLUICE, "demo", "etl", "--store", url, "--blobs", str(blobs), "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert demo.stdout is not None
        base = ""
        for line in demo.stdout:
            if line.startswith("dashboard: "):
                base = line.split()[1].rstrip("/")
                break
        assert base.startswith("http://127.0.0.1:"), "the demo printed no dashboard URL"
        with sync_playwright() as pw:
            # The browser is up before the task is posted: a run that ended before its page
            # opened is charted by stage averages, and the live rows/s line is what is tested.
            browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(base)
            task = {"source": "crm", "rows": 4000}
            answer = httpx.post(f"{base}/v1/actions/extract", json=task)
            assert answer.status_code == 202
            run_id = answer.json()["run_id"]
            page.goto(f"{base}/runs/{run_id}")
            watcher = subprocess.Popen(
                [SLUICE, "--url", url, "runs", "watch", run_id, "--interval", "0.2"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            expect(page.locator("#run-percent")).to_have_text("100%", timeout=90_000)
            expect(page.locator("#run-status")).to_have_text("succeeded")
            expect(page.locator("#stages tbody tr")).to_have_count(3)
            expect(page.locator("#stages tbody")).to_contain_text("transform")
            expect(page.locator("#run-rows")).to_have_text("12,000")  # 4,000 rows x 3 stages
            expect(page.locator("#run-chart svg path.s1")).to_have_count(1)  # rows/s over time
            browser.close()
        out, err = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, err
        assert f"run {run_id} succeeded" in out and "12,000 rows" in out
        state = httpx.get(f"{base}/v1/runs/{run_id}").json()
        assert [s["action"] for s in state["stages"]] == ["extract", "transform", "load"]
        assert all(s["finished"] and s["dead"] == 0 for s in state["stages"])
        assert [s["units"] for s in state["stages"]] == [4000, 4000, 4000]
        with sqlite3.connect(db) as conn:
            loaded, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT n) FROM etl_rows WHERE run_id = ?", (run_id,)
            ).fetchone()
            staged = conn.execute(
                "SELECT count(*) FROM etl_staging WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            [removed] = conn.execute(
                "SELECT blobs_removed FROM etl_runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        assert loaded == distinct == 4000 and staged == 0
        assert removed == 5  # 4,000 records in batches of 800, each above the 16 KiB limit
        assert not list(blobs.glob("*/*.json"))
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
