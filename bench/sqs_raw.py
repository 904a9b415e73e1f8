"""The SQS phases of ``bench/sqs.py`` driven by light clients: 4 processes, each one
keep-alive ``http.client`` connection sending the AWS JSON requests botocore would send
(unsigned: the API is open on loopback), with request bodies built by ``json.dumps``. They
spend a fraction of botocore's CPU per request, so on a machine whose cores the clients
share with the server, these rates show the server's own capacity."""

from __future__ import annotations

import http.client
import json
import time
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlsplit

PROCESSES = 4
BATCH = 10


def _call(conn: http.client.HTTPConnection, operation: str, params: dict[str, Any]) -> Any:
    headers = {
        "X-Amz-Target": f"AmazonSQS.{operation}",
        "Content-Type": "application/x-amz-json-1.0",
    }
    conn.request("POST", "/", json.dumps(params), headers)
    answer = conn.getresponse()
    data = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"{operation}: HTTP {answer.status} {data[:300]!r}")
    return json.loads(data)


def _connect(base: str) -> http.client.HTTPConnection:
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80)


def _send(job: tuple[str, str, int]) -> int:
    base, url, batches = job
    conn = _connect(base)
    for b in range(batches):
        entries = [{"Id": str(k), "MessageBody": f'{{"n": {b * BATCH + k}}}'} for k in range(BATCH)]
        answer = _call(conn, "SendMessageBatch", {"QueueUrl": url, "Entries": entries})
        assert not answer.get("Failed"), answer
    return batches * BATCH


def _drain(job: tuple[str, str, int]) -> int:
    base, url, _ = job
    conn, done = _connect(base), 0
    while True:
        asked = {"QueueUrl": url, "MaxNumberOfMessages": BATCH}
        got = _call(conn, "ReceiveMessage", asked).get("Messages", [])
        if not got:
            return done
        entries = [{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got)]
        answer = _call(conn, "DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
        assert not answer.get("Failed"), answer
        done += len(got)


def _rate(work: Any, base: str, url: str, messages: int) -> float:
    jobs = [(base, url, messages // PROCESSES // BATCH)] * PROCESSES
    with get_context("spawn").Pool(PROCESSES) as pool:
        pool.map(_connect_only, range(PROCESSES))  # the processes are up before the clock
        start = time.perf_counter()
        done = sum(pool.map(work, jobs))
        return done / (time.perf_counter() - start)


def _connect_only(_: int) -> None:
    """Nothing: makes the pool start its processes."""


def raw_phases(base: str, url: str, messages: int, cpu: Any) -> dict[str, float]:
    """Send ``messages`` in batches of 10, then receive+delete them all; the rates and, by
    ``cpu()`` (the server's CPU seconds so far), the server's CPU per message."""
    before = cpu()
    send = _rate(_send, base, url, messages)
    sent = cpu()
    drain = _rate(_drain, base, url, messages)
    drained = cpu()
    result = {
        "send": send,
        "drain": drain,
        "send_cpu": (sent - before) / messages * 1e6,
        "drain_cpu": (drained - sent) / messages * 1e6,
    }
    print(
        f"  light clients: send {send:,.0f} msg/s, receive+delete {drain:,.0f} msg/s; server "
        f"CPU {result['send_cpu']:.0f} us/msg sending, {result['drain_cpu']:.0f} receiving+deleting"
    )
    return result
