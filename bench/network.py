"""Network benchmark: PostgreSQL 1 ms away vs on loopback, and round trips per message.

Run by hand: ``python bench/network.py [--messages 20000] [--rtt 0.001]`` (``make bench-network``).

Every client connection goes through bench/netdelay.py's proxy, once with no delay (the
baseline: the proxy's own cost cancels out) and once delaying each direction by half of
``--rtt``. Figures, each in the same run for both: enqueue in chunks of 1,000 (one process);
drain of ``--messages`` no-op messages by 2 worker processes at handler batch_size 1 and 100,
timed from their launch; and the client's sends per call of ``store.claim(100)`` and of
``store.complete`` of 100 acks (a send that waits for its answer is a round trip).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import worker as sluice_bench
from netdelay import DelayProxy
from sluice import App, NewMessage, Outcome

PG = os.environ.get("SLUICE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench")
PG_PORT = 5432


def through(proxy: DelayProxy) -> str:
    """The bench database's URL, reached through the proxy."""
    return PG.replace(f":{PG_PORT}/", f":{proxy.port}/")


def fresh_app(proxy: DelayProxy) -> App:
    sluice_bench.fresh_url("postgres", Path(tempfile.gettempdir()), PG)
    app = App(through(proxy))
    for name in ("one", "many", "latency"):
        app.queue(name, visibility_timeout=60)
    return app


def enqueue_rate(proxy: DelayProxy, messages: int) -> float:
    app = fresh_app(proxy)
    started = time.perf_counter()
    for start in range(0, messages, 1000):
        app.store.enqueue([NewMessage("one", n, action="noop") for n in range(start, start + 1000)])
    took = time.perf_counter() - started
    app.close()
    return messages / took


def drain_rate(proxy: DelayProxy, messages: int, queue: str, action: str) -> float:
    app = fresh_app(proxy)
    for start in range(0, messages, 1000):
        app.store.enqueue([NewMessage(queue, n, action=action) for n in range(start, start + 1000)])
    started = time.perf_counter()
    procs = sluice_bench.workers(through(proxy), {})
    while True:
        time.sleep(0.05)
        stats = app.store.stats([queue])[0]
        if stats.depth == stats.in_flight == stats.delayed == 0:
            break
    took = time.perf_counter() - started
    sluice_bench.stop(procs)
    app.close()
    return messages / took


def round_trips(proxy: DelayProxy, calls: int = 20) -> tuple[float, float]:
    """Client sends per ``claim(100)`` and per ``complete`` of its 100 acks."""
    app = fresh_app(proxy)
    store = app.store
    for start in range(0, calls * 100, 1000):
        store.enqueue([NewMessage("one", n, action="noop") for n in range(start, start + 1000)])
    store.claim(["one"], 1)  # warm: pool, caches
    claims = acks = 0
    for _ in range(calls):
        proxy.reset()
        claimed = store.claim(["one"], 100)
        claims += proxy.sends
        proxy.reset()
        store.complete([Outcome.ack(m.receipt) for m in claimed if m.receipt])
        acks += proxy.sends
    app.close()
    return claims / calls, acks / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rtt", type=float, default=0.001, help="seconds")
    args = parser.parse_args()
    rows = []
    for rtt in (0.0, args.rtt):
        with DelayProxy(PG_PORT, rtt) as proxy:
            claim_rt, ack_rt = round_trips(proxy)
            rows.append(
                (
                    rtt,
                    enqueue_rate(proxy, args.messages),
                    drain_rate(proxy, args.messages, "one", "noop"),
                    drain_rate(proxy, args.messages, "many", "noop_batch"),
                    claim_rt,
                    ack_rt,
                )
            )
    base = rows[0]
    print(
        "| RTT | enqueue (chunks of 1,000) | drain, batch 1 | drain, batch 100 | "
        "sends per claim(100) | sends per ack of 100 |"
    )
    print("|---|--:|--:|--:|--:|--:|")
    for rtt, enq, one, many, claim_rt, ack_rt in rows:
        print(
            f"| {rtt * 1000:g} ms | {enq:,.0f}/s ({enq / base[1]:.2f}x) | "
            f"{one:,.0f}/s ({one / base[2]:.2f}x) | {many:,.0f}/s ({many / base[3]:.2f}x) | "
            f"{claim_rt:.1f} | {ack_rt:.1f} |"
        )


if __name__ == "__main__":
    main()
