"""Cron schedules without a store: definition errors, next fire times, misfire policies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sluice import ConfigError, Schedule
from sluice.sources.cron import due_ticks, next_fire, plan

T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()  # a Monday, 00:00:00 UTC


def every(cron: str, **options: Any) -> Schedule:
    return Schedule("s", cron, "act", **options)


@pytest.mark.parametrize(
    ("cron", "fault"),
    [
        ("61 * * * *", "'61 * * * *': out of range"),
        ("* * *", "it has 3 fields; write 5"),
        ("* * * * * * *", "it has 7 fields"),
        ("*/0 * * * *", "step '0'"),
        ("x * * * *", "not a number, a name or a range"),
        ("0 0 30 2 *", "it never fires"),
        ("@fortnightly", "unknown alias; use one of @yearly"),
        ("", "must be a non-empty string"),
    ],
)
def test_a_malformed_expression_is_a_config_error_naming_it(cron: str, fault: str) -> None:
    with pytest.raises(ConfigError, match="schedule 's'") as raised:
        every(cron)
    assert fault in str(raised.value)


@pytest.mark.parametrize(
    ("options", "fault"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        ({"misfire": "later"}, "misfire must be 'skip' or 'catch_up', got 'later'"),
        ({"catch_up_limit": 0}, "catch_up_limit must be an integer >= 1"),
        ({"queue": "bad queue"}, "invalid queue name"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], fault: str) -> None:
    with pytest.raises(ConfigError) as raised:
        every("* * * * *", **options)
    assert fault in str(raised.value)


def test_bad_names_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="invalid schedule name 'a b'"):
        Schedule("a b", "* * * * *", "act")
    with pytest.raises(ConfigError, match="action must be a non-empty string"):
        Schedule("s", "* * * * *", "")


def test_five_fields_fire_each_minute_and_six_fields_have_seconds_first() -> None:
    assert next_fire(every("*/5 * * * *"), T0) == T0 + 300
    assert next_fire(every("*/5 * * * *"), T0 + 1) == T0 + 300
    assert next_fire(every("*/10 * * * * *"), T0) == T0 + 10
    assert next_fire(every("30 0 * * * *"), T0) == T0 + 30  # second 30 of minute 0 of each hour
    assert next_fire(every("* * * * * *"), T0 + 0.25) == T0 + 1
    assert next_fire(every("@hourly"), T0) == T0 + 3600


def test_expressions_are_read_in_their_time_zone_across_daylight_saving() -> None:
    paris = ZoneInfo("Europe/Paris")
    daily = every("0 9 * * *", timezone="Europe/Paris")
    before = datetime(2024, 3, 30, 12, tzinfo=paris).timestamp()  # the day before DST starts
    first = next_fire(daily, before)
    second = next_fire(daily, first)
    assert datetime.fromtimestamp(first, paris) == datetime(2024, 3, 31, 9, tzinfo=paris)
    assert datetime.fromtimestamp(second, paris) == datetime(2024, 4, 1, 9, tzinfo=paris)
    assert second - first == 86400  # 09:00 local both days, one day apart (both in CEST)
    assert first - next_fire(daily, before - 86400) == 23 * 3600  # the short night


def test_nothing_is_due_before_the_next_fire_time() -> None:
    assert due_ticks(every("* * * * * *"), T0 + 5, T0 + 4.9) == []


def test_an_on_time_or_late_tick_fires_once_under_either_policy() -> None:
    for misfire in ("skip", "catch_up"):
        schedule = every("*/5 * * * * *", misfire=misfire)
        assert due_ticks(schedule, T0 + 5, T0 + 5) == [T0 + 5]
        assert due_ticks(schedule, T0 + 5, T0 + 7.5) == [T0 + 5]


def test_skip_fires_only_the_latest_missed_tick() -> None:
    schedule = every("* * * * *")  # each minute; down for an hour
    assert due_ticks(schedule, T0 + 60, T0 + 3600 + 30) == [T0 + 3600]


def test_catch_up_fires_every_missed_tick_oldest_first() -> None:
    schedule = every("* * * * *", misfire="catch_up")
    assert due_ticks(schedule, T0 + 60, T0 + 240) == [T0 + 60, T0 + 120, T0 + 180, T0 + 240]


def test_catch_up_keeps_the_latest_ticks_up_to_its_limit() -> None:
    schedule = every("* * * * * *", misfire="catch_up", catch_up_limit=3)
    # A day of downtime on a one-second schedule costs three steps, not 86400.
    assert due_ticks(schedule, T0 + 1, T0 + 86400.5) == [T0 + 86398, T0 + 86399, T0 + 86400]


def test_plan_gives_the_ticks_and_the_first_tick_after_now() -> None:
    schedule = every("*/10 * * * * *", misfire="catch_up")
    assert plan(schedule, T0 + 10, T0 + 25) == ([T0 + 10, T0 + 20], T0 + 30)
    assert plan(schedule, T0 + 10, T0 + 30) == ([T0 + 10, T0 + 20, T0 + 30], T0 + 40)
