"""File-drop messages are untrusted: every path is resolved against the watch's own root, and
nothing in the watched tree is reached through a symlink (scans, reads, moves, reasons)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sluice import App, Context, FileRefused, Message, Partial
from sluice.sources.files import FileScanner
from tests.sources.test_files import drain, put


def _version(file: Path) -> dict[str, int]:
    stat = file.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def watched(url: str, root: Path, *, batch: bool) -> tuple[App, list[bytes]]:
    """A watched action (batch or single) that reads what the body names as the README did
    before paths were confined: ``Path(body["root"]) / body["path"]``."""
    app = App(url)
    app.queue("files", dedup_window=None, max_receives=2)
    read: list[bytes] = []
    options: dict[str, Any] = {"queue": "files", "retry_base": 0.01, "retry_cap": 0.02}
    if batch:

        @app.action(batch_size=10, batch_window=0.01, **options)
        def load(messages: list[Message], ctx: Context) -> Partial:
            read.extend((Path(m.body["root"]) / m.body["path"]).read_bytes() for m in messages)
            return Partial()

    else:

        @app.action(**options)
        def load(body: dict[str, Any], ctx: Context) -> None:
            read.append((Path(body["root"]) / body["path"]).read_bytes())

    app.watch_files(root, "load", on_success="processed/", on_dead="failed/", settle=0)
    return app, read


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "single"])
def test_a_body_naming_another_root_or_an_escaping_path_is_dead_lettered_untouched(
    url: str, tmp_path: Path, batch: bool
) -> None:
    root, elsewhere = tmp_path / "drop", tmp_path / "elsewhere"
    app, read = watched(url, root, batch=batch)
    foreign = put(elsewhere, "input/x.json", b'"foreign"')
    victim = put(tmp_path, "victim/x.json", b'"victim"')
    hostile = [
        {"root": str(elsewhere), "path": "input/x.json", **_version(foreign)},
        {"root": str(root), "path": "../victim/x.json", **_version(victim)},
        {"path": str(victim), **_version(victim)},
    ]
    for body in hostile:
        app.enqueue("load", body)
    drain(app)
    assert read == []
    assert foreign.read_bytes() == b'"foreign"' and victim.read_bytes() == b'"victim"'
    moved = [p for p in tmp_path.rglob("*") if p.name in ("processed", "failed")]
    assert moved == []
    reasons = sorted(m.last_error or "" for m in app.store.dlq_list("files"))
    assert len(reasons) == 3
    assert any(f"names the root {str(elsewhere)!r}" in r for r in reasons), reasons
    assert any("'../victim/x.json' leaves the watched root" in r for r in reasons), reasons
    assert any(f"{str(victim)!r} leaves the watched root" in r for r in reasons), reasons
    app.close()


def test_a_body_naming_no_version_is_neither_read_nor_moved(url: str, tmp_path: Path) -> None:
    root = tmp_path / "drop"
    app, read = watched(url, root, batch=False)
    file = put(root, "input/a.json")
    app.enqueue("load", {"root": str(root), "path": "input/a.json"})
    drain(app)
    assert read == [] and file.is_file()
    assert not (root / "processed").exists() and not (root / "failed").exists()
    [dead] = app.store.dlq_list("files")
    assert "names no version (integer 'size' and 'mtime_ns')" in (dead.last_error or "")
    app.close()


def test_ctx_file_path_gives_the_confined_version_checked_path(url: str, tmp_path: Path) -> None:
    root = tmp_path / "drop"
    app = App(url)
    app.queue("files", dedup_window=None, max_receives=1)
    read: list[bytes] = []
    refused: list[str] = []

    @app.action(queue="files", batch_size=10, batch_window=0.01)
    def load(messages: list[Message], ctx: Context) -> None:
        for m in messages:
            try:
                read.append(ctx.file_path(m).read_bytes())
            except FileRefused as exc:
                refused.append(exc.reason)

    watch = app.watch_files(root, "load", on_success="processed/", settle=0)
    file = put(root, "input/a.json", b"[1]")
    body = {"path": "input/a.json", **_version(file)}
    assert watch.path_of(body) == root / "input/a.json"
    with pytest.raises(FileRefused, match="was rewritten after its message was made"):
        watch.path_of({**body, "size": 99})
    with pytest.raises(FileNotFoundError, match=r"'input/b\.json' is gone"):
        watch.path_of({**body, "path": "input/b.json"})
    with pytest.raises(FileRefused, match="is not one the watch"):
        watch.path_of({**body, "path": "processed/input/a.json"})
    assert FileScanner(app, watch).scan().enqueued == 1
    drain(app)
    assert read == [b"[1]"] and refused == []
    assert (root / "processed/input/a.json").read_bytes() == b"[1]"
    app.close()


# -- symlinks ---------------------------------------------------------------------------------
def test_symlinked_files_and_prefix_directories_are_not_enqueued(url: str, tmp_path: Path) -> None:
    root, outside = tmp_path / "drop", tmp_path / "outside"
    app, _ = watched(url, root, batch=True)
    secret = put(outside, "secret.json", b'"secret"')
    put(root, "input/real.json")
    (root / "input/linked.json").symlink_to(secret)
    (root / "input/dir").symlink_to(outside, target_is_directory=True)
    result = FileScanner(app, app.file_watches["load"]).scan()
    assert (result.found, result.enqueued) == (1, 1)
    assert [m.body["path"] for m in app.store.peek("files")] == ["input/real.json"]
    app.close()


def test_a_symlinked_prefix_directory_is_not_entered(url: str, tmp_path: Path) -> None:
    root, outside = tmp_path / "drop", tmp_path / "outside"
    put(outside, "secret.json", b'"secret"')
    root.mkdir()
    (root / "input").symlink_to(outside, target_is_directory=True)
    app, _ = watched(url, root, batch=True)
    assert FileScanner(app, app.file_watches["load"]).scan().found == 0
    app.close()


def test_a_symlinked_move_target_moves_nothing_out_of_the_tree(url: str, tmp_path: Path) -> None:
    root, outside = tmp_path / "drop", tmp_path / "outside"
    outside.mkdir()
    app, read = watched(url, root, batch=True)
    put(root, "input/a.json", b"[1]")
    (root / "processed").mkdir(parents=True)
    (root / "processed/input").symlink_to(outside, target_is_directory=True)
    assert FileScanner(app, app.file_watches["load"]).scan().enqueued == 1
    drain(app)
    assert read == [b"[1]"]  # acked, but its move is refused
    assert list(outside.iterdir()) == []
    assert (root / "input/a.json").read_bytes() == b"[1]"
    app.close()


def test_a_symlinked_reason_file_is_replaced_not_written_through(url: str, tmp_path: Path) -> None:
    root = tmp_path / "drop"
    victim = put(tmp_path, "victim.txt", b"precious")
    app = App(url)
    app.queue("files", dedup_window=None, max_receives=1)

    @app.action(queue="files")
    def load(body: dict[str, Any], ctx: Context) -> None:
        raise ValueError("bad file")

    app.watch_files(root, "load", on_dead="failed/", settle=0)
    put(root, "input/bad.json", b"{no")
    (root / "failed/input").mkdir(parents=True)
    reason = root / "failed/input/bad.json.reason"
    reason.symlink_to(victim)
    assert FileScanner(app, app.file_watches["load"]).scan().enqueued == 1
    drain(app)
    assert victim.read_bytes() == b"precious"
    assert not reason.is_symlink() and "bad file" in reason.read_text()
    assert (root / "failed/input/bad.json").read_bytes() == b"{no"
    assert sorted(os.listdir(root / "failed/input")) == ["bad.json", "bad.json.reason"]
    app.close()
