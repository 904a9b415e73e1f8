"""List buckets of growing size on a moto S3 server (its own process, on loopback): a bare
boto3 paginator listing (the same-run baseline), a sluice full pass (first: lists and
enqueues all), a second full pass (the reconcile: enqueues nothing), an incremental pass after
100 new keys (StartAfter on the stored watermark) and the first pass of a restarted scanner;
wall time and peak Python memory of this process (the client; moto's own is not counted).

    .venv/bin/python -m bench.s3 [N ...]      (default: 10000 20000 50000)

Objects are uploaded once, sizes cumulatively; each size gets a fresh SQLite store.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from sluice import App
from sluice.sources.bucket import BucketScanner

Row = tuple[str, float, float, Any]


def measure(label: str, run: Callable[[], Any]) -> Row:
    tracemalloc.start()
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return label, seconds, peak / 2**20, result


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/").close()
            break
        except OSError:
            time.sleep(0.1)
    return server, endpoint


def upload(s3: Any, start: int, stop: int) -> float:
    began = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: s3.put_object(Bucket="bench", Key=f"input/{i:07d}.json", Body=b"{}"),
                range(start, stop),
            )
        )
    return time.perf_counter() - began


def passes(endpoint: str, s3: Any, count: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        app = App(f"sqlite:///{tmp}/bench.db")
        app.queue("files", dedup_window=None)
        app.action(queue="files", name="load")(lambda body, ctx: None)
        watch = app.watch_bucket("s3://bench", "load", endpoint_url=endpoint)
        scanner = BucketScanner(app, watch)

        def bare() -> int:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix="input/")
            return sum(len(page.get("Contents", ())) for page in pages)

        def enqueued(full: bool | None, on: BucketScanner = scanner) -> str:
            result = on.scan(full=full)
            assert result is not None
            return f"listed {result.found:,}, enqueued {result.enqueued:,}"

        rows = [
            measure("bare boto3 paginator listing (baseline)", bare),
            measure("sluice full pass (first)", lambda: enqueued(True)),
            measure("sluice full pass again (reconcile)", lambda: enqueued(True)),
        ]
        for i in range(100):
            s3.put_object(Bucket="bench", Key=f"input/{count + i:07d}.json", Body=b"{}")
        rows.append(measure("sluice incremental pass (100 new)", lambda: enqueued(False)))
        restarted = BucketScanner(app, watch)
        rows.append(measure("restarted scanner's first pass", lambda: enqueued(False, restarted)))
        for i in range(100):
            s3.delete_object(Bucket="bench", Key=f"input/{count + i:07d}.json")
        app.close()
    return rows


def main(sizes: list[int]) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "bench"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    server, endpoint = start_moto()
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="bench")
        have = 0
        for count in sorted(sizes):
            took = upload(s3, have, count)
            have = count
            print(f"\nN = {count:,} (uploaded {took:.0f} s), moto at {endpoint}\n", flush=True)
            print("| pass | wall | ratio | peak Python memory | result |\n|---|---|---|---|---|")
            rows = passes(endpoint, s3, count)
            base = rows[0][1]
            for label, seconds, mib, result in rows:
                print(
                    f"| {label} | {seconds:.2f} s | {seconds / base:.2f} | {mib:.1f} MiB | "
                    f"{result} |",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 20_000, 50_000])
