"""A TCP proxy on loopback that delays every byte by half a round trip each way, and counts
the client's sends: a stand-in for a database 1 ms away (this machine's kernel has no
``netem`` qdisc, so ``tc`` cannot add the delay).

``DelayProxy(upstream_port, rtt=0.001)`` is a context manager; ``.port`` is where clients
connect, ``.sends`` how many chunks clients have sent so far (each query that waits for its
answer is at least one; pipelined queries may share one), ``.reset()`` zeroes it. Threads, not
asyncio: an event loop's timers round sub-millisecond waits up to a whole millisecond.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from types import TracebackType

CHUNK = 65536


class DelayProxy:
    def __init__(self, upstream_port: int, rtt: float, host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self.delay = rtt / 2
        self.sends = 0
        self._count_lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._closing = False

    def __enter__(self) -> DelayProxy:
        threading.Thread(target=self._accept, daemon=True, name="delay-proxy").start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._closing = True
        self._listener.close()
        for sock in self._open:
            sock.close()

    def reset(self) -> None:
        with self._count_lock:
            self.sends = 0

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._open.append(sock)
            self._pipe(client, server, count=True)
            self._pipe(server, client, count=False)

    def _pipe(self, source: socket.socket, sink: socket.socket, *, count: bool) -> None:
        chunks: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def receive() -> None:
            try:
                while data := source.recv(CHUNK):
                    if count:
                        with self._count_lock:
                            self.sends += 1
                    chunks.put((time.monotonic() + self.delay, data))
            except OSError:
                pass
            chunks.put((0.0, b""))

        def deliver() -> None:
            while True:
                due, data = chunks.get()
                if not data:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    sink.sendall(data)
                except OSError:
                    break
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

        threading.Thread(target=receive, daemon=True).start()
        threading.Thread(target=deliver, daemon=True).start()
