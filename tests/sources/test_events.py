"""The event bus on both stores: rules route published events in one transaction; the archive
replays them without duplicating routed work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sluice import App, InvalidPattern, MessageError, MessageTooLarge, UnknownAction
from tests.conftest import FakeClock


@pytest.fixture
def app(url: str, clock: FakeClock) -> Iterator[App]:
    app = App(url, clock=clock, event_retention=3600)
    app.queue("orders")
    app.queue("big", max_message_bytes=1024)
    for name, queue in (("ship", "orders"), ("refund", "orders"), ("archive", "big")):
        app.action(name, queue=queue)(lambda body, ctx: None)
    yield app
    app.close()


def _bodies(app: App, queue: str = "orders") -> list[tuple[str, Any]]:
    return [(m.action, m.body) for m in app.store.peek(queue, limit=1000)]


def test_publish_routes_matching_rules_with_the_envelope(app: App) -> None:
    app.rule("paid", {"source": ["shop"], "detail-type": ["order.paid"]}, "ship")
    app.rule(
        "big-refunds",
        {"detail": {"amount": [{"numeric": [">=", 100]}], "status": ["refund"]}},
        "refund",
        transform=lambda event: {"order": event["detail"]["order"]},
    )
    first = app.publish("shop", "order.paid", {"order": 1, "amount": 50, "status": "paid"})
    app.publish("shop", "order.updated", {"order": 2, "amount": 500, "status": "refund"})
    app.publish("shop", "order.updated", {"order": 3, "amount": 5, "status": "refund"})
    routed = _bodies(app)
    assert [action for action, _ in routed] == ["ship", "refund"]
    envelope = routed[0][1]
    assert envelope["id"] == first and envelope["source"] == "shop"
    assert envelope["detail-type"] == "order.paid" and envelope["detail"]["order"] == 1
    assert envelope["time"].endswith("Z") and envelope["resources"] == []
    assert routed[1] == ("refund", {"order": 2})


def test_republishing_an_event_id_changes_nothing(app: App) -> None:
    app.rule("all", {"source": ["shop"]}, "ship")
    app.publish("shop", "x", {}, id="evt-1")
    app.publish("shop", "x", {"changed": True}, id="evt-1")
    assert len(_bodies(app)) == 1


def test_bad_rules_and_events_are_refused_and_store_nothing(app: App) -> None:
    with pytest.raises(InvalidPattern, match=r"detail\.amount"):
        app.rule("bad", {"detail": {"amount": [{"numeric": [">", "x"]}]}}, "ship")
    with pytest.raises(UnknownAction, match="nope"):
        app.rule("lost", {"source": ["shop"]}, "nope")
    app.rule("everything", {"source": [{"prefix": ""}]}, "archive")
    with pytest.raises(MessageError, match="detail must be a JSON object"):
        app.publish("shop", "x", ["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(MessageError, match="source"):
        app.publish("", "x", {})
    with pytest.raises(MessageTooLarge):  # the routed body is over the queue's limit
        app.publish_many(
            [
                {"source": "shop", "detail_type": "x", "detail": {}, "id": "small"},
                {"source": "shop", "detail_type": "x", "detail": {"blob": "x" * 2000}},
            ]
        )
    assert _bodies(app, "big") == []
    assert app.store.events(0, 1e12) == []


def test_replay_routes_archived_events_once_unless_forced(app: App, clock: FakeClock) -> None:
    start = clock.now
    for n in range(5):
        app.publish("shop", "order.paid", {"order": n})
        clock.advance(10)
    assert _bodies(app) == []  # no rule yet: archived only
    app.rule("paid", {"detail-type": ["order.paid"]}, "ship")
    app.rule("odd", {"detail": {"order": [1, 3]}}, "refund")
    assert app.replay(start + 10, start + 40) == 3 + 2  # orders 1-3, and 1 and 3 again
    assert app.replay(start, start + 100) == 2 + 0  # only orders 0 and 4 are new
    assert app.replay(start, start + 100, rule="odd", force=True) == 2
    assert sorted((a, b["detail"]["order"]) for a, b in _bodies(app)) == [
        ("refund", 1),
        ("refund", 1),
        ("refund", 3),
        ("refund", 3),
        ("ship", 0),
        ("ship", 1),
        ("ship", 2),
        ("ship", 3),
        ("ship", 4),
    ]
    with pytest.raises(Exception, match="unknown rule"):
        app.replay(start, start + 100, rule="missing")


def test_events_past_retention_are_forgotten(app: App, clock: FakeClock) -> None:
    from sluice.sources.scheduler import Scheduler

    app.publish("shop", "old", {})
    clock.advance(4000)
    app.publish("shop", "new", {})
    Scheduler(app, clock=clock).tick()
    assert [e.envelope["detail-type"] for _, e in app.store.events(0, 1e12)] == ["new"]


def test_publish_many_takes_times_and_resources(app: App) -> None:
    app.rule("any", {"resources": [{"prefix": "arn:order/"}]}, "ship")
    ids = app.publish_many(
        [
            {
                "source": "shop",
                "detail-type": "a",
                "detail": {},
                "resources": ["arn:order/1"],
                "time": "2026-01-02T03:04:05Z",
            },
            {"source": "shop", "detail_type": "b", "detail": {}, "resources": ["arn:user/1"]},
        ]
    )
    assert len(ids) == 2
    [(_, body)] = _bodies(app)
    assert body["time"] == "2026-01-02T03:04:05Z" and body["id"] == ids[0]
