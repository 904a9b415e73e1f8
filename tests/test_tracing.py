"""OpenTelemetry (the ``sluice[otel]`` extra) with the SDK's in-memory exporter: a producer
span per enqueue, a consumer span per handler call that is its child (the context travels in
the message), through the HTTP API too; nothing stored or started while tracing is off."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from sluice import App
from sluice.web import Scope, create_app
from tests.web.conftest import LiveServer


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """A global tracer provider exporting to memory, removed again afterwards (as
    OpenTelemetry's own test helpers do), so other tests run with tracing off."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]


def _app(url: str) -> App:
    app = App(url)
    app.queue("jobs", max_receives=2)

    @app.action(queue="jobs")
    def job(body: Any, ctx: Any) -> None:
        with trace.get_tracer("test").start_as_current_span("inside"):
            if body == "fail":
                raise ValueError("no")

    return app


def _named(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name == name]


def test_a_handler_span_is_a_child_of_the_enqueue(url: str, spans: InMemorySpanExporter) -> None:
    app = _app(url)
    try:
        with trace.get_tracer("test").start_as_current_span("request") as request:
            ok = app.enqueue("job", "ok")
            failing = app.enqueue("job", "fail")
            app.enqueue_many("job", [])
        app.work(stop_when_idle=True, grace=5)
    finally:
        app.close()
    trace_id = request.get_span_context().trace_id
    sent = _named(spans, "send job")
    assert len(sent) == 3 and all(s.context.trace_id == trace_id for s in sent)
    assert all(s.parent and s.parent.span_id == request.get_span_context().span_id for s in sent)
    assert sent[0].kind is trace.SpanKind.PRODUCER
    assert sent[0].attributes["messaging.message.id"] == str(ok)
    assert sent[2].attributes["messaging.batch.message_count"] == 0
    process = _named(spans, "process job")
    by_id = {s.attributes["messaging.message.id"]: s for s in process}
    done = by_id[str(ok)]
    assert done.kind is trace.SpanKind.CONSUMER and done.parent is not None
    assert done.parent.span_id == sent[0].context.span_id and done.context.trace_id == trace_id
    attributes = dict(done.attributes or {})
    assert attributes["sluice.action"] == "job" and attributes["sluice.outcome"] == "ack"
    assert attributes["messaging.destination.name"] == "jobs" and attributes["sluice.attempt"] == 1
    tries = [s for s in process if s.attributes["messaging.message.id"] == str(failing)]
    assert [s.attributes["sluice.outcome"] for s in tries] == ["retry", "retry"]
    assert tries[0].status.status_code is trace.StatusCode.ERROR and tries[0].events
    assert all(s.parent.span_id == sent[1].context.span_id for s in tries if s.parent)
    inside = _named(spans, "inside")
    assert {s.parent.span_id for s in inside if s.parent} == {s.context.span_id for s in process}


def test_concurrent_async_enqueues_each_get_their_requests_span(
    url: str, spans: InMemorySpanExporter
) -> None:
    app = _app(url)
    tracer = trace.get_tracer("test")

    async def request(n: int) -> tuple[int, int]:
        with tracer.start_as_current_span(f"request {n}") as span:
            return span.get_span_context().span_id, await app.enqueue_async("job", n)

    async def main() -> list[tuple[int, int]]:  # one group commit for the ten
        return await asyncio.gather(*(request(n) for n in range(10)))

    try:
        requests = asyncio.run(main())
        app.work(stop_when_idle=True, grace=5)
    finally:
        app.close()
    sent = {s.attributes["messaging.message.id"]: s for s in _named(spans, "send job")}
    process = {s.attributes["messaging.message.id"]: s for s in _named(spans, "process job")}
    for parent, message_id in requests:
        producer = sent[str(message_id)]
        assert producer.parent is not None and producer.parent.span_id == parent
        consumer = process[str(message_id)]
        assert consumer.parent is not None
        assert consumer.parent.span_id == producer.context.span_id


def test_a_handlers_follow_up_gets_its_own_producer_span(
    url: str, spans: InMemorySpanExporter
) -> None:
    app = App(url)
    app.queue("jobs")

    @app.action(queue="jobs")
    def parent(body: Any, ctx: Any) -> None:
        ctx.enqueue("child", body + 1)

    @app.action(queue="jobs")
    def child(body: Any, ctx: Any) -> None:
        pass

    try:
        app.enqueue("parent", 1)
        app.work(stop_when_idle=True, grace=5)
    finally:
        app.close()
    [process_parent] = _named(spans, "process parent")
    [send_child] = _named(spans, "send child")
    [process_child] = _named(spans, "process child")
    assert send_child.kind is trace.SpanKind.PRODUCER
    assert send_child.parent is not None
    assert send_child.parent.span_id == process_parent.context.span_id
    assert process_child.parent is not None
    assert process_child.parent.span_id == send_child.context.span_id


def test_the_http_api_continues_the_callers_trace(url: str, spans: InMemorySpanExporter) -> None:
    app = _app(url)
    token = "admin-token-0123456789"
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    try:
        with LiveServer(create_app(app, tokens={token: Scope.ADMIN})) as server:
            answer = httpx.post(
                f"{server.base_url}/v1/actions/job",
                json="ok",
                headers={"Authorization": f"Bearer {token}", "traceparent": parent},
            )
            assert answer.status_code == 202, answer.text
        app.work(stop_when_idle=True, grace=5)
    finally:
        app.close()
    [sent] = _named(spans, "send job")
    assert f"{sent.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert sent.parent is not None and f"{sent.parent.span_id:016x}" == "b7ad6b7169203331"
    [process] = _named(spans, "process job")
    assert process.parent is not None and process.parent.span_id == sent.context.span_id


def test_nothing_is_stored_or_started_while_tracing_is_off(url: str) -> None:
    app = _app(url)
    try:
        message_id = app.enqueue("job", "ok")
        assert app.store.headers([message_id]) == {}
    finally:
        app.close()
    without = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from sluice.observe import tracing\n"
        "assert not tracing.INSTALLED and not tracing.active() and tracing.inject() is None\n"
        "with tracing.producer('a', 'q') as span: assert span is None\n"
    )
    done = subprocess.run([sys.executable, "-c", without], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
