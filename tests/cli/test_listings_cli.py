"""``sluice schedules`` and ``sluice events`` through the real console script."""

from __future__ import annotations

import json

from sluice.model import QueuePolicy, Schedule
from sluice.store import open_store
from tests.cli.test_cli import sluice


def _store_some(url: str) -> None:
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy("default"))
    store.put_schedule(Schedule("nightly", "0 3 * * *", "report", misfire="catch_up"), 2e9)
    now = store.clock()
    envelope = {"id": "ev-1", "source": "shop", "detail-type": "order", "detail": {}}
    store.publish([envelope], [now - 10], [])
    store.declare("rule", ["order-paid", "refunds"])
    store.set_rule_disabled("refunds", True, "local")
    store.close()


def test_schedules_and_events_are_listed(url: str) -> None:
    _store_some(url)
    table = sluice("schedules", url=url)
    assert table.returncode == 0, table.stderr
    assert "nightly" in table.stdout and "catch_up" in table.stdout and "2033-05-18" in table.stdout
    [row] = json.loads(sluice("--json", "schedules", url=url).stdout)
    assert (row["name"], row["next_at"], row["last_tick"]) == ("nightly", 2e9, None)
    [event] = json.loads(sluice("--json", "events", url=url).stdout)
    assert (event["id"], event["source"], event["detail_type"]) == ("ev-1", "shop", "order")
    assert json.loads(sluice("--json", "events", "--since", "5", url=url).stdout) == []
    assert "no events in the last 5 s" in sluice("events", "--since", "5", url=url).stdout
    table = sluice("rules", url=url).stdout
    assert "order-paid" in table and "enabled" in table and "disabled" in table
    assert json.loads(sluice("rules", "--json", url=url).stdout) == [
        {"name": "order-paid", "disabled": False, "action": None, "pattern": None},
        {"name": "refunds", "disabled": True, "action": None, "pattern": None},
    ]
    assert "refunds: enabled" in sluice("rules", "enable", "refunds", url=url).stdout
