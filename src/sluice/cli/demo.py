"""``sluice demo``: the store demo on the embedded SQLite default."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from sluice.cli import cli, redact_all
from sluice.errors import ConfigError

if TYPE_CHECKING:
    from sluice.app import App
    from sluice.demos.files import Summary as FilesSummary


@cli.group(invoke_without_command=True)
@click.option(
    "--store",
    "url",
    default="sqlite:///sluice-demo.db",
    show_default=True,
    help="Store URL (the embedded SQLite file by default).",
)
@click.option(
    "--messages",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="How many rows to enqueue.",
)
@click.pass_context
def demo(ctx: click.Context, url: str, messages: int) -> None:
    """Without a story: enqueue rows with dedup, drain them with 2 competing processes,
    dead-letter poison. Stories: handoff, purge, files."""
    if ctx.invoked_subcommand is not None:
        return
    from sluice.demos import drain

    console = Console()
    console.print(
        f"[bold]sluice demo[/bold] on {redact_all(url)}: {messages:,} rows, 2 claimer processes"
    )
    summary = drain.run(url, messages)
    print_summary(
        console,
        [
            ("messages enqueued", f"{summary.enqueued:,}"),
            ("repeats dropped by dedup", f"{summary.deduplicated:,}"),
            ("acked", f"{summary.acked:,}"),
            ("acked per process", ", ".join(f"{n:,}" for n in summary.per_process)),
            ("dead-lettered (poison, 3 receives)", f"{summary.dead:,}"),
            ("delivered twice", f"{summary.duplicates:,}"),
            ("enqueue time", _timed(summary.enqueue_seconds, summary.enqueued)),
            ("drain time (2 processes)", _timed(summary.drain_seconds, summary.enqueued)),
            ("wall time", f"{summary.wall_seconds:.2f} s"),
        ],
    )
    if summary.dead_sample:
        dead = Table(title=f"first dead letters (of {summary.dead:,})")
        for column in ("id", "receives", "reason", "last error"):
            dead.add_column(column)
        for id_, receives, reason, error in summary.dead_sample:
            dead.add_row(str(id_), str(receives), reason, error)
        console.print(dead)
    stats = Table(title=f"queue {drain.QUEUE}: redrove {summary.redriven:,} dead letters")
    for column in ("", "depth", "in flight", "delayed", "DLQ"):
        stats.add_column(column, justify="right" if column else "left")
    for label, s in [
        ("after the drain", summary.drained),
        ("after the redrive", summary.redriven_stats),
    ]:
        stats.add_row(
            label, f"{s.depth:,}", f"{s.in_flight:,}", f"{s.delayed:,}", f"{s.dlq_depth:,}"
        )
    console.print(stats)
    console.print(f"Inspect the store: sluice --url {redact_all(url)} queues")


def _timed(seconds: float, count: int) -> str:
    """``1.23 s (40,650 msg/s)``."""
    rate = f" ({count / seconds:,.0f} msg/s)" if seconds > 0 else ""
    return f"{seconds:.2f} s{rate}"


@demo.command()
@click.option("--store", "url", default="sqlite:///sluice-handoff.db", show_default=True)
@click.option("--rows", default=20_000, show_default=True, help="Rows in the CSV.")
@click.option("--kill-every", default=3.0, show_default=True, help="Seconds between SIGKILLs.")
@click.option("--workdir", default="handoff-demo", show_default=True, help="Where the CSV goes.")
def handoff(url: str, rows: int, kill_every: float, workdir: str) -> None:
    """CSV rows to a flaky third-party API, exactly once, while workers are SIGKILLed."""
    from pathlib import Path

    from sluice.demos import handoff as story

    console = Console()
    console.print(
        f"[bold]hand-off[/bold] on {url}: {rows:,} rows, 3 workers, one SIGKILLed every "
        f"{kill_every:g}s, API allows {story.MAX_IN_FLIGHT} requests in flight"
    )
    summary = story.run(url, rows, Path(workdir), kill_every)
    table = Table(show_header=False, title="summary")
    table.add_column(style="bold")
    table.add_column(justify="right")
    curve = summary.effective
    points = [curve[int(i * (len(curve) - 1) / 9)] for i in range(10)] if curve else []
    for key, value in [
        ("rows in the CSV", f"{summary.rows:,}"),
        ("rows acked", f"{summary.acked:,}"),
        ("rows received by the API", f"{summary.received:,}"),
        ("duplicates recorded by the API", f"{summary.duplicates_recorded:,}"),
        ("repeat requests dropped by key", f"{summary.repeats_dropped:,}"),
        ("429s answered", f"{summary.throttled:,}"),
        ("workers SIGKILLed", f"{summary.kills:,}"),
        ("wall time", f"{summary.seconds:.1f} s"),
        ("adaptive concurrency over time", " ".join(f"{p:.0f}" for p in points)),
    ]:
        table.add_row(key, value)
    console.print(table)


@demo.command()
@click.option("--store", "url", default="sqlite:///sluice-purge.db", show_default=True)
@click.option(
    "--records",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="Records in the table (about 30% of them expired).",
)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--crash", is_flag=True, help="SIGKILL the producer and a worker midway.")
def purge(url: str, records: int, workers: int, crash: bool) -> None:
    """Purge expired records, one audit event each, at most 50 deletions in flight."""
    from sluice.cli.runs import watch_run
    from sluice.demos import purge as story

    console = Console()
    console.print(
        f"[bold]purge with audit[/bold] on {redact_all(url)}: {records:,} records, "
        f"{workers} worker processes, concurrency=50" + (", with crashes" if crash else "")
    )
    summary = story.run(
        url,
        records,
        workers=workers,
        crash=crash,
        on_progress=lambda app, run_id: watch_run(app.store, run_id, console, 0.25),
    )
    print_summary(
        console,
        [
            ("records in the table", f"{summary.records:,}"),
            ("expired records", f"{summary.expired:,}"),
            ("records deleted", f"{summary.deleted:,}"),
            ("audit events written", f"{summary.audit_events:,}"),
            ("duplicate audit events", f"{summary.duplicates:,}"),
            ("expired records left", f"{summary.expired_left:,}"),
            ("live records kept", f"{summary.live_left:,}"),
            (
                "run",
                f"{summary.run_status}: {summary.run_succeeded:,}/{summary.run_total:,}"
                f" succeeded, {summary.run_dead:,} dead",
            ),
            ("SIGKILLs (producer, workers)", f"{summary.producer_kills}, {summary.worker_kills}"),
            ("peak memory: producer", f"{summary.producer_peak_mb:,.0f} MB"),
            ("peak memory: largest worker", f"{summary.worker_peak_mb:,.0f} MB"),
            ("table built in", f"{summary.build_seconds:.1f} s"),
            ("discover + drain", f"{summary.seconds:.1f} s ({summary.throughput:,.0f} records/s)"),
        ],
    )
    ok = summary.deleted == summary.audit_events == summary.expired and not summary.duplicates
    console.print(
        "[green]every expired record deleted once, with one audit event[/green]"
        if ok
        else "[red]totals disagree[/red]"
    )
    if not ok:
        raise SystemExit(1)


@demo.command()
@click.option("--store", "url", default="sqlite:///sluice-actions.db", show_default=True)
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Rows the throttled migration updates, one message each (at 500/s: ~3.5 min).",
)
@click.option("--tenants", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=25, show_default=True)
def actions(url: str, rows: int, tenants: int, steps: int) -> None:
    """Cron, chained actions, FIFO per tenant, a throttled migration and a DLQ."""
    from sluice.demos import actions as story

    console = Console()
    console.print(
        f"[bold]action runner[/bold] on {redact_all(url)}: cron every second, {tenants} tenants "
        f"x {steps} ordered steps, {rows:,} row updates at rate={story.MIGRATION_RATE}/s and "
        f"concurrency={story.MIGRATION_CONCURRENCY}, one failing import; 2 workers + 1 scheduler"
    )
    s = story.run(url, rows, tenants, steps)
    table = Table(show_header=False, title="summary (measured from the store)")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in [
        ("cron ticks run", f"{s.cron_ticks:,}"),
        ("chained follow-ups run", f"{s.chained:,}"),
        ("FIFO steps run", f"{s.fifo_done:,} of {s.tenants * s.steps_per_tenant:,}"),
        ("FIFO order violations", f"{s.order_violations:,}"),
        ("tenants running at once (peak)", f"{s.tenants_in_parallel:,}"),
        ("rows migrated", f"{s.rows_migrated:,} of {s.rows:,}"),
        (
            "migration: peak concurrency",
            f"{s.peak_concurrency} (limit {story.MIGRATION_CONCURRENCY})",
        ),
        (
            "migration: peak starts in 1 s",
            f"{s.peak_rate} (limit {story.MIGRATION_RATE}/s, "
            f"burst {max(1, story.MIGRATION_RATE // 10)})",
        ),
        ("migration: mean rate", f"{s.mean_rate:,.0f}/s"),
        ("dead letters", "; ".join(f"{a}: {e}" for a, e in s.dead_letters) or "none"),
        ("wall time", f"{s.seconds:.1f} s"),
    ]:
        table.add_row(key, value)
    console.print(table)


@demo.command()
@click.option("--store", "url", default="sqlite:///sluice-files.db", show_default=True)
@click.option(
    "--files",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Files to drop (about 80% valid JSON, 5% invalid, 15% not matching).",
)
@click.option(
    "--workdir", default="files-demo", show_default=True, help="The watched root (emptied first)."
)
@click.option(
    "--bucket",
    default=None,
    help="Drop the files into this S3 bucket (s3://NAME) instead of --workdir: the same "
    "handler loads them (credentials: boto3's chain; the story's keys are emptied first).",
)
@click.option("--endpoint-url", default=None, help="An S3-compatible server (MinIO...).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--window",
    type=click.FloatRange(min=0),
    default=55.0,
    show_default=True,
    help="Seconds a batch waits to fill up to 100 files.",
)
def files(
    url: str,
    files: int,
    workdir: str,
    bucket: str | None,
    endpoint_url: str | None,
    workers: int,
    window: float,
) -> None:
    """JSON files dropped in bursts: input/**.json loaded in batches, invalid ones to failed/."""

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from sluice.demos import files as story
    from sluice.demos.drops import Bucket, Directory, Drop
    from sluice.sources.bucket.watch import parse_bucket

    drop: Drop = Directory(workdir)
    if bucket is not None:
        try:
            parse_bucket(bucket)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--bucket") from None
        drop = Bucket(bucket, endpoint_url)
    console = Console()
    console.print(
        f"[bold]file ingestion[/bold] on {redact_all(url)}: {files:,} files in bursts into "
        f"{drop.where}, 2 watchers, {workers} worker processes, batches of {story.BATCH} files "
        f"or {window:g} s"
    )
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("files settled", total=None)

        def show(settled: int, matching: int, failed: int) -> None:
            bar.update(
                task,
                completed=settled,
                total=matching,
                description=f"files settled ({failed:,} failed)",
            )

        summary = story.run(url, files, drop, workers=workers, window=window, on_progress=show)
    _files_summary(console, summary)
    if not summary.ok:
        raise SystemExit(1)


@demo.command()
@click.option("--store", "url", default="sqlite:///sluice-etl.db", show_default=True)
@click.option("--blobs", default="sluice-etl-blobs", show_default=True, help="Blob directory.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, help="0 picks a free port.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--submit",
    type=click.IntRange(min=1),
    default=None,
    help="Post a task of this many rows once the API is up.",
)
@click.option("--exit-when-done", is_flag=True, help="With --submit: stop when the run ends.")
def etl(
    url: str,
    blobs: str,
    host: str,
    port: int,
    workers: int,
    submit: int | None,
    exit_when_done: bool,
) -> None:
    """Users start ETL tasks from the API and watch them live in the dashboard.

    Bearer tokens come from $SLUICE_TOKENS, as for ``sluice serve`` (and the same rule holds:
    without tokens the API is served on loopback only)."""
    import os
    import threading

    from sluice.web.auth import ENV_VAR, Scope, parse_tokens
    from sluice.web.guard import check_exposure

    tokens = parse_tokens(os.environ.get(ENV_VAR))
    warning = check_exposure(host, tokens)
    if warning:
        click.echo(warning, err=True)
    admin = [f"Bearer {t}" for t, scope in tokens.items() if scope is Scope.ADMIN][:1]
    os.environ["SLUICE_ETL_URL"] = url
    os.environ["SLUICE_ETL_BLOBS"] = blobs
    from sluice.demos import etl as story

    console = Console()

    def ready(base: str, server: object) -> None:
        _etl_intro(console, base, url, workers)
        if submit is not None:
            run_id = _etl_submit(console, base, submit, admin[0] if admin else None)
            if exit_when_done:
                threading.Thread(
                    target=_etl_report,
                    args=(console, story.app, run_id, submit, server),
                    daemon=True,
                ).start()

    story.serve(host, port, workers, ready)


def _etl_intro(console: Console, base: str, url: str, workers: int) -> None:
    console.print(f"[bold]user-started ETL[/bold] on {redact_all(url)}, {workers} workers")
    console.print(f"dashboard: {base}/", highlight=False)
    console.print(
        f"start a task:  curl -X POST {base}/v1/actions/extract "
        '-H \'Content-Type: application/json\' -d \'{"source": "crm", "rows": 20000}\'',
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"watch it:      sluice --url {redact_all(url)} runs watch RUN_ID",
        highlight=False,
        soft_wrap=True,
    )


def _etl_submit(console: Console, base: str, rows: int, authorization: str | None) -> str:
    """Post a task of ``rows`` rows; return its run id."""
    import httpx

    answer = httpx.post(
        f"{base}/v1/actions/extract",
        json={"source": "crm", "rows": rows},
        headers={"Authorization": authorization} if authorization else None,
    )
    answer.raise_for_status()
    run_id: str = answer.json()["run_id"]
    console.print(f"submitted run {run_id} ({rows:,} rows)", highlight=False)
    return run_id


def _etl_report(console: Console, app: App, run_id: str, rows: int, server: object) -> None:
    """Follow the run to its end, print what it loaded and cleaned up, stop the server."""
    from sluice.cli.runs import watch_run

    state = watch_run(app.store, run_id, console, 0.25)
    with app.store.begin() as tx:
        mark = "?" if type(tx).__module__ == "sqlite3" else "%s"
        loaded = tx.execute(
            f"SELECT count(*) FROM etl_rows WHERE run_id = {mark}", (run_id,)
        ).fetchone()[0]
        found = tx.execute(
            f"SELECT blobs_removed FROM etl_runs WHERE run_id = {mark}", (run_id,)
        ).fetchone()
    left = app.blobs.count() if app.blobs else 0
    console.print(
        f"run {run_id} {state.status}: {loaded:,} rows loaded of {rows:,}, "
        f"{state.total:,} messages in 3 stages, "
        f"{found[0] if found else 0} claim-check blobs removed, {left} blobs left",
        highlight=False,
    )
    server.should_exit = True  # type: ignore[attr-defined]


def _files_summary(console: Console, summary: FilesSummary) -> None:
    print_summary(
        console,
        [
            ("files written", f"{summary.written:,}"),
            ("matching input/**.json", f"{summary.matching:,}"),
            ("valid files", f"{summary.valid:,}"),
            ("files processed (in processed/)", f"{summary.processed:,}"),
            ("files loaded", f"{summary.files_loaded:,}"),
            ("rows loaded", f"{summary.rows_loaded:,} of {summary.rows_expected:,}"),
            ("duplicate rows", f"{summary.duplicate_rows:,}"),
            ("invalid files", f"{summary.invalid:,}"),
            ("dead-lettered", f"{summary.dead_lettered:,}"),
            ("files in failed/", f"{summary.failed_dir:,}"),
            ("non-matching untouched", f"{summary.untouched:,} of {summary.other:,}"),
            ("wall time", f"{summary.seconds:.1f} s"),
        ],
    )
    console.print(
        "[green]every valid file loaded once, every invalid one dead-lettered[/green]"
        if summary.ok
        else "[red]totals disagree[/red]"
    )


def print_summary(console: Console, rows: list[tuple[str, str]]) -> None:
    """A demo's measured figures, one ``(what, value)`` row each."""
    table = Table(show_header=False, title="summary (measured)")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
