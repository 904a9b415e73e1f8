"""The dashboard: server-rendered page shells plus a small script that reads the JSON API.

No build step and no CDN: the CSS and JavaScript are files of this package. The pages carry no
data themselves; the script fetches it from ``/v1`` with the token the user pasted (kept in the
browser's localStorage), and follows runs over the progress stream.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · sluice</title>
<link rel="stylesheet" href="/ui/static/dashboard.css">
<link rel="icon" type="image/svg+xml" href="/ui/static/favicon.svg">
</head>
<body data-page="{page}" {attrs}>
<header>
  <a class="brand" href="/">sluice</a>
  <nav><a href="/">Overview</a> <a href="/messages">Messages</a> <a href="/charts">Charts</a>
    <a href="/controls">Controls</a></nav>
  <form id="token-form" autocomplete="off">
    <input id="token" type="password" placeholder="API token (if the server needs one)">
    <button type="submit">Use token</button>
  </form>
</header>
<div id="banner" hidden></div>
<main>
{body}
</main>
<script src="/ui/static/dashboard.js"></script>
<script src="/ui/static/controls.js"></script>
<script src="/ui/static/search.js"></script>
<script src="/ui/static/charts.js"></script>
</body>
</html>
"""

OVERVIEW = """
<section>
  <h2>Runs</h2>
  <table id="runs" class="grid">
    <thead><tr><th>Run</th><th>Status</th><th class="wide">Progress</th><th>Rate</th>
      <th>ETA</th><th>Failed</th><th>Dead</th><th>Stage</th></tr></thead>
    <tbody><tr><td colspan="8" class="muted">loading…</td></tr></tbody>
  </table>
</section>
<section>
  <h2>Queues</h2>
  <table id="queues" class="grid">
    <thead><tr><th>Queue</th><th>Type</th><th>Depth</th><th>In flight</th><th>Delayed</th>
      <th>Oldest</th><th>DLQ</th><th>Throughput</th></tr></thead>
    <tbody><tr><td colspan="8" class="muted">loading…</td></tr></tbody>
  </table>
</section>
<section>
  <h2>Actions</h2>
  <table id="actions" class="grid">
    <thead><tr><th>Action</th><th>Queue</th><th>Batch</th><th>Concurrency</th>
      <th>Effective</th><th>Rate</th><th>Timeout</th></tr></thead>
    <tbody><tr><td colspan="7" class="muted">loading…</td></tr></tbody>
  </table>
</section>
"""

RUN = """
<section>
  <h2>Run <code id="run-id"></code> <span id="run-name" class="muted"></span>
    <span id="run-status" class="status"></span></h2>
  <div class="bar big"><div id="run-bar" class="fill"></div>
    <span id="run-percent" class="label">0%</span></div>
  <dl class="figures">
    <div><dt>Done</dt><dd id="run-done">&ndash;</dd></div>
    <div><dt>Succeeded</dt><dd id="run-succeeded">&ndash;</dd></div>
    <div><dt>Failed attempts</dt><dd id="run-failed">&ndash;</dd></div>
    <div><dt>Dead</dt><dd id="run-dead">&ndash;</dd></div>
    <div><dt>Rows</dt><dd id="run-rows">&ndash;</dd></div>
    <div><dt>Rate</dt><dd id="run-rate">&ndash;</dd></div>
    <div><dt>ETA</dt><dd id="run-eta">&ndash;</dd></div>
  </dl>
  <div id="run-chart"></div>
  <button id="run-cancel" class="danger" hidden>Cancel run</button>
</section>
<section>
  <h2>Stages</h2>
  <table id="stages" class="grid">
    <thead><tr><th>#</th><th>Action</th><th class="wide">Progress</th><th>Succeeded</th>
      <th>Failed</th><th>Dead</th><th>Rows</th><th>State</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section>
  <h2>Recent failures <a id="failures-all" class="muted" href="/messages">(search)</a></h2>
  <table id="failures" class="grid">
    <thead><tr><th>Message</th><th>Action</th><th>State</th><th>Receives</th>
      <th>Last error</th></tr></thead>
    <tbody><tr><td colspan="5" class="muted">none</td></tr></tbody>
  </table>
</section>
"""

FILTERS = """
<form id="filters" class="filters" autocomplete="off">
  <label>Id <input name="id" inputmode="numeric" size="8"></label>
  <label>Dedup id <input name="dedup_id" size="12"></label>
  {queue}
  <label>Action <input name="action" size="12"></label>
  <label>Run <input name="run" size="14"></label>
  {state}
  <label>Error contains <input name="error_contains" size="16"></label>
  <label>Older than <input name="older_than" size="6" placeholder="5m"></label>
  <label>Newer than <input name="newer_than" size="6" placeholder="1d"></label>
  <button type="submit">Search</button>
</form>
"""
"""The search's filters, for the message search and the DLQ page (``static/search.js``)."""

PAGER = """
<div class="pager"><button id="page-first" disabled>First</button>
  <button id="page-next" disabled>Next page</button>
  <span id="page-info" class="muted"></span></div>
"""

STATE = """<label>State <select name="state"><option value="">any</option>
    <option value="waiting">waiting</option><option value="delayed">delayed</option>
    <option value="in_flight">in flight</option><option value="dead">dead</option>
  </select></label>"""

MESSAGES = f"""
<section>
  <h2>Messages</h2>
  {FILTERS.format(queue='<label>Queue <input name="queue" size="12"></label>', state=STATE)}
  <div class="scroll"><table id="found" class="grid">
    <thead><tr><th>Message</th><th>Queue</th><th>Action</th><th>State</th><th>Receives</th>
      <th>Age</th><th>Run</th><th>Last error</th></tr></thead>
    <tbody><tr><td colspan="8" class="muted">loading…</td></tr></tbody>
  </table></div>
  {PAGER}
</section>
"""

DLQ = f"""
<section>
  <h2>Dead letters of <code id="dlq-queue"></code></h2>
  {FILTERS.format(queue="", state="")}
  <div class="toolbar">
    <button id="redrive-selection">Redrive selection</button>
    <button id="purge-selection" class="danger">Purge selection</button>
    <span id="dlq-count" class="muted"></span>
  </div>
  <div class="scroll"><table id="dead" class="grid">
    <thead><tr><th>Message</th><th>Action</th><th>Receives</th><th>Reason</th>
      <th>Last error</th><th>Body</th><th></th></tr></thead>
    <tbody><tr><td colspan="7" class="muted">loading…</td></tr></tbody>
  </table></div>
  {PAGER}
</section>
"""


CHARTS = """
<section>
  <h2>Charts <span class="muted">per queue and action, from the samples housekeeping takes each
    minute</span></h2>
  <div class="toolbar"><button data-window="hour">Last hour</button>
    <button data-window="day">Last day</button></div>
</section>
<section><h2>Queues</h2><div id="chart-queues"><p class="muted">loading…</p></div></section>
<section><h2>Actions</h2><div id="chart-actions"><p class="muted">loading…</p></div></section>
"""

CONTROLS = """
<section>
  <h2>Queues</h2>
  <table id="control-queues" class="grid">
    <thead><tr><th>Queue</th><th>State</th><th>Depth</th><th>In flight</th><th></th></tr></thead>
    <tbody><tr><td colspan="5" class="muted">loading…</td></tr></tbody>
  </table>
</section>
<section>
  <h2>Action limits</h2>
  <table id="control-limits" class="grid">
    <thead><tr><th>Action</th><th>Declared</th><th>Override concurrency</th>
      <th>Override rate</th><th>Adaptive</th><th></th></tr></thead>
    <tbody><tr><td colspan="6" class="muted">loading…</td></tr></tbody>
  </table>
</section>
<section>
  <h2>Schedules and rules</h2>
  <table id="control-switches" class="grid">
    <thead><tr><th>Kind</th><th>Name</th><th>State</th><th></th></tr></thead>
    <tbody><tr><td colspan="4" class="muted">loading…</td></tr></tbody>
  </table>
</section>
<section>
  <h2>Audit log</h2>
  <table id="control-audit" class="grid">
    <thead><tr><th>When</th><th>Who</th><th>What</th><th>Target</th><th>Old</th><th>New</th>
      </tr></thead>
    <tbody><tr><td colspan="6" class="muted">loading…</td></tr></tbody>
  </table>
</section>
"""


def _page(title: str, page: str, body: str, **attrs: str) -> HTMLResponse:
    rendered = " ".join(f'data-{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())
    return HTMLResponse(PAGE.format(title=html.escape(title), page=page, attrs=rendered, body=body))


async def overview(request: Request) -> Response:
    return _page("Overview", "overview", OVERVIEW)


async def run(request: Request) -> Response:
    run_id = request.path_params["id"]
    return _page(f"Run {run_id}", "run", RUN, run=run_id)


async def dead_letters(request: Request) -> Response:
    queue = request.path_params["name"]
    return _page(f"DLQ {queue}", "dlq", DLQ, queue=queue)


async def messages(request: Request) -> Response:
    return _page("Messages", "messages", MESSAGES)


async def charts(request: Request) -> Response:
    return _page("Charts", "charts", CHARTS)


async def controls(request: Request) -> Response:
    return _page("Controls", "controls", CONTROLS)


def routes() -> list[BaseRoute]:
    """The dashboard's pages and static files."""
    return [
        Route("/", overview, methods=["GET"]),
        Route("/runs/{id}", run, methods=["GET"]),
        Route("/queues/{name}/dlq", dead_letters, methods=["GET"]),
        Route("/messages", messages, methods=["GET"]),
        Route("/charts", charts, methods=["GET"]),
        Route("/controls", controls, methods=["GET"]),
        Mount("/ui/static", StaticFiles(directory=STATIC), name="static"),
    ]
