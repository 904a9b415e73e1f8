"""The OpenAPI paths of the operator controls (``controls.py``), merged into ``openapi.py``'s
document."""

from __future__ import annotations

from typing import Any

from sluice.web.http import MAX_ID

Schema = dict[str, Any]
NAMES: Schema = {"type": "array", "items": {"type": "string"}}
NULLABLE_INT: Schema = {"type": ["integer", "null"]}
NULLABLE_NUMBER: Schema = {"type": ["number", "null"]}
LIMIT: Schema = {
    "type": "object",
    "required": ["action", "overridden", "in_force"],
    "properties": {
        "action": {"type": "string"},
        "concurrency": NULLABLE_INT,
        "rate": NULLABLE_NUMBER,
        "override_concurrency": NULLABLE_INT,
        "override_rate": NULLABLE_NUMBER,
        "effective": NULLABLE_NUMBER,
        "overridden": {"type": "boolean"},
        "in_force": {"type": "object"},
    },
}
LIMITS_BODY: Schema = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "concurrency": {"type": "integer", "minimum": 1},
        "rate": {
            "description": "Messages per second, or text in the code's syntax: '5/s', '30/m', "
            "'100/h'.",
            "oneOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {
                    "type": "string",
                    "pattern": r"^\s*\d+(\.\d+)?\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$",
                },
            ],
        },
    },
}
CHANGED: Schema = {"type": "object", "description": "The target's state before and after."}
AUDIT: Schema = {
    "type": "object",
    "required": ["entries"],
    "properties": {
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "at", "who", "what", "target", "old", "new"],
                "properties": {
                    "id": {"type": "integer"},
                    "at": {"type": "number"},
                    "who": {"type": "string"},
                    "what": {"type": "string"},
                    "target": {"type": "string"},
                },
            },
        }
    },
}
STATE: Schema = {
    "type": "object",
    "required": ["paused_queues", "paused_schedules", "disabled_rules", "rules"],
    "properties": {
        "paused_queues": NAMES,
        "paused_schedules": NAMES,
        "disabled_rules": NAMES,
        "rules": NAMES,
        "schedules": NAMES,
    },
}


def control_paths(operation: Any, query: Any, action: Schema, queue: Schema) -> dict[str, Schema]:
    """The control routes, built with ``openapi.py``'s ``_operation`` and ``_query``."""
    named: Schema = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    }

    def change(summary: str, parameter: Schema) -> Schema:
        return {
            "post": operation(
                summary, (200, "Done.", CHANGED), (404,), scope="admin", parameters=[parameter]
            )
        }

    before = query(
        "before_id",
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "Only entries with a lower id (paging).",
    )
    size = query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size.")
    return {
        "/v1/controls": {
            "get": operation(
                "Paused queues and schedules, disabled and declared rules",
                (200, "The control state.", STATE),
            )
        },
        "/v1/audit": {
            "get": operation(
                "Operator actions, newest first",
                (200, "A page of the audit log.", AUDIT),
                (400,),
                parameters=[size, before],
            )
        },
        "/v1/limits": {
            "get": operation(
                "Every action's declared, overridden and adaptive limits",
                (
                    200,
                    "Limits.",
                    {"type": "object", "properties": {"limits": {"type": "array", "items": LIMIT}}},
                ),
            )
        },
        "/v1/actions/{name}/limits": {
            "put": operation(
                "Override an action's concurrency and/or rate until reset",
                (200, "The limits now.", LIMIT),
                (400, 404, 413),
                scope="admin",
                parameters=[action],
                body=LIMITS_BODY,
            ),
            "delete": operation(
                "Drop the override: the declared limits are in force again",
                (200, "The limits now.", LIMIT),
                (404,),
                scope="admin",
                parameters=[action],
            ),
        },
        "/v1/queues/{name}/pause": change(
            "Pause the queue: no worker claims from it; enqueueing goes on", queue
        ),
        "/v1/queues/{name}/resume": change("Resume the queue", queue),
        "/v1/schedules/{name}/pause": change("Pause the schedule: it fires no tick", named),
        "/v1/schedules/{name}/resume": change(
            "Resume the schedule from its next tick (missed ticks are skipped)", named
        ),
        "/v1/rules/{name}/disable": change("Disable the rule: it routes no event", named),
        "/v1/rules/{name}/enable": change("Enable the rule", named),
    }
