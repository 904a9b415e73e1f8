"""The dashboard in a real headless Chromium (issue 12): a cancelled run shows as cancelled with
its real counts (items 24), a page of another origin cannot enqueue through the open API with a
no-cors fetch (item 4), and the dashboard works under its Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sluice import App, Outcome
from sluice.web import create_app
from tests.web.conftest import LiveServer
from tests.web.test_dashboard import _browser_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[App, str]]:
    app = App(f"sqlite:///{tmp_path}/dash.db")
    app.queue("default")

    @app.action()
    def work(body: int, ctx: object) -> None:
        pass

    with LiveServer(create_app(app, {}, poll_interval=0.1)) as live:
        yield app, live.base_url
    app.close()


def _cancelled_run(app: App) -> str:
    """A run of 5 messages: 2 succeeded, then cancelled (3 dead-lettered as cancelled)."""
    run = app.start_run("batch")
    for n in range(5):
        app.enqueue("work", n, run=run)
    claimed = app.store.claim(["default"], 2)
    app.store.complete([Outcome.ack(m.receipt) for m in claimed if m.receipt])
    assert app.cancel_run(run.id) == 3
    state = app.run_state(run.id)
    assert (state.status, state.succeeded, state.dead, state.total) == ("cancelled", 2, 3, 5)
    return run.id


def test_a_cancelled_run_never_looks_finished(site: tuple[App, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    app, base = site
    run_id = _cancelled_run(app)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page()
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else 0)
        page.goto(f"{base}/runs/{run_id}")
        expect(page.locator("#run-status")).to_have_text("cancelled")
        expect(page.locator("#run-done")).to_have_text("cancelled: 2 of 5 succeeded")
        expect(page.locator("#run-percent")).to_have_text("40% · cancelled")
        expect(page.locator("#run-dead")).to_have_text("3")
        bar = page.locator("#run-bar")
        expect(bar).to_have_class("fill cancelled")
        assert bar.evaluate("el => el.style.width") == "40%"
        stage = page.locator("#stages tbody tr").first
        expect(stage).to_contain_text("cancelled · 2 / 5 succeeded")
        page.goto(f"{base}/")
        row = page.locator(f"#runs tr[data-run='{run_id}']")
        expect(row).to_contain_text("cancelled · 2 / 5 succeeded")
        assert row.locator(".fill").evaluate("el => el.style.width") == "40%"
        assert "100%" not in row.inner_text()
        assert refused == [], refused  # bars are painted from script: no inline style needed
        browser.close()


def _attacker(target: str) -> Starlette:
    """A page of another origin that posts to ``target`` as a drive-by would."""
    script = f"""<!doctype html><title>loading</title><script>
      Promise.allSettled([
        fetch("{target}/v1/actions/work", {{method: "POST", mode: "no-cors",
          headers: {{"Content-Type": "text/plain"}}, body: "1"}}),
        fetch("{target}/v1/queues/default/dlq/redrive", {{method: "POST", mode: "no-cors"}}),
      ]).then(() => {{ document.title = "sent"; }});
    </script>"""

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(script)

    return Starlette(routes=[Route("/", page)])


def test_a_page_of_another_origin_cannot_post_to_the_open_api(site: tuple[App, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    app, base = site
    app.enqueue("work", 0)
    [dead] = app.store.claim(["default"], 1)
    assert dead.receipt is not None
    app.store.complete([Outcome.dead(dead.receipt, "broken")])
    with LiveServer(_attacker(base)) as evil, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(evil.base_url.replace("127.0.0.1", "localhost") + "/")
        expect(page).to_have_title("sent", timeout=20_000)
        browser.close()
    [stats] = app.store.stats(["default"])
    assert stats.depth == 0, "a cross-origin page enqueued a message"
    assert stats.dlq_depth == 1, "a cross-origin page redrove the DLQ"
