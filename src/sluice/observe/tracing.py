"""OpenTelemetry tracing, with the ``sluice[otel]`` extra: a producer span per enqueue, a
consumer span per handler call, and the producer's trace context carried with the message.

The context travels as W3C trace-context headers (``traceparent``, ``tracestate``) stored with
the message (``NewMessage.headers``, the ``sluice_headers`` table) in the enqueue's
transaction; the worker reads them back with the claimed messages and starts the handler's
span as a child of the enqueuing one. Nothing of this runs unless ``opentelemetry`` is
installed *and* a tracer provider is set (:func:`active`): no header is written or read, no
span is started, so a deployment without tracing pays one function call per enqueue.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sluice.model import Message, Outcome

# OpenTelemetry's modules, imported on first need (importing them costs a worker's start
# some 25 ms): a tracer provider can only be set by code that imported them already, or by
# the environment variable that names one.
trace: Any = None
propagate: Any = None
otel_context: Any = None
PROVIDER_VARIABLE = "OTEL_PYTHON_TRACER_PROVIDER"


def _installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.trace") is not None
    except (ImportError, ValueError):
        return False


INSTALLED = _installed()
"""Whether the ``sluice[otel]`` extra (OpenTelemetry's API) is installed."""
_NAMED_IN_ENVIRONMENT = PROVIDER_VARIABLE in os.environ  # read once: active() runs per message
SYSTEM = "sluice"


def _load() -> None:
    global trace, propagate, otel_context
    otel_context = importlib.import_module("opentelemetry.context")
    propagate = importlib.import_module("opentelemetry.propagate")
    trace = importlib.import_module("opentelemetry.trace")


def active() -> bool:
    """Whether spans are recorded: OpenTelemetry installed and a tracer provider set."""
    if trace is None:
        if not INSTALLED:
            return False
        if "opentelemetry.trace" not in sys.modules and not _NAMED_IN_ENVIRONMENT:
            return False  # nothing imported OpenTelemetry, so no provider is set
        _load()
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def _tracer() -> Any:
    return trace.get_tracer("sluice")


def inject() -> dict[str, str] | None:
    """The current trace context as headers for a new message (None: nothing to carry)."""
    if not active():
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


OFF: AbstractContextManager[None] = nullcontext()


def producer(
    action: str, queue: str, count: int = 1, parent: Mapping[str, str] | None = None
) -> AbstractContextManager[Any]:
    """A producer span around one enqueue (of ``count`` messages; 0: not known yet);
    ``parent``: the headers of an incoming request (``traceparent``) it continues. Yields
    the span (None when tracing is off)."""
    return _producer(action, queue, count, parent) if active() else OFF


@contextmanager
def _producer(
    action: str, queue: str, count: int, parent: Mapping[str, str] | None
) -> Iterator[Any]:
    context = propagate.extract(dict(parent)) if parent else None
    attributes: dict[str, Any] = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": "send",
        "messaging.destination.name": queue,
        "sluice.action": action,
    }
    if count != 1:
        attributes["messaging.batch.message_count"] = count  # 0: set by enqueued()
    name = f"send {action}"
    kind = trace.SpanKind.PRODUCER
    with _tracer().start_as_current_span(name, context, kind, attributes) as span:
        yield span


def enqueued(span: Any, message_id: int | None = None, count: int | None = None) -> None:
    """Record what an enqueue's producer span produced."""
    if span is None:
        return
    if message_id is not None:
        span.set_attribute("messaging.message.id", str(message_id))
    if count is not None:
        span.set_attribute("messaging.batch.message_count", count)


def consume(action: str, batch: Sequence[Message]) -> Any:
    """Start the consumer span of one handler call, a child of the first message's producer;
    None when tracing is off. End it with :func:`finish`."""
    if not active() or not batch:
        return None
    first = batch[0]
    parent = propagate.extract(dict(first.headers)) if first.headers else None
    attributes: dict[str, Any] = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": "process",
        "messaging.destination.name": first.queue,
        "messaging.message.id": str(first.id),
        "sluice.action": action,
        "sluice.attempt": first.receive_count,
    }
    if len(batch) > 1:
        attributes["messaging.batch.message_count"] = len(batch)
    kind = trace.SpanKind.CONSUMER
    return _tracer().start_span(f"process {action}", parent, kind, attributes)


@contextmanager
def current(span: Any) -> Iterator[None]:
    """Make ``span`` the current span while the handler runs (its own spans are children)."""
    if span is None:
        yield
        return
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        otel_context.detach(token)


def finish(span: Any, outcomes: Sequence[Outcome], error: BaseException | None) -> None:
    """End a consumer span with its outcome: ``ack``, ``retry``, ``dead`` or ``partial``."""
    if span is None:
        return
    kinds = {o.kind for o in outcomes}
    outcome = kinds.pop() if len(kinds) == 1 else ("partial" if kinds else "none")
    span.set_attribute("sluice.outcome", outcome)
    if error is not None:
        span.record_exception(error)
    if outcome != "ack":
        span.set_status(trace.Status(trace.StatusCode.ERROR, outcome))
    span.end()
