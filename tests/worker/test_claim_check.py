"""Claim checks: bodies above the queue's limit travel through the blob directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sluice import App, Context, MessageTooLarge
from sluice.blobs import REF, BlobNameRefused, BlobStore


def _app(url: str, blobs: Path | None) -> tuple[App, list[Any]]:
    seen: list[Any] = []
    app = App(url, blob_dir=blobs)
    app.queue("small", max_message_bytes=1024)

    @app.action(queue="small")
    def take(body: Any, ctx: Context) -> None:
        seen.append(body)

    return app, seen


def test_a_large_body_is_stored_as_a_blob_and_resolved_for_the_handler(
    url: str, tmp_path: Path
) -> None:
    app, seen = _app(url, tmp_path / "blobs")
    big = {"rows": ["x" * 100] * 50}
    run = app.start_run("big")
    id_ = app.enqueue("take", big, run=run)
    app.enqueue("take", {"small": True})
    [stored] = app.store.get([id_])
    assert set(stored.body) == {REF, "bytes"} and stored.body["bytes"] > 1024
    assert app.blobs is not None and app.blobs.count() == 1
    app.work(stop_when_idle=True)
    assert big in seen and {"small": True} in seen
    assert app.blobs.forget_run(run.id) == 1 and app.blobs.count() == 0
    app.close()


def test_a_missing_blob_dead_letters_its_message(url: str, tmp_path: Path) -> None:
    app, seen = _app(url, tmp_path / "blobs")
    app.enqueue("take", {"rows": ["y" * 100] * 50})
    assert app.blobs is not None
    for blob in (tmp_path / "blobs").glob("*/*.json"):
        blob.unlink()
    app.work(stop_when_idle=True)
    [dead] = app.store.dlq_list("small")
    assert "is gone" in (dead.last_error or "") and seen == []
    app.close()


def test_without_a_blob_directory_a_large_body_is_refused(url: str) -> None:
    app, _ = _app(url, None)
    with pytest.raises(MessageTooLarge):
        app.enqueue("take", {"rows": ["z" * 100] * 50})
    app.close()


HOSTILE = [".", "..", "/", "/tmp", "a/b", "../x", "_", "", ".hidden", "x" * 121]


@pytest.mark.parametrize("run_id", HOSTILE)
def test_run_ids_that_leave_the_blob_directory_are_refused(tmp_path: Path, run_id: str) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    shared = blobs.put(b"{}")
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(BlobNameRefused, match="cannot name a blob folder"):
        blobs.forget_run(run_id)
    with pytest.raises(BlobNameRefused, match="cannot name a blob folder"):
        blobs.put(b"{}", run_id)
    assert (tmp_path / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blobs", "keep.txt"]
    assert blobs.get(shared) == b"{}" and blobs.count() == 1


@pytest.mark.parametrize("key", ["../keep.txt", "/etc/passwd", "_/../../keep.txt", "_/x.json"])
def test_blob_keys_outside_the_blob_directory_are_refused(tmp_path: Path, key: str) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(BlobNameRefused, match="is not a key of the blob directory"):
        BlobStore(tmp_path / "blobs").get(key)


def test_a_symlinked_run_folder_is_neither_written_nor_read_nor_removed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / f"{'0' * 32}.json").write_text("{}")
    blobs = BlobStore(tmp_path / "blobs")
    blobs.put(b"{}")
    (tmp_path / "blobs" / "r1").symlink_to(outside, target_is_directory=True)
    for attempt in (
        lambda: blobs.put(b"{}", "r1"),
        lambda: blobs.forget_run("r1"),
        lambda: blobs.get(f"r1/{'0' * 32}.json"),
    ):
        with pytest.raises(BlobNameRefused, match="is a symlink or not a directory"):
            attempt()
    assert [p.name for p in outside.iterdir()] == [f"{'0' * 32}.json"]


def test_a_large_body_in_a_run_with_a_hostile_id_stores_nothing(url: str, tmp_path: Path) -> None:
    app, _ = _app(url, tmp_path / "blobs")
    app.start_run("hostile", id="..")
    with pytest.raises(BlobNameRefused, match=r"run id '\.\.' cannot name a blob folder"):
        app.enqueue("take", {"rows": ["x" * 100] * 50}, run="..")
    assert app.store.stats(["small"])[0].depth == 0
    written = {p.name for p in tmp_path.iterdir()} - {"blobs"}
    assert written <= {"sluice.db", "sluice.db-wal", "sluice.db-shm"}, written
    app.close()
