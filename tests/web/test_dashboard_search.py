"""The message search page and the DLQ page's paging, filters and selection actions in a real
headless Chromium (Playwright, the system browser), and the pages at a phone's 420 px width.
Screenshots go to a temporary folder, or to docs/images/ with ``SLUICE_SCREENSHOTS=1``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice import App, Context, NewMessage, Outcome
from sluice.model import DURATION_BUCKETS, ActionStats, RunSpec
from sluice.store.search import MessageFilter
from sluice.web import create_app
from tests.conftest import FakeClock
from tests.web.conftest import ADMIN, TOKENS, LiveServer
from tests.web.test_dashboard import _browser_path, screenshots

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[App, str]]:
    """Queue ``imports`` with 60 dead letters (40 timeouts, 20 bad rows) and 5 waiting; run
    ``r-etl`` of 3 messages on queue ``etl``, one of them failed once (retried, waiting)."""
    app = App(f"sqlite:///{tmp_path}/search.db")
    app.queue("imports", max_receives=1)
    app.queue("etl", max_receives=5)

    @app.action(queue="imports")
    def load(body: object, ctx: Context) -> None:
        pass

    store = app.store
    store.enqueue([NewMessage("imports", {"row": n}, action="load") for n in range(60)])
    claimed = store.claim(["imports"], 60)
    errors = [f"timeout: partner {n}" if n % 3 else f"bad row {n}" for n in range(60)]
    store.complete(
        [
            Outcome.retry(m.receipt, e, delay=0)
            for m, e in zip(claimed, errors, strict=True)
            if m.receipt
        ]
    )
    store.enqueue([NewMessage("imports", {"row": n}, action="load") for n in range(5)])
    first = [NewMessage("etl", n, action="load") for n in range(3)]
    store.start_run(RunSpec("r-etl", "etl"), first, seal=True)
    [flaky] = store.claim(["etl"], 1)
    assert flaky.receipt is not None
    store.complete([Outcome.retry(flaky.receipt, "flaky upstream: 503", delay=0)])
    with LiveServer(create_app(app, TOKENS)) as live:
        yield app, live.base_url
    app.close()


def test_search_and_dlq_selection_in_a_real_browser(site: tuple[App, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    app, base = site
    errors: list[str] = []
    images = screenshots(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (errors.append(d.message), d.accept()))
        page.goto(f"{base}/")
        page.fill("#token", ADMIN)
        page.click("#token-form button")

        page.goto(f"{base}/messages?state=dead&error_contains=partner")
        expect(page.locator("#found tbody tr")).to_have_count(40)
        expect(page.locator("#page-next")).to_be_disabled()
        page.select_option("#filters select[name=state]", "")
        page.fill("#filters input[name=error_contains]", "")
        page.fill("#filters input[name=older_than]", "soon")
        page.click("#filters button")
        expect(page.locator("#banner")).to_contain_text("Older than: write a number")
        page.fill("#filters input[name=older_than]", "")
        page.click("#filters button")
        expect(page.locator("#page-info")).to_have_text("page 1 · 1 to 50")
        page.click("#page-next")
        expect(page.locator("#page-info")).to_have_text("page 2 · 51 to 68")
        expect(page.locator("#found tbody")).to_contain_text("waiting")
        page.screenshot(path=str(images / "messages.png"), full_page=True)

        page.goto(f"{base}/queues/imports/dlq")
        expect(page.locator("#dlq-count")).to_have_text("60 selected")
        expect(page.locator("#dead tbody tr")).to_have_count(50)
        page.click("#page-next")
        expect(page.locator("#dead tbody tr")).to_have_count(10)
        page.fill("#filters input[name=error_contains]", "timeout")
        page.click("#filters button")
        expect(page.locator("#dlq-count")).to_have_text("40 selected")
        page.screenshot(path=str(images / "dlq-selection.png"))
        page.click("#redrive-selection")
        expect(page.locator("#banner")).to_contain_text("40 redriven")
        assert "Redrive 40 dead letters of imports (error_contains=timeout)?" in errors
        expect(page.locator("#dlq-count")).to_have_text("0 selected")
        assert app.store.count_dead("imports", MessageFilter()) == 20
        page.fill("#filters input[name=error_contains]", "bad row 3")  # 3, 30..39: 30 33 36 39
        page.click("#filters button")
        expect(page.locator("#dlq-count")).to_have_text("5 selected")
        page.click("#purge-selection")
        expect(page.locator("#banner")).to_contain_text("5 purged")
        assert app.store.count_dead("imports", MessageFilter()) == 15
        assert [e.what for e in app.store.audit()] == ["dlq.purge", "dlq.redrive"]

        page.goto(f"{base}/runs/r-etl")  # a retried failure shows before anything is dead
        expect(page.locator("#run-failed")).to_have_text("1")
        failure = page.locator("#failures tbody tr")
        expect(failure).to_contain_text("flaky upstream: 503")
        expect(failure).to_contain_text("waiting")
        expect(page.locator("#stages tbody td").first).to_have_text("1/1")

        narrow = page
        narrow.set_viewport_size({"width": 420, "height": 900})
        for path in (
            "/",
            "/controls",
            "/runs/r-etl",
            "/charts",
            "/queues/imports/dlq",
            "/messages",
        ):
            narrow.goto(f"{base}{path}")
            expect(narrow.locator("main")).not_to_contain_text("loading")
            width = narrow.evaluate("document.documentElement.scrollWidth")
            assert width <= 420, f"{path} is {width} px wide at 420"
            box = narrow.locator("#token-form button").bounding_box()
            assert box is not None and box["x"] + box["width"] <= 420, (path, box)
        narrow.screenshot(path=str(images / "messages-420.png"), full_page=True)
        browser.close()
    assert [e for e in errors if not e.startswith(("Redrive", "Purge"))] == []


def test_charts_page_draws_the_stored_samples(tmp_path: Path) -> None:
    """Ten minutes of samples of a queue and an action (a fake clock moves the minutes)."""
    from playwright.sync_api import expect, sync_playwright

    clock = FakeClock(time.time() - 600)
    app = App(f"sqlite:///{tmp_path}/charts.db", clock=clock)
    app.queue("imports")

    @app.action(queue="imports")
    def load(body: object, ctx: Context) -> None:
        pass

    buckets = [0] * (len(DURATION_BUCKETS) + 1)
    for minute in range(10):
        app.store.enqueue([NewMessage("imports", minute, action="load")] * (minute % 4))
        buckets[2 + minute % 3] += 40 * minute
        stats = ActionStats("load", 600 * minute, 3 * minute, minute // 5, 0.0, list(buckets))
        app.store.put_action_stats("w1", [stats])
        app.store.housekeep()
        clock.advance(60)
    images = screenshots(tmp_path)
    with LiveServer(create_app(app, {})) as live, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1360, "height": 700})
        page.goto(f"{live.base_url}/charts")
        action = page.locator(".chart-row[data-action='load']")
        expect(action.locator("svg path.s0")).to_have_count(3)
        expect(action).to_contain_text("done/s 10")  # 600 more successes a minute
        expect(action).to_contain_text("p99")
        queue = page.locator(".chart-row[data-queue='imports']")
        expect(queue).to_contain_text("depth 13")  # 0+1+2+3+0+1+2+3+0+1 enqueued
        assert "M" in (queue.locator("svg path.s0").first.get_attribute("d") or "")
        page.screenshot(path=str(images / "charts.png"), full_page=True)
        page.click("button[data-window='day']")
        expect(page.locator("button[data-window='day']")).to_have_class("on")
        browser.close()
    app.close()
