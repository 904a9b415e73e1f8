"""Pickup latency of an idle worker: sluice on PostgreSQL next to PGQueuer, in one run.

    .venv/bin/python bench/pickup.py [--messages 300] [--rounds 3]

Each side: one worker process started and left idle for 3 s, then ``--messages`` messages
enqueued one at a time, 10 ms apart, by a producer in another process (sluice: this one,
``store.enqueue``; PGQueuer: ``bench/peer_pgqueuer.py trickle`` in the peers venv,
``Queries.enqueue``); each latency runs from the start of its enqueue call to the start of
its handler. PGQueuer's worker dequeues with its default batch size (10) and is woken by its
LISTEN/NOTIFY like sluice's. Rounds alternate the two sides (the machine is noisy); the
figures are p50 / p99 per round and of all samples, with sluice's ratio to PGQueuer's.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
import worker as sluice_bench


def pgqueuer_samples(workdir: Path, count: int) -> list[float]:
    """PGQueuer's pickup latencies (ms, sorted), measured as sluice's are."""
    sluice_bench.fresh_url("postgres", workdir, peers.PEERS_PG)
    log = workdir / f"pgqueuer-{time.monotonic_ns()}.log"
    env = peers.peer_env(SLUICE_PEERS_LATENCY=str(log))
    python = str(peers.VENV_PYTHON)
    peers.peer_run([python, "-m", "bench.peer_pgqueuer", "install", "0"], env)
    command = [python, "-m", "bench.peer_pgqueuer", "worker", "10"]
    worker = subprocess.Popen(command, cwd=peers.ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3.0)  # started and idle
        peers.peer_run([python, "-m", "bench.peer_pgqueuer", "trickle", str(count), "0.01"], env)
        deadline = time.monotonic() + 30
        while not (log.exists() and len(log.read_text().split()) >= count):
            if time.monotonic() > deadline:
                raise peers.BenchError(f"PGQueuer ran fewer than {count} jobs in 30 s")
            time.sleep(0.1)
    finally:
        peers.stop([worker], signal.SIGTERM)
    peers.peer_run([python, "-m", "bench.peer_pgqueuer", "uninstall"], env)
    return sorted(float(x) * 1000 for x in log.read_text().split())


def p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    peers.ensure_venv()
    every: dict[str, list[float]] = {"sluice": [], "PGQueuer": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for r in range(args.rounds):
            order = ["sluice", "PGQueuer"] if r % 2 == 0 else ["PGQueuer", "sluice"]
            for side in order:
                if side == "sluice":
                    samples = sluice_bench.pickup_samples("postgres", workdir, args.messages)
                else:
                    samples = pgqueuer_samples(workdir, args.messages)
                every[side] += samples
                p50, p99 = p50_p99(samples)
                print(f"round {r + 1} {side:8} p50 {p50:5.1f} ms  p99 {p99:5.1f} ms", flush=True)
    peers.drop_database()
    ours, theirs = p50_p99(every["sluice"]), p50_p99(every["PGQueuer"])
    print(
        f"all samples: sluice p50 {ours[0]:.1f} / p99 {ours[1]:.1f} ms, PGQueuer p50 "
        f"{theirs[0]:.1f} / p99 {theirs[1]:.1f} ms; sluice / PGQueuer: p50 "
        f"{ours[0] / theirs[0]:.2f}x, p99 {ours[1] / theirs[1]:.2f}x"
    )


if __name__ == "__main__":
    main()
