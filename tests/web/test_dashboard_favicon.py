"""The dashboard in a real headless Chromium: no page asks for a file the server lacks (the
favicon was a 404 on every page); a token the server refuses is called refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice import App, NewMessage, Outcome
from sluice.store.search import MessageFilter
from sluice.web import create_app
from tests.web.conftest import READ, TOKENS, LiveServer
from tests.web.test_dashboard import _browser_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    app = App(f"sqlite:///{tmp_path}/fav.db")
    app.queue("imports")
    with LiveServer(create_app(app, {}, poll_interval=0.1)) as live:
        yield live.base_url
    app.close()


def test_no_page_gets_a_404_not_even_for_its_icon(base: str) -> None:
    from playwright.sync_api import sync_playwright

    missing: list[str] = []
    icons: list[int] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page()
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        page.on("response", lambda r: icons.append(r.status) if "favicon" in r.url else None)
        for path in ("/", "/queues/imports/dlq"):
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
        browser.close()
    assert missing == []
    assert icons and set(icons) <= {200, 304}


def test_a_refused_token_is_called_refused(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    app = App(f"sqlite:///{tmp_path}/tok.db")
    with (
        LiveServer(create_app(app, TOKENS, poll_interval=0.1)) as live,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{live.base_url}/")
        expect(page.locator("#banner")).to_have_text(
            "This server needs an API token: paste one above."
        )
        page.fill("#token", "not-a-token-of-this-server")
        page.click("#token-form button")
        page.reload()
        expect(page.locator("#banner")).to_have_text(
            "This token was refused: paste a valid one above."
        )
        browser.close()
    app.close()


def test_unknown_queue_dlq_page_and_a_read_token_pressing_redrive(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    app = App(f"sqlite:///{tmp_path}/dlq.db")
    app.queue("imports")
    errors: list[str] = []
    with (
        LiveServer(create_app(app, TOKENS, poll_interval=0.1)) as live,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live.base_url}/")
        page.fill("#token", READ)
        page.click("#token-form button")
        page.goto(f"{live.base_url}/queues/nope/dlq")
        expect(page.locator("#dlq-count")).to_have_text("no such queue")
        expect(page.locator("#redrive-selection")).to_be_disabled()
        expect(page.locator("#purge-selection")).to_be_disabled()
        page.goto(f"{live.base_url}/queues/imports/dlq")
        expect(page.locator("#dead tbody")).to_contain_text("no dead letters")
        page.click("#redrive-selection")
        expect(page.locator("#banner")).to_contain_text("selects no dead letters")
        app.store.enqueue([NewMessage("imports", "x")])
        [claimed] = app.store.claim(["imports"], 1)
        assert claimed.receipt is not None
        app.store.complete([Outcome.dead(claimed.receipt, "broken")])
        page.on("dialog", lambda d: d.accept())
        expect(page.locator("#dlq-count")).to_have_text("1 selected", timeout=10_000)
        page.click("#redrive-selection")
        expect(page.locator("#banner")).to_contain_text("needs an admin token")
        assert app.store.count_dead("imports", MessageFilter()) == 1
        browser.close()
    app.close()
    assert errors == []
