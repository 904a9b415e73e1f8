"""The App registry names what is missing: an unknown action of a schedule, an undeclared
queue of an action (declared in any order before the app first uses its store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sluice import App, ConfigError, UnknownAction, UnknownQueue


def _noop(body: Any, ctx: Any) -> None:
    """A handler."""


def test_a_schedule_of_an_unknown_action_names_the_action(url: str) -> None:
    app = App(url)
    app.action("send")(_noop)
    app.schedule("*/5 * * * *", "nope")
    with pytest.raises(UnknownAction) as raised:
        app.enqueue("send", {})
    message = (
        "schedule 'nope' names unknown action 'nope': register it with @app.action (before or "
        "after the schedule), or give the schedule a queue= (known: send)"
    )
    assert str(raised.value) == message
    assert _queue_names(url) is None or _stored_schedules(url) == []
    with App(url) as used:  # on a store in use, at the call
        used.action("send")(_noop)
        used.store.queues()
        with pytest.raises(UnknownAction) as at_once:
            used.schedule("*/5 * * * *", "nope")
        assert str(at_once.value) == message
        assert used.schedules == {}
        assert used.store.schedules() == []


def test_a_schedule_may_come_before_its_action(url: str) -> None:
    app = App(url)
    app.schedule("*/5 * * * *", "send", body={"n": 1})
    app.queue("mail")
    app.action("send", queue="mail")(_noop)
    assert app.schedules["send"].queue == "mail"
    with app:
        [stored] = app.store.schedules()
        assert (stored.schedule.queue, stored.schedule.body) == ("mail", {"n": 1})


def test_a_schedule_takes_its_queue_from_its_action(url: str) -> None:
    app = App(url)
    app.queue("mail")
    app.action("send", queue="mail")(_noop)
    assert app.schedule("*/5 * * * *", "send").queue == "mail"
    with app:
        assert [s.schedule.queue for s in app.store.schedules()] == ["mail"]


def test_an_action_on_an_undeclared_queue_fails_when_the_store_opens(url: str) -> None:
    app = App(url)
    app.action("send", queue="nosuchq")(_noop)
    with pytest.raises(UnknownQueue) as raised:
        app.enqueue("send", {"to": "a"})
    assert str(raised.value) == (
        "action 'send' is on queue 'nosuchq', which this app never declares: add "
        "app.queue('nosuchq', ...) (before or after the action)"
    )
    assert _queue_names(url) in (None, [])  # nothing was created
    app.queue("nosuchq")
    with app:
        app.enqueue("send", {"to": "a"})
        assert app.store.stats(["nosuchq"])[0].depth == 1


def test_a_queue_may_be_declared_after_its_action(url: str) -> None:
    app = App(url)
    app.action("send", queue="mail")(_noop)
    app.queue("mail", max_receives=2, fifo=True)
    with app:
        app.enqueue("send", {"to": "a"}, group="a")
        assert app.store.policy("mail").max_receives == 2
        assert app.store.policy("mail").fifo
        assert "default" not in [q.name for q in app.store.queues()]


def test_an_action_registered_on_an_undeclared_queue_while_in_use_is_refused(url: str) -> None:
    app = App(url)
    app.queue("mail")
    with app:
        app.store.queues()
        with pytest.raises(UnknownQueue):
            app.action("late", queue="nosuchq")(_noop)
        assert "late" not in app.actions
        assert "nosuchq" not in [q.name for q in app.store.queues()]


def test_the_default_queue_is_still_declared_for_an_action_that_names_none(url: str) -> None:
    app = App(url)
    app.action("send")(_noop)
    with app:
        app.enqueue("send", {})
        assert app.store.policy("default").max_receives == 5


def test_a_file_watch_on_an_undeclared_queue_names_it(tmp_path: Path) -> None:
    app = App(f"sqlite:///{tmp_path}/w.db")
    app.action("load", queue="files")(_noop)
    with pytest.raises(ConfigError) as raised:
        app.watch_files(tmp_path, "load")
    assert str(raised.value) == (
        "watch_files: queue 'files' of action 'load' is not declared: declare it with "
        "app.queue('files', dedup_window=None)"
    )


def _queue_names(url: str) -> list[str] | None:
    """The queues stored at ``url``; None if the app never created its store."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    from sluice.store import open_store

    store = open_store(url)
    try:
        store.migrate()
        return [q.name for q in store.queues()]
    finally:
        store.close()


def _stored_schedules(url: str) -> list[str]:
    from sluice.store import open_store

    store = open_store(url)
    try:
        store.migrate()
        return [s.schedule.name for s in store.schedules()]
    finally:
        store.close()
