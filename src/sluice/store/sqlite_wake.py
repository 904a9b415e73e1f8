"""Same-host wake-ups for one SQLite file: a waiting worker listens on a datagram socket in a
directory of the file's; a writer that made work visible sends each listener the queue names
after its commit. SQLite has no LISTEN/NOTIFY, and polling the file's data_version every
``POLL`` seconds stays the fallback: for writers on other hosts or with another temp directory,
for a lost datagram, and for transactions that commit on a caller's own connection.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import select
import socket
import tempfile
import threading
from collections.abc import Iterable

MAX_DATAGRAM = 4096
"""Bytes of queue names one wake-up carries at most (more: it names none, waking everyone)."""
EVERY_QUEUE = b"*"


def wake_dir(path: str) -> str:
    """The directory of ``path``'s listeners: in the temp directory (a socket's path must be
    short), named after the file's real path so every process of the host finds the same one."""
    digest = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:20]
    return os.path.join(tempfile.gettempdir(), f"sluice-wake-{digest}")


class Listener:
    """One thread's socket in the wake directory (bound until :meth:`close`)."""

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if os.stat(directory).st_uid != os.getuid():
            raise PermissionError(f"{directory} belongs to another user")
        self.path = os.path.join(directory, f"{os.getpid()}-{os.urandom(4).hex()}")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(self.path)

    def wait(self, timeout: float, names: set[str]) -> set[str] | None:
        """Wait up to ``timeout`` for a wake-up: the queues of ``names`` the wake-ups that came
        name (all of ``names`` for a wake-up of every queue; empty if they named others), None
        if none came."""
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable:
            return None
        woken: set[str] = set()
        while True:
            try:
                payload = self.sock.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return woken
            if payload == EVERY_QUEUE:
                woken = set(names)
            else:
                woken.update(names.intersection(payload.decode().split("\n")))

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class Waker:
    """Sends wake-ups to every listener of one file; removes the sockets of dead processes."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def wake(self, queues: Iterable[str]) -> None:
        payload = "\n".join(queues).encode()
        if len(payload) > MAX_DATAGRAM or not payload:
            payload = EVERY_QUEUE
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return  # nobody listens yet
        with self._lock:
            sock = self._socket()
            for name in names:
                self._send(sock, os.path.join(self.directory, name), payload)

    def _socket(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
        return self._sock

    @staticmethod
    def _send(sock: socket.socket, path: str, payload: bytes) -> None:
        try:
            sock.sendto(payload, path)
        except BlockingIOError:
            pass  # its buffer is full of wake-ups it has not read: it will wake
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                with contextlib.suppress(OSError):  # a listener whose process died unclosed
                    os.unlink(path)

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


class Wakeups:
    """A driver's wake-ups: queues noted in a write transaction are sent after its commit;
    each waiting thread listens on a socket of its own (or, where none can be made, sleeps)."""

    def __init__(self, path: str) -> None:
        self.directory = wake_dir(path)
        self._waker = Waker(self.directory)
        self._pending: dict[object, set[str]] = {}  # connection in a write -> queues to wake
        self._local = threading.local()
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()

    def begin(self, conn: object) -> None:
        self._pending[conn] = set()

    def note(self, conn: object, queues: Iterable[str]) -> None:
        """Wake ``queues`` after ``conn``'s write commits (not for a caller's own transaction,
        whose commit sluice does not see: waiters find that by polling)."""
        pending = self._pending.get(conn)
        if pending is not None:
            pending.update(queues)

    def ended(self, conn: object, committed: bool) -> None:
        queues = self._pending.pop(conn, None)
        if committed and queues:
            self._waker.wake(sorted(queues))

    def wait(self, timeout: float, names: set[str]) -> set[str]:
        """Wait up to ``timeout`` for a wake-up naming some of ``names``: those it names."""
        listener = self._listener()
        if listener is None:
            select.select([], [], [], timeout)
            return set()
        return listener.wait(timeout, names) or set()

    def _listener(self) -> Listener | None:
        listener: Listener | None = getattr(self._local, "listener", None)
        if listener is None and not getattr(self._local, "unable", False):
            try:
                listener = Listener(self.directory)
            except OSError:  # say, a directory of another user's: poll instead
                self._local.unable = True
                return None
            self._local.listener = listener
            with self._lock:
                self._listeners.add(listener)
        return listener

    def close(self) -> None:
        with self._lock:
            for listener in self._listeners:
                listener.close()
            self._listeners.clear()
        self._local = threading.local()
        self._waker.close()
