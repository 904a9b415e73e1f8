"""``POST /``: the AWS JSON protocol (1.0 and 1.1), dispatched on ``X-Amz-Target``.

``X-Amz-Target: <Prefix>.<Operation>`` picks a :class:`Service` of :data:`SERVICES` by prefix
and one of its operations; the body is the operation's JSON input, the answer its JSON output
or an :class:`~sluice.aws.errors.AwsError`."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from sluice import codec
from sluice.aio_pool import run_in
from sluice.app import App
from sluice.aws.auth import Principal, RequestInfo, authorize
from sluice.aws.errors import AwsError, internal, unavailable
from sluice.aws.identity import account, region
from sluice.errors import StoreError
from sluice.web.auth import Scope
from sluice.worker.service import Service as Loop

log = logging.getLogger("sluice.aws")
T = TypeVar("T")

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

THREADS = 64
"""Threads of the AWS operations' store calls (a long poll holds one for a slice of its
wait at a time)."""
_POOL = ThreadPoolExecutor(THREADS, thread_name_prefix="sluice-aws")


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a thread of the AWS pool, in the caller's context. A plain
    executor: anyio's worker threads (starlette's ``run_in_threadpool``) cost about 15% more
    CPU per call, paid once or twice by every AWS request."""
    return await run_in(_POOL, function, *args)


def threaded(function: Callable[[Call, dict[str, Any]], dict[str, Any]]) -> Operation:
    """An operation that runs ``function`` (which may call the store) in one worker-thread
    hop."""

    async def operation(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        return await in_thread(function, call, params)

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


def _protocol_error(headers: Mapping[str, str], raw: bytes) -> AwsError | None:
    """Why the request is not AWS JSON protocol, or None."""
    media = headers.get("content-type", "").split(";")[0].strip().lower()
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


def _operation(headers: Mapping[str, str]) -> tuple[Service, str, Operation]:
    target = headers.get("x-amz-target", "")
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


async def _body(receive: Receive) -> bytes:
    """The request body (RequestEntityTooLarge above MAX_REQUEST; ClientDisconnect)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST:
            raise AwsError(
                "RequestEntityTooLarge",
                "RequestEntityTooLarge",
                f"the request is above {MAX_REQUEST} bytes; nothing was stored",
                status=413,
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _input(receive: Receive, headers: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
    raw = await _body(receive)
    error = _protocol_error(headers, raw)
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
    """The AWS endpoint of one app (an ASGI app for ``POST /``, see :class:`WireFront`) and the
    background loops of the services (started by :meth:`start` or their first use, stopped by
    :meth:`stop`)."""

    def __init__(self, app: App, api_open: bool) -> None:
        self.app = app
        self.api_open = api_open
        self.loops: dict[str, Loop] = {
            name: make(app) for one in SERVICES.values() for name, make in one.loops.items()
        }
        self.purged: dict[str, float] = {}

    def start(self) -> None:
        """Start the background loops (on the running event loop): they pick up the work the
        store holds for them, such as the message move tasks of a server that stopped."""
        for loop in self.loops.values():
            loop.start()

    async def stop(self) -> None:
        """Stop the background loops."""
        for loop in self.loops.values():
            await loop.stop()

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        """Answer one request (an ASGI app of its own, reached without routing: the AWS
        protocol's one route is ``POST /``); every answer carries an ``x-amzn-RequestId``."""
        request_id = new_request_id()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body, media = await _answer(self, scope, receive, headers)
        except ClientDisconnect:
            response = Response(status_code=400)
        except AwsError as exc:
            response = _error(headers, exc)
        except StoreError as exc:
            log.error("AWS %s failed: %s", headers.get("x-amz-target"), exc)
            response = _error(headers, unavailable("the store did not answer (see the server log)"))
        except Exception:
            log.exception("AWS %s failed", headers.get("x-amz-target"))
            response = _error(headers, internal("internal error (see the server log)"))
        else:
            start = [
                (b"content-type", media),
                (b"content-length", str(len(body)).encode()),
                (b"x-amzn-requestid", request_id),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": start})
            await send({"type": "http.response.body", "body": body})
            return
        response.headers["x-amzn-RequestId"] = request_id.decode()
        await response(scope, receive, send)


def new_request_id() -> bytes:
    """A random (version 4) UUID as AWS request ids are, at half of ``uuid.uuid4()``'s cost
    (no UUID object is made for it): one per request."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()


def _error(headers: Mapping[str, str], error: AwsError) -> Response:
    """The error answer in the shape of the service the request is for (SQS's if unknown)."""
    prefix = headers.get("x-amz-target", "").rpartition(".")[0]
    service = SERVICES.get(prefix)
    if service is None:
        return error.response()
    return error.response(service.query_compatible, service.content_type)


async def _answer(
    wire: Wire, scope: AsgiScope, receive: Receive, headers: Mapping[str, str]
) -> tuple[bytes, bytes]:
    """The answer's body and media type."""
    raw, params = await _input(receive, headers)
    service, name, operation = _operation(headers)
    client = scope.get("client")
    info = RequestInfo(
        method=scope["method"],
        path=scope.get("root_path", "") + scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=raw,
        client_host=client[0] if client else None,
        api_open=wire.api_open,
    )
    principal = authorize(info)
    if principal.scope < Scope.ADMIN and name not in service.read_only:
        raise AwsError("AccessDenied", "AccessDenied", f"{name} needs an admin key", status=403)
    call = Call(
        app=wire.app,
        principal=principal,
        host=headers.get("host", "localhost"),
        account=account(),
        region=region(),
        loops=wire.loops,
        purged=wire.purged,
    )
    result = await operation(call, params)
    return codec.dumps(result), service.content_type.encode()


class WireFront:
    """ASGI middleware: ``POST /`` goes straight to the :class:`Wire` (no routing, no
    request objects: most of a server's CPU per AWS request was starlette's), everything else
    to ``app``."""

    def __init__(self, app: ASGIApp, wire: Wire) -> None:
        self.app = app
        self.wire = wire

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "POST":
            await self.wire(scope, receive, send)
        else:
            await self.app(scope, receive, send)
