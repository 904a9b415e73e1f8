"""SQS wire benchmark: boto3 against a real ``sluice serve``, next to sluice's native paths
and moto's server, in one run. Run by hand or with ``make aws-bench``::

    python bench/sqs.py [--backend sqlite|postgres|both] [--messages 4000]
                        [--server-workers 1] [--moto-python /path/to/venv/bin/python]

Phases (4 client threads, each with its own boto3 client / store handle, batches of 10):

1. **send**: ``SendMessageBatch``; baselines: ``store.enqueue`` of the same batches in this
   process, and ``POST /v1/actions/echo`` (one message per request, the native HTTP API).
   The same sends (and receives+deletes) also run from 4 light client processes
   (``bench/sqs_raw.py``: plain ``http.client``, then raw sockets), whose rates show the
   server's capacity where botocore's CPU would hide it.
2. **receive+delete**: ``ReceiveMessage`` (10) + ``DeleteMessageBatch`` until the queue is
   empty; baseline: ``store.claim`` (10) + ``store.complete``.
3. **pickup**: one consumer long-polls (``WaitTimeSeconds=20``); a producer sends one message
   at a time; latency from the start of ``SendMessage`` to the message's arrival, p50/p99.

The same boto3 phases run against moto's server when ``--moto-python`` names a Python with
``moto[server]``, and against ``bench/sqs_stub.py`` (an endpoint that stores nothing and
answers at once): what the boto3 clients alone reach on this machine, the ceiling of any
server. The CPU seconds the sluice server spends per message (``/proc``) are set beside the
bench process's CPU per message of the native store calls.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.aws_server import cpu_seconds, moto_server, sluice_process, stub_server
from bench.moto_differential import fresh_pg
from bench.sqs_raw import raw_phases
from sluice import App
from sluice.model import NewMessage, Outcome

THREADS = 4
BATCH = 10
JSON = {"Content-Type": "application/json"}


def client(base: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=base,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=THREADS + 2),
    )


def rate(work: Callable[[int], int]) -> float:
    """Messages per second of ``work(thread)`` run by THREADS threads (each returns a count)."""
    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        done = sum(pool.map(work, range(THREADS)))
    return done / (time.perf_counter() - start)


def sqs_send(base: str, url: str, messages: int) -> float:
    def work(thread: int) -> int:
        sqs = client(base)
        for b in range(messages // THREADS // BATCH):
            entries = [
                {"Id": str(i), "MessageBody": f'{{"n": {b * BATCH + i}}}'} for i in range(BATCH)
            ]
            answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            assert not answer.get("Failed"), answer
        return messages // THREADS // BATCH * BATCH

    return rate(work)


def sqs_drain(base: str, url: str, rounds: int | None = None) -> float:
    """Receive (10) + DeleteMessageBatch until the queue is empty (or ``rounds`` per thread)."""

    def work(thread: int) -> int:
        sqs, done = client(base), 0
        for _ in range(rounds if rounds is not None else sys.maxsize):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH).get("Messages", [])
            if not got:
                return done
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ]
            assert not sqs.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed")
            done += len(got)
        return done

    return rate(work)


def pickup(base: str, url: str, samples: int) -> tuple[float, float]:
    """Long-poll pickup latency p50, p99 in ms."""
    sent: dict[str, float] = {}
    seen: list[float] = []
    stop = threading.Event()

    def consume() -> None:
        sqs = client(base)
        while not stop.is_set():
            for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", []):
                seen.append(time.perf_counter() - sent[m["Body"]])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    consumer = threading.Thread(target=consume)
    consumer.start()
    producer = client(base)
    time.sleep(0.5)  # the consumer is waiting in its long poll
    for i in range(samples):
        sent[str(i)] = time.perf_counter()
        producer.send_message(QueueUrl=url, MessageBody=str(i))
        time.sleep(0.05)
    deadline = time.monotonic() + 30
    while len(seen) < samples and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    consumer.join(10)
    q = statistics.quantiles(seen, n=100)
    return q[49] * 1000, q[98] * 1000


def boto_phases(
    label: str, base: str, messages: int, samples: int, pid: int | None = None
) -> dict[str, float]:
    sqs = client(base)
    url = sqs.create_queue(QueueName="bench")["QueueUrl"]
    cpu = cpu_seconds(pid) if pid else 0.0
    send = sqs_send(base, url, messages)
    sent_cpu = cpu_seconds(pid) if pid else 0.0
    drain = sqs_drain(base, url)
    drain_cpu = cpu_seconds(pid) if pid else 0.0
    p50, p99 = pickup(base, sqs.create_queue(QueueName="pickup")["QueueUrl"], samples)
    result = {"send": send, "drain": drain, "p50": p50, "p99": p99}
    line = (
        f"  {label}: send {send:,.0f} msg/s, receive+delete {drain:,.0f} msg/s, "
        f"pickup p50 {p50:.1f} ms p99 {p99:.1f} ms"
    )
    if pid:
        result["send_cpu"] = (sent_cpu - cpu) / messages * 1e6
        result["drain_cpu"] = (drain_cpu - sent_cpu) / messages * 1e6
        line += (
            f"; server CPU {result['send_cpu']:.0f} us/msg sending, "
            f"{result['drain_cpu']:.0f} us/msg receiving+deleting"
        )
    print(line)
    return result


def stub_phases(messages: int) -> dict[str, float]:
    """The boto3 phases against the stub endpoint (the clients' ceiling)."""
    with stub_server() as base:
        url = client(base).create_queue(QueueName="bench")["QueueUrl"]
        send = sqs_send(base, url, messages)
        drain = sqs_drain(base, url, rounds=messages // THREADS // BATCH)
    print(f"  boto3 ceiling (stub endpoint): send {send:,.0f} msg/s, receive+delete {drain:,.0f}")
    return {"send": send, "drain": drain}


def native(url: str, base: str, messages: int) -> dict[str, float]:
    app = App(url)
    app.queue("native")
    store = app.store

    def enqueue(thread: int) -> int:
        for b in range(messages // THREADS // BATCH):
            store.enqueue([NewMessage("native", {"n": b * BATCH + i}) for i in range(BATCH)])
        return messages // THREADS // BATCH * BATCH

    def drain(thread: int) -> int:
        done = 0
        while got := store.claim(["native"], BATCH):
            store.complete([Outcome.ack(m.receipt) for m in got if m.receipt])
            done += len(got)
        return done

    def post(thread: int) -> int:
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(messages // THREADS // 4):
                assert http.post("/v1/actions/echo", content=b"1", headers=JSON).status_code < 300
        return messages // THREADS // 4

    cpu = time.process_time()
    result = {"send": rate(enqueue)}
    sent_cpu = time.process_time()
    result["drain"] = rate(drain)
    result["send_cpu"] = (sent_cpu - cpu) / messages * 1e6
    result["drain_cpu"] = (time.process_time() - sent_cpu) / messages * 1e6
    result["http"] = rate(post)
    print(
        f"  native: store.enqueue {result['send']:,.0f} msg/s, claim+complete "
        f"{result['drain']:,.0f} msg/s, POST /v1/actions/echo {result['http']:,.0f} msg/s; "
        f"CPU {result['send_cpu']:.0f} us/msg enqueueing, {result['drain_cpu']:.0f} us/msg "
        "claiming+completing"
    )
    app.close()
    return result


def run(backend: str, messages: int, samples: int, workers: int = 1) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else fresh_pg()
        print(f"{backend}, sluice serve --workers {workers}:")
        with sluice_process(url, workers=workers) as (base, pid):
            sqs = boto_phases("sluice SQS", base, messages, samples, pid)
            queue = client(base).create_queue(QueueName="light")["QueueUrl"]
            light = raw_phases(base, queue, messages, lambda: cpu_seconds(pid))
            queue = client(base).create_queue(QueueName="sockets")["QueueUrl"]
            sockets = raw_phases(base, queue, messages, lambda: cpu_seconds(pid), "socket")
            ref = native(url, base, messages)
        stub = stub_phases(messages)
        print(
            f"  ratios SQS/native: send {sqs['send'] / ref['send']:.2f}, "
            f"receive+delete {sqs['drain'] / ref['drain']:.2f}, "
            f"send vs native HTTP {sqs['send'] / ref['http']:.2f}; SQS/boto3 ceiling: send "
            f"{sqs['send'] / stub['send']:.2f}, receive+delete {sqs['drain'] / stub['drain']:.2f}; "
            f"CPU per message SQS server/native: send {sqs['send_cpu'] / ref['send_cpu']:.1f}x, "
            f"receive+delete {sqs['drain_cpu'] / ref['drain_cpu']:.1f}x"
        )
        for kind, rates in (("http.client", light), ("socket", sockets)):
            print(
                f"  ratios SQS with light clients ({kind})/native: send "
                f"{rates['send'] / ref['send']:.2f}, receive+delete "
                f"{rates['drain'] / ref['drain']:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both", "none"], default="both")
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument(
        "--server-workers", type=int, default=1, help="sluice serve --workers (processes)"
    )
    parser.add_argument("--moto-python")
    parser.add_argument("--moto-messages", type=int, default=400, help="moto is slow: fewer")
    args = parser.parse_args()
    for backend in ("sqlite", "postgres"):
        if args.backend in (backend, "both"):
            run(backend, args.messages, args.samples, args.server_workers)
    if args.moto_python:
        print("moto server:")
        with moto_server(args.moto_python) as base:
            boto_phases("moto SQS", base, args.moto_messages, args.samples)


if __name__ == "__main__":
    main()
