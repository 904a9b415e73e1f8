"""The bucket source's proof, in real processes against a real S3 server (moto on loopback):
mixed objects uploaded in bursts while two ``sluice scheduler`` and two ``sluice worker``
processes run, one scheduler killed and restarted midway, a notification delivered twice.
Each matching object is loaded once, each invalid one is dead-lettered to ``failed/`` with
its reason, the others are untouched.

``make test`` runs it with 500 objects; ``make chaos`` with 5,000
(``SLUICE_BUCKET_PROOF_OBJECTS``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.sources.conftest import CREDENTIALS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
TARGET = "tests.sources.bucket_app:app"
OBJECTS = int(os.environ.get("SLUICE_BUCKET_PROOF_OBJECTS", "500"))
BURSTS = 10
BUCKET = "proof"


def kind(n: int) -> str:
    """Of every 10 objects: 7 valid, 1 invalid, 2 that the watch does not take."""
    return {7: "invalid", 8: "csv", 9: "other"}.get(n % 10, "valid")


def key_of(n: int) -> str:
    """Keys that grow with time (a folder per burst, as dated names do), some with unicode
    and spaces; the 4 upload threads still put some behind the watermark (the reconcile's)."""
    folder = f"input/{n * BURSTS // OBJECTS:02d}/"
    return {
        "valid": f"{folder}{'ü n ' if n % 3 == 0 else ''}{n:05d}.json",
        "invalid": f"{folder}bad {n:05d}.json",
        "csv": f"{folder}{n:05d}.csv",
        "other": f"other/{n:05d}.json",
    }[kind(n)]


def content(n: int) -> bytes:
    return b"not json" if kind(n) == "invalid" else f'{{"n": {n}}}'.encode()


class Processes:
    """The sluice processes of the test, each logging to a file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *command: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.running[name] = subprocess.Popen(
                [SLUICE, *command, TARGET],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def check(self) -> None:
        exited = [name for name, p in self.running.items() if p.poll() is not None]
        assert not exited, {name: self.tail(name) for name in exited}

    def tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()


@pytest.fixture
def processes(url: str, s3_server: str, tmp_path: Path) -> Iterator[Processes]:
    env = {
        **os.environ,
        **CREDENTIALS,
        "SLUICE_BUCKET_TEST_URL": url,
        "SLUICE_BUCKET_TEST_ENDPOINT": s3_server,
        "SLUICE_BUCKET_TEST_RECORD": str(tmp_path / "record"),
    }
    running = Processes(env, tmp_path)
    try:
        yield running
    finally:
        running.stop()


def listing(s3: Any, prefix: str) -> dict[str, str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"]: o["ETag"].strip('"') for page in pages for o in page.get("Contents", ())}


def notify_twice(s3_server: str, url: str, etags: dict[str, str]) -> tuple[int, int]:
    """Deliver one notification for ``etags``'s objects twice, through the code the
    ``POST /v1/sources/s3/{watch}`` route runs (tested over HTTP in tests/web)."""
    from sluice import App
    from sluice.sources.bucket.notify import receive

    app = App(url)
    app.queue("objects", dedup_window=None, max_receives=1, visibility_timeout=30)
    app.action(queue="objects", name="load", batch_size=50)(lambda messages, ctx: None)
    watch = app.watch_bucket(f"s3://{BUCKET}", "load", endpoint_url=s3_server)
    records = [
        {
            "eventName": "s3:ObjectCreated:Put",
            "s3": {"bucket": {"name": BUCKET}, "object": {"key": k, "eTag": e, "size": 9}},
        }
        for k, e in etags.items()
    ]
    try:
        first = receive(app, watch, {"Records": records})
        again = receive(app, watch, {"Records": records})
    finally:
        app.close()
    return first["matched"], again["enqueued"]


def settled(url: str, record: Path, valid: int, invalid: int, processes: Processes) -> None:
    """Wait until the store has settled every matching object (read from the store and the
    record, not by listing the bucket: moto lists slowly, and the scanners list it)."""
    from sluice.store import open_store

    store = open_store(url)
    deadline = time.monotonic() + 60 + OBJECTS / 10
    try:
        while True:
            [stats] = store.stats(["objects"])
            lines = len(record.read_text(encoding="utf-8").splitlines()) if record.exists() else 0
            if lines >= valid and stats.dlq_depth >= invalid and stats.depth == 0:
                return
            processes.check()
            assert time.monotonic() < deadline, (lines, stats, processes.tail("worker-1"))
            time.sleep(0.5)
    finally:
        store.close()


def test_two_scanners_and_two_workers_load_each_object_once(
    url: str, s3_server: str, processes: Processes, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_server)
    s3.create_bucket(Bucket=BUCKET)
    for name in ("scanner-1", "scanner-2"):
        processes.start(name, "scheduler")
    for name in ("worker-1", "worker-2"):
        processes.start(name, "worker", "--concurrency", "2")
    etags: dict[str, str] = {}

    def upload(n: int) -> None:
        answer = s3.put_object(Bucket=BUCKET, Key=key_of(n), Body=content(n))
        etags[key_of(n)] = answer["ETag"].strip('"')

    with ThreadPoolExecutor(4) as pool:
        for burst in range(BURSTS):
            size = OBJECTS // BURSTS
            list(pool.map(upload, range(burst * size, (burst + 1) * size)))
            processes.check()
            if burst == BURSTS // 2:  # a scanner killed mid-run, restarted
                processes.running["scanner-1"].kill()
                processes.running["scanner-1"].wait()
                processes.start("scanner-1", "scheduler")
            time.sleep(0.3)
    valid = {key_of(n) for n in range(OBJECTS) if kind(n) == "valid"}
    invalid = {key_of(n) for n in range(OBJECTS) if kind(n) == "invalid"}
    notified = {k: etags[k] for k in sorted(valid)[-20:]}
    matched, repeated = notify_twice(s3_server, url, notified)
    assert (matched, repeated) == (20, 0)

    settled(url, tmp_path / "record", len(valid), len(invalid), processes)
    deadline = time.monotonic() + 60 + OBJECTS / 20
    while True:  # the moves follow the commits
        done, failed = listing(s3, "processed/"), listing(s3, "failed/")
        if len(done) == len(valid) and len(failed) == 2 * len(invalid):
            break
        assert time.monotonic() < deadline, (len(done), len(failed))
        time.sleep(1.0)
    time.sleep(1.5)  # let a scanner pass over the final state: still nothing new
    processes.stop()

    record = (tmp_path / "record").read_text(encoding="utf-8").splitlines()
    loaded = Counter(line.split("\t")[0] for line in record)
    assert set(loaded) == valid and max(loaded.values()) == 1, loaded.most_common(3)
    assert set(done) == {f"processed/{k}" for k in valid}
    assert all(done[f"processed/{k}"] == etags[k] for k in valid)
    assert set(failed) == {f"failed/{k}{end}" for k in invalid for end in ("", ".reason")}
    reason = s3.get_object(Bucket=BUCKET, Key=f"failed/{sorted(invalid)[0]}.reason")
    assert b"not JSON" in reason["Body"].read()
    untouched = {key_of(n) for n in range(OBJECTS) if kind(n) in ("csv", "other")}
    left = {**listing(s3, "input/"), **listing(s3, "other/")}
    assert left == {k: etags[k] for k in untouched}
