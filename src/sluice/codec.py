"""JSON encoding of message bodies."""

from __future__ import annotations

from typing import Any

import orjson

from sluice.errors import BodyNotSerializable


def encode(body: Any) -> str:
    """Serialise ``body`` to JSON text, or raise :class:`BodyNotSerializable` naming the cause."""
    return encode_bytes(body).decode()


def encode_bytes(body: Any) -> bytes:
    """Serialise ``body`` to UTF-8 JSON bytes, or raise :class:`BodyNotSerializable`."""
    try:
        return orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise BodyNotSerializable(
            f"message body cannot be serialised to JSON ({exc}); nothing was stored"
        ) from exc


def decode(text: str | bytes) -> Any:
    """Parse JSON text stored by :func:`encode`."""
    return orjson.loads(text)
