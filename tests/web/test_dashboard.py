"""The dashboard in a real headless Chromium (Playwright, the system browser): a run started
through the API fills its bar without a reload; a dead letter redriven from the DLQ page is
processed. Screenshots of each page go to a temporary folder, or to docs/images/ (the README's)
with ``SLUICE_SCREENSHOTS=1``, so an ordinary run leaves the work tree as it was."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sluice import App, Context
from sluice.web import create_app
from sluice.worker.runtime import Worker
from tests.web.conftest import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
CHROMIUM = "/usr/bin/chromium"
README_IMAGES = Path(__file__).parent.parent.parent / "docs" / "images"
HEALED = threading.Event()


def _browser_path() -> str:
    if shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"no system Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + "; CI=true: the browser test may not skip")
    pytest.skip(message)


def screenshots(tmp_path: Path) -> Path:
    """Where a browser test saves its screenshots: docs/images/ with SLUICE_SCREENSHOTS=1."""
    images = README_IMAGES if os.environ.get("SLUICE_SCREENSHOTS") == "1" else tmp_path
    images.mkdir(parents=True, exist_ok=True)
    return images


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[App, str]]:
    """An app with a fan-out run and a fragile action, its API + dashboard, and a worker."""
    app = App(f"sqlite:///{tmp_path}/dash.db")
    app.queue("etl", max_receives=1)
    app.queue("imports", max_receives=1)

    @app.action(queue="etl")
    def extract(body: dict[str, int], ctx: Context) -> None:
        for n in range(body["parts"]):
            ctx.enqueue("transform", n, run=ctx.run)

    @app.action(queue="etl", concurrency=2)
    def transform(body: int, ctx: Context) -> None:
        time.sleep(0.05)

    @app.action(queue="imports")
    def fragile(body: dict[str, str], ctx: Context) -> None:
        if not HEALED.is_set():
            raise ConnectionError(f"feed {body['feed']} unreachable")

    worker = Worker(app, concurrency=4, poll=0.1)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    with LiveServer(create_app(app, {}, poll_interval=0.1)) as live:
        yield app, live.base_url
    worker.stop()
    thread.join(30)
    app.close()


def test_live_run_bar_and_dlq_redrive_in_a_real_browser(
    site: tuple[App, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    images = README_IMAGES if os.environ.get("SLUICE_SCREENSHOTS") == "1" else tmp_path

    app, base = site
    images.mkdir(parents=True, exist_ok=True)
    HEALED.clear()
    with httpx.Client(base_url=base, timeout=10) as api, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        # A dead letter to browse later.
        api.post("/v1/actions/fragile", json={"feed": "partner-prices"})
        # A run through the API: one extract fanning out into 40 slow transforms.
        answer = api.post("/v1/actions/extract", params={"run": "new"}, json={"parts": 40})
        assert answer.status_code == 202
        run_id = answer.json()["run_id"]
        page.goto(f"{base}/runs/{run_id}")
        expect(page.locator("#run-id")).to_have_text(run_id)
        expect(page.locator("#run-percent")).not_to_have_text("0%", timeout=20_000)
        page.screenshot(path=str(images / "run-in-progress.png"))
        # The bar reaches 100% from the stream alone: the page is never reloaded.
        expect(page.locator("#run-percent")).to_have_text("100%", timeout=60_000)
        expect(page.locator("#run-status")).to_have_text("succeeded")
        expect(page.locator("#stages tbody tr")).to_have_count(1)
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
        page.screenshot(path=str(images / "run.png"))

        page.goto(f"{base}/")
        expect(page.locator("#runs tbody tr").first).to_contain_text("succeeded")
        expect(page.locator("#queues tbody")).to_contain_text("imports")
        expect(page.locator("#actions tbody")).to_contain_text("transform")
        page.screenshot(path=str(images / "overview.png"), full_page=True)

        deadline = time.monotonic() + 20
        while not app.store.dlq_list("imports"):
            assert time.monotonic() < deadline, "the fragile message never dead-lettered"
            time.sleep(0.1)
        [dead] = app.store.dlq_list("imports")
        page.goto(f"{base}/queues/imports/dlq")
        row = page.locator(f"#dead tr[data-id='{dead.id}']")
        expect(row).to_contain_text("unreachable")
        expect(row.locator("pre.body")).to_contain_text("partner-prices")
        page.screenshot(path=str(images / "dlq.png"))
        HEALED.set()
        row.locator("button.redrive").click()
        expect(page.locator("#banner")).to_contain_text(f"#{dead.id} redriven")
        expect(page.locator("#dead tbody")).to_contain_text("no dead letters", timeout=10_000)
        deadline = time.monotonic() + 20
        while app.store.get([dead.id]):  # processed: acked messages are deleted
            assert time.monotonic() < deadline, "the redriven message was not processed"
            time.sleep(0.1)
        assert app.store.stats(["imports"])[0].dlq_depth == 0
        browser.close()
