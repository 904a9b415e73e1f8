"""List a bucket of N objects (default 100,000) on a moto S3 server on loopback: a bare boto3
paginator listing (the baseline), a sluice full pass (the reconcile), and an incremental pass
after 100 new keys (StartAfter on the watermark); wall time and peak Python memory of each.

    .venv/bin/python -m bench.s3 [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from sluice import App
from sluice.sources.bucket import BucketScanner


def measure(label: str, run: Callable[[], Any]) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"| {label} | {seconds:.2f} s | {peak / 2**20:.1f} MiB | {result} |", flush=True)


def main(count: int) -> None:
    from moto.server import ThreadedMotoServer

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "bench"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="bench")
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: s3.put_object(Bucket="bench", Key=f"input/{i:07d}.json", Body=b"{}"),
                range(count),
            )
        )
    with tempfile.TemporaryDirectory() as tmp:
        app = App(f"sqlite:///{tmp}/bench.db")
        app.queue("files", dedup_window=None)
        app.action(queue="files", name="load")(lambda body, ctx: None)
        watch = app.watch_bucket("s3://bench", "load", endpoint_url=endpoint)
        scanner = BucketScanner(app, watch)

        def bare() -> int:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix="input/")
            return sum(len(page.get("Contents", ())) for page in pages)

        print(f"{count} objects, endpoint {endpoint}\n")
        print("| pass | wall | peak Python memory | result |\n|---|---|---|---|")
        measure("bare boto3 paginator listing (baseline)", bare)
        measure("sluice full pass (first: lists + enqueues all)", lambda: scanner.scan(now=0.0))
        measure(
            "sluice full pass again (reconcile: lists all, enqueues 0)",
            lambda: scanner.scan(now=watch.reconcile_every + 1),
        )
        for i in range(100):
            s3.put_object(Bucket="bench", Key=f"input/{count + i:07d}.json", Body=b"{}")
        measure(
            "sluice incremental pass (StartAfter, 100 new)",
            lambda: scanner.scan(now=watch.reconcile_every + 2),
        )
        app.close()
    server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
