"""The writers' queue of one SQLite file: threads and processes take turns at the write lock
through a lock file (in the temp directory, named after the file's real path), and a waiter
is woken the moment the holder lets go.

SQLite's own busy handler polls with growing sleeps (1, 2, 5, 10 ms ...), so two writers that
each hold the lock for a millisecond spend most of their time asleep. Taking a blocking
``flock`` on a side file first makes the kernel hand the turn over at once; ``BEGIN IMMEDIATE``
then finds the lock free (a writer that does not use the queue, such as the sqlite3 shell, is
still waited for by the busy handler). A killed process's turn ends with it: the kernel drops
its ``flock``.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sluice.store.driver import WouldWait
from sluice.store.sqlite_wake import wake_dir

TURN_WAIT = 5.0
"""Seconds a thread waits for its process's other writers before going on to SQLite's lock."""


class WriterQueue:
    """One per process and file. Reentrant in a thread: a thread already holding the turn
    (say, inside a handler's transaction) passes straight on, and meets SQLite's own lock."""

    def __init__(self, path: str) -> None:
        # In the temp directory beside the wake-ups', not beside the user's file.
        self.path = wake_dir(path) + ".lock"
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._depth = 0

    @contextmanager
    def turn(self, wait: bool = True) -> Iterator[None]:
        """Hold the file's write turn for the body. A thread that waits ``TURN_WAIT`` for the
        other threads of its process goes on without the turn, to SQLite's own lock: a thread
        holding the turn while it waits for another thread's write must not stall them all.
        Without ``wait``, a turn another thread or process holds raises :class:`WouldWait`."""
        if not self._take_thread_lock(wait):
            yield
            return
        try:
            fd = self._open()
            if fd is None:  # the lock file cannot be made here: SQLite's busy handler only
                yield
                return
            if self._depth == 0:
                self._flock(fd, wait)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _take_thread_lock(self, wait: bool) -> bool:
        """Whether this thread took its process's turn (False: it waited TURN_WAIT in vain);
        without ``wait``, WouldWait if another thread holds it."""
        if wait:
            return self._thread_lock.acquire(timeout=TURN_WAIT)
        if not self._thread_lock.acquire(blocking=False):
            raise WouldWait
        return True

    def _flock(self, fd: int, wait: bool) -> None:
        if wait:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process's turn (the thread lock is let go above)
            raise WouldWait from None

    def _open(self) -> int | None:
        if self._fd is None:
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
            try:
                fd = os.open(self.path, flags, 0o600)
            except OSError:
                return None
            if os.fstat(fd).st_uid != os.getuid():  # another user's could be held forever
                os.close(fd)
                return None
            self._fd = fd
        return self._fd

    def close(self) -> None:
        """Close the lock file's descriptor (the file stays for other processes)."""
        with self._thread_lock:
            if self._fd is not None and self._depth == 0:
                os.close(self._fd)
                self._fd = None


_QUEUES: dict[str, WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def writer_queue(path: str) -> WriterQueue:
    """The process's one writers' queue for the SQLite file at ``path``."""
    key = os.path.realpath(path)
    with _QUEUES_LOCK:
        queue = _QUEUES.get(key)
        if queue is None:
            queue = _QUEUES[key] = WriterQueue(key)
        return queue


def _forget_after_fork() -> None:
    # A forked child must not use the parent's descriptors (they share the parent's flock:
    # unlocking one would end the parent's turn) nor its locks (another thread may have held
    # one at the fork): it starts a queue of its own.
    global _QUEUES_LOCK
    _QUEUES.clear()
    _QUEUES_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
