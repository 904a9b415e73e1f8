"""App: the registry and the wiring of one sluice deployment (store, queues, limits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sluice.model import ActionLimit, QueuePolicy, validate_queue_name
from sluice.store import Store, open_store, resolve_url
from sluice.store.base import Clock


class App:
    """One sluice deployment. ``url`` names the store (default ``$SLUICE_URL`` or
    ``sqlite:///sluice.db``); the store is opened and migrated on first use."""

    def __init__(self, url: str | None = None, *, clock: Clock | None = None) -> None:
        self.url = resolve_url(url)
        self._clock = clock
        self._store: Store | None = None
        self._queues: dict[str, QueuePolicy] = {}

    @property
    def store(self) -> Store:
        """The store, opened and migrated on first access, with every declared queue."""
        if self._store is None:
            store = open_store(self.url, clock=self._clock)
            store.migrate()
            for policy in self._queues.values():
                store.put_queue(policy)
            self._store = store
        return self._store

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: float | timedelta = 30.0,
        max_receives: int | None = 5,
        fifo: bool = False,
        dedup_window: float | timedelta | None = 300.0,
        retention: float | timedelta | None = 4 * 86400.0,
        max_message_bytes: int = 256 * 1024,
    ) -> QueuePolicy:
        """Declare a queue (and its DLQ ``name.dlq``) with its policy; durations in seconds."""
        validate_queue_name(name)
        policy = QueuePolicy(
            name=name,
            visibility_timeout=visibility_timeout,  # type: ignore[arg-type]
            max_receives=max_receives,
            fifo=fifo,
            dedup_window=dedup_window,  # type: ignore[arg-type]
            retention=retention,  # type: ignore[arg-type]
            max_message_bytes=max_message_bytes,
        )
        self._queues[name] = policy
        if self._store is not None:
            self._store.put_queue(policy)
        return policy

    def limit(
        self, action: str, *, concurrency: int | None = None, rate: str | float | None = None
    ) -> ActionLimit:
        """Set an action's global limits, enforced by the store across all workers."""
        limit = ActionLimit(action, concurrency=concurrency, rate=rate)  # type: ignore[arg-type]
        self.store.put_limit(limit)
        return limit

    @property
    def queues(self) -> Sequence[QueuePolicy]:
        """The queues this app declared."""
        return tuple(self._queues.values())

    def close(self) -> None:
        """Close the store's connections."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
