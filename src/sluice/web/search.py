"""``GET /v1/messages`` (the store's one search query), ``/v1/schedules``, ``/v1/rules``,
``/v1/events`` and ``/v1/charts``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from sluice.charts import chart_view, window
from sluice.sources.events import Rule
from sluice.store import Store
from sluice.store.search import MAX_PAGE, MessageFilter
from sluice.views import event_json, rule_json, schedule_json
from sluice.web.http import ApiError, int_param, json_response, seconds_param, text_param
from sluice.web.views import message_view

QUERY = (
    "id",
    "dedup_id",
    "queue",
    "action",
    "run",
    "state",
    "error_contains",
    "errored",
    "older_than",
    "newer_than",
    "limit",
    "cursor",
)
"""The query parameters ``GET /v1/messages`` takes (``id`` repeatable)."""
DAY_LIMIT = 10 * 365 * 86400.0


def _age(params: QueryParams, name: str) -> float | None:
    value = params.get(name)
    return None if value is None else seconds_param(value, name, maximum=DAY_LIMIT)


def message_filter(params: QueryParams) -> MessageFilter:
    """The search a request's query parameters ask for (400 on a bad one)."""
    ids = [int_param(v, "id", 0, minimum=1) for v in params.getlist("id")]
    fields: dict[str, Any] = {
        key: text_param(params.get(name), name)
        for key, name in (
            ("dedup_id", "dedup_id"),
            ("queue", "queue"),
            ("action", "action"),
            ("run_id", "run"),
            ("state", "state"),
            ("error_contains", "error_contains"),
        )
    }
    errored = params.get("errored")
    if errored not in (None, "true", "false"):
        raise ApiError(400, "invalid_parameter", "errored must be true or false")
    return MessageFilter(
        ids=ids or None,
        errored=errored == "true" or None,
        min_age=_age(params, "older_than"),
        max_age=_age(params, "newer_than"),
        **fields,
    )


def search_handler(store: Callable[[], Store]) -> Callable[[Request], Awaitable[Response]]:
    """The handler of ``GET /v1/messages`` over the app's store."""

    async def search(request: Request) -> Response:
        params = request.query_params
        where = message_filter(params)
        limit = int_param(params.get("limit"), "limit", 50, minimum=1, maximum=MAX_PAGE)
        cursor = params.get("cursor")
        if cursor is not None and len(cursor) > 40:
            raise ApiError(400, "invalid_parameter", "cursor is not one this server gave")
        page = await run_in_threadpool(store().search_messages, where, limit, cursor)
        now = store().clock()
        found = [{**message_view(f.message, now), "state": f.state} for f in page.found]
        return json_response({"messages": found, "cursor": page.cursor})

    return search


def schedules_handler(store: Callable[[], Store]) -> Callable[[Request], Awaitable[Response]]:
    """The handler of ``GET /v1/schedules``: every stored schedule."""

    async def schedules(request: Request) -> Response:
        stored = await run_in_threadpool(store().schedules)
        paused = await run_in_threadpool(store().paused_schedules)
        return json_response({"schedules": [schedule_json(s, paused) for s in stored]})

    return schedules


def rules_handler(
    store: Callable[[], Store], declared: Callable[[], Mapping[str, Rule]]
) -> Callable[[Request], Awaitable[Response]]:
    """The handler of ``GET /v1/rules``: every rule declared in the store, with the pattern and
    action of those this server's app declares."""

    async def rules(request: Request) -> Response:
        names = await run_in_threadpool(store().declared, "rule")
        disabled = await run_in_threadpool(store().stopped, "rule")
        known = declared()
        return json_response({"rules": [rule_json(n, disabled, known.get(n)) for n in names]})

    return rules


def events_handler(store: Callable[[], Store]) -> Callable[[Request], Awaitable[Response]]:
    """The handler of ``GET /v1/events?since=SECONDS&limit=N``: recent archived events."""

    async def events(request: Request) -> Response:
        params = request.query_params
        since = _age(params, "since")
        limit = int_param(params.get("limit"), "limit", 100, minimum=1, maximum=MAX_PAGE)
        now = store().clock()
        start = now - (3600.0 if since is None else since)
        found = await run_in_threadpool(store().events, start, now + 1, limit)
        return json_response({"events": [event_json(at, e) for at, e in found]})

    return events


def charts_handler(
    store: Callable[[], Store], queue_of: Callable[[], Mapping[str, str]]
) -> Callable[[Request], Awaitable[Response]]:
    """The handler of ``GET /v1/charts?window=hour|day``: every queue's and action's chart
    points from the store's minute samples (``queue_of``: each action's queue)."""

    async def charts(request: Request) -> Response:
        name = request.query_params.get("window")
        span, step = window(name)
        since = store().clock() - span - step  # one more sample: the first step's rates
        queues = await run_in_threadpool(store().rollups, "queue", since)
        actions = await run_in_threadpool(store().rollups, "action", since)
        return json_response(chart_view(queues, actions, queue_of(), name))

    return charts
