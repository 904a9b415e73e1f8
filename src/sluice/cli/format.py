"""Human-readable figures for the command line."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

WIDEST = 10_000
"""A width no table reaches: measuring within it gives a table's unshortened width."""


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


def print_table(table: Table, console: Console | None = None) -> None:
    """Print ``table`` if it fits the terminal with no cell shortened; else each row as a
    block of ``column  value`` lines (like psql's expanded mode), so that an id or a name is
    never cut (a line the terminal wraps stays whole when copied)."""
    console = console or Console()
    natural = Measurement.get(console, console.options.update_width(WIDEST), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    if table.title:
        console.print(table.title, style="bold", soft_wrap=True)
    width = max(len(str(column.header)) for column in table.columns)
    for cells in zip(*(column.cells for column in table.columns), strict=True):
        console.print()
        for column, cell in zip(table.columns, cells, strict=True):
            console.print(f"[bold]{column.header!s:<{width}}[/]  {cell}", soft_wrap=True)
