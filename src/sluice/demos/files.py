"""The file-ingestion story: JSON files land in ``input/``; only ``input/**.json`` are loaded,
in batches of up to 100 files or ``window`` seconds, each batch into a ``file_rows`` table
through one connection (``ctx.transaction``, committed with the batch's acks); an invalid file
is retried once, then dead-lettered into ``failed/`` without holding up the others.

Files of mixed kinds are written in bursts into a work directory, or an S3-compatible
bucket (:mod:`sluice.demos.drops`), while two ``sluice scheduler`` processes (the watchers:
both scan, dedup ids keep each file to one message) and worker processes run. Loaded files
move to ``processed/``. The handler is the same for both: it reads through
``ctx.open_object``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice import App, Context, FileRefused, Message, Partial, codec
from sluice.demos.drops import Directory, Drop, from_env

QUEUE = "files"
ACTION = "load_files"
BATCH = 100
MAX_RECEIVES = 2
SHARES = (("valid", 0.80), ("invalid", 0.05), ("other", 0.15))
"""What the writer drops: loadable JSON, broken or ill-shaped JSON, files that do not match."""


def make_app(url: str | None, drop: str | Path | Drop, window: float = 55.0) -> App:
    """The story's app: the ``files`` queue, the batch action and the watch on ``drop`` (a
    directory, or a :class:`~sluice.demos.drops.Bucket`)."""
    app = App(url)
    app.queue(QUEUE, visibility_timeout=60, max_receives=MAX_RECEIVES, dedup_window=None)
    app.action(
        ACTION,
        queue=QUEUE,
        batch_size=BATCH,
        batch_window=window,
        timeout=120,
        retry_base=1.0,
        retry_cap=2.0,
    )(load_files)
    (Directory(drop) if isinstance(drop, str | Path) else drop).watch(app, ACTION)
    return app


def rows_of(content: bytes) -> list[tuple[str, int, float]]:
    """The rows of one file, validated: ``{"rows": [{"sku": str, "qty": int >= 0, "price":
    number}, ...]}``. ``ValueError`` names what is wrong."""
    try:
        data = codec.loads(content)
    except ValueError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ValueError('expected an object with a "rows" list')
    rows: list[tuple[str, int, float]] = []
    for line, row in enumerate(data["rows"], 1):
        if not isinstance(row, dict):
            raise ValueError(f"row {line}: expected an object, got {row!r}")
        sku, qty, price = row.get("sku"), row.get("qty"), row.get("price")
        if not isinstance(sku, str) or not sku:
            raise ValueError(f"row {line}: sku must be a non-empty string, got {sku!r}")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            raise ValueError(f"row {line}: qty must be an integer >= 0, got {qty!r}")
        if isinstance(price, bool) or not isinstance(price, int | float):
            raise ValueError(f"row {line}: price must be a number, got {price!r}")
        rows.append((sku, qty, float(price)))
    return rows


def load_files(messages: list[Message], ctx: Context) -> Partial:
    """Validate each file and load the rows of the valid ones through the batch's one
    connection; the invalid ones are retried, then dead-lettered. A file in a directory or
    an object in a bucket: ``ctx.open_object`` reads either."""
    failed: dict[int, str] = {}
    loaded: list[tuple[str, int, str, int, float]] = []
    for message in messages:
        path = message.body.get("path") or message.body.get("key")
        try:  # the watch's confined, version-checked file or object, never a path joined here
            with ctx.open_object(message) as stream:
                rows = rows_of(stream.read())
        except (OSError, ValueError, FileRefused) as exc:
            failed[message.id] = f"{path}: {exc}"
            continue
        loaded.extend((path, line, *row) for line, row in enumerate(rows, 1))
    tx = ctx.transaction
    mark = "%s" if type(tx).__module__.startswith("psycopg") else "?"
    tx.cursor().executemany(
        f"INSERT INTO file_rows (path, line, sku, qty, price) VALUES "
        f"({mark}, {mark}, {mark}, {mark}, {mark})",
        loaded,
    )
    return Partial(failed)


_app: App | None = None


def __getattr__(name: str) -> Any:
    """``sluice.demos.files:app``, built on first use from ``$SLUICE_FILES_URL``,
    ``$SLUICE_FILES_ROOT`` (or ``$SLUICE_FILES_BUCKET`` and ``$SLUICE_FILES_ENDPOINT``) and
    ``$SLUICE_FILES_WINDOW`` (the processes the story starts)."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = make_app(
            os.environ.get("SLUICE_FILES_URL"),
            from_env(os.environ),
            float(os.environ.get("SLUICE_FILES_WINDOW", "55")),
        )
    return _app


# -- the writer -------------------------------------------------------------------------------
@dataclass
class Written:
    """What the writer dropped, by kind: path -> content."""

    valid: dict[str, bytes]
    invalid: dict[str, bytes]
    other: dict[str, bytes]
    rows: int


def one_file(n: int, rng: random.Random, stamp: str = "") -> tuple[str, str, bytes, int]:
    """(kind, relative path, content, rows) of the ``n``-th file (``stamp``: a folder that
    makes this run's input keys new to a bucket whose dedup ids remember earlier runs)."""
    kind = rng.choices([k for k, _ in SHARES], [w for _, w in SHARES])[0]
    region = f"{rng.choice(['eu', 'us', 'apac'])}/" if n % 2 else ""
    folder = f"input/{stamp}{region}"
    if kind == "valid":
        rows = [
            {
                "sku": f"SKU-{rng.randrange(10_000)}",
                "qty": rng.randrange(1, 50),
                "price": round(rng.uniform(1, 500), 2),
            }
            for _ in range(rng.randrange(1, 20))
        ]
        return kind, f"{folder}order-{n}.json", codec.dumps({"rows": rows}), len(rows)
    if kind == "invalid":
        broken = [b'{"rows": [{"sku": "A", "qty": 1,', b'{"rows": [{"sku": "B", "qty": "three"}]}']
        return kind, f"{folder}order-{n}.json", broken[n % 2], 0
    other = [
        f"{folder}order-{n}.csv",
        f"{folder}order-{n}.json.tmp",
        f"outbox/order-{n}.json",
        f"order-{n}.json",
    ]
    return kind, other[n % 4], b"sku,qty\nA,1\n", 0


def write_bursts(
    drop: Drop, files: int, bursts: int, pause: float, seed: int = 11, stamp: str = ""
) -> Written:
    """Write ``files`` files in ``bursts`` bursts, ``pause`` seconds apart."""
    rng = random.Random(seed)
    written = Written({}, {}, {}, 0)
    per_burst = -(-files // bursts)
    for start in range(0, files, per_burst):
        for n in range(start, min(files, start + per_burst)):
            kind, path, content, rows = one_file(n, rng, stamp)
            drop.write(path, content)
            getattr(written, kind)[path] = content
            written.rows += rows
        if start + per_burst < files:
            time.sleep(pause)
    return written


# -- the story --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    written: int
    matching: int
    valid: int
    invalid: int
    processed: int
    files_loaded: int
    rows_expected: int
    rows_loaded: int
    duplicate_rows: int
    dead_lettered: int
    failed_dir: int
    other: int
    untouched: int
    schedulers: int
    workers: int
    window: float
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            self.processed == self.files_loaded == self.valid
            and self.rows_loaded == self.rows_expected
            and self.duplicate_rows == 0
            and self.dead_lettered == self.failed_dir == self.invalid
            and self.untouched == self.other
        )


Progress = Callable[[int, int, int], object]
"""``(settled, matching, of_which_failed)`` while the story runs."""


def run(
    url: str,
    files: int,
    workdir: Path | Drop,
    *,
    workers: int = 2,
    schedulers: int = 2,
    window: float = 55.0,
    bursts: int = 10,
    pause: float = 0.5,
    on_progress: Progress | None = None,
    timeout: float | None = None,
) -> Summary:
    """Write ``files`` files in bursts into ``workdir`` (a directory or a bucket) while
    watchers and workers run, wait until every matching file is in ``processed/`` or
    ``failed/``, and tally."""
    drop = Directory(workdir) if isinstance(workdir, Path) else workdir
    drop.reset()
    stamp = "" if isinstance(drop, Directory) else f"run-{int(time.time())}/"
    viewer = make_app(url, drop, window)
    store = viewer.store
    store.purge(QUEUE)
    store.purge(QUEUE + ".dlq")
    with store.begin() as tx:
        tx.execute("DROP TABLE IF EXISTS file_rows")
        tx.execute(
            "CREATE TABLE file_rows (path TEXT NOT NULL, line INTEGER NOT NULL, sku TEXT NOT "
            "NULL, qty INTEGER NOT NULL, price DOUBLE PRECISION NOT NULL)"
        )
    env = {
        **os.environ,
        "SLUICE_FILES_URL": url,
        **drop.env(),
        "SLUICE_FILES_WINDOW": repr(window),
    }
    target = "sluice.demos.files:app"
    base = [sys.executable, "-m", "sluice.cli"]
    children = [
        subprocess.Popen(
            [*base, "scheduler", target, "--log-format", "text"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(schedulers)
    ] + [
        subprocess.Popen(
            [*base, "worker", target, "--concurrency", "4", "--log-format", "text"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    started = time.monotonic()
    try:
        written = write_bursts(drop, files, bursts, pause, stamp=stamp)
        matching = len(written.valid) + len(written.invalid)
        deadline = time.monotonic() + (timeout or 4 * window + 120 + files / 50)
        while True:
            done = drop.count("processed/", ".json")
            failed = drop.count("failed/", ".reason")
            if on_progress is not None:
                on_progress(done + failed, matching, failed)
            if done + failed >= matching:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {done + failed:,} of {matching:,} files settled")
            if any(child.poll() is not None for child in children):
                raise RuntimeError("a scheduler or worker process exited early")
            time.sleep(0.25)
        seconds = time.monotonic() - started
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    with store.begin() as tx:
        rows, distinct_rows, loaded = tx.execute(
            "SELECT count(*), count(DISTINCT path || ':' || line), count(DISTINCT path) "
            "FROM file_rows"
        ).fetchone()
    dead = store.stats([QUEUE])[0].dlq_depth
    others = {**written.other}
    untouched = sum(1 for path, content in others.items() if drop.read(path) == content)
    viewer.close()
    return Summary(
        written=len(written.valid) + len(written.invalid) + len(others),
        matching=matching,
        valid=len(written.valid),
        invalid=len(written.invalid),
        processed=drop.count("processed/", ".json"),
        files_loaded=loaded,
        rows_expected=written.rows,
        rows_loaded=rows,
        duplicate_rows=rows - distinct_rows,
        dead_lettered=dead,
        failed_dir=drop.count("failed/", ".reason"),
        other=len(others),
        untouched=untouched,
        schedulers=schedulers,
        workers=workers,
        window=window,
        seconds=seconds,
    )
