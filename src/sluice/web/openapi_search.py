"""The OpenAPI entries of the message search (``GET /v1/messages``), merged into ``openapi.py``."""

from __future__ import annotations

from sluice.store.search import MAX_PAGE, STATES
from sluice.web.http import MAX_ID, MAX_TEXT
from sluice.web.openapi_schemas import MESSAGE, Schema, _object, _operation, _query, _ref

_TEXT: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
_SECONDS: Schema = {"type": "number", "minimum": 0, "maximum": 10 * 365 * 86400}


def search_schemas() -> dict[str, Schema]:
    """The schemas the search answers with."""
    found = {**MESSAGE, "properties": {**MESSAGE["properties"], "state": {"enum": list(STATES)}}}
    found["required"] = [*MESSAGE["required"], "state"]
    return {
        "FoundMessage": found,
        "MessagePage": _object(
            {
                "messages": {"type": "array", "items": _ref("FoundMessage")},
                "cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as cursor for the next page; null on the last page.",
                },
            }
        ),
    }


def _filters() -> list[Schema]:
    """The search's filter parameters (``/v1/messages`` and DLQ selections)."""
    ids = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
    return [
        {**_query("id", ids, "These message ids (repeatable)."), "explode": True},
        _query("dedup_id", _TEXT, "Messages with this dedup id."),
        _query("queue", _TEXT, "Messages of this queue and of its DLQ."),
        _query("action", _TEXT, "Messages for this action."),
        _query("run", _TEXT, "Messages of this run."),
        _query("state", {"enum": list(STATES)}, "Only messages in this state."),
        _query("error_contains", _TEXT, "Last error contains this text (case-sensitive)."),
        _query("errored", {"enum": ["true", "false"]}, "true: only messages with a last error."),
        _query("older_than", _SECONDS, "Enqueued at least this many seconds ago."),
        _query("newer_than", _SECONDS, "Enqueued at most this many seconds ago."),
    ]


def search_paths(queue: Schema) -> dict[str, Schema]:
    """``/v1/messages``: the search, keyset-paged in id order; and the DLQ selections of
    ``queue`` (the path parameter), which take the same filters."""
    parameters = [
        *_filters(),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "Page size."),
        _query("cursor", {"type": "string", "maxLength": 40}, "The previous page's cursor."),
    ]
    return {
        **_selection_paths(queue),
        "/v1/messages": {
            "get": _operation(
                "Search messages, live and dead, by any field, a page at a time in id order",
                (200, "One page of matches.", _ref("MessagePage")),
                (400,),
                parameters=parameters,
            )
        },
    }


def listing_paths() -> dict[str, Schema]:
    """``GET /v1/schedules``, ``GET /v1/rules`` and ``GET /v1/events`` (merged beside
    ``POST /v1/events``)."""
    schedule = _object(
        {
            "name": {"type": "string"},
            "cron": {"type": "string"},
            "action": {"type": "string"},
            "queue": {"type": "string"},
            "timezone": {"type": "string"},
            "misfire": {"type": "string"},
            "catch_up_limit": {"type": "integer"},
            "next_at": {"type": "number"},
            "last_tick": {"type": ["number", "null"]},
        }
    )
    event = _object(
        {
            "id": {"type": "string"},
            "at": {"type": "number"},
            "source": {"type": ["string", "null"]},
            "detail_type": {"type": ["string", "null"]},
            "published_at": {"type": "number"},
            "envelope": {"type": "object"},
        }
    )
    rule = _object(
        {
            "name": {"type": "string"},
            "disabled": {"type": "boolean"},
            "action": {"type": ["string", "null"]},
            "pattern": {"type": ["object", "null"]},
        }
    )
    limit = _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "Page size.")
    return {
        "/v1/charts": {
            "get": _operation(
                "Per queue and action chart points over the last hour (by minute) or day (15 min)",
                (200, "Points by queue and by action.", {"type": "object"}),
                (400,),
                parameters=[_query("window", {"enum": ["hour", "day"]}, "The span charted.")],
            )
        },
        "/v1/rules": {
            "get": _operation(
                "Every rule declared in the store (pattern and action: those of this server's app)",
                (200, "Rules.", _object({"rules": {"type": "array", "items": rule}})),
            )
        },
        "/v1/schedules": {
            "get": _operation(
                "Every stored schedule with its next fire time and last tick fired",
                (200, "Schedules.", _object({"schedules": {"type": "array", "items": schedule}})),
            )
        },
        "/v1/events": {
            "get": _operation(
                "Archived events of the last `since` seconds (default 3600), oldest first",
                (200, "Events.", _object({"events": {"type": "array", "items": event}})),
                (400,),
                parameters=[_query("since", _SECONDS, "Seconds back."), limit],
            )
        },
    }


def _selection_paths(queue: Schema) -> dict[str, Schema]:
    """``/v1/queues/{name}/dlq/selection``: count, redrive or purge what a filter selects."""
    params = [queue, *_filters()]
    path = "/v1/queues/{name}/dlq/selection"

    def changed(key: str, summary: str) -> Schema:
        ok = _object({"queue": {"type": "string"}, key: {"type": "integer"}})
        return {
            "post": _operation(
                summary,
                (200, "Done (audited).", ok),
                (400, 404),
                scope="admin",
                parameters=params,
            )
        }

    counted = _object({"queue": {"type": "string"}, "count": {"type": "integer"}})
    return {
        path: {
            "get": _operation(
                "How many dead letters of the queue the filter selects",
                (200, "The count.", counted),
                (400, 404),
                parameters=params,
            )
        },
        f"{path}/redrive": changed("redriven", "Redrive the dead letters the filter selects"),
        f"{path}/purge": changed("purged", "Delete the dead letters the filter selects"),
    }
