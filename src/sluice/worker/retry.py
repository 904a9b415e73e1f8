"""Retry delays: exponential backoff with full jitter."""

from __future__ import annotations

import random


def backoff(receive_count: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before the next receive after ``receive_count`` failed receives:
    uniform in [0, min(cap, base * 2 ** (receive_count - 1))] ("full jitter")."""
    ceiling = min(cap, base * 2.0 ** max(0, receive_count - 1))
    return (rng or random).uniform(0.0, ceiling)
