"""The JSON bodies of the API routes that are not messages: events and redrive filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sluice.web.http import MAX_ID, ApiError, text_param

EVENT_FIELDS = frozenset({"source", "detail-type", "detail", "resources", "time", "id"})
"""EventBridge's names; ``detail_type`` is accepted for ``detail-type`` too."""
ALIAS = "detail_type"


@dataclass(frozen=True)
class Event:
    """An event posted to ``/v1/events``."""

    source: str
    detail_type: str
    detail: dict[str, Any] = field(default_factory=dict)
    resources: list[str] = field(default_factory=list)
    time: str | None = None
    id: str | None = None


def parse_event(body: Any) -> Event:
    """``{"source", "detail-type", "detail"?, "resources"?, "time"?, "id"?}`` (400 otherwise)."""
    usage = (
        'send {"source": "...", "detail-type": "...", "detail": {...}} with non-empty source '
        f"and detail-type ({ALIAS} is accepted for detail-type)"
    )
    if not isinstance(body, dict):
        raise ApiError(400, "invalid", usage)
    unknown = sorted(set(body) - EVENT_FIELDS - {ALIAS})
    if unknown:
        raise ApiError(400, "invalid", f"unknown event field {unknown[0][:40]!r}; {usage}")
    if "detail-type" in body and ALIAS in body:
        raise ApiError(400, "invalid", f"send detail-type or {ALIAS}, not both")
    source, detail_type = body.get("source"), body.get("detail-type", body.get(ALIAS))
    if not (isinstance(source, str) and source and isinstance(detail_type, str) and detail_type):
        raise ApiError(400, "invalid", usage)
    text_param(source, "source")
    text_param(detail_type, "detail-type")
    resources = body.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise ApiError(400, "invalid", "resources must be a list of strings")
    detail = body.get("detail", {})
    if not isinstance(detail, dict):
        raise ApiError(400, "invalid", "detail must be a JSON object")
    time = body.get("time")
    if "time" in body and not isinstance(time, str):
        raise ApiError(400, "invalid", "time must be ISO 8601 text")
    event_id = body.get("id")
    if "id" in body and not (isinstance(event_id, str) and 1 <= len(event_id) <= 256):
        raise ApiError(400, "invalid", "id must be text of 1 to 256 characters")
    return Event(source, detail_type, detail, resources, time, event_id)


def redrive_filter(body: Any) -> tuple[list[int] | None, str | None]:
    """``{"ids": [...], "error_contains": "..."}`` (both optional; none: every dead letter)."""
    if body is None:
        return None, None
    fields = {"ids", "error_contains"}
    if not isinstance(body, dict) or not set(body) <= fields:
        raise ApiError(
            400, "invalid", 'send {"ids": [1, 2], "error_contains": "text"} (both optional)'
        )
    if any(key in body and body[key] is None for key in fields):
        raise ApiError(400, "invalid", "leave ids or error_contains out instead of null")
    ids = body.get("ids")
    if ids is not None and (
        not isinstance(ids, list)
        or not all(type(i) is int and 0 < i <= MAX_ID for i in ids)  # bool is no id
    ):
        raise ApiError(400, "invalid", "ids must be a list of message ids (positive integers)")
    error_contains = body.get("error_contains")
    if error_contains is not None and not isinstance(error_contains, str):
        raise ApiError(400, "invalid", "error_contains must be a string")
    return ids, text_param(error_contains, "error_contains", limit=1000)
