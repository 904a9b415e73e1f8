"""``POST /``: the AWS JSON protocol (1.0 and 1.1), dispatched on ``X-Amz-Target``.

``X-Amz-Target: <Prefix>.<Operation>`` picks a :class:`Service` of :data:`SERVICES` by prefix
and one of its operations; the body is the operation's JSON input, the answer its JSON output
or an :class:`~sluice.aws.errors.AwsError`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from sluice import codec
from sluice.app import App
from sluice.aws.auth import Principal, RequestInfo, authorize
from sluice.aws.errors import AwsError, internal, unavailable
from sluice.aws.identity import account, region
from sluice.errors import StoreError
from sluice.web.auth import Scope
from sluice.worker.service import Service as Loop

log = logging.getLogger("sluice.aws")

JSON_TYPES = ("application/x-amz-json-1.0", "application/x-amz-json-1.1")
MAX_REQUEST = 8 * 1024 * 1024
"""Bytes of a request read at most (a batch of 1 MiB, JSON-escaped up to 6 bytes a byte,
fits; a body over its queue's limit is then refused by the queue's own check)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One operation call: the app, the caller, where the request was addressed and the
    background loops of the endpoint (by name)."""

    app: App
    principal: Principal
    host: str
    account: str
    region: str
    loops: Mapping[str, Loop] = field(default_factory=dict)
    purged: dict[str, float] = field(default_factory=dict)
    """When each queue was last purged through this endpoint (on the store's clock)."""


Operation = Callable[[Call, dict[str, Any]], Awaitable[dict[str, Any]]]


def threaded(function: Callable[[Call, dict[str, Any]], dict[str, Any]]) -> Operation:
    """An operation that runs ``function`` (which may call the store) in one worker-thread
    hop."""

    async def operation(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        return await run_in_threadpool(function, call, params)

    operation.__name__ = operation.__qualname__ = function.__name__
    operation.__doc__ = function.__doc__
    return operation


@dataclass(frozen=True, slots=True)
class Service:
    """An AWS service: its operations by name, those a read scope may call and the
    background loops its operations use (a factory per name, called once per endpoint)."""

    operations: dict[str, Operation]
    read_only: frozenset[str] = field(default_factory=frozenset)
    content_type: str = "application/x-amz-json-1.0"
    query_compatible: bool = False
    """Errors carry ``x-amzn-query-error`` (the awsQueryCompatible trait: SQS)."""
    loops: Mapping[str, Callable[[App], Loop]] = field(default_factory=dict)


SERVICES: dict[str, Service] = {}
"""Services by ``X-Amz-Target`` prefix (``AmazonSQS``, ...)."""


def _protocol_error(request: Request, raw: bytes) -> AwsError | None:
    """Why the request is not AWS JSON protocol, or None."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded" or b"Action=" in raw[:200]:
        return AwsError(
            "InvalidAction",
            "InvalidAction",
            "the AWS query protocol (form-encoded Action=...) is not supported: use the AWS JSON "
            "1.0 protocol (X-Amz-Target: AmazonSQS.<Operation>, Content-Type: "
            "application/x-amz-json-1.0), which current AWS SDKs and the AWS CLI v2 use",
        )
    if media not in JSON_TYPES:
        return AwsError(
            "UnsupportedMediaType",
            "UnsupportedMediaType",
            f"Content-Type {media!r} is not an AWS JSON protocol: send "
            "application/x-amz-json-1.0 with X-Amz-Target: <Service>.<Operation>",
            status=415,
        )
    return None


def _operation(request: Request) -> tuple[Service, str, Operation]:
    target = request.headers.get("x-amz-target", "")
    prefix, _, name = target.rpartition(".")
    service = SERVICES.get(prefix)
    if service is None:
        raise AwsError(
            "UnknownOperationException",
            "UnknownOperationException",
            f"unknown X-Amz-Target {target[:80]!r}: use <Prefix>.<Operation> with a prefix of "
            f"{', '.join(sorted(SERVICES))}",
        )
    operation = service.operations.get(name)
    if operation is None:
        raise AwsError(
            "UnknownOperationException",
            "UnknownOperationException",
            f"unknown operation {name[:60]!r} of {prefix}",
        )
    return service, name, operation


async def _input(request: Request) -> tuple[bytes, dict[str, Any]]:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_REQUEST:
            raise AwsError(
                "RequestEntityTooLarge",
                "RequestEntityTooLarge",
                f"the request is above {MAX_REQUEST} bytes; nothing was stored",
                status=413,
            )
    error = _protocol_error(request, raw)
    if error is not None:
        raise error
    try:
        params = codec.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise AwsError(
            "SerializationException",
            "SerializationException",
            f"the request body is not valid UTF-8 JSON: {exc}",
        ) from None
    if not isinstance(params, dict):
        raise AwsError(
            "SerializationException",
            "SerializationException",
            "the request body must be a JSON object",
        )
    return raw, params


class Wire:
    """The AWS endpoint of one app: its ``POST /`` route and the background loops of the
    services (started by :meth:`start` or their first use, stopped by :meth:`stop`)."""

    def __init__(self, app: App, api_open: bool) -> None:
        self.app = app
        self.api_open = api_open
        self.loops: dict[str, Loop] = {
            name: make(app) for one in SERVICES.values() for name, make in one.loops.items()
        }
        self.purged: dict[str, float] = {}

    def route(self) -> Route:
        """The ``POST /`` route answering the AWS JSON protocol."""
        return Route("/", self.endpoint, methods=["POST"])

    def start(self) -> None:
        """Start the background loops (on the running event loop): they pick up the work the
        store holds for them, such as the message move tasks of a server that stopped."""
        for loop in self.loops.values():
            loop.start()

    async def stop(self) -> None:
        """Stop the background loops."""
        for loop in self.loops.values():
            await loop.stop()

    async def endpoint(self, request: Request) -> Response:
        """Answer one request; every answer carries an ``x-amzn-RequestId``."""
        request_id = str(uuid.uuid4())
        try:
            response = await _answer(self, request)
        except AwsError as exc:
            response = _error(request, exc)
        except ClientDisconnect:
            response = Response(status_code=400)
        except StoreError as exc:
            log.error("AWS %s failed: %s", request.headers.get("x-amz-target"), exc)
            response = _error(request, unavailable("the store did not answer (see the server log)"))
        except Exception:
            log.exception("AWS %s failed", request.headers.get("x-amz-target"))
            response = _error(request, internal("internal error (see the server log)"))
        response.headers["x-amzn-RequestId"] = request_id
        return response


def _error(request: Request, error: AwsError) -> Response:
    """The error answer in the shape of the service the request is for (SQS's if unknown)."""
    prefix = request.headers.get("x-amz-target", "").rpartition(".")[0]
    service = SERVICES.get(prefix)
    if service is None:
        return error.response()
    return error.response(service.query_compatible, service.content_type)


async def _answer(wire: Wire, request: Request) -> Response:
    raw, params = await _input(request)
    service, name, operation = _operation(request)
    info = RequestInfo(
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=raw,
        client_host=request.client.host if request.client else None,
        api_open=wire.api_open,
    )
    principal = authorize(info)
    if principal.scope < Scope.ADMIN and name not in service.read_only:
        raise AwsError("AccessDenied", "AccessDenied", f"{name} needs an admin key", status=403)
    call = Call(
        app=wire.app,
        principal=principal,
        host=request.headers.get("host", "localhost"),
        account=account(),
        region=region(),
        loops=wire.loops,
        purged=wire.purged,
    )
    result = await operation(call, params)
    return Response(codec.dumps(result), media_type=service.content_type)
