"""Store benchmark: sluice's store against a raw-SQL baseline, on SQLite and PostgreSQL.

Run by hand (``make bench`` runs ``--backend both``)::

    python bench/store.py [--backend sqlite|postgres|both] [--messages 100000]
                          [--backlog 10000000] [--churn 1000000] [--quick]

Every figure is a rate in messages per second, printed next to a baseline measured in the same run
(raw SQL doing the same work on a bare table, or the same queue when fresh) and the ratio of the
two, because the machine is shared and absolute figures drift from run to run. Each phase gets a
fresh SQLite file in a temp dir or a freshly created PostgreSQL database ``sluice_bench``; the test
database is never touched. Results are printed and written to ``docs/benchmarks.md`` (the section
of this backend and label is replaced; everything else in the file is kept).

Phases (per backend):

1. **enqueue**: ``--messages`` small messages via ``store.enqueue`` in chunks of 1,000, against the
   raw baseline inserting the same rows into a bare table, one transaction per chunk.
2. **claim+complete**: draining them with ``store.claim(..., 100)`` + ``store.complete(acks)``,
   against a bare ``DELETE ... RETURNING`` claim loop; from one process and from two (spawned).
3. **churn**: sluice's claim rate on a fresh queue, then after ``--churn`` messages have passed
   through the queue (PostgreSQL: no manual VACUUM; dead tuples are reported).
4. **backlog**: sluice's claim rate on a fresh queue, then with ``--backlog`` visible messages
   waiting in the same queue (bulk-inserted with one SQL statement per million rows).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from store_backends import Backend, PostgresBackend, SqliteBackend
from store_common import BATCH, CLAIM_BATCHES, DEFAULT_PG, DOC, PhaseTimeout
from store_phases import Report, phase_analyzed, phase_backlog, phase_churn, phase_throughput
from store_raw import PG_RAW_METHODS


# -- output -------------------------------------------------------------------------------------
def fmt_rate(rate: float) -> str:
    return f"{rate:,.0f}"


def fmt_samples(samples: list[float]) -> str:
    return " / ".join(f"{s:,.0f}" for s in samples)


def table(reports: list[Report]) -> str:
    lines = [
        "| backend | measure | sluice msg/s | baseline | baseline msg/s | ratio | target | met |",
        "|---|---|--:|---|--:|--:|---|---|",
    ]
    for rep in reports:
        for f in rep.figures:
            lines.append(
                f"| {rep.backend} | {f.name} | {fmt_rate(max(f.sluice, default=0))} "
                f"| {f.base_name} | {fmt_rate(max(f.base, default=0))} | {f.ratio:.2f}x "
                f"| {f.target} | {'n/a' if f.diagnostic else 'yes' if f.met else '**no**'} |"
            )
    return "\n".join(lines)


def samples_table(reports: list[Report]) -> str:
    lines = [
        "| backend | measure | baseline | sluice samples | baseline samples |",
        "|---|---|---|---|---|",
    ]
    for rep in reports:
        for f in rep.figures:
            lines.append(
                f"| {rep.backend} | {f.name} | {f.base_name} | {fmt_samples(f.sluice)} "
                f"| {fmt_samples(f.base)} |"
            )
    return "\n".join(lines)


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 2**20:.1f} GiB"
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=DOC.parent.parent,
        ).stdout.strip()
        commit = f"`{commit}`"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=DOC.parent.parent,
        ).stdout.strip()
        if dirty:
            commit += " plus uncommitted changes in src/"
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "ram": ram,
        "cpu": cpu,
        "python": platform.python_version(),
        "commit": commit,
    }


def section(reports: list[Report], args: argparse.Namespace, command: str) -> str:
    m = machine()
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = ", ".join(r.version for r in reports)
    out = [
        f"Run {date} on commit {m['commit']}: `{command}`",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, shared with other jobs; "
        f"Python {m['python']}, {versions}.",
        f"Parameters: {args.messages:,} messages, {args.rounds} round(s) of the throughput "
        f"phase, backlog {args.backlog:,}, churn {args.churn:,}, {args.samples} sample(s) of "
        f"{CLAIM_BATCHES} x {BATCH} claims per claim-rate figure.",
    ]
    for rep in reports:
        loads = ", ".join(f"{a:.1f}" for a, _, _ in rep.load)
        out.append(
            f"{rep.backend}: {rep.seconds / 60:.1f} min; 1-minute load average at phase "
            f"boundaries: {loads}."
        )
    out += ["", table(reports), "", "Best of the samples is shown; all samples (msg/s):", ""]
    out += [samples_table(reports), ""]
    verdicts = []
    for rep in reports:
        targets = [f for f in rep.figures if not f.diagnostic]
        met = [f.name for f in targets if f.met]
        missed = [f"{f.name} ({f.ratio:.2f}x, target {f.target})" for f in targets if not f.met]
        verdicts.append(
            f"- {rep.backend}: {len(met)} of {len(targets)} targets met"
            + (f"; missed: {'; '.join(missed)}" if missed else "")
        )
    out += ["Targets:", "", *verdicts, ""]
    notes = [f"- {rep.backend}: {n}" for rep in reports for n in rep.notes]
    if notes:
        out += ["Notes:", "", *notes, ""]
    for rep in reports:
        for title, text in rep.profiles:
            out += [f"<details><summary>{rep.backend}: {title}</summary>", "", "```", text, "```"]
            out += ["", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


HEADER = """# Benchmarks

Produced by `bench/store.py` (run by hand, e.g. `make bench`); each section below is replaced by
the next run of the same backend and label. The machine is shared and noisy, so every figure is
printed next to a baseline measured in the same run, and the ratio is what to compare.

Method:

- **enqueue**: small messages (`{"i": n, "payload": "x" * 40}`) through `store.enqueue` in chunks
  of 1,000, against a raw baseline inserting the same rows into a bare table (id, queue, body,
  visible_at, one index on (queue, visible_at)) in one transaction per chunk of 1,000 (SQLite:
  `executemany` in `BEGIN IMMEDIATE` with bodies encoded by orjson; PostgreSQL: see the notes of
  the run for the statement used).
- **claim + ack**: draining those messages with `store.claim([q], 100)` +
  `store.complete([Outcome.ack(...)])`, against a bare loop of
  `DELETE FROM t WHERE id IN (SELECT id ... ORDER BY visible_at LIMIT 100 [FOR UPDATE SKIP
  LOCKED]) RETURNING id, body` (SQLite: one `BEGIN IMMEDIATE` transaction per batch), bodies
  decoded in both; from one process and from several spawned processes.
- **churn**: claim + ack rate of 200 batches of 100 on a fresh queue, then again after N messages
  have been enqueued and drained through the same queue (PostgreSQL: no manual VACUUM).
- **backlog**: the same claim + ack rate on a fresh queue, then with a large backlog of visible
  messages in the same queue, bulk-inserted with raw SQL as valid sluice rows.

Targets: every sluice figure >= 0.5x its raw baseline; a backlog slows claims by at most 2x (ratio
>= 0.5); after churn, claims are within 20% of fresh (ratio >= 0.8). Each phase runs on a fresh
SQLite file in a temp dir or a freshly created PostgreSQL database `sluice_bench`.
"""


def update_doc(path: Path, key: str, title: str, text: str) -> None:
    begin, end = f"<!-- bench:{key}:begin -->", f"<!-- bench:{key}:end -->"
    block = f"{begin}\n## {title}\n\n{text}{end}\n"
    doc = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: block, doc, count=1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc)


# -- main ---------------------------------------------------------------------------------------
def _alarm(signum: int, frame: FrameType | None) -> None:
    raise PhaseTimeout(f"the run exceeded its overall time limit (signal {signum})")


def run_backend(backend: Backend, args: argparse.Namespace) -> Report:
    report = Report(backend.label, backend.version())
    phases: list[tuple[str, Callable[[Backend, Report, argparse.Namespace], None]]] = [
        ("throughput", phase_throughput),
        ("analyzed", phase_analyzed),
        ("churn", phase_churn),
        ("backlog", phase_backlog),
    ]
    start = time.perf_counter()
    try:
        for name, phase in phases:
            if name not in args.phases:
                continue
            report.load.append(os.getloadavg())
            print(f"[{backend.label}] {name} ...", file=sys.stderr, flush=True)
            phase(backend, report, args)
        report.load.append(os.getloadavg())
    finally:
        report.seconds = time.perf_counter() - start
        backend.cleanup()
    return report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--messages", type=int, default=100_000, help="messages per throughput run")
    p.add_argument("--backlog", type=int, help="backlog size (default 10M, 1M with --quick)")
    p.add_argument("--churn", type=int, help="messages through the queue (1M, 200k with --quick)")
    p.add_argument("--quick", action="store_true", help="smaller backlog and churn, one round")
    p.add_argument("--rounds", type=int, help="throughput rounds (default 2, 1 with --quick)")
    p.add_argument("--samples", type=int, default=3, help="samples per claim-rate figure")
    p.add_argument("--procs", type=int, default=2, help="processes of the parallel drain")
    p.add_argument(
        "--phases",
        default="throughput,analyzed,churn,backlog",
        help="comma-separated subset of throughput,analyzed,churn,backlog",
    )
    p.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL admin URL (any database)")
    p.add_argument("--pg-raw", choices=PG_RAW_METHODS, default="copy", help="raw insert")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per phase")
    p.add_argument("--profile", action="store_true", help="cProfile sluice's first round")
    p.add_argument("--label", help="doc section label (default: quick or full)")
    p.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL bench database")
    args = p.parse_args(argv)
    if args.backlog is None:
        args.backlog = 1_000_000 if args.quick else 10_000_000
    if args.churn is None:
        args.churn = 200_000 if args.quick else 1_000_000
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    args.phases = {s.strip() for s in args.phases.split(",") if s.strip()}
    if unknown := args.phases - {"throughput", "analyzed", "churn", "backlog"}:
        p.error(f"unknown phases: {sorted(unknown)}")
    if args.label is None:
        args.label = "quick" if args.quick else "full"
    if args.messages < BATCH or args.backlog < 2 * CLAIM_BATCHES * BATCH * args.samples:
        p.error("--messages must be >= 100 and --backlog large enough for the claim samples")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python bench/store.py " + " ".join(sys.argv[1:] if argv is None else argv)
    names = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _alarm)
    reports: list[Report] = []
    for name in names:
        backend: Backend = SqliteBackend(args) if name == "sqlite" else PostgresBackend(args)
        signal.alarm(int(args.timeout * 3 + 600))
        try:
            report = run_backend(backend, args)
        finally:
            signal.alarm(0)
        reports.append(report)
        text = section([report], args, command)
        print(f"\n## {report.backend} ({args.label})\n\n{text}")
        if not args.no_doc:
            update_doc(DOC, f"{name}:{args.label}", f"{report.backend} ({args.label})", text)
    if len(reports) > 1:
        print(table(reports))
    missed = [f for r in reports for f in r.figures if not f.diagnostic and not f.met]
    print(f"{len(missed)} target(s) missed" if missed else "all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
