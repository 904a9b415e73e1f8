"""Human-readable figures for the command line."""

from __future__ import annotations


def age(seconds: float) -> str:
    """``42s``, ``7m``, ``3h``, ``2d``."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def duration(seconds: float | None) -> str:
    """A policy duration, ``forever`` for None."""
    return "forever" if seconds is None else age(seconds)


def clip(text: str | None, width: int = 60) -> str:
    """One line of at most ``width`` characters."""
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
