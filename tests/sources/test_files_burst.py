"""5,000 files of mixed types arrive in bursts while a watcher and a worker run; the watcher
is stopped midway and restarted: every matching file is loaded once, invalid ones are
dead-lettered, the others are left alone."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import orjson
import pytest

from sluice import App, Context, Message, Partial, Scheduler, Worker

BURSTS = 10
PER_BURST = 500


def make_app(url: str, root: Path) -> App:
    app = App(url)
    app.queue("files", dedup_window=None, max_receives=2, visibility_timeout=30)

    @app.action(queue="files", batch_size=100, batch_window=0.2, retry_base=0.05, retry_cap=0.1)
    def load(messages: list[Message], ctx: Context) -> Partial:
        failed: dict[int, str] = {}
        good: list[tuple[str]] = []
        for m in messages:
            try:
                orjson.loads((Path(m.body["root"]) / m.body["path"]).read_bytes())
            except orjson.JSONDecodeError as exc:
                failed[m.id] = f"invalid JSON: {exc}"
            else:
                good.append((m.body["path"],))
        tx = ctx.transaction
        mark = "%s" if type(tx).__module__.startswith("psycopg") else "?"
        tx.cursor().executemany(f"INSERT INTO file_loads (path) VALUES ({mark})", good)
        return Partial(failed)

    app.watch_files(root, "load", on_success="processed/", on_dead="failed/", settle=0.3)
    return app


def kind_of(n: int, rng: random.Random) -> tuple[str, bytes, str]:
    """(relative path, content, kind): mostly matching JSON, some invalid, some not matching."""
    roll = rng.random()
    sub = f"input/d{n % 7}/" if n % 3 else "input/"
    if roll < 0.75:
        return f"{sub}f{n}.json", orjson.dumps({"rows": [{"n": n}]}), "valid"
    if roll < 0.80:
        return f"{sub}f{n}.json", b'{"rows": [', "invalid"
    elsewhere = [f"{sub}f{n}.csv", f"{sub}f{n}.json.tmp", f"outbox/f{n}.json", f"f{n}.json"]
    return elsewhere[n % 4], b"n,1\n", "other"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_bursts_with_a_watcher_restart_process_each_matching_file_once(
    url: str, tmp_path: Path
) -> None:
    root = tmp_path / "drop"
    app = make_app(url, root)
    with app.store.begin() as tx:
        tx.execute("DROP TABLE IF EXISTS file_loads")
        tx.execute("CREATE TABLE file_loads (path TEXT NOT NULL)")
    rng = random.Random(5)
    kinds: dict[str, tuple[str, bytes]] = {}
    worker = Worker(app, concurrency=4, poll=0.1)
    working = threading.Thread(target=worker.run)
    working.start()
    schedulers = [Scheduler(app, max_sleep=0.1).start()]
    started = time.monotonic()
    try:
        for burst in range(BURSTS):
            if burst == 5:
                schedulers[-1].stop()  # down for two bursts: they must be picked up later
            if burst == 7:
                schedulers.append(Scheduler(app, max_sleep=0.1).start())
            for n in range(burst * PER_BURST, (burst + 1) * PER_BURST):
                path, content, kind = kind_of(n, rng)
                file = root / path
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_bytes(content)  # not atomic: the settle check must wait for it
                kinds[path] = (kind, content)
            time.sleep(0.15)
        valid = sorted(p for p, (k, _) in kinds.items() if k == "valid")
        invalid = sorted(p for p, (k, _) in kinds.items() if k == "invalid")

        def settled() -> bool:
            return sum(1 for p in (root / "processed").rglob("*.json")) == len(valid) and sum(
                1 for p in (root / "failed").rglob("*.reason")
            ) == len(invalid)

        deadline = time.monotonic() + 90
        while not settled():
            assert time.monotonic() < deadline, "the files were not all settled in 90 s"
            time.sleep(0.1)
        took = time.monotonic() - started
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        worker.stop()
        working.join(30)
    assert len(kinds) == BURSTS * PER_BURST
    assert len(valid) > 3500 and len(invalid) > 150
    # each matching file made exactly one message, across the restart
    assert sum(s.files_enqueued for s in schedulers) == len(valid) + len(invalid)
    assert schedulers[1].files_enqueued > 0  # what arrived while no watcher ran
    with app.store.begin() as tx:
        loads = [r[0] for r in tx.execute("SELECT path FROM file_loads").fetchall()]
    assert sorted(loads) == valid  # every valid file loaded once
    stats = app.store.stats(["files"])[0]
    assert (stats.depth, stats.in_flight, stats.delayed, stats.dlq_depth) == (0, 0, 0, len(invalid))
    dead = app.store.dlq_list("files", limit=10_000)
    assert sorted(m.body["path"] for m in dead) == invalid
    assert all(m.dead_reason == "max_receives" and m.receive_count == 2 for m in dead)
    assert sorted(_files(root / "processed")) == valid
    assert sorted(_files(root / "failed")) == sorted(invalid + [p + ".reason" for p in invalid])
    for path in invalid:
        assert (root / "failed" / path).read_bytes() == b'{"rows": ['
    others = {p: c for p, (k, c) in kinds.items() if k == "other"}
    left = {
        p: (root / p).read_bytes()
        for p in _files(root)
        if not p.startswith(("processed/", "failed/"))
    }
    assert left == others  # untouched
    print(f"{len(kinds)} files, {len(valid) + len(invalid)} matching, settled in {took:.1f} s")
    app.close()


def _files(top: Path) -> list[str]:
    """Every file under ``top``, relative to it."""
    return [str(p.relative_to(top)) for p in top.rglob("*") if p.is_file()]
