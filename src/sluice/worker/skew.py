"""The worker's check of its machine's clock against the store's (the database's on
PostgreSQL). sluice does not depend on it (every time it stores comes from the store's
clock), but a machine that far off misleads its logs, file times and handlers' own clocks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sluice.store.clock import ClockOffset

if TYPE_CHECKING:
    from sluice.store import Store

SKEW_WARNING = 1.0
"""Seconds of difference between the local and the store's clock that a worker warns about."""


class ClockSkewCheck:
    """Warns once per process when the local clock is more than ``threshold`` seconds off
    the store's; :meth:`check` is cheap (the store's clock measures its offset itself)."""

    def __init__(self, store: Store, log: logging.Logger, threshold: float = SKEW_WARNING) -> None:
        self.store = store
        self.log = log
        self.threshold = threshold
        self.warned = False

    def check(self) -> ClockOffset | None:
        """The measured offset (None where the store's clock is injected); warns the first
        time it is beyond the threshold."""
        offset = self.store.clock_offset()
        if offset is not None and not self.warned and abs(offset.seconds) > self.threshold:
            self.warned = True
            ahead = "behind" if offset.seconds > 0 else "ahead of"
            self.log.warning(
                "clock skew: this machine's clock is %.3f s %s the database's (offset %+.3f s "
                "± %.3f s, over the %.1f s threshold); leases, delays, limits and schedules "
                "follow the database's clock, but fix this host's time sync (NTP)",
                abs(offset.seconds),
                ahead,
                offset.seconds,
                offset.error,
                self.threshold,
            )
        return offset
