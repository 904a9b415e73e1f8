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
    """Print ``table`` (its title on a line of its own) if it fits the terminal with no cell
    shortened; else as lines of ``column  value`` (a block per row, like psql's expanded
    mode; a table without a header is such lines already), so that an id or a name is never
    cut (a line the terminal wraps stays whole when copied)."""
    console = console or Console()
    natural = Measurement.get(console, console.options.update_width(WIDEST), table).maximum
    title, table.title = table.title, None  # rich would wrap a title wider than its table
    if title is not None:
        console.print(title, style="table.title", soft_wrap=True)
    if natural <= console.width:
        console.print(table)
        return
    rows = [
        [str(cell) for cell in row] for row in zip(*(c.cells for c in table.columns), strict=True)
    ]
    if not table.show_header:
        _print_pairs(console, rows)
        return
    headers = [str(column.header) for column in table.columns]
    for row in rows:
        console.print()
        _print_pairs(console, [[header, cell] for header, cell in zip(headers, row, strict=True)])


def _print_pairs(console: Console, rows: list[list[str]]) -> None:
    width = max((len(row[0]) for row in rows), default=0)
    for key, *values in rows:
        console.print(f"[bold]{key:<{width}}[/]  " + "  ".join(values), soft_wrap=True)
