"""``sluice serve``'s HTTP protocol: uvicorn's httptools protocol, each response sent in one go.

uvicorn writes a response's status line and headers when the app starts it, then its body,
each straight to the socket: two system calls and two TCP segments for every small answer
(an SQS call's), and two wake-ups of the client. :class:`CoalescingTransport` holds a
connection's writes until the loop has run the callbacks ready in this iteration, then sends
them as one; a write that makes the held bytes exceed :data:`HOLD_LIMIT` goes at once, so a
streamed body is never held in memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HOLD_LIMIT = 64 * 1024
"""Bytes held for one send at most."""


class CoalescingTransport:
    """A transport whose writes of one loop iteration reach the socket as one write; all else
    is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size > HOLD_LIMIT:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Send what is held now."""
        self._scheduled = False
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CoalescingTransport`."""

    def connection_made(self, transport: Any) -> None:
        held: Any = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(held)


def server_options() -> dict[str, Any]:
    """The uvicorn settings sluice serves its API with (``sluice serve``, the ETL demo):
    httptools parsing in C (with h11, uvicorn's fallback, the server spent more CPU per SQS
    message), :class:`HttpProtocol`'s one write per answer, and uvloop where installed
    ("auto"). Each saved CPU per SQS message in same-run pairs (docs/benchmarks.md)."""
    return {"http": HttpProtocol, "loop": "auto"}


__all__ = ["HOLD_LIMIT", "CoalescingTransport", "HttpProtocol", "server_options"]
