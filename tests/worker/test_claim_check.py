"""Claim checks: bodies above the queue's limit travel through the blob directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sluice import App, Context, MessageTooLarge
from sluice.blobs import REF


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
