"""The OpenAPI 3.1 document of the HTTP API, written by hand in code: ``/openapi.json``.

The schemas are exact (closed objects, nullable fields spelt out) because the tests fuzz the
server with schemathesis and validate every answer against them."""

from __future__ import annotations

from sluice.app import App
from sluice.model import MAX_PRIORITY
from sluice.web.http import MAX_ID, MAX_TEXT
from sluice.web.openapi_controls import control_paths
from sluice.web.openapi_schemas import (
    ANY,
    MAX_DELAY_SECONDS,
    SCHEMAS,
    STRING,
    Schema,
    _json,
    _operation,
    _path,
    _query,
    _ref,
)


def document(app: App, *, names: bool = True) -> Schema:
    """The OpenAPI document of ``create_app(app)``; with ``names`` its action and queue names
    are the examples (not for anonymous callers of a server with tokens)."""
    action = _path(
        "name",
        {"type": "string", "minLength": 1},
        "A registered action.",
        sorted(app.actions) if names else [],
    )
    queue = _path(
        "name",
        {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]{1,80}$"},
        "A queue (not a DLQ: its dead letters are under /dlq).",
        [q.name for q in app.queues] if names else [],
    )
    from sluice.web.openapi_search import listing_paths, search_paths, search_schemas

    limit = _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size.")
    paths = {
        **_producing_paths(action),
        **search_paths(queue),
        **_message_and_run_paths(limit),
        **_queue_paths(queue, limit),
        **_service_paths(),
        **control_paths(_operation, _query, action, queue),
        **_source_paths(sorted(app.bucket_watches) if names else []),
    }
    for path, operations in listing_paths().items():
        paths[path] = {**paths.get(path, {}), **operations}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sluice",
            "version": "1",
            "description": "A durable work queue with SQS semantics: submit actions, follow "
            "runs, inspect queues and dead letters. POST / (not described here) is the AWS "
            "JSON protocol of the SQS-compatible API (X-Amz-Target: AmazonSQS.<Operation>).",
        },
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, **search_schemas()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


TEXT_KEY: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
"""A dedup id, FIFO group or idempotency key."""


def _producing_paths(action: Schema) -> dict[str, Schema]:
    return {
        "/v1/actions": {
            "get": _operation(
                "The app's actions with their batching, limits and effective concurrency",
                (200, "The actions, by name.", _ref("ActionList")),
            )
        },
        "/v1/actions/{name}": {
            "post": _operation(
                "Enqueue the body as a message for the action (optionally in a new run)",
                (202, "Accepted: the message id (and the run id with run=new).", _ref("Submitted")),
                (400, 404, 409, 413),
                scope="admin",
                parameters=[
                    action,
                    _query(
                        "run",
                        {"enum": ["new"]},
                        "new: start a run named after the action, enqueue into it, seal it.",
                    ),
                    _query("dedup_id", TEXT_KEY, "Dedup id (also read from Idempotency-Key)."),
                    _query("group", TEXT_KEY, "FIFO group."),
                    _query(
                        "delay",
                        {"type": "number", "minimum": 0, "maximum": MAX_DELAY_SECONDS},
                        "Seconds before it is visible.",
                    ),
                    _query(
                        "priority",
                        {"type": "integer", "minimum": 0, "maximum": MAX_PRIORITY, "default": 0},
                        "0 (the default) is claimed first, larger numbers later.",
                    ),
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": TEXT_KEY,
                        "description": "Dedup id, when dedup_id is not given.",
                    },
                ],
                body=ANY,
            )
        },
        "/v1/events": {
            "post": _operation(
                "Publish an event to the event bus",
                (202, "Published.", _ref("EventAccepted")),
                (400, 413),
                scope="admin",
                body=_ref("Event"),
            )
        },
    }


def _message_and_run_paths(limit: Schema) -> dict[str, Schema]:
    run = _path("id", {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}, "A run id.", [])
    message = _path(
        "id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "A message id.", [1]
    )
    return {
        "/v1/messages/{id}": {
            "get": _operation(
                "A message's status (waiting, delayed, in flight, succeeded, dead, cancelled) "
                "with its times and, once succeeded on a queue with keep_completed, its result",
                (200, "The status, with the message while it is stored.", _ref("MessageStatus")),
                (404,),
                parameters=[message],
            ),
            "delete": _operation(
                "Cancel a waiting, delayed or in-flight message (an in-flight one's ack is "
                "refused and it is not retried; it counts as dead in its run)",
                (200, "Cancelled: what the message was doing.", _ref("MessageCancelled")),
                (404, 409),
                scope="admin",
                parameters=[message],
            ),
        },
        "/v1/runs": {
            "get": _operation(
                "The most recently started runs, newest first",
                (200, "Runs.", _ref("RunList")),
                (400,),
                parameters=[limit],
            )
        },
        "/v1/runs/{id}": {
            "get": _operation(
                "A run's counters and status",
                (200, "The run.", _ref("Run")),
                (400, 404),
                parameters=[run],
            )
        },
        "/v1/runs/{id}/stream": {
            "get": {
                **_operation(
                    "Server-sent events of the run's progress until it ends",
                    (200, "The event stream.", STRING),
                    (400, 404),
                    parameters=[run],
                    media="text/event-stream",
                ),
                "description": "A text/event-stream: a `progress` event (data: the Run JSON, "
                "id: a fingerprint of its counters) at once and on every change, an `end` "
                "event when the run is finished, comment heartbeats. Reconnecting with "
                "Last-Event-ID gets the current state at once. Needs a read token.",
            }
        },
        "/v1/runs/{id}/cancel": {
            "post": _operation(
                "Cancel a run: its remaining messages move to their DLQs",
                (200, "Cancelled (a finished run is left as it was).", _ref("Cancelled")),
                (400, 404),
                scope="admin",
                parameters=[run],
            )
        },
    }


def _queue_paths(queue: Schema, limit: Schema) -> dict[str, Schema]:
    return {
        "/v1/queues": {
            "get": _operation("Every queue with its figures", (200, "Queues.", _ref("QueueList")))
        },
        "/v1/queues/{name}": {
            "get": _operation(
                "A queue's policy and figures",
                (200, "The queue.", _ref("QueueDetail")),
                (404,),
                parameters=[queue],
            )
        },
        "/v1/queues/{name}/dlq": {
            "get": _operation(
                "The queue's dead letters, oldest first",
                (200, "A page of dead letters.", _ref("DeadLetters")),
                (400, 404),
                parameters=[
                    queue,
                    limit,
                    _query(
                        "after_id",
                        {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                        "Only ids above this (paging).",
                    ),
                ],
            ),
            "delete": _operation(
                "Delete every dead letter of the queue",
                (200, "Purged.", _ref("Purged")),
                (404,),
                scope="admin",
                parameters=[queue],
            ),
        },
        "/v1/queues/{name}/dlq/redrive": {
            "post": _operation(
                "Move dead letters (all, or filtered) back to the queue",
                (200, "Redriven.", _ref("Redriven")),
                (400, 404, 413),
                scope="admin",
                parameters=[queue],
                body=_ref("RedriveFilter"),
                body_required=False,
            )
        },
    }


def _service_paths() -> dict[str, Schema]:
    paths: dict[str, Schema] = {
        "/healthz": {
            "get": _operation(
                "Liveness: the store answers", (200, "Healthy.", _ref("Health")), scope=None
            )
        },
        "/metrics": {
            "get": _operation(
                "Prometheus metrics read from the store",
                (200, "The Prometheus text format.", STRING),
                media="text/plain",
            )
        },
        "/openapi.json": {
            "get": _operation(
                "This document", (200, "OpenAPI 3.1.", {"type": "object"}), scope=None
            )
        },
    }
    health = paths["/healthz"]["get"]["responses"]
    health["503"] = _json(_ref("Health"), "The store is unavailable.")
    return paths


def _source_paths(watches: list[str]) -> dict[str, Schema]:
    watch = _path("watch", {"type": "string", "minLength": 1}, "A bucket-watched action.", watches)
    return {
        "/v1/sources/s3/{watch}": {
            "post": _operation(
                "Enqueue the objects an S3 event notification names (filtered and deduplicated "
                "like a bucket scan, in one transaction)",
                (
                    202,
                    "Accepted: counts of matching, new and repeated object versions.",
                    _ref("S3Accepted"),
                ),
                (400, 404, 413),
                scope="admin",
                parameters=[watch],
                body=_ref("S3Notification"),
            )
        }
    }
