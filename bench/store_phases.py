"""bench/store.py's measurements and phases (throughput, analyzed, churn, backlog)."""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing as mp
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sluice.model import QueuePolicy
from sluice.store import Store, open_store
from sluice.store.sqlite import sqlite_path
from store_backends import Backend
from store_common import (
    BATCH,
    CHUNK,
    CLAIM_BATCHES,
    LEASE,
    QUEUE,
    bodies,
    body,
    progress,
    sluice_drain,
    sluice_enqueue,
)
from store_raw import Raw, RawPostgres, RawSqlite


# -- measurements -------------------------------------------------------------------------------
@dataclass
class Figure:
    """One line of the table: sluice's samples against a baseline's samples."""

    name: str
    sluice: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)
    base_name: str = "raw SQL"
    minimum: float = 0.5
    """The target: best sluice rate / best baseline rate must be at least this."""
    target: str = ">= 0.5x raw"
    diagnostic: bool = False
    """Shown for insight, not one of the targets."""

    @property
    def ratio(self) -> float:
        if not self.sluice or not self.base:
            return float("nan")
        return max(self.sluice) / max(self.base)

    @property
    def met(self) -> bool:
        return self.ratio >= self.minimum


@dataclass
class Report:
    backend: str
    version: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: list[tuple[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    load: list[tuple[float, float, float]] = field(default_factory=list)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def profiled(enabled: bool, title: str, report: Report, fn: Callable[[], Any]) -> float:
    """Run ``fn`` (timed); with ``enabled`` under cProfile, keeping the top of the profile."""
    if not enabled:
        seconds, _ = timed(fn)
        return seconds
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.runcall(fn)
    seconds = time.perf_counter() - start
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(18)
    text = out.getvalue()
    text = text[text.find("   ncalls") :] if "   ncalls" in text else text
    report.profiles.append((f"{title} ({seconds:.2f} s under cProfile)", text.rstrip()))
    return seconds


def open_bench_store(url: str, queue: str = QUEUE) -> Store:
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy(queue, visibility_timeout=LEASE))
    return store


def _drain_worker(
    kind: str,
    backend: str,
    url: str,
    pg_raw: str,
    seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    """One consumer process of the multi-process drain; reports (t0, t1, count, error)."""
    try:
        deadline = time.monotonic() + seconds
        if kind == "sluice":
            store = open_store(url)
            store.policy(QUEUE)
            barrier.wait(timeout=60)
            t0 = time.monotonic()
            count = sluice_drain(store, QUEUE, deadline)
            t1 = time.monotonic()
            store.close()
        else:
            raw: Raw = (
                RawSqlite(sqlite_path(url)) if backend == "sqlite" else RawPostgres(url, pg_raw)
            )
            barrier.wait(timeout=60)
            t0 = time.monotonic()
            count = raw.drain(deadline)
            t1 = time.monotonic()
            raw.close()
        results.put((t0, t1, count, None))
    except BaseException as exc:
        results.put((0.0, 0.0, 0, f"{type(exc).__name__}: {exc}"))


def parallel_drain(
    kind: str, backend: Backend, url: str, procs: int, expected: int, seconds: float
) -> float:
    """Drain with ``procs`` spawned processes; return the rate over the union of their spans."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_drain_worker,
            args=(kind, backend.name, url, backend.args.pg_raw, seconds, barrier, results),
            daemon=True,
        )
        for _ in range(procs)
    ]
    for w in workers:
        w.start()
    try:
        got: list[tuple[float, float, int, str | None]] = [
            results.get(timeout=seconds + 120) for _ in workers
        ]
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.terminate()
                w.join(timeout=5)
    errors = [e for *_, e in got if e]
    if errors:
        raise RuntimeError(f"{kind} drain worker failed: {errors[0]}")
    total = sum(c for _, _, c, _ in got)
    if total != expected:
        raise RuntimeError(f"{kind} {procs}-process drain got {total:,}, expected {expected:,}")
    span = max(t1 for _, t1, _, _ in got) - min(t0 for t0, _, _, _ in got)
    return total / span


def phase_throughput(backend: Backend, report: Report, args: argparse.Namespace) -> None:
    """Enqueue and claim+complete, sluice against raw, alternating who goes first per round."""
    n = args.messages
    url = backend.fresh()
    store = open_bench_store(url)
    raw = backend.raw(url)
    raw.setup()
    enqueue = Figure(f"enqueue {n:,} in chunks of {CHUNK:,}")
    drain1 = Figure(f"claim {BATCH} + ack, 1 process")
    drain2 = Figure(f"claim {BATCH} + ack, {args.procs} processes (spawn)")
    report.figures += [enqueue, drain1, drain2]
    report.notes.append(f"raw enqueue baseline: {raw.method}")
    report.notes.append(f"settings: {backend.settings()}")
    deadline = time.monotonic() + args.timeout
    items = bodies(0, n)

    def s_enqueue() -> None:
        sluice_enqueue(store, QUEUE, items)

    def s_drain() -> None:
        got = sluice_drain(store, QUEUE, deadline)
        if got != n:
            raise RuntimeError(f"sluice drained {got:,}, expected {n:,}")

    def r_drain() -> None:
        got = raw.drain(deadline)
        if got != n:
            raise RuntimeError(f"raw drained {got:,}, expected {n:,}")

    try:
        warm = bodies(0, 5 * CHUNK)  # untimed: page cache, statement caches, imports
        sluice_enqueue(store, QUEUE, warm)
        sluice_drain(store, QUEUE, deadline)
        raw.enqueue(warm)
        raw.drain(deadline)
        for r in range(args.rounds):
            first_sluice = r % 2 == 0
            prof = args.profile and r == 0
            for which in (True, False) if first_sluice else (False, True):
                if which:
                    secs = profiled(prof, "sluice enqueue", report, s_enqueue)
                    enqueue.sluice.append(n / secs)
                    if r == 0:
                        plan = backend.claim_plan(url)
                        report.notes.append(f"claim plan with {n:,} queued: {plan}")
                else:
                    secs, _ = timed(lambda: raw.enqueue(items))
                    enqueue.base.append(n / secs)
            progress(f"round {r + 1}: enqueue {enqueue.sluice[-1]:,.0f} vs {enqueue.base[-1]:,.0f}")
            for which in (True, False) if first_sluice else (False, True):
                if which:
                    secs = profiled(prof, "sluice claim+complete, 1 process", report, s_drain)
                    drain1.sluice.append(n / secs)
                else:
                    secs, _ = timed(r_drain)
                    drain1.base.append(n / secs)
            progress(f"round {r + 1}: drain1 {drain1.sluice[-1]:,.0f} vs {drain1.base[-1]:,.0f}")
            # refill (timed too: a second enqueue sample) and drain from several processes
            for which in (True, False) if first_sluice else (False, True):
                if which:
                    secs, _ = timed(s_enqueue)
                    enqueue.sluice.append(n / secs)
                else:
                    secs, _ = timed(lambda: raw.enqueue(items))
                    enqueue.base.append(n / secs)
            left = max(60.0, deadline - time.monotonic())
            for which in (True, False) if first_sluice else (False, True):
                kind = "sluice" if which else "raw"
                rate = parallel_drain(kind, backend, url, args.procs, n, left)
                (drain2.sluice if which else drain2.base).append(rate)
            progress(f"round {r + 1}: drain2 {drain2.sluice[-1]:,.0f} vs {drain2.base[-1]:,.0f}")
    finally:
        raw.close()
        store.close()


def phase_analyzed(backend: Backend, report: Report, args: argparse.Namespace) -> None:
    """PostgreSQL only, a diagnostic: the 1-process drain on fresh tables whose statistics were
    refreshed by a manual ANALYZE, to separate the planner's lack of statistics from the cost of
    the statements themselves."""
    n = args.messages
    fig = Figure(
        f"claim {BATCH} + ack, 1 process, fresh tables after a manual ANALYZE",
        target="diagnostic",
        diagnostic=True,
    )
    deadline = time.monotonic() + args.timeout
    items = bodies(0, n)
    for r in range(args.rounds):
        url = backend.fresh("analyzed")
        store = open_bench_store(url)
        raw = backend.raw(url)
        try:
            raw.setup()
            sluice_enqueue(store, QUEUE, items)
            raw.enqueue(items)
            if not backend.analyze(url):
                return
            if r == 0:
                report.figures.append(fig)
                plan = backend.claim_plan(url)
                report.notes.append(f"claim plan with {n:,} queued after ANALYZE: {plan}")
            for which in (True, False) if r % 2 == 0 else (False, True):
                if which:
                    secs, got = timed(partial(sluice_drain, store, QUEUE, deadline))
                    fig.sluice.append(n / secs)
                else:
                    secs, got = timed(partial(raw.drain, deadline))
                    fig.base.append(n / secs)
                if got != n:
                    raise RuntimeError(f"drained {got:,}, expected {n:,}")
        finally:
            raw.close()
            store.close()
    progress(f"analyzed drain1 {fig.sluice[-1]:,.0f} vs {fig.base[-1]:,.0f}")


def claim_rate(store: Store, queue: str, deadline: float, fill: bool) -> float:
    """Claim+ack CLAIM_BATCHES batches of BATCH; with ``fill``, enqueue them first (untimed)."""
    count = CLAIM_BATCHES * BATCH
    if fill:
        sluice_enqueue(store, queue, bodies(0, count))
    secs, got = timed(lambda: sluice_drain(store, queue, deadline, limit=count))
    if got != count:
        raise RuntimeError(f"claimed {got:,}, expected {count:,}")
    return count / secs


def alternate(
    fig: Figure,
    ref: Store,
    main: Store,
    queue: str,
    args: argparse.Namespace,
    deadline: float,
    fill_main: bool,
) -> None:
    """Samples of the reference store and the store under test, alternately, so that a change
    of load on the shared machine hits both alike."""
    for i in range(args.samples):
        for which in ("ref", "main") if i % 2 == 0 else ("main", "ref"):
            if which == "ref":
                fig.base.append(claim_rate(ref, queue, deadline, fill=True))
            else:
                fig.sluice.append(claim_rate(main, queue, deadline, fill=fill_main))


def against_fresh_and_before(
    name: str, before: str, minimum: float, target: str
) -> tuple[Figure, Figure]:
    """A claim rate's two figures: against a fresh queue in another store (the target) and
    against the same queue before the phase changed it (a diagnostic)."""
    fresh = Figure(
        name, base_name="fresh queue (other store, alternated)", minimum=minimum, target=target
    )
    same = Figure(name, base_name=before, minimum=minimum, target="diagnostic", diagnostic=True)
    return fresh, same


def phase_churn(backend: Backend, report: Report, args: argparse.Namespace) -> None:
    queue = "churn"
    url = backend.fresh()
    ref_url = backend.fresh("ref")
    store = open_bench_store(url, queue)
    ref = open_bench_store(ref_url, queue)
    deadline = time.monotonic() + args.timeout
    fig, same = against_fresh_and_before(
        f"claim {BATCH} + ack after {args.churn:,} passed through",
        "same queue before the churn",
        minimum=0.8,
        target="within 20% of fresh",
    )
    report.figures += [fig, same]
    try:
        for _ in range(args.samples):
            same.base.append(claim_rate(store, queue, deadline, fill=True))
        sluice_enqueue(store, queue, bodies(0, 10 * BATCH))  # something to claim for the probe
        probe_before = backend.claim_probe(url, queue)
        sluice_drain(store, queue, deadline)
        backend.settle(url)
        before = backend.table_figures(url)
        start = time.perf_counter()
        step = 10 * CHUNK
        done = 0
        while done < args.churn:
            count = min(step, args.churn - done)
            sluice_enqueue(store, queue, bodies(done, count))
            got = sluice_drain(store, queue, deadline)
            if got != count:
                raise RuntimeError(f"churn drained {got:,}, expected {count:,}")
            done += count
            if done % 100_000 == 0:
                progress(f"churn {done:,}/{args.churn:,}")
        churn_secs = time.perf_counter() - start
        sluice_enqueue(store, queue, bodies(0, 10 * BATCH))
        probe_after = backend.claim_probe(url, queue)
        sluice_drain(store, queue, deadline)
        backend.settle(url)
        after = backend.table_figures(url)
        alternate(fig, ref, store, queue, args, deadline, fill_main=True)
        same.sluice = fig.sluice
        backend.settle(url)
        end = backend.table_figures(url)
    finally:
        store.close()
        ref.close()
    report.notes += [
        f"churn: {args.churn:,} messages enqueued and drained in steps of {step:,} in "
        f"{churn_secs:.0f} s ({args.churn / churn_secs:,.0f} msg/s end to end)",
        f"churn: messages table before: {before}",
        f"churn: messages table after the churn: {after}",
        f"churn: messages table after the measurement: {end}",
    ]
    if probe_before:
        report.notes += [f"churn: fresh: {probe_before}", f"churn: after: {probe_after}"]


def phase_backlog(backend: Backend, report: Report, args: argparse.Namespace) -> None:
    url = backend.fresh()
    ref_url = backend.fresh("ref")
    store = open_bench_store(url)
    ref = open_bench_store(ref_url)
    deadline = time.monotonic() + args.timeout
    fig, same = against_fresh_and_before(
        f"claim {BATCH} + ack with {args.backlog:,} waiting",
        "same queue before the fill",
        minimum=0.5,
        target="slowdown <= 2x",
    )
    report.figures += [fig, same]
    try:
        for _ in range(args.samples):
            same.base.append(claim_rate(store, QUEUE, deadline, fill=True))
        secs, how = timed(lambda: backend.fill_backlog(url, QUEUE, args.backlog, deadline))
        report.notes.append(f"backlog: {args.backlog:,} messages filled in {secs:.0f} s by {how}")
        stats = store.stats([QUEUE])[0]
        if stats.depth != args.backlog:
            raise RuntimeError(f"backlog depth is {stats.depth:,}, expected {args.backlog:,}")
        sample = store.peek(QUEUE, limit=2)
        if len(sample) != 2 or sample[0].body != body(0) or sample[0].action != "bench":
            raise RuntimeError(f"backlog rows do not read back as sluice messages: {sample!r}")
        probe = backend.claim_probe(url, QUEUE)
        alternate(fig, ref, store, QUEUE, args, deadline, fill_main=False)
        same.sluice = fig.sluice
        probe_end = backend.claim_probe(url, QUEUE)
        if probe:
            report.notes.append(f"backlog: after the fill: {probe}")
            report.notes.append(f"backlog: after the measurement: {probe_end}")
        backend.settle(url)
        report.notes.append(f"backlog: messages table: {backend.table_figures(url)}")
    finally:
        store.close()
        ref.close()
