"""The HTTP API: a starlette app over one :class:`sluice.App` (see ``openapi.py`` for the
routes' contract). Every store call runs in a worker thread; nothing is kept in this process,
so any number of replicas can serve the same store."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from sluice.app import App
from sluice.errors import (
    ConfigError,
    MessageError,
    MessageFinished,
    MessageIsDead,
    MessageTooLarge,
    RunSealed,
    SluiceError,
    StoreError,
    UnknownAction,
    UnknownMessage,
    UnknownQueue,
    UnknownRule,
    UnknownRun,
    UnknownSchedule,
)
from sluice.model import MAX_PRIORITY, NewMessage, QueuePolicy, is_dlq, validate_queue_name
from sluice.observe import tracing
from sluice.sources.bucket.status import failing
from sluice.store import redact
from sluice.store.cancelling import unknown_message
from sluice.store.search import MessageFilter
from sluice.web import dashboard, metrics, openapi
from sluice.web.auth import ENV_VAR, Scope, Tokens, parse_tokens, scope_of, who
from sluice.web.bodies import parse_event, redrive_filter
from sluice.web.controls import ControlsApi
from sluice.web.guard import BrowserGuard
from sluice.web.http import (
    MAX_ID,
    ApiError,
    error_response,
    int_param,
    json_response,
    read_json,
    seconds_param,
    text_param,
)
from sluice.web.search import QUERY as SEARCH_QUERY
from sluice.web.search import (
    charts_handler,
    events_handler,
    rules_handler,
    schedules_handler,
    search_handler,
)
from sluice.web.selection import selection_routes
from sluice.web.stream import run_events
from sluice.web.views import message_view, policy_view, stats_view, status_view

log = logging.getLogger("sluice.web")

MAX_DELAY = 365 * 86400.0
SMALL_BODY = 64 * 1024
"""Cap of the bodies that are not messages (redrive filters)."""
EVENT_BODY = 1024 * 1024


NOTIFICATION_BODY = 16 * 1024 * 1024
"""Bytes of an S3 event notification read at most (S3 sends one record per event)."""
CLAIM_CHECK_BODY = 64 * 1024 * 1024
"""Bytes of a submitted body read at most when the app stores large bodies as claim checks."""


def raw_limit(max_message_bytes: int) -> int:
    """Bytes read of a message body before answering 413 unread: the queue's limit applies to
    the compact JSON that is stored, so pretty-printed input gets room to spare."""
    return 2 * max_message_bytes + SMALL_BODY


Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    app: App,
    tokens: Tokens | str | None = None,
    *,
    poll_interval: float = 0.5,
    heartbeat: float = 15.0,
    with_dashboard: bool = True,
    close_app: bool = False,
) -> Starlette:
    """The API of ``app`` as a starlette application.

    ``tokens``: token -> :class:`Scope`, or text like ``"admin:T1,read:T2"``; None reads
    ``$SLUICE_TOKENS``. With no tokens every route is open (serve it on loopback only).
    ``poll_interval`` and ``heartbeat`` (seconds) pace the run progress stream. The
    dashboard's pages are served at ``/`` unless ``with_dashboard`` is False; with
    ``close_app``, ``app`` is closed when the server shuts down.
    """
    if tokens is None or isinstance(tokens, str):
        tokens = parse_tokens(os.environ.get(ENV_VAR) if tokens is None else tokens)
    api = _Api(app, dict(tokens), poll_interval, heartbeat)
    # Imported here: sluice.aws builds on sluice.web's auth and guard modules.
    from sluice.aws import events as _events  # noqa: F401  (registers EventBridge PutEvents)
    from sluice.aws.auth import check_keys
    from sluice.aws.sqs import service as _sqs  # noqa: F401  (registers the SQS service)
    from sluice.aws.wire import Wire, WireFront

    check_keys()

    app.store  # noqa: B018  (open and migrate now, not racing in the first requests' threads)
    wire = Wire(app, api_open=not tokens)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        wire.start()
        try:
            yield
        finally:
            await wire.stop()
            if close_app:
                app.close()

    read, admin = Scope.READ, Scope.ADMIN
    queue_of = lambda: {n: a.policy.queue for n, a in app.actions.items()}  # noqa: E731
    submit = ("run", "dedup_id", "group", "delay", "priority")
    routes: list[tuple[str, str, Scope | None, Handler, tuple[str, ...]]] = [
        ("/v1/actions", "GET", read, api.actions, ()),
        ("/v1/actions/{name}", "POST", admin, api.submit, submit),
        ("/v1/events", "POST", admin, api.publish, ()),
        ("/v1/sources/s3/{watch}", "POST", admin, api.s3_notification, ()),
        ("/v1/messages", "GET", read, search_handler(lambda: app.store), SEARCH_QUERY),
        ("/v1/schedules", "GET", read, schedules_handler(lambda: app.store), ()),
        ("/v1/charts", "GET", read, charts_handler(lambda: app.store, queue_of), ("window",)),
        ("/v1/rules", "GET", read, rules_handler(lambda: app.store, lambda: app.bus.rules), ()),
        ("/v1/events", "GET", read, events_handler(lambda: app.store), ("since", "limit")),
        ("/v1/messages/{id:int}", "GET", read, api.message, ()),
        ("/v1/messages/{id:int}", "DELETE", admin, api.cancel_message, ()),
        ("/v1/runs", "GET", read, api.runs, ("limit",)),
        ("/v1/runs/{id}", "GET", read, api.run, ()),
        ("/v1/runs/{id}/stream", "GET", read, api.stream, ()),
        ("/v1/runs/{id}/cancel", "POST", admin, api.cancel, ()),
        ("/v1/queues", "GET", read, api.queues, ()),
        ("/v1/queues/{name}", "GET", read, api.queue, ()),
        ("/v1/queues/{name}/dlq", "GET", read, api.dlq, ("limit", "after_id")),
        ("/v1/queues/{name}/dlq/redrive", "POST", admin, api.redrive, ()),
        ("/v1/queues/{name}/dlq", "DELETE", admin, api.purge, ()),
        ("/healthz", "GET", None, api.health, ()),
        ("/metrics", "GET", read, api.metrics, ()),
        ("/openapi.json", "GET", None, api.openapi, ()),
        *ControlsApi(app, dict(tokens)).routes(),
        *selection_routes(lambda: app.store, dict(tokens)),
    ]
    return Starlette(
        routes=[
            Route(path, api.guard(scope, handler, frozenset(query)), methods=[method])
            for path, method, scope, handler, query in routes
        ]
        + (dashboard.routes() if with_dashboard else []),
        exception_handlers={HTTPException: _http_error},
        middleware=[
            Middleware(BrowserGuard, open_api=not tokens),
            Middleware(WireFront, wire=wire),
        ],
        lifespan=lifespan,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (404 no such route, 405 method) as JSON like every other error."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(ApiError(exc.status_code, code, str(exc.detail)), headers)


def _api_error(exc: SluiceError) -> ApiError:
    """The HTTP answer to a sluice error (unexpected ones are re-raised by the caller)."""
    if isinstance(
        exc,
        UnknownAction | UnknownQueue | UnknownRun | UnknownSchedule | UnknownRule | UnknownMessage,
    ):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, MessageIsDead):
        return ApiError(409, "message_dead", str(exc))
    if isinstance(exc, MessageFinished):
        return ApiError(409, "message_finished", str(exc))
    if isinstance(exc, MessageTooLarge):
        return ApiError(413, "too_large", str(exc))
    if isinstance(exc, RunSealed):
        return ApiError(409, "run_sealed", str(exc))
    if isinstance(exc, MessageError | ConfigError):
        return ApiError(400, "invalid", str(exc))
    if isinstance(exc, StoreError):
        return ApiError(503, "store_unavailable", str(exc))
    return ApiError(500, "internal", f"{type(exc).__name__}: {exc}")


class _Api:
    def __init__(
        self, app: App, tokens: Mapping[str, Scope], poll_interval: float, heartbeat: float
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.poll_interval = poll_interval
        self.heartbeat = heartbeat
        self.registry = metrics.registry_for(app)
        self.document = openapi.document(app)
        self.public_document = openapi.document(app, names=False)

    def guard(self, needed: Scope | None, handler: Handler, query: frozenset[str]) -> Handler:
        """``handler`` behind the token check, taking only the ``query`` parameters, with
        errors answered as JSON."""

        async def endpoint(request: Request) -> Response:
            try:
                if self.tokens and needed is not None:
                    self.authorize(request, needed)
                unknown = sorted(set(request.query_params) - query)
                if unknown:
                    takes = ", ".join(sorted(query)) or "none"
                    raise ApiError(
                        400,
                        "invalid_parameter",
                        f"unknown query parameter {unknown[0][:40]!r} (this route takes: {takes})",
                    )
                return await handler(request)
            except ClientDisconnect:
                log.info(
                    "%s %s: the client disconnected before the end of its request",
                    request.method,
                    request.url.path,
                )
                return Response(status_code=400)
            except ApiError as exc:
                challenge = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                return error_response(exc, challenge)
            except SluiceError as exc:
                error = _api_error(exc)
                if error.status >= 500:
                    log.error("%s %s failed: %s", request.method, request.url.path, exc)
                return error_response(error)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return error_response(ApiError(500, "internal", "internal error (see the log)"))

        return endpoint

    def authorize(self, request: Request, needed: Scope) -> None:
        scope = scope_of(request.headers.get("authorization"), self.tokens)
        if scope is None:
            raise ApiError(
                401, "unauthorized", "send 'Authorization: Bearer TOKEN' with a valid token"
            )
        if scope < needed:
            raise ApiError(403, "forbidden", f"this route needs an {needed.name.lower()} token")

    # -- producing ---------------------------------------------------------------------------
    async def submit(self, request: Request) -> Response:
        name = request.path_params["name"]
        action = self.app.action_named(name)  # UnknownAction answers 404
        params = request.query_params
        start_run = params.get("run")
        if start_run not in (None, "new"):
            raise ApiError(400, "invalid_parameter", "run must be 'new' (start a run) or absent")
        key = text_param(request.headers.get("idempotency-key"), "Idempotency-Key")
        dedup_id = text_param(params.get("dedup_id"), "dedup_id")
        if key is not None and dedup_id is not None and key != dedup_id:
            raise ApiError(
                400, "invalid_parameter", "dedup_id and Idempotency-Key differ: send one"
            )
        dedup_id = dedup_id or key
        group = text_param(params.get("group"), "group")
        delay = seconds_param(params.get("delay"), "delay", maximum=MAX_DELAY)
        priority = int_param(params.get("priority"), "priority", 0, minimum=0, maximum=MAX_PRIORITY)
        policy = await run_in_threadpool(self.app.store.policy, action.policy.queue)
        limit = CLAIM_CHECK_BODY if self.app.blobs else raw_limit(policy.max_message_bytes)
        body = await read_json(request, limit)
        starts_run = start_run or name in self.app.run_shapes
        enqueue = self._enqueue_in_new_run if starts_run else self._enqueue
        parent = request.headers if tracing.active() else None  # a caller's traceparent

        def produce() -> dict[str, Any]:
            with tracing.producer(name, policy.name, parent=parent) as span:
                # The App's own path: with a blob directory, a large body becomes a claim check.
                message = self.app.new_message(
                    name, body, group=group, dedup_id=dedup_id, delay=delay, priority=priority
                )
                result = enqueue(message)
                tracing.enqueued(span, result["message_id"])
            return result

        result = await run_in_threadpool(produce)
        location = f"/v1/messages/{result['message_id']}"
        return json_response(result, 202, {"Location": location})

    def _enqueue(self, message: NewMessage) -> dict[str, Any]:
        [done] = self.app.store.enqueue([message])
        return {"message_id": done.id, "duplicate": not done.created}

    def _enqueue_in_new_run(self, message: NewMessage) -> dict[str, Any]:
        run, done = self.app.start_run_with(message)  # one transaction: all or nothing
        run_id = None if run is None else run.id
        return {"message_id": done.id, "duplicate": not done.created, "run_id": run_id}

    async def publish(self, request: Request) -> Response:
        event = parse_event(await read_json(request, EVENT_BODY))
        result = await run_in_threadpool(
            lambda: self.app.publish(
                event.source,
                event.detail_type,
                event.detail,
                resources=event.resources,
                time=event.time,
                id=event.id,
            )
        )
        return json_response({"event_id": result}, 202)

    async def s3_notification(self, request: Request) -> Response:
        from sluice.sources.bucket.notify import receive

        name = request.path_params["watch"]
        watch = self.app.bucket_watches.get(name)
        if watch is None:
            raise ApiError(404, "not_found", f"no bucket watch for action {name[:100]!r}")
        payload = await read_json(request, NOTIFICATION_BODY)
        result = await run_in_threadpool(receive, self.app, watch, payload)
        return json_response(result, 202)

    # -- messages and runs -------------------------------------------------------------------
    async def message(self, request: Request) -> Response:
        message_id: int = request.path_params["id"]
        return json_response(await run_in_threadpool(status_view, self.app.store, message_id))

    async def cancel_message(self, request: Request) -> Response:
        message_id: int = request.path_params["id"]
        if not 0 < message_id <= MAX_ID:
            raise unknown_message(message_id)
        was = await run_in_threadpool(self.app.cancel, message_id)
        return json_response({"message_id": message_id, "cancelled": True, "was": was})

    async def runs(self, request: Request) -> Response:
        limit = int_param(request.query_params.get("limit"), "limit", 50, minimum=1, maximum=1000)
        states = await run_in_threadpool(self.app.runs, limit)
        return json_response({"runs": [s.to_dict() for s in states]})

    def _run_id(self, request: Request) -> str:
        run_id = text_param(request.path_params["id"], "run id")
        assert run_id is not None
        return run_id

    async def run(self, request: Request) -> Response:
        state = await run_in_threadpool(self.app.run_state, self._run_id(request))
        return json_response(state.to_dict())

    async def stream(self, request: Request) -> Response:
        state = await run_in_threadpool(self.app.run_state, self._run_id(request))
        events = run_events(self.app, state, poll=self.poll_interval, heartbeat=self.heartbeat)
        return StreamingResponse(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def cancel(self, request: Request) -> Response:
        run_id = self._run_id(request)
        moved = await run_in_threadpool(self.app.cancel_run, run_id)
        state = await run_in_threadpool(self.app.run_state, run_id)
        return json_response({"run_id": run_id, "moved": moved, "status": state.status})

    # -- queues and dead letters -------------------------------------------------------------
    async def _policy(self, request: Request) -> QueuePolicy:
        name = request.path_params["name"]
        try:
            validate_queue_name(name)
        except ConfigError as exc:
            hint = f": use /v1/queues/{name.removesuffix('.dlq')}/dlq" if is_dlq(name) else ""
            raise ApiError(404, "not_found", f"{exc}{hint}") from None
        return await run_in_threadpool(self.app.store.policy, name)

    async def actions(self, request: Request) -> Response:
        def read() -> list[dict[str, Any]]:
            effective = {limit.action: limit.effective for limit in self.app.store.limits()}
            return [
                {
                    "name": name,
                    "queue": action.policy.queue,
                    "batch_size": action.policy.batch_size,
                    "timeout": action.policy.timeout,
                    "concurrency": action.policy.concurrency,
                    "rate": action.policy.rate,
                    "effective_concurrency": effective.get(name),
                }
                for name, action in sorted(self.app.actions.items())
            ]

        return json_response({"actions": await run_in_threadpool(read)})

    async def queues(self, request: Request) -> Response:
        def read() -> list[dict[str, Any]]:
            policies = {p.name: p for p in self.app.store.queues()}
            return [stats_view(s, policies[s.queue]) for s in self.app.store.stats()]

        return json_response({"queues": await run_in_threadpool(read)})

    async def queue(self, request: Request) -> Response:
        policy = await self._policy(request)
        [stats] = await run_in_threadpool(self.app.store.stats, [policy.name])
        return json_response({"policy": policy_view(policy), "stats": stats_view(stats, policy)})

    async def dlq(self, request: Request) -> Response:
        policy = await self._policy(request)
        params = request.query_params
        limit = int_param(params.get("limit"), "limit", 100, minimum=1, maximum=1000)
        after_id = int_param(params.get("after_id"), "after_id", 0, minimum=0)
        dead = await run_in_threadpool(self.app.store.dlq_list, policy.name, limit, after_id)
        now = self.app.store.clock()
        return json_response(
            {
                "queue": policy.name,
                "messages": [message_view(m, now) for m in dead],
                "next_after_id": dead[-1].id if len(dead) == limit else None,
            }
        )

    async def redrive(self, request: Request) -> Response:
        policy = await self._policy(request)
        ids, error_contains = redrive_filter(await read_json(request, SMALL_BODY, required=False))
        where = MessageFilter(ids=ids, error_contains=error_contains)
        by = who(request.headers.get("authorization"), self.tokens)
        moved = await run_in_threadpool(self.app.store.redrive_dead, policy.name, where, by)
        return json_response({"queue": policy.name, "redriven": moved})

    async def purge(self, request: Request) -> Response:
        policy = await self._policy(request)
        by = who(request.headers.get("authorization"), self.tokens)
        purged = await run_in_threadpool(
            self.app.store.purge_dead, policy.name, MessageFilter(), by
        )
        return json_response({"queue": policy.name, "purged": purged})

    # -- operations --------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.app.store.schema_version)
        except Exception as exc:  # any store fault: the documented 503, never a 500
            url = self.app.store.url
            log.warning(
                "health check failed: the store did not answer: %s: %s",
                type(exc).__name__,
                str(exc).replace(url, redact(url)),
            )
            # Anyone may ask: the answer names the kind of fault, never the store's address.
            detail = f"the store did not answer ({type(exc).__name__}; see the server log)"
            return json_response({"status": "unavailable", "detail": detail}, 503)
        # A failing source leaves the API serving (200) but says so; the error (it names the
        # bucket and endpoint) only to a caller with a token, or to anyone when none is set.
        detailed = not self.tokens or scope_of(request.headers.get("authorization"), self.tokens)
        sources = await run_in_threadpool(failing, self.app, self.app.store, bool(detailed))
        if sources:
            return json_response({"status": "degraded", "failing": sources})
        return json_response({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        text = await run_in_threadpool(metrics.exposition, self.registry)
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def openapi(self, request: Request) -> Response:
        presented = request.headers.get("authorization")
        anonymous = bool(self.tokens) and scope_of(presented, self.tokens) is None
        return json_response(self.public_document if anonymous else self.document)
