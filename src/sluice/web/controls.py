"""The operator controls of the HTTP API: pause / resume queues and schedules, disable /
enable rules, override / reset action limits (admin scope), and the audit log and control
state (read scope). Every change goes through :mod:`sluice.operate`, as the CLI's do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sluice import operate
from sluice.app import App
from sluice.web.auth import Scope, who
from sluice.web.http import MAX_ID, ApiError, int_param, json_response, read_json

SMALL_BODY = 64 * 1024
Handler = Callable[[Request], Awaitable[Response]]
RouteRow = tuple[str, str, Scope | None, Handler, tuple[str, ...]]


class ControlsApi:
    """Handlers of the control routes of one app (``routes`` lists them for ``create_app``)."""

    def __init__(self, app: App, tokens: Mapping[str, Scope]) -> None:
        self.app = app
        self.tokens = tokens

    def routes(self) -> list[RouteRow]:
        """(path, method, scope, handler, query parameters) of every control route."""
        read, admin = Scope.READ, Scope.ADMIN
        return [
            ("/v1/controls", "GET", read, self.state, ()),
            ("/v1/audit", "GET", read, self.audit, ("limit", "before_id")),
            ("/v1/limits", "GET", read, self.limits, ()),
            ("/v1/actions/{name}/limits", "PUT", admin, self.set_limits, ()),
            ("/v1/actions/{name}/limits", "DELETE", admin, self.reset_limits, ()),
            ("/v1/queues/{name}/pause", "POST", admin, self._flag(operate.pause_queue, True), ()),
            ("/v1/queues/{name}/resume", "POST", admin, self._flag(operate.pause_queue, False), ()),
            (
                "/v1/schedules/{name}/pause",
                "POST",
                admin,
                self._flag(operate.pause_schedule, True),
                (),
            ),
            (
                "/v1/schedules/{name}/resume",
                "POST",
                admin,
                self._flag(operate.pause_schedule, False),
                (),
            ),
            ("/v1/rules/{name}/disable", "POST", admin, self._flag(operate.disable_rule, True), ()),
            ("/v1/rules/{name}/enable", "POST", admin, self._flag(operate.disable_rule, False), ()),
        ]

    def _who(self, request: Request) -> str:
        return who(request.headers.get("authorization"), self.tokens)

    def _flag(self, change: Callable[..., dict[str, Any]], value: bool) -> Handler:
        async def handler(request: Request) -> Response:
            name, by = request.path_params["name"], self._who(request)
            done = await run_in_threadpool(change, self.app.store, name, value, by)
            return json_response(done)

        return handler

    async def state(self, request: Request) -> Response:
        def read() -> dict[str, Any]:
            store = self.app.store
            return {
                "paused_queues": sorted(store.stopped("queue")),
                "paused_schedules": sorted(store.paused_schedules()),
                "disabled_rules": sorted(store.stopped("rule")),
                "rules": store.declared("rule"),
                "schedules": [s.schedule.name for s in store.schedules()],
            }

        return json_response(await run_in_threadpool(read))

    async def audit(self, request: Request) -> Response:
        params = request.query_params
        limit = int_param(params.get("limit"), "limit", 100, minimum=1, maximum=1000)
        before = int_param(params.get("before_id"), "before_id", MAX_ID, minimum=1)
        entries = await run_in_threadpool(self.app.store.audit, limit, before)
        return json_response({"entries": [operate.audit_view(e) for e in entries]})

    async def limits(self, request: Request) -> Response:
        infos = await run_in_threadpool(self.app.store.limit_infos)
        return json_response({"limits": [operate.limit_view(info) for info in infos]})

    async def set_limits(self, request: Request) -> Response:
        body = await read_json(request, SMALL_BODY)
        if not isinstance(body, dict) or not body or set(body) - {"concurrency", "rate"}:
            raise ApiError(
                400,
                "invalid",
                'send {"concurrency": N, "rate": "R/s"} (either or both, nothing else)',
            )
        name, by = request.path_params["name"], self._who(request)
        done = await run_in_threadpool(
            operate.set_limits,
            self.app.store,
            name,
            body.get("concurrency"),
            body.get("rate"),
            by,
        )
        return json_response(done)

    async def reset_limits(self, request: Request) -> Response:
        name, by = request.path_params["name"], self._who(request)
        done = await run_in_threadpool(operate.reset_limits, self.app.store, name, by)
        return json_response(done)
