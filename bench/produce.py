"""Producer benchmark: peak memory and speed of ``enqueue_many`` and ``discover``.

Run by hand: ``python bench/produce.py [--backend sqlite|postgres|both]``.

Each figure comes from a fresh child process (so its peak RSS is its own) that streams N
generated records into a run, at N = 100,000 and 1,000,000: peak RSS must stay flat (the 1M
figure within 20% of the 100k one). Next to it, a raw-SQL baseline in the same run: the same
rows inserted in chunks of 1,000 (``executemany`` on SQLite, ``COPY`` on PostgreSQL) into a
plain table, one transaction per chunk. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.pgdb import fresh_database

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PG = os.environ.get("SLUICE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench")
SIZES = (100_000, 1_000_000)
HEADING = "## Producers (`bench/produce.py`)"


def records(n: int) -> Iterator[dict[str, Any]]:
    for i in range(1, n + 1):
        yield {"id": i, "tenant": f"tenant-{i % 97}", "kind": "page_view"}


def fresh_url(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir}/produce-{time.monotonic_ns()}.db"
    fresh_database(PG)
    return PG


def child(mode: str, url: str, n: int) -> dict[str, float]:
    """Run one producer in this process; report seconds and peak RSS (MB)."""
    started = time.perf_counter()
    if mode == "raw":
        raw(url, n)
    else:
        from sluice import App

        app = App(url)
        app.queue("bench", dedup_window=None)
        app.action("load", queue="bench")(lambda body, ctx: None)
        run = app.start_run("bench")
        if mode == "enqueue_many":
            app.enqueue_many("load", records(n), run=run)
        else:

            def fetch_after(last: Any) -> Iterator[dict[str, Any]]:
                start = int(last or 0)
                return (r for r in records(n) if r["id"] > start)

            app.discover("load", fetch_after, key=lambda r: r["id"], run=run)
        assert app.run_state(run).total == n
        app.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def raw(url: str, n: int) -> None:
    rows = ((r["id"], json.dumps(r)) for r in records(n))
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        while chunk := [row for _, row in zip(range(1000), rows, strict=False)]:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO raw VALUES (?, ?)", chunk)
            conn.execute("COMMIT")
        conn.close()
        return
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("CREATE TABLE raw (id bigint PRIMARY KEY, body text NOT NULL)")
        while chunk := [row for _, row in zip(range(1000), rows, strict=False)]:
            with pg.transaction(), pg.cursor().copy("COPY raw FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)


def measure(mode: str, backend: str, workdir: Path, n: int) -> dict[str, float]:
    url = fresh_url(backend, workdir)
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "URL", "N"))
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    if args.child:
        mode, url, n = args.child
        print(json.dumps(child(mode, url, int(n))))
        return
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    lines = [
        "| backend | producer | records | seconds | records/s | raw records/s | ratio | "
        "peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for backend in backends:
            for n in SIZES:
                base = measure("raw", backend, workdir, n)
                raw_rate = n / base["seconds"]
                for mode in ("enqueue_many", "discover"):
                    got = measure(mode, backend, workdir, n)
                    rate = n / got["seconds"]
                    lines.append(
                        f"| {backend} | {mode} | {n:,} | {got['seconds']:.1f} | {rate:,.0f} | "
                        f"{raw_rate:,.0f} | {rate / raw_rate:.2f}x | {got['rss_mb']:.0f} |"
                    )
                    print(lines[-1], flush=True)
                    got["n"] = n
                    verdicts.append((backend, mode, n, got["rss_mb"]))
    growth = []
    for backend in backends:
        for mode in ("enqueue_many", "discover"):
            small, large = (rss for b, m, _, rss in sorted(verdicts) if b == backend and m == mode)
            growth.append(
                f"{backend} {mode}: {large / small - 1:+.0%} from 100k to 1M "
                f"({'met' if large < small * 1.2 else 'NOT met'}: < +20%)"
            )
    text = "\n".join(
        [
            HEADING,
            "",
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs "
            f"({platform.processor() or platform.machine()}), shared machine; each figure a "
            "fresh child process; raw = plain chunked inserts (executemany / COPY), same run.",
            "",
            *lines,
            "",
            "Peak RSS growth: " + "; ".join(growth) + ".",
            "",
        ]
    )
    print(text)
    if not args.no_doc:
        doc = DOC.read_text()
        if HEADING in doc:
            start = doc.index(HEADING)
            # the next section, or another bench's marked section (keep its begin marker)
            ends = [doc.find(mark, start + len(HEADING)) for mark in ("\n## ", "\n<!-- bench:")]
            end = min((e for e in ends if e != -1), default=-1)
            doc = doc[:start] + text + (doc[end + 1 :] if end != -1 else "")
        else:
            doc = doc.rstrip("\n") + "\n\n" + text
        DOC.write_text(doc)


if __name__ == "__main__":
    main()
