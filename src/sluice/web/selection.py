"""Dead letters a search filter selects, over HTTP: ``GET /v1/queues/{name}/dlq/selection``
(how many), ``POST .../selection/redrive`` and ``POST .../selection/purge`` (admin). The query
parameters are ``GET /v1/messages``'s filters, parsed by the same code, so a filtered DLQ page
and the redrive or purge of its selection agree on what is selected."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sluice.store import Store
from sluice.web.auth import Scope, who
from sluice.web.http import json_response
from sluice.web.search import QUERY, message_filter

Handler = Callable[[Request], Awaitable[Response]]
FILTERS = tuple(q for q in QUERY if q not in ("limit", "cursor"))
"""The query parameters a selection takes: the search's filters."""


def selection_routes(
    store: Callable[[], Store], tokens: Mapping[str, Scope]
) -> list[tuple[str, str, Scope | None, Handler, tuple[str, ...]]]:
    """(path, method, scope, handler, query parameters) of the selection routes."""

    async def count(request: Request) -> Response:
        name, where = request.path_params["name"], message_filter(request.query_params)
        found = await run_in_threadpool(store().count_dead, name, where)
        return json_response({"queue": name, "count": found})

    def acting(verb: str, key: str) -> Handler:
        async def act(request: Request) -> Response:
            name, where = request.path_params["name"], message_filter(request.query_params)
            by = who(request.headers.get("authorization"), tokens)
            done = await run_in_threadpool(getattr(store(), verb), name, where, by)
            return json_response({"queue": name, key: done})

        return act

    path = "/v1/queues/{name}/dlq/selection"
    return [
        (path, "GET", Scope.READ, count, FILTERS),
        (f"{path}/redrive", "POST", Scope.ADMIN, acting("redrive_dead", "redriven"), FILTERS),
        (f"{path}/purge", "POST", Scope.ADMIN, acting("purge_dead", "purged"), FILTERS),
    ]
