"""``sluice serve``'s transport: a connection's writes of one loop iteration reach the socket
as one write (a small answer's headers and body in one segment), over real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from sluice.web.protocol import HOLD_LIMIT, CoalescingTransport


class _Peer(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set_result(None)


async def _connected() -> tuple[CoalescingTransport, list[int], _Peer, Any]:
    """A held transport writing to a peer over loopback, and the sizes its socket was sent."""
    loop = asyncio.get_running_loop()
    peers: list[_Peer] = []

    def accept() -> _Peer:
        peers.append(_Peer())
        return peers[-1]

    server = await loop.create_server(accept, "127.0.0.1", 0, family=socket.AF_INET)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    while not peers:
        await asyncio.sleep(0.01)
    sent: list[int] = []
    write = transport.write

    def counted(data: Any) -> None:
        sent.append(len(data))
        write(data)

    transport.write = counted  # type: ignore[method-assign]  # count the socket's writes
    return CoalescingTransport(transport, loop), sent, peers[0], server  # type: ignore[arg-type]


async def _received(peer: _Peer, size: int) -> bytes:
    for _ in range(500):
        if len(peer.data) >= size:
            break
        await asyncio.sleep(0.01)
    return peer.data


def test_writes_of_one_iteration_are_one_send_and_arrive_whole() -> None:
    async def main() -> tuple[list[int], bytes]:
        held, sent, peer, server = await _connected()
        held.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        held.write(b"{}")
        assert sent == []  # held until the loop has run this iteration's callbacks
        data = await _received(peer, 40)
        held.close()
        server.close()
        return sent, data

    sent, data = asyncio.run(main())
    assert sent == [len(data)]
    assert data == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"


def test_a_big_write_goes_at_once_and_close_sends_what_is_held_first() -> None:
    async def main() -> tuple[list[int], bytes]:
        held, sent, peer, server = await _connected()
        held.write(b"a" * 10)
        held.write(b"b" * HOLD_LIMIT)  # over the limit: sent now, with what was held
        assert sent == [10 + HOLD_LIMIT]
        held.write(b"tail")
        held.close()  # the held tail goes before the connection closes
        await asyncio.wait_for(peer.closed, 5)
        server.close()
        return sent, peer.data

    sent, data = asyncio.run(main())
    assert sent == [10 + HOLD_LIMIT, 4]
    assert data == b"a" * 10 + b"b" * HOLD_LIMIT + b"tail"


def test_abort_drops_what_is_held() -> None:
    async def main() -> tuple[list[int], bytes]:
        held, sent, peer, server = await _connected()
        held.write(b"never sent")
        held.abort()
        await asyncio.wait_for(peer.closed, 5)
        await asyncio.sleep(0.05)  # the flush scheduled by the write runs, and sends nothing
        server.close()
        return sent, peer.data

    assert asyncio.run(main()) == ([], b"")
