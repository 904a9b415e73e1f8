"""The building blocks of the OpenAPI document (``openapi.py``): the shared schemas, the error
answers and the helpers that write an operation, a path parameter and a query parameter."""

from __future__ import annotations

from typing import Any

from sluice.model import RUN_STATUSES
from sluice.web.http import MAX_ID, MAX_TEXT

Schema = dict[str, Any]

MAX_DELAY_SECONDS = 365 * 86400


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """A closed object whose properties are all required except ``optional``."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _nullable(kind: str) -> Schema:
    return {"type": [kind, "null"]}


FAILING_SOURCE: Schema = {  # a source whose last pass failed; bucket and error to token holders
    "source": {"enum": ["s3"]},
    "action": {"type": "string"},
    "failures": {"type": "integer", "minimum": 0},
    "failing_since": _nullable("number"),
    "bucket": {"type": "string"},
    "error": _nullable("string"),
}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
COUNT: Schema = {"type": "integer", "minimum": 0}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
ANY: Schema = {}
"""Any JSON value (message bodies, run meta and checkpoints)."""

STAGE = _object(
    {
        "index": COUNT,
        "action": _nullable("string"),
        "total": COUNT,
        "succeeded": COUNT,
        "failed": COUNT,
        "dead": COUNT,
        "units": COUNT,
        "sealed": BOOLEAN,
        "finished": BOOLEAN,
        "started_at": _nullable("number"),
        "finished_at": _nullable("number"),
    }
)
RUN = _object(
    {
        "id": STRING,
        "name": STRING,
        "status": {"enum": list(RUN_STATUSES)},
        "stage": COUNT,
        "total": COUNT,
        "succeeded": COUNT,
        "failed": COUNT,
        "dead": COUNT,
        "done": COUNT,
        "units": COUNT,
        "started_at": NUMBER,
        "finished_at": _nullable("number"),
        "rate": _nullable("number"),
        "eta": _nullable("number"),
        "meta": ANY,
        "checkpoint": ANY,
        "stages": {"type": "array", "items": _ref("Stage")},
    }
)
MESSAGE = _object(
    {
        "id": {"type": "integer", "minimum": 1},
        "queue": STRING,
        "action": STRING,
        "body": ANY,
        "body_error": _nullable("string"),
        "group": _nullable("string"),
        "dedup_id": _nullable("string"),
        "run_id": _nullable("string"),
        "receive_count": COUNT,
        "enqueued_at": NUMBER,
        "visible_at": NUMBER,
        "visible": BOOLEAN,
        "dead": BOOLEAN,
        "dead_reason": _nullable("string"),
        "source_queue": _nullable("string"),
        "last_error": _nullable("string"),
        "attempts": {
            "type": "array",
            "items": _object({"at": NUMBER, "receive": COUNT, "error": STRING}),
        },
    }
)
STATUS_ONLY: dict[str, Schema] = {
    "state": {"enum": ["waiting", "delayed", "in_flight", "succeeded", "dead", "cancelled"]},
    "visible_at": _nullable("number"),
    "finished_at": _nullable("number"),
    "expires_at": _nullable("number"),
    "result": ANY,
    "result_note": _nullable("string"),
}
STATUS_FIELDS: tuple[str, ...] = ("id", "queue", "action", "run_id", "receive_count")
STATUS_FIELDS += ("enqueued_at", "last_error", "dead_reason", *STATUS_ONLY)
MESSAGE_STATUS = _object(
    {**MESSAGE["properties"], **STATUS_ONLY},
    optional=tuple(name for name in MESSAGE["properties"] if name not in STATUS_FIELDS),
)
"""A message's status; the message's own fields while it is stored (not from a record)."""
POLICY = _object(
    {
        "name": STRING,
        "visibility_timeout": NUMBER,
        "max_receives": _nullable("integer"),
        "fifo": BOOLEAN,
        "dedup_window": _nullable("number"),
        "retention": _nullable("number"),
        "max_message_bytes": {"type": "integer", "minimum": 1},
        "dead_letter_target": _nullable("string"),
        "keep_completed": _nullable("number"),
    }
)
STATS = _object(
    {
        "queue": STRING,
        "depth": COUNT,
        "in_flight": COUNT,
        "delayed": COUNT,
        "oldest_age": {"type": "number", "minimum": 0},
        "dlq_depth": COUNT,
        "fifo": BOOLEAN,
    }
)
SCHEMAS: dict[str, Schema] = {
    "Error": _object({"error": {**STRING, "description": "A stable code."}, "detail": STRING}),
    "Submitted": _object(
        {
            "message_id": {"type": "integer", "minimum": 1},
            "duplicate": {
                **BOOLEAN,
                "description": "True when the dedup id named an existing message: nothing new "
                "was stored and message_id is that message's.",
            },
            "run_id": {
                **_nullable("string"),
                "description": "The run the message counts towards, with run=new: on a "
                "duplicate, the first submission's run (null if it started none).",
            },
        },
        optional=("run_id",),
    ),
    "Event": {
        **_object(
            {
                "source": {**STRING, "minLength": 1, "maxLength": MAX_TEXT},
                "detail-type": {**STRING, "minLength": 1, "maxLength": MAX_TEXT},
                "detail_type": {
                    **STRING,
                    "minLength": 1,
                    "maxLength": MAX_TEXT,
                    "deprecated": True,
                    "description": "Accepted for detail-type (send one of the two).",
                },
                "detail": {"type": "object", "description": "Default: {}."},
                "resources": {"type": "array", "items": STRING},
                "time": {**STRING, "description": "ISO 8601; default: now"},
                "id": {
                    **STRING,
                    "minLength": 1,
                    "maxLength": 256,
                    "description": "Default: a new id; republishing an id changes nothing.",
                },
            },
            optional=("detail-type", "detail_type", "detail", "resources", "time", "id"),
        ),
        "oneOf": [{"required": ["detail-type"]}, {"required": ["detail_type"]}],
        "description": "EventBridge's envelope fields (version, account and region are not "
        "taken: sluice sets them).",
    },
    "EventAccepted": _object({"event_id": STRING}),
    "S3Notification": {
        "type": "object",
        "required": ["Records"],
        "description": "An S3 event notification as AWS S3 or MinIO's webhook target send it.",
        "properties": {"Records": {"type": "array", "items": {"type": "object"}}},
    },
    "S3Accepted": _object({"matched": COUNT, "enqueued": COUNT, "repeats": COUNT}),
    "Action": _object(
        {
            "name": STRING,
            "queue": STRING,
            "batch_size": COUNT,
            "timeout": NUMBER,
            "concurrency": _nullable("integer"),
            "rate": _nullable("number"),
            "effective_concurrency": _nullable("number"),
        }
    ),
    "ActionList": _object({"actions": {"type": "array", "items": _ref("Action")}}),
    "Message": MESSAGE,
    "MessageStatus": MESSAGE_STATUS,
    "Stage": STAGE,
    "Run": RUN,
    "RunList": _object({"runs": {"type": "array", "items": _ref("Run")}}),
    "Cancelled": _object(
        {"run_id": STRING, "moved": COUNT, "status": {"enum": list(RUN_STATUSES)}}
    ),
    "MessageCancelled": _object(
        {
            "message_id": {"type": "integer"},
            "cancelled": {"type": "boolean"},
            "was": {"enum": ["waiting", "delayed", "in_flight"]},
        }
    ),
    "QueuePolicy": POLICY,
    "QueueStats": STATS,
    "QueueList": _object({"queues": {"type": "array", "items": _ref("QueueStats")}}),
    "QueueDetail": _object({"policy": _ref("QueuePolicy"), "stats": _ref("QueueStats")}),
    "DeadLetters": _object(
        {
            "queue": STRING,
            "messages": {"type": "array", "items": _ref("Message")},
            "next_after_id": {
                "type": ["integer", "null"],
                "description": "Pass as after_id for the next page; null on the last page.",
            },
        }
    ),
    "RedriveFilter": _object(
        {
            "ids": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
            "error_contains": {"type": "string", "minLength": 1, "maxLength": 1000},
        },
        optional=("ids", "error_contains"),
    ),
    "Redriven": _object({"queue": STRING, "redriven": COUNT}),
    "Purged": _object({"queue": STRING, "purged": COUNT}),
    "Health": _object(
        {
            "status": {"enum": ["ok", "degraded", "unavailable"]},
            "detail": STRING,
            "failing": {
                "type": "array",
                "items": _object(FAILING_SOURCE, optional=("bucket", "error")),
            },
        },
        optional=("detail", "failing"),
    ),
}

ERRORS = {
    400: "Invalid parameter or body (malformed JSON: the reason is in detail).",
    401: "Missing or unknown bearer token.",
    403: "Forbidden: the token's scope is too low (read token on an admin route), a state "
    "change from another origin, or (without tokens) a Host that is not loopback.",
    415: "The body is not sent as application/json (or application/*+json).",
    404: "No such action, queue, run or message.",
    409: (
        "The run is sealed, or the message has finished (a dead letter, or succeeded or "
        "cancelled per its completion record): it cannot be cancelled."
    ),
    413: "The body is above the queue's max_message_bytes; nothing was stored.",
    501: "The feature is not available in this sluice.",
    503: "The store is unavailable.",
}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(
    summary: str,
    ok: tuple[int, str, Schema],
    errors: tuple[int, ...] = (),
    *,
    scope: str | None = "read",
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
    body_required: bool = True,
    media: str = "application/json",
) -> Schema:
    status, description, schema = ok
    responses: dict[str, Schema] = {
        str(status): {"description": description, "content": {media: {"schema": schema}}}
    }
    codes = set(errors) | {403, 503} | ({415} if body is not None else set())
    if scope is not None:
        codes |= {401}
    for code in sorted(codes):
        responses[str(code)] = _json(_ref("Error"), ERRORS[code])
    operation: Schema = {"summary": summary, "responses": responses}
    if scope is None:
        operation["security"] = []
    else:
        operation["description"] = f"Needs a {scope} token when tokens are configured."
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def _path(name: str, schema: Schema, description: str, examples: list[Any]) -> Schema:
    parameter: Schema = {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }
    if examples:
        parameter["examples"] = {str(v): {"value": v} for v in examples[:5]}
    return parameter


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }
