"""``sluice demo``: the store demo on the embedded SQLite default."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from sluice.cli import cli


@cli.command()
@click.option(
    "--store",
    "url",
    default="sqlite:///sluice-demo.db",
    show_default=True,
    help="Store URL (the embedded SQLite file by default).",
)
@click.option("--messages", default=50_000, show_default=True, help="How many rows to enqueue.")
def demo(url: str, messages: int) -> None:
    """Enqueue rows with dedup, drain them with 2 competing processes, dead-letter poison."""
    from sluice.demos import drain

    console = Console()
    console.print(f"[bold]sluice demo[/bold] on {url}: {messages:,} rows, 2 claimer processes")
    summary = drain.run(url, messages)
    table = Table(show_header=False, title="summary")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rate = summary.enqueued / summary.drain_seconds if summary.drain_seconds else 0.0
    rows = [
        ("messages enqueued", f"{summary.enqueued:,}"),
        ("repeats dropped by dedup", f"{summary.deduplicated:,}"),
        ("acked", f"{summary.acked:,}"),
        ("acked per process", ", ".join(f"{n:,}" for n in summary.per_process)),
        ("dead-lettered (poison, 3 receives)", f"{summary.dead:,}"),
        ("delivered twice", f"{summary.duplicates:,}"),
        ("enqueue time", f"{summary.enqueue_seconds:.2f} s"),
        ("drain time", f"{summary.drain_seconds:.2f} s ({rate:,.0f} msg/s)"),
        ("redriven from the DLQ afterwards", f"{summary.redriven:,}"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    if summary.dead_sample:
        dead = Table(title="first dead letters")
        for column in ("id", "reason", "last error"):
            dead.add_column(column)
        for id_, reason, error in summary.dead_sample:
            dead.add_row(str(id_), reason, error)
        console.print(dead)
    console.print("Inspect the store: sluice --url " + url + " queues")
