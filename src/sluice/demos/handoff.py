"""The exactly-once hand-off story: CSV rows sent to a flaky third-party API by workers that
get killed.

A loopback HTTP server plays the third-party API: it records every row it receives, drops a
repeat of an idempotency key it has seen (as payment APIs do), answers 429 when more than
``MAX_IN_FLIGHT`` requests are in flight, and is slow at times. Three worker processes send
one row per message with ``ctx.idempotency_key`` and raise ``Backoff`` on 429, while the demo
kills one of them with SIGKILL every few seconds and starts a new one.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sluice import App, Backoff, Context

MAX_IN_FLIGHT = 20
LATENCY = 0.05
"""Seconds the API takes for a request."""
QUEUE = "handoff"

app = App(os.environ.get("SLUICE_HANDOFF_URL"))
app.queue(QUEUE, visibility_timeout=5, max_receives=50)


@app.action(queue=QUEUE, concurrency=40, timeout=10, retry_base=0.05, retry_cap=1.0)
def send_row(row: dict[str, Any], ctx: Context) -> None:
    """POST one row to the API with an idempotency key stable across redeliveries."""
    request = urllib.request.Request(
        os.environ["SLUICE_HANDOFF_API"],
        data=json.dumps(row).encode(),
        headers={"Idempotency-Key": ctx.idempotency_key, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 429:
            raise Backoff("429 Too Many Requests") from exc
        raise


@dataclass
class ApiRecord:
    """What the fake API saw."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeats: int = 0
    throttled: int = 0
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def serve_api(record: ApiRecord) -> ThreadingHTTPServer:
    """Start the fake third-party API on a free loopback port."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            with record.lock:
                if record.in_flight >= MAX_IN_FLIGHT:
                    record.throttled += 1
                    self.send_response(429)
                    self.end_headers()
                    return
                record.in_flight += 1
            try:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(LATENCY)
                if random.random() < 0.05:
                    time.sleep(random.uniform(0.05, 0.3))  # slow at times
                key = self.headers["Idempotency-Key"]
                with record.lock:
                    if key in record.rows:
                        record.repeats += 1
                    else:
                        record.rows[key] = body
                self.send_response(200)
                self.end_headers()
            finally:
                with record.lock:
                    record.in_flight -= 1

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass(frozen=True)
class Summary:
    rows: int
    acked: int
    received: int
    duplicates_recorded: int
    repeats_dropped: int
    throttled: int
    kills: int
    seconds: float
    effective: list[float]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["employee", "name", "amount_cents", "iban"])
        for n in range(rows):
            writer.writerow([n, f"Employee {n}", 100_000 + n * 7 % 50_000, f"DE{n:020d}"])


def run(url: str, rows: int, workdir: Path, kill_every: float = 3.0) -> Summary:
    """Run the story on the store at ``url`` and return what was measured."""
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path = workdir / "payroll.csv"
    write_csv(csv_path, rows)
    record = ApiRecord()
    server = serve_api(record)
    env = {
        **os.environ,
        "SLUICE_HANDOFF_URL": url,
        "SLUICE_HANDOFF_API": f"http://127.0.0.1:{server.server_port}/payments",
    }
    demo = App(url)
    demo.queue(QUEUE, visibility_timeout=5, max_receives=50)
    demo.action("send_row", queue=QUEUE, concurrency=40)(send_row)
    store = demo.store
    store.purge(QUEUE)
    store.purge(QUEUE + ".dlq")
    tag = f"{time.time():.0f}"  # dedup ids of this run only: earlier runs do not mask rows
    created = 0
    with csv_path.open() as source:
        chunk = []
        for row in csv.DictReader(source):
            dedup_id = f"{tag}-row-{row['employee']}"
            chunk.append(demo.new_message("send_row", row, dedup_id=dedup_id))
            if len(chunk) == 1000:
                created += sum(r.created for r in store.enqueue(chunk))
                chunk = []
        created += sum(r.created for r in store.enqueue(chunk))
    command = [sys.executable, "-m", "sluice.cli", "worker", "sluice.demos.handoff:app"]
    command += ["--concurrency", "16", "--log-format", "text"]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    workers = [start() for _ in range(3)]
    started = time.monotonic()
    last_kill = started
    kills = 0
    effective: list[float] = []
    try:
        while True:
            time.sleep(0.5)
            stats = store.stats([QUEUE])[0]
            [limit] = [lim for lim in store.limits() if lim.action == "send_row"]
            effective.append(limit.effective or float(limit.concurrency or 0))
            if stats.depth == stats.in_flight == stats.delayed == 0:
                break
            if time.monotonic() - last_kill >= kill_every:
                victim = random.randrange(len(workers))
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                workers[victim] = start()
                kills += 1
                last_kill = time.monotonic()
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        server.shutdown()
    seconds = time.monotonic() - started
    stats = store.stats([QUEUE])[0]
    received = Counter(row["employee"] for row in record.rows.values())
    demo.close()
    return Summary(
        rows=rows,
        acked=created - stats.depth - stats.in_flight - stats.delayed - stats.dlq_depth,
        received=len(received),
        duplicates_recorded=sum(n - 1 for n in received.values()),
        repeats_dropped=record.repeats,
        throttled=record.throttled,
        kills=kills,
        seconds=seconds,
        effective=effective,
    )
