"""The Controls page in a real headless Chromium (Playwright, the system browser): a read
token's click is refused and changes nothing; an admin's pauses a queue and a schedule,
disables a rule, overrides and resets a limit, and each shows in the audit panel. The
screenshot goes to a temporary folder, or to docs/images/ with ``SLUICE_SCREENSHOTS=1``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice import App, Context
from sluice.web import create_app
from tests.web.conftest import ADMIN, READ, TOKENS, LiveServer
from tests.web.test_dashboard import README_IMAGES, _browser_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[App, str]]:
    app = App(f"sqlite:///{tmp_path}/controls.db")
    app.queue("orders")
    app.queue("emails")

    @app.action(queue="orders", concurrency=4, rate="20/s")
    def ship(body: object, ctx: Context) -> None:
        pass

    @app.action(queue="emails")
    def mail(body: object, ctx: Context) -> None:
        pass

    app.schedule("0 3 * * *", "mail", name="nightly-digest")
    app.rule("order-paid", {"detail-type": ["paid"]}, "ship")
    app.store.enqueue([app.new_message("ship", {"n": n}) for n in range(12)])
    with LiveServer(create_app(app, TOKENS)) as live:
        yield app, live.base_url
    app.close()


def test_controls_page_buttons_in_a_real_browser(site: tuple[App, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    app, base = site
    images = README_IMAGES if os.environ.get("SLUICE_SCREENSHOTS") == "1" else tmp_path
    images.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        page.goto(f"{base}/controls")
        page.fill("#token", READ)
        page.click("#token-form button")
        orders = page.locator("#control-queues tr[data-queue='orders']")
        orders.locator("button").click()
        expect(page.locator("#banner")).to_contain_text("admin token")
        assert app.store.stopped("queue") == set() and app.store.audit() == []

        page.fill("#token", ADMIN)
        page.click("#token-form button")
        orders.locator("button", has_text="Pause").click()
        expect(orders).to_contain_text("paused")
        assert app.store.stopped("queue") == {"orders"}

        ship = page.locator("#control-limits tr[data-action='ship']")
        ship.locator("input.concurrency").fill("2")
        ship.locator("button", has_text="Set").click()
        expect(page.locator("#banner")).to_contain_text("Limits of ship set")
        assert app.store.limit_infos()[1].override_concurrency == 2
        ship = page.locator("#control-limits tr[data-action='ship']")
        ship.locator("input.rate").fill("fast")
        ship.locator("button", has_text="Set").click()
        expect(page.locator("#banner")).to_contain_text("invalid rate 'fast'")
        assert app.store.limit_infos()[1].override_rate is None

        expect(page.locator("tr[data-rule='order-paid']")).to_contain_text(
            '→ ship · {"detail-type":["paid"]}'
        )
        expect(page.locator("tr[data-schedule='nightly-digest']")).to_contain_text(
            "0 3 * * * → mail"
        )
        page.locator("tr[data-schedule='nightly-digest'] button").click()
        expect(page.locator("tr[data-schedule='nightly-digest']")).to_contain_text("paused")
        page.locator("tr[data-rule='order-paid'] button").click()
        expect(page.locator("tr[data-rule='order-paid']")).to_contain_text("disabled")
        assert app.store.paused_schedules() == {"nightly-digest"}
        expect(page.locator("#control-audit tbody tr")).to_have_count(4)
        expect(page.locator("#control-audit")).to_contain_text("admin-")
        page.screenshot(path=str(images / "controls.png"), full_page=True)

        page.locator("#control-limits tr[data-action='ship'] button", has_text="Reset").click()
        expect(page.locator("#banner")).to_contain_text("Limits of ship reset")
        assert not app.store.limit_infos()[1].overridden
        browser.close()
