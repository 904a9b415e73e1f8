"""The SQS phases of ``bench/sqs.py`` driven by light clients: 4 processes, each one
keep-alive connection sending the AWS JSON requests botocore would send (unsigned: the API is
open on loopback), with request bodies built by ``json.dumps``. They spend a fraction of
botocore's CPU per request, so on a machine whose cores the clients share with the server,
these rates show the server's own capacity. Two kinds: ``http.client`` and, lighter still,
``socket``: one request written and its answer read by ``Content-Length`` on a raw socket
(``http.client`` parses every answer's headers with the email package, and its four
processes took more CPU than the server)."""

from __future__ import annotations

import http.client
import json
import socket
import time
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlsplit

PROCESSES = 4
BATCH = 10


class _Socket:
    """One keep-alive HTTP/1.1 connection on a raw socket: requests of known length, answers
    read by their ``Content-Length`` (all sluice sends)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = f"{host}:{port}".encode()
        self.pending = b""

    def post(self, operation: str, body: bytes) -> tuple[int, bytes]:
        self.sock.sendall(
            b"POST / HTTP/1.1\r\nHost: "
            + self.host
            + b"\r\nX-Amz-Target: AmazonSQS."
            + operation.encode()
            + b"\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        while b"\r\n\r\n" not in self.pending:
            self.pending += self._recv()
        head, _, rest = self.pending.partition(b"\r\n\r\n")
        at = head.lower().index(b"content-length:") + len(b"content-length:")
        size = int(head[at : head.index(b"\r\n", at)])
        while len(rest) < size:
            rest += self._recv()
        self.pending = rest[size:]
        return int(head[9:12]), rest[:size]

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data


Connection = http.client.HTTPConnection | _Socket


def _call(conn: Connection, operation: str, params: dict[str, Any]) -> Any:
    if isinstance(conn, _Socket):
        status, data = conn.post(operation, json.dumps(params).encode())
    else:
        headers = {
            "X-Amz-Target": f"AmazonSQS.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        }
        conn.request("POST", "/", json.dumps(params), headers)
        answer = conn.getresponse()
        status, data = answer.status, answer.read()
    if status != 200:
        raise RuntimeError(f"{operation}: HTTP {status} {data[:300]!r}")
    return json.loads(data)


def _connect(base: str, kind: str) -> Connection:
    if kind == "socket":
        return _Socket(base)
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80)


def _send(job: tuple[str, str, int, str]) -> int:
    base, url, batches, kind = job
    conn = _connect(base, kind)
    for b in range(batches):
        entries = [{"Id": str(k), "MessageBody": f'{{"n": {b * BATCH + k}}}'} for k in range(BATCH)]
        answer = _call(conn, "SendMessageBatch", {"QueueUrl": url, "Entries": entries})
        assert not answer.get("Failed"), answer
    return batches * BATCH


def _drain(job: tuple[str, str, int, str]) -> int:
    base, url, _, kind = job
    conn, done = _connect(base, kind), 0
    while True:
        asked = {"QueueUrl": url, "MaxNumberOfMessages": BATCH}
        got = _call(conn, "ReceiveMessage", asked).get("Messages", [])
        if not got:
            return done
        entries = [{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got)]
        answer = _call(conn, "DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
        assert not answer.get("Failed"), answer
        done += len(got)


def _rate(work: Any, base: str, url: str, messages: int, kind: str) -> float:
    jobs = [(base, url, messages // PROCESSES // BATCH, kind)] * PROCESSES
    with get_context("spawn").Pool(PROCESSES) as pool:
        pool.map(_connect_only, range(PROCESSES))  # the processes are up before the clock
        start = time.perf_counter()
        done: int = sum(pool.map(work, jobs))
        return done / (time.perf_counter() - start)


def _connect_only(_: int) -> None:
    """Nothing: makes the pool start its processes."""


def raw_phases(
    base: str, url: str, messages: int, cpu: Any, kind: str = "http.client"
) -> dict[str, float]:
    """Send ``messages`` in batches of 10, then receive+delete them all, from clients of
    ``kind`` (``http.client`` or ``socket``); the rates and, by ``cpu()`` (the server's CPU
    seconds so far), the server's CPU per message."""
    before = cpu()
    send = _rate(_send, base, url, messages, kind)
    sent = cpu()
    drain = _rate(_drain, base, url, messages, kind)
    drained = cpu()
    result = {
        "send": send,
        "drain": drain,
        "send_cpu": (sent - before) / messages * 1e6,
        "drain_cpu": (drained - sent) / messages * 1e6,
    }
    print(
        f"  light clients ({kind}): send {send:,.0f} msg/s, receive+delete {drain:,.0f} msg/s; "
        f"server CPU {result['send_cpu']:.0f} us/msg sending, {result['drain_cpu']:.0f} "
        "receiving+deleting"
    )
    return result
