"""The file-drop source: matching rules, watch definitions, scans, and moves after settling."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from sluice import App, ConfigError, Context, FileWatch, Message, Partial, UnknownAction, Worker
from sluice.sources.files import FileScanner
from sluice.sources.files.scanner import walk

OLD = time.time() - 3600  # an mtime long settled


def put(root: Path, path: str, content: bytes = b"{}", mtime: float | None = OLD) -> Path:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(content)
    if mtime is not None:
        os.utime(file, (mtime, mtime))
    return file


def drain(app: App) -> None:
    Worker(app, concurrency=2, poll=0.05, stop_when_idle=True).run()


# -- matching rules ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("input/a.json", True),
        ("input/deep/er/b.json", True),
        ("input/a.JSON", False),
        ("input/a.json.tmp", False),
        ("input/a.csv", False),
        ("a.json", False),
        ("inputs/a.json", False),
        ("other/input/a.json", False),
        ("processed/input/a.json", False),
    ],
)
def test_default_matching_is_input_star_star_json(
    tmp_path: Path, path: str, expected: bool
) -> None:
    watch = FileWatch(tmp_path, "load", on_success="processed/")
    assert watch.matches(path) is expected


def test_a_prefix_is_a_path_prefix_not_only_a_directory(tmp_path: Path) -> None:
    watch = FileWatch(tmp_path, "load", prefix="in/ord", suffix=".csv")
    assert watch.matches("in/orders.csv") and watch.matches("in/ord/x/y.csv")
    assert not watch.matches("in/returns.csv") and not watch.matches("in/orders.json")
    for path in ["in/orders.csv", "in/ord/x/y.csv", "in/returns.csv", "in/ordx.json"]:
        put(tmp_path, path)
    assert sorted(seen.path for seen in walk(watch)) == ["in/ord/x/y.csv", "in/orders.csv"]


def test_an_empty_prefix_watches_the_whole_root_but_not_the_move_targets(tmp_path: Path) -> None:
    watch = FileWatch(tmp_path, "load", prefix="", on_success="done", on_dead="failed/")
    assert (watch.on_success, watch.on_dead) == ("done/", "failed/")
    for path in ["a.json", "x/b.json", "done/c.json", "failed/d.json", "x/e.txt"]:
        put(tmp_path, path)
    assert sorted(seen.path for seen in walk(watch)) == ["a.json", "x/b.json"]


def test_walk_does_not_follow_symlinked_directories(tmp_path: Path) -> None:
    put(tmp_path, "input/a.json")
    (tmp_path / "input" / "loop").symlink_to(tmp_path / "input")
    watch = FileWatch(tmp_path, "load")
    assert [seen.path for seen in walk(watch)] == ["input/a.json"]


# -- definitions ------------------------------------------------------------------------------
def test_the_root_is_created(tmp_path: Path) -> None:
    watch = FileWatch(str(tmp_path / "new" / "drop"), "load")
    assert watch.root == tmp_path / "new" / "drop" and watch.root.is_dir()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prefix": "../up/"}, "prefix '../up/' must be relative to the root"),
        ({"prefix": 3}, "prefix must be a string"),
        ({"suffix": "a/b"}, "suffix must be a file name ending"),
        ({"on_success": "/abs"}, "on_success '/abs' must be relative to the root"),
        ({"on_dead": "/"}, "on_dead must be a directory relative to the root"),
        ({"prefix": "/input/"}, "prefix '/input/' must be relative"),
        ({"on_dead": "x/../../y"}, "on_dead 'x/../../y' must be relative"),
        ({"on_success": "p/", "on_dead": "p"}, "on_success and on_dead must differ"),
        ({"settle": -1}, "settle must be >= 0 seconds"),
        ({"settle": "1s"}, "settle must be seconds"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1"),
    ],
)
def test_bad_definitions_name_the_problem(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        FileWatch(tmp_path, "load", **kwargs)


def test_a_root_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = put(tmp_path, "file")
    with pytest.raises(ConfigError, match=r"watch root .*file/sub' cannot be created"):
        FileWatch(blocker / "sub", "load")


def test_watch_files_wants_a_registered_action_and_a_forever_dedup_window(tmp_path: Path) -> None:
    app = App(f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(UnknownAction, match="unknown action 'load' \\(register it first"):
        app.watch_files(tmp_path / "drop", "load")
    app.action(queue="files")(_noop)
    with pytest.raises(ConfigError, match=r"dedup_window=None\)"):
        app.watch_files(tmp_path / "drop", "_noop")
    app.queue("files", dedup_window=None)
    app.watch_files(tmp_path / "drop", "_noop")
    with pytest.raises(ConfigError, match="already has a file watch"):
        app.watch_files(tmp_path / "other", "_noop")


def _noop(body: Any, ctx: Context) -> None: ...


# -- scans ------------------------------------------------------------------------------------
def file_app(url: str, root: Path, **watch: Any) -> tuple[App, list[str]]:
    """An app whose batch action ``load`` records each file it loads, failing invalid JSON."""
    app = App(url)
    app.queue("files", dedup_window=None, max_receives=2)
    loaded: list[str] = []

    @app.action(queue="files", batch_size=10, batch_window=0.01, retry_base=0.01, retry_cap=0.02)
    def load(messages: list[Message], ctx: Context) -> Partial:
        failed = {}
        for m in messages:
            try:
                orjson.loads((Path(m.body["root"]) / m.body["path"]).read_bytes())
            except orjson.JSONDecodeError as exc:
                failed[m.id] = f"invalid JSON: {exc}"
            else:
                loaded.append(m.body["path"])
        return Partial(failed)

    app.watch_files(root, "load", **watch)
    return app, loaded


def test_a_scan_enqueues_each_settled_version_once(url: str, tmp_path: Path) -> None:
    root = tmp_path / "drop"
    app, _ = file_app(url, root)
    put(root, "input/a.json")
    put(root, "input/b.json")
    put(root, "input/new.json", mtime=None)  # just written: settling
    put(root, "input/c.csv")
    scanner = FileScanner(app, app.file_watches["load"])
    first = scanner.scan()
    assert (first.found, first.enqueued, first.repeats, first.settling) == (3, 2, 0, 1)
    assert scanner.scan().enqueued == 0  # nothing new: the store is not even asked
    assert scanner.scan(now=time.time() + 5).enqueued == 1  # new.json has settled
    put(root, "input/a.json", b'{"changed": 1}', mtime=OLD + 1)
    assert scanner.scan().enqueued == 1  # a changed file is a new message
    restarted = FileScanner(app, app.file_watches["load"]).scan(now=time.time() + 5)
    assert (restarted.enqueued, restarted.repeats) == (0, 3)  # dedup ids outlive a scanner
    [stats] = app.store.stats(["files"])
    assert stats.depth == 4
    bodies = sorted((m.body["path"], m.body["size"]) for m in app.store.peek("files"))
    assert bodies == [
        ("input/a.json", 2),
        ("input/a.json", 14),
        ("input/b.json", 2),
        ("input/new.json", 2),
    ]
    b_ns = (root / "input/b.json").stat().st_mtime_ns
    [b] = [m for m in app.store.peek("files") if m.body["path"] == "input/b.json"]
    assert b.dedup_id == f"file:input/b.json:2:{b_ns}"
    assert b.body == {
        "path": "input/b.json",
        "root": str(root),
        "size": 2,
        "mtime": b_ns / 1e9,
        "mtime_ns": b_ns,
    }
    app.close()


def test_moves_after_settling_and_a_redelivery_of_a_done_file_is_acked(
    url: str, tmp_path: Path
) -> None:
    root = tmp_path / "drop"
    app, loaded = file_app(url, root, on_success="processed/", on_dead="failed/")
    put(root, "input/ok.json", b'{"rows": []}')
    put(root, "input/sub/bad.json", b"{not json")
    put(root, "input/gone.json")
    put(root, "input/keep.txt")
    assert FileScanner(app, app.file_watches["load"]).scan().enqueued == 3
    (root / "input/gone.json").unlink()
    drain(app)
    assert loaded == ["input/ok.json"]
    assert (root / "processed/input/ok.json").read_bytes() == b'{"rows": []}'
    assert (root / "failed/input/sub/bad.json").read_bytes() == b"{not json"
    reason = (root / "failed/input/sub/bad.json.reason").read_text()
    assert "after 2 receive(s): invalid JSON" in reason
    assert sorted(p.name for p in (root / "input").rglob("*") if p.is_file()) == ["keep.txt"]
    dead = {m.body["path"]: m for m in app.store.dlq_list("files")}
    assert set(dead) == {"input/sub/bad.json", "input/gone.json"}
    assert "file 'input/gone.json' is gone" in (dead["input/gone.json"].last_error or "")
    # the same file again (say, a redelivery after a lost ack): acked, the handler not called
    ok = {"path": "input/ok.json", "root": str(root), "size": 12, "mtime": OLD}
    app.enqueue("load", ok)
    drain(app)
    assert loaded == ["input/ok.json"]
    assert app.store.stats(["files"])[0].depth == 0
    app.close()


def test_a_file_changed_before_its_ack_is_left_for_its_new_version(
    url: str, tmp_path: Path
) -> None:
    root = tmp_path / "drop"
    app, loaded = file_app(url, root, on_success="processed/")
    put(root, "input/a.json", b"[1]")
    FileScanner(app, app.file_watches["load"]).scan()
    put(root, "input/a.json", b"[1, 2]", mtime=OLD + 5)  # rewritten before the worker ran
    drain(app)
    assert loaded == []  # the old version's message is acked unhandled: nothing loads twice
    assert app.store.stats(["files"])[0].dlq_depth == 0
    assert (root / "input/a.json").exists() and not (root / "processed").exists()
    FileScanner(app, app.file_watches["load"]).scan()  # the new version is a new message
    drain(app)
    assert loaded == ["input/a.json"]
    assert (root / "processed/input/a.json").read_bytes() == b"[1, 2]"
    app.close()


def test_single_message_actions_are_wrapped_too(url: str, tmp_path: Path) -> None:
    root = tmp_path / "drop"
    app = App(url)
    app.queue("files", dedup_window=None, max_receives=1)
    seen: list[str] = []

    @app.action(queue="files")
    async def one(body: dict[str, Any], ctx: Context) -> None:
        seen.append(body["path"])

    app.watch_files(root, "one", on_success="done/", on_dead="failed/", settle=0)
    put(root, "input/a.json")
    put(root, "input/b.json")
    FileScanner(app, app.file_watches["one"]).scan()
    (root / "input/b.json").unlink()
    drain(app)
    assert seen == ["input/a.json"]
    assert (root / "done/input/a.json").exists()
    [dead] = app.store.dlq_list("files")
    assert "FileNotFoundError: file 'input/b.json' is gone" in (dead.last_error or "")
    app.close()
