"""Peers benchmark: the worker drain of sluice next to PGQueuer (PostgreSQL) and Huey (SQLite).

Run by hand: ``python bench/peers.py [--messages 100000] [--rounds 2]`` (``make bench-peers``).

The drain is bench/worker.py's: ``--messages`` no-op messages pre-enqueued, timed from launching
the workers (process start-up included) until the last one is done, polled every 50 ms.

- sluice: 2 ``sluice worker`` processes (``--concurrency 32``), handler batch_size 1 and 100,
  on SQLite and PostgreSQL (bench/worker.py's ``drain``).
- PGQueuer: 2 worker processes (bench/peer_pgqueuer.py), async no-op entrypoint, dequeue
  batch_size 10 (its default) and 100; done when its queue table is empty (a job is deleted
  when its completion is logged); checked: N ``successful`` log rows for N distinct jobs.
- Huey: one ``huey_consumer`` with 2 worker processes (``-k process -w 2``: Huey scales by
  workers inside one consumer), SqliteHuey on a file, no batch handlers; with its default
  ``synchronous`` (FULL) and with NORMAL as sluice sets it; done when the per-process task
  counters (bench/peer_huey.py) add up to N; checked: exactly N ran and the queue is empty.

PGQueuer and Huey run in their own venv, ``.bench-peers-venv`` (created and filled by pip on
first use), from the same base Python. PostgreSQL runs use the database named by
``SLUICE_PEERS_PG`` (default ``sluice_bench_peers``), created fresh for each drain and dropped at
the end. The result table is printed and written to docs/benchmarks.md as its own section.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

import sluice
import worker as sluice_bench

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench-peers-venv"
VENV_PYTHON = VENV / "bin" / "python"
# Lower bounds: the versions this bench was written against and run with.
REQUIREMENTS = ["pgqueuer[asyncpg]>=1.6.0", "huey>=3.5.4"]
PEERS_PG = os.environ.get(
    "SLUICE_PEERS_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench_peers"
)
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:peers:begin -->", "<!-- bench:peers:end -->"
POLL = 0.05
DEADLINE = 900.0


class BenchError(RuntimeError):
    """A drain did not finish, or finished with the wrong count."""


def ensure_venv() -> None:
    """Create the peers venv and install the peers, unless it already has these requirements."""
    stamp = VENV / ".installed"
    wanted = "\n".join(REQUIREMENTS)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if not VENV_PYTHON.exists():
        # The main venv's base interpreter, so both sides run the same Python and SQLite.
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    stamp.write_text(wanted)


def peer_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLUICE_PEERS_PG": PEERS_PG, **extra}
    return sluice_bench.deployed(env)  # the peers' modules compiled ahead too, as sluice's


def peer_run(args: list[str], env: dict[str, str]) -> str:
    """Run a command of the peers venv to completion and return its stdout."""
    done = subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout


def wait_until(done: Callable[[], bool], procs: list[subprocess.Popen[bytes]], what: str) -> None:
    """Poll ``done`` every 50 ms; fail if a worker process exits or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while not done():
        if any(proc.poll() is not None for proc in procs):
            raise BenchError(f"{what}: a worker process exited early")
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not drained within {DEADLINE:.0f} s")
        time.sleep(POLL)


def stop(procs: list[subprocess.Popen[bytes]], sig: signal.Signals) -> None:
    for proc in procs:
        proc.send_signal(sig)
    for proc in procs:
        proc.wait(timeout=60)


def drain_pgqueuer(workdir: Path, messages: int, batch_size: int) -> float:
    """Seconds for 2 PGQueuer workers to complete ``messages`` pre-queued no-op jobs."""
    sluice_bench.fresh_url("postgres", workdir, PEERS_PG)
    python = str(VENV_PYTHON)
    env = peer_env()
    peer_run([python, "-m", "bench.peer_pgqueuer", "install", str(messages)], env)
    with psycopg.connect(PEERS_PG, autocommit=True) as conn:

        def count(sql: str) -> int:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return int(row[0])

        command = [python, "-m", "bench.peer_pgqueuer", "worker", str(batch_size)]
        started = time.perf_counter()
        procs = [
            subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
            for _ in range(2)
        ]
        wait_until(lambda: count("SELECT count(*) FROM pgqueuer") == 0, procs, "PGQueuer")
        took = time.perf_counter() - started
        stop(procs, signal.SIGTERM)
        done = count("SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'")
        logged = count("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")
    if done != messages or logged != messages:
        raise BenchError(f"PGQueuer: {logged} successful log rows for {done} jobs, not {messages}")
    peer_run([python, "-m", "bench.peer_pgqueuer", "uninstall"], env)
    return took


def drain_huey(workdir: Path, messages: int, synchronous: str) -> float:
    """Seconds for a Huey consumer with 2 worker processes to run ``messages`` no-op tasks."""
    run_dir = workdir / f"huey-{time.monotonic_ns()}"
    counts = run_dir / "counts"
    counts.mkdir(parents=True)
    env = peer_env(
        SLUICE_PEERS_HUEY_DB=str(run_dir / "huey.db"),
        SLUICE_PEERS_COUNTS=str(counts),
        SLUICE_PEERS_HUEY_SYNC=synchronous,
    )
    python = str(VENV_PYTHON)
    peer_run([python, "-m", "bench.peer_huey", "enqueue", str(messages)], env)

    def ran() -> int:
        return sum(struct.unpack("<q", path.read_bytes())[0] for path in counts.iterdir())

    consumer = [str(VENV / "bin" / "huey_consumer"), "bench.peer_huey.huey", "-k", "process"]
    started = time.perf_counter()
    procs = [
        subprocess.Popen([*consumer, "-w", "2", "-q"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    ]
    wait_until(lambda: ran() >= messages, procs, "Huey")
    took = time.perf_counter() - started
    stop(procs, signal.SIGINT)  # Huey's graceful stop
    pending = int(peer_run([python, "-m", "bench.peer_huey", "pending"], env))
    if ran() != messages or pending != 0:
        raise BenchError(f"Huey: {ran()} tasks ran and {pending} left, not {messages} and 0")
    return took


def drain_sluice(workdir: Path, messages: int, backend: str, batch_size: int) -> float:
    queue, action = ("one", "noop") if batch_size == 1 else ("many", "noop_batch")
    rate = sluice_bench.drain(backend, workdir, messages, queue, action, PEERS_PG)
    return messages / rate


def drain_raw(
    workdir: Path, messages: int, backend: str, batch_size: int, mode: str = "work"
) -> float:
    """Seconds for 2 raw-SQL worker processes (bench/raw_drain.py ``mode``: ``work`` deletes
    as it takes, ``lease`` leases then deletes) to drain ``messages`` rows, timed from their
    launch; checked: they took exactly ``messages`` between them."""
    url = sluice_bench.fresh_url(backend, workdir, PEERS_PG)
    script = str(ROOT / "bench" / "raw_drain.py")
    subprocess.run([sys.executable, script, "fill", url, str(messages)], check=True, cwd=ROOT)
    command = [sys.executable, script, mode, url, str(batch_size)]
    started = time.perf_counter()
    env = sluice_bench.deployed(dict(os.environ))
    procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE) for _ in range(2)]
    outputs = [proc.communicate(timeout=DEADLINE)[0] for proc in procs]
    took = time.perf_counter() - started
    taken = sum(int(out) for out in outputs)
    if taken != messages or any(proc.returncode for proc in procs):
        raise BenchError(f"raw SQL: the workers took {taken} rows, not {messages}")
    return took


@dataclass
class Case:
    """One drain configuration, its samples (seconds), and what it is compared with."""

    system: str
    backend: str
    batch: str
    workers: str
    run: Callable[[Path, int], float]
    versus: str | None = None  # the key of the sluice case to compare with
    key: str = ""
    samples: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.samples)


def lease_case(label: str, backend: str, versus: str) -> Case:
    """The at-least-once floor at batch 100: raw SQL that leases, then deletes what it took."""
    return Case(
        "raw SQL, lease + ack",
        label,
        "100 per UPDATE ... RETURNING (a lease), then 1 DELETE of them by id and token",
        "2 processes",
        lambda w, n: drain_raw(w, n, backend, 100, "lease"),
        versus=versus,
    )


def cases() -> list[Case]:
    sluice_workers = "2 processes, --concurrency 32"
    return [
        Case(
            "sluice",
            "PostgreSQL",
            "handler batch_size 1",
            sluice_workers,
            lambda w, n: drain_sluice(w, n, "postgres", 1),
            key="pg1",
        ),
        Case(
            "raw SQL",
            "PostgreSQL",
            "1 per autocommitted DELETE ... SKIP LOCKED",
            "2 processes",
            lambda w, n: drain_raw(w, n, "postgres", 1),
            versus="pg1",
        ),
        Case(
            "PGQueuer",
            "PostgreSQL",
            "dequeue batch_size 10 (default), 1 job per call",
            "2 processes",
            lambda w, n: drain_pgqueuer(w, n, 10),
            versus="pg1",
        ),
        Case(
            "sluice",
            "PostgreSQL",
            "handler batch_size 100",
            sluice_workers,
            lambda w, n: drain_sluice(w, n, "postgres", 100),
            key="pg100",
        ),
        Case(
            "raw SQL",
            "PostgreSQL",
            "100 per autocommitted DELETE ... SKIP LOCKED",
            "2 processes",
            lambda w, n: drain_raw(w, n, "postgres", 100),
            versus="pg100",
        ),
        lease_case("PostgreSQL", "postgres", "pg100"),
        Case(
            "PGQueuer",
            "PostgreSQL",
            "dequeue batch_size 100, 1 job per call",
            "2 processes",
            lambda w, n: drain_pgqueuer(w, n, 100),
            versus="pg100",
        ),
        Case(
            "sluice",
            "SQLite",
            "handler batch_size 1",
            sluice_workers,
            lambda w, n: drain_sluice(w, n, "sqlite", 1),
            key="lite1",
        ),
        Case(
            "raw SQL",
            "SQLite",
            "1 per BEGIN IMMEDIATE DELETE transaction",
            "2 processes",
            lambda w, n: drain_raw(w, n, "sqlite", 1),
            versus="lite1",
        ),
        Case(
            "Huey",
            "SQLite (synchronous=FULL, Huey's default)",
            "1 (no batch handlers)",
            "1 consumer, 2 worker processes",
            lambda w, n: drain_huey(w, n, "default"),
            versus="lite1",
        ),
        Case(
            "Huey",
            "SQLite (synchronous=NORMAL, as sluice)",
            "1 (no batch handlers)",
            "1 consumer, 2 worker processes",
            lambda w, n: drain_huey(w, n, "normal"),
            versus="lite1",
        ),
        Case(
            "sluice",
            "SQLite",
            "handler batch_size 100",
            sluice_workers,
            lambda w, n: drain_sluice(w, n, "sqlite", 100),
            key="lite100",
        ),
        Case(
            "raw SQL",
            "SQLite",
            "100 per BEGIN IMMEDIATE DELETE transaction",
            "2 processes",
            lambda w, n: drain_raw(w, n, "sqlite", 100),
            versus="lite100",
        ),
        lease_case("SQLite", "sqlite", "lite100"),
    ]


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def versions() -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({p: m.version(p) for p in ('pgqueuer', 'asyncpg', 'huey')}))"
    )
    found: dict[str, str] = json.loads(peer_run([str(VENV_PYTHON), "-c", script], peer_env()))
    admin = PEERS_PG.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    found["PostgreSQL"] = str(row[0]).split()[0] if row else "?"
    found["SQLite"] = sqlite3.sqlite_version
    found["Python"] = platform.python_version()
    return found


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" plus uncommitted changes" if git("status", "--porcelain", "src") else "")


def report(table: list[Case], messages: int, rounds: int, meta: dict[str, str]) -> str:
    by_key = {case.key: case for case in table if case.key}
    v = meta
    lines = [
        "## Peers: sluice vs PGQueuer, Huey and raw SQL",
        "",
        f"Run {meta['date']} on commit `{meta['commit']}`: `python bench/peers.py "
        f"--messages {messages} --rounds {rounds}` (`make bench-peers`).",
        "",
        f"Machine: {meta['cores']} cores ({meta['cpu']}), shared with other jobs; 1-minute "
        f"load average {meta['load']}. Python {v['Python']}, SQLite {v['SQLite']}, "
        f"PostgreSQL {v['PostgreSQL']}; sluice {meta['sluice']}, PGQueuer {v['pgqueuer']} "
        f"(asyncpg {v['asyncpg']}), Huey {v['huey']}.",
        "",
        f"Drain: {messages:,} no-op messages pre-enqueued, timed from launching the workers "
        "(process start-up included) until the last is done, polled every 50 ms"
        + (f"; best of {rounds} rounds, the rounds interleaved" if rounds > 1 else "")
        + ". Ratio = sluice msg/s ÷ peer msg/s in the same run (> 1: sluice is faster).",
        "",
        "| system | backend | batch | workers | msgs | wall s | msg/s | sluice ÷ peer |",
        "|---|---|---|---|--:|--:|--:|--:|",
    ]
    for case in table:
        rate = messages / case.best
        ratio = "—"
        if case.versus:
            ratio = f"{(messages / by_key[case.versus].best) / rate:.2f}x"
        lines.append(
            f"| {case.system} | {case.backend} | {case.batch} | {case.workers} | "
            f"{messages:,} | {case.best:.1f} | {rate:,.0f} | {ratio} |"
        )
    if rounds > 1:
        lines += ["", "All samples (wall seconds):", ""]
        for case in table:
            samples = " / ".join(f"{s:.1f}" for s in case.samples)
            lines.append(f"- {case.system}, {case.backend}, {case.batch}: {samples}")
    lines += [
        "",
        "How each finish is established and checked: sluice, the queue's depth, in-flight and "
        "delayed counts all zero (an ack deletes the message), then its DLQ empty; PGQueuer, "
        "its queue table empty (a job row is deleted in the statement that logs its completion), "
        "then exactly N `successful` log "
        "rows for N distinct jobs; Huey, per-worker-process task counters in memory-mapped "
        "files adding up to N (Huey acknowledges by deleting the task row when it dequeues, "
        "before running it), then exactly N run and none left queued.",
        "",
        "The raw rows are two floors: `DELETE ... RETURNING` takes a message away before "
        "it is handled (at most once: a worker that dies loses its batch), and `lease + ack` "
        "is the least SQL an at-least-once queue runs (a lease statement, then a delete by "
        "id and token after the handler), sluice's delivery guarantee with none of its "
        "features.",
        "",
        "What differs: PGQueuer's `batch_size` is how many jobs a worker dequeues per query; "
        "its handler still gets one job per call (an async function here, as PGQueuer "
        "handlers are); sluice's batch_size 100 hands the handler a list. PGQueuer workers "
        "run through `pgqueuer.run` (the supervisor of `pgq run`, on uvloop as that CLI "
        "does), since `pgq run` in pgqueuer 1.6.0 fails at start-up with typer 0.29. Huey "
        "scales through workers inside one consumer (`huey_consumer -k process -w 2`: a "
        "parent running the scheduler and 2 forked worker processes), not separate "
        "consumers; it has no batch handlers, so it has no batch 100 row. Huey's "
        "SqliteStorage sets no `synchronous` (SQLite's default FULL fsyncs the WAL on each "
        "commit); the NORMAL row sets it on Huey's connections as sluice's store does.",
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    """Replace the peers section of docs/benchmarks.md, or append it; leave the rest intact."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


def drop_database() -> None:
    admin = PEERS_PG.rsplit("/", 1)[0] + "/postgres"
    name = PEERS_PG.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2, help="best of this many, interleaved")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if args.messages < 1 or args.rounds < 1:
        parser.error("--messages and --rounds must be at least 1")
    imported = Path(sluice.__file__).resolve().parent.parent
    if imported != ROOT / "src":
        print(f"warning: sluice is imported from {imported}, not this checkout", file=sys.stderr)
    ensure_venv()
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "cores": str(os.cpu_count()),
        "cpu": cpu_model(),
        "sluice": importlib.metadata.version("sluice"),
        **versions(),
    }
    table = cases()
    loads = [f"{os.getloadavg()[0]:.1f}"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.rounds):
                for case in table:
                    took = case.run(Path(tmp), args.messages)
                    case.samples.append(took)
                    print(
                        f"{case.system}, {case.backend}, {case.batch}: {took:.1f} s, "
                        f"{args.messages / took:,.0f} msg/s",
                        file=sys.stderr,
                    )
                    loads.append(f"{os.getloadavg()[0]:.1f}")
    finally:
        drop_database()
    meta["load"] = ", ".join(loads)
    section = report(table, args.messages, args.rounds, meta)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"\nwritten to {DOC.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
