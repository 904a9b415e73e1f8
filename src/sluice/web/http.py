"""HTTP plumbing of the API: JSON responses, errors, capped bodies and validated parameters."""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sluice import codec

MAX_ID = 2**63 - 1
MAX_TEXT = 256
"""Longest group, dedup id or run id accepted (they are indexed keys in the store)."""
JSON = "application/json"


class ApiError(Exception):
    """An error answered as ``{"error": code, "detail": message}`` with ``status``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        codec.dumps(data),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": error.code, "detail": error.detail}, error.status, headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it exceeds ``limit`` bytes (never read whole)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit, at_least=True)
        chunks.append(chunk)
    return b"".join(chunks)


def require_json(request: Request) -> None:
    """415 unless a body is declared ``application/json`` or ``application/*+json``.

    A route's own rule: routes of other protocols (an SQS endpoint) accept their own types."""
    declared = request.headers.get("content-type")
    media = (declared or "").partition(";")[0].strip().lower()
    kind, _, subtype = media.partition("/")
    if media == JSON or (kind == "application" and subtype.endswith("+json")):
        return
    got = f"Content-Type {declared[:60]!r}" if declared else "no Content-Type"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"the body must be JSON sent with Content-Type: {JSON} (got {got}); "
        "with curl use --json or -H 'Content-Type: application/json'",
    )


async def read_json(request: Request, limit: int, *, required: bool = True) -> Any:
    """The JSON body of a route that takes JSON: 415 for another media type, 413 above
    ``limit`` bytes, 400 if malformed (an empty optional body is None)."""
    raw = await read_body(request, limit)
    if raw:
        require_json(request)
    return parse_json(raw, required=required)


def too_large(size: int, limit: int, *, at_least: bool = False) -> ApiError:
    more = "at least " if at_least else ""
    return ApiError(
        413,
        "too_large",
        f"request body is {more}{size} bytes, above the limit of {limit} bytes; nothing was stored",
    )


def parse_json(raw: bytes, *, required: bool = True) -> Any:
    """The JSON value of a body; 400 naming the fault if it is malformed (or empty when
    ``required``; an empty optional body is None)."""
    if not raw.strip():
        if required:
            raise ApiError(
                400, "malformed_json", "request body is empty: send a JSON value (null, {}, ...)"
            )
        return None
    try:
        return codec.decode(raw)
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"request body is not valid JSON: {exc}") from None


def text_param(value: str | None, name: str, *, limit: int = MAX_TEXT) -> str | None:
    """A free-text parameter: at most ``limit`` characters, no NUL (400 otherwise)."""
    if value is None:
        return None
    if not value:
        raise ApiError(400, "invalid_parameter", f"{name} must not be empty")
    if len(value) > limit:
        raise ApiError(
            400, "invalid_parameter", f"{name} is {len(value)} characters long, at most {limit}"
        )
    if "\x00" in value:
        raise ApiError(400, "invalid_parameter", f"{name} must not contain NUL characters")
    return value


def int_param(
    value: str | None, name: str, default: int, *, minimum: int, maximum: int = MAX_ID
) -> int:
    """An integer query parameter in ``[minimum, maximum]`` (400 otherwise)."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", f"{name} must be an integer, got {value[:40]!r}"
        ) from None
    if not minimum <= number <= maximum:
        raise ApiError(
            400,
            "invalid_parameter",
            f"{name} must be between {minimum} and {maximum}, got {number}",
        )
    return number


def seconds_param(value: str | None, name: str, *, maximum: float) -> float:
    """A number of seconds in ``[0, maximum]`` (400 otherwise)."""
    if value is None:
        return 0.0
    try:
        number = float(value)
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", f"{name} must be a number of seconds, got {value[:40]!r}"
        ) from None
    if math.isnan(number) or not 0 <= number <= maximum:
        raise ApiError(
            400, "invalid_parameter", f"{name} must be between 0 and {maximum:g} seconds"
        )
    return number
