"""EventBridge's ``PutEvents`` (``X-Amz-Target: AWSEvents.PutEvents``, AWS JSON 1.1) on
sluice's event bus: the entries that are valid are published in one transaction (archived,
routed by the app's rules); each invalid one is reported in ``Entries`` with ``ErrorCode``
and ``ErrorMessage``, as AWS does, and counted in ``FailedEntryCount``."""

from __future__ import annotations

from typing import Any

from sluice import codec
from sluice.aws.errors import AwsError
from sluice.aws.wire import SERVICES, Call, Service, in_thread
from sluice.errors import MessageError

NAMESPACE = "com.amazonaws.events"
MAX_ENTRIES = 10
MAX_ENTRY_SIZE = 256 * 1024
"""Bytes of one entry at most, counted as AWS counts them."""
BUSES = ("default",)
"""The names a sluice app's one bus answers to (also as the tail of an event-bus ARN)."""

Entry = dict[str, Any]


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", "ValidationException", message, namespace=NAMESPACE)


def entry_size(entry: Entry) -> int:
    """The size of an entry as EventBridge computes it: 14 bytes for a Time, the UTF-8
    bytes of Source, DetailType, Detail and of each resource."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        size += len(value.encode()) if isinstance(value, str) else 0
    resources = entry.get("Resources") or []
    if isinstance(resources, list):
        size += sum(len(r.encode()) for r in resources if isinstance(r, str))
    return size


def _invalid(name: str, reason: str) -> tuple[str, str]:
    return "InvalidArgument", f"Parameter {name} is not valid. Reason: {reason}"


def _check(entry: Any) -> tuple[str, str] | None:
    """Why AWS would fail this entry, as (ErrorCode, ErrorMessage), or None."""
    if not isinstance(entry, dict):
        return _invalid("Entry", "an entry must be a JSON object.")
    for name in ("Source", "DetailType", "Detail"):
        if entry.get(name) in (None, ""):
            return _invalid(name, f"{name} is a required argument.")
        if not isinstance(entry[name], str):
            return _invalid(name, f"{name} must be a string.")
    bus = entry.get("EventBusName")
    if bus is not None and (not isinstance(bus, str) or bus.rsplit("/", 1)[-1] not in BUSES):
        return (
            "ResourceNotFoundException",
            f"Event bus {str(bus)[:256]} does not exist: sluice has one bus, 'default'.",
        )
    resources = entry.get("Resources")
    if resources is not None and (
        not isinstance(resources, list) or not all(isinstance(r, str) for r in resources)
    ):
        return _invalid("Resources", "Resources must be a list of strings.")
    size = entry_size(entry)
    if size > MAX_ENTRY_SIZE:
        return _invalid(
            "Entry", f"the entry is {size} bytes; at most {MAX_ENTRY_SIZE} are allowed."
        )
    try:
        detail = codec.loads(entry["Detail"])
    except ValueError:
        return "MalformedDetail", "Detail is malformed."
    if not isinstance(detail, dict):
        return "MalformedDetail", "Detail is malformed: it must be a JSON object."
    return None


def _entries(params: dict[str, Any]) -> list[Any]:
    entries = params.get("Entries")
    if not isinstance(entries, list) or not entries:
        raise _validation(
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    if len(entries) > MAX_ENTRIES:
        raise _validation(
            f"1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ENTRIES} (got {len(entries)}); "
            "nothing was published"
        )
    return entries


async def put_events(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Publish the valid entries on the app's bus; report each entry's event id or error."""
    results: list[dict[str, str]] = []
    built: list[tuple[int, tuple[dict[str, Any], float]]] = []
    bus = call.app.bus
    for position, entry in enumerate(_entries(params)):
        error = _check(entry)
        if error is None:
            try:
                envelope = bus.envelope(
                    entry["Source"],
                    entry["DetailType"],
                    codec.loads(entry["Detail"]),
                    resources=entry.get("Resources") or (),
                    time=entry.get("Time"),
                )
                built.append((position, envelope))
            except MessageError as exc:
                error = "InvalidArgument", str(exc)
        results.append({} if error is None else {"ErrorCode": error[0], "ErrorMessage": error[1]})
    if built:
        ids = await in_thread(bus.publish, [envelope for _, envelope in built])
        for (position, _), event_id in zip(built, ids, strict=True):
            results[position] = {"EventId": event_id}
    failed = sum(1 for result in results if "ErrorCode" in result)
    return {"FailedEntryCount": failed, "Entries": results}


EVENTS = Service(
    operations={"PutEvents": put_events},
    content_type="application/x-amz-json-1.1",
)
SERVICES["AWSEvents"] = EVENTS
