"""JSON encoding of message bodies and size accounting: the only module that uses orjson.

A body is stored only if it reads back as the same value, so encoding refuses what JSON cannot
hold exactly: NaN and the infinities (JSON has no literal for them; orjson would write
``null``), integers outside ``[MIN_INT, MAX_INT]`` (the range stored bodies round-trip in; a
JSON reader turns larger ones into floats) and nesting deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from sluice.errors import BodyNotSerializable

MAX_DEPTH = 128
"""Deepest nesting of arrays and objects a body may have (``[]`` is 1 level): deep enough for
any real document, shallow enough that the API, the dashboard and JSON readers elsewhere (many
stop at 100 to 1000 levels) can wrap and read it back."""
MIN_INT = -(2**63)
MAX_INT = 2**64 - 1
"""Integers a body may hold; outside this range send them as strings."""
_LONG_DIGITS = re.compile(rb"\d{19}")
"""Every integer outside [MIN_INT, MAX_INT] has at least 19 digits."""


@dataclass(frozen=True, slots=True)
class UnreadableBody:
    """A stored body that cannot be decoded (corrupt, or written by another program): listings
    show it instead of failing as a whole."""

    text: str
    error: str


def dumps(data: Any, *, indent: bool = False) -> bytes:
    """JSON bytes of a value known to be JSON-safe (built by sluice, like an API answer or a
    log line, or read back from the store): none of :func:`encode_bytes`' checks, which parse
    the text back whenever it holds a ``null``; ``indent`` for people."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 if indent else 0)


def loads(text: str | bytes) -> Any:
    """Parse JSON text; ``ValueError`` (a ``json.JSONDecodeError``) if it is not JSON."""
    return orjson.loads(text)


def encode(body: Any) -> str:
    """Serialise ``body`` to JSON text, or raise :class:`BodyNotSerializable` naming the cause."""
    return encode_bytes(body).decode()


def encode_bytes(body: Any) -> bytes:
    """Serialise ``body`` to UTF-8 JSON bytes, or raise :class:`BodyNotSerializable` naming the
    value that JSON cannot hold exactly and where it is."""
    try:
        raw = orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError) as exc:
        fault = fault_in(body)
        raise BodyNotSerializable(
            f"message body cannot be stored as JSON: {fault}"
            if fault
            else f"message body cannot be serialised to JSON ({exc})"
        ) from exc
    # NaN and infinities come out as null, deep nesting needs many brackets: look closer only then
    if (b"null" in raw and orjson.loads(raw) != body) or (
        len(raw) > MAX_DEPTH and raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _too_deep(body)
    ):
        fault = fault_in(body)
        if fault is not None:
            raise BodyNotSerializable(f"message body cannot be stored as JSON: {fault}")
    return raw


def _deepest_orjson_writes() -> int:
    """How many levels orjson writes before its recursion limit (254 in orjson 3)."""
    body: list[Any] = []
    for levels in range(1, 4096):
        try:
            orjson.dumps(body)
        except orjson.JSONEncodeError:
            return levels - 1
        body = [body]
    return 4096


_HEADROOM = _deepest_orjson_writes() - MAX_DEPTH


def _too_deep(body: Any) -> bool:
    """Whether ``body`` (which orjson wrote) nests deeper than :data:`MAX_DEPTH`, at C speed:
    wrapped in the levels orjson can write beyond the limit, it must still be writable."""
    if _HEADROOM < 1:  # pragma: no cover - an orjson with a lower recursion limit
        return fault_in(body) is not None
    wrapped = body
    for _ in range(_HEADROOM):
        wrapped = [wrapped]
    try:
        orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        return True
    return False


def fault_in(body: Any) -> str | None:
    """What in ``body`` JSON cannot hold exactly (NaN, an infinity, an integer out of range,
    nesting deeper than :data:`MAX_DEPTH`), with its path; None if nothing."""
    stack: list[tuple[Any, str, int]] = [(body, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, float) and not math.isfinite(value):
            return f"{value!r} at {path} (JSON has no NaN or Infinity: send null or a string)"
        if isinstance(value, int) and not isinstance(value, bool):
            if not MIN_INT <= value <= MAX_INT:
                return (
                    f"the integer {value} at {path} is outside the range JSON bodies keep "
                    f"exactly ({MIN_INT} to {MAX_INT}): send it as a string"
                )
            continue
        children = _children(value, path)
        if children is None:
            continue
        if depth >= MAX_DEPTH:
            where = path if len(path) <= 60 else path[:60] + "..."
            return f"it is nested deeper than {MAX_DEPTH} levels, the limit (at {where})"
        stack.extend((child, at, depth + 1) for child, at in reversed(children))
    return None


def _children(value: Any, path: str) -> list[tuple[Any, str]] | None:
    """The members of an array or object with their paths; None for a scalar."""
    if isinstance(value, dict):
        return [(v, f"{path}.{k}") for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(getattr(value, f.name), f"{path}.{f.name}") for f in dataclasses.fields(value)]
    return None


def decode(text: str | bytes) -> Any:
    """Parse JSON text, keeping integers exact: a value outside orjson's 64-bit range comes
    back as a Python ``int`` (which :func:`encode` then refuses, naming it), never as a float.
    Raises ``ValueError`` (a ``json.JSONDecodeError``) for text that is not JSON."""
    value = orjson.loads(text)
    raw = text.encode() if isinstance(text, str) else text
    if _LONG_DIGITS.search(raw):  # a long run of digits: maybe an integer orjson made a float
        try:
            return json.loads(raw, parse_constant=_no_constant)
        except RecursionError:
            raise ValueError(
                f"JSON nested too deep to read exactly (bodies may nest {MAX_DEPTH} levels)"
            ) from None
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_stored(text: str | bytes) -> Any:
    """A stored body, or an :class:`UnreadableBody` if it cannot be decoded."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        shown = text if isinstance(text, str) else text.decode(errors="replace")
        return UnreadableBody(shown, str(exc))


def shown(body: Any) -> tuple[Any, str | None]:
    """A stored body as a listing can show it: ``(body, None)``, or ``(None, why)`` for one
    that cannot be read or written back as JSON (rows of older versions or other programs),
    so one such message never breaks a listing."""
    if isinstance(body, UnreadableBody):
        return None, f"the stored body is not valid JSON ({body.error}): {body.text[:200]!r}"
    try:
        encode_bytes(body)
    except BodyNotSerializable as exc:
        return None, exc.detail
    return body, None
