"""The log formats: JSON lines with time, level and logger; human text."""

from __future__ import annotations

import logging

import orjson

from sluice.observe.logs import EachLine, Entries, JsonLines


def test_json_log_lines_put_time_level_and_logger_first_on_each_entry() -> None:
    record = logging.LogRecord("sluice.worker", logging.INFO, "", 0, "%s", None, None)
    record.args = (Entries([{"outcome": "ack", "message_id": 1}, {"outcome": "dead"}]),)
    record.created = 0.25
    lines = [orjson.loads(line) for line in JsonLines().format(record).split("\n")]
    assert lines == [
        {
            "ts": "1970-01-01T00:00:00.250Z",
            "level": "INFO",
            "logger": "sluice.worker",
            "outcome": "ack",
            "message_id": 1,
        },
        {
            "ts": "1970-01-01T00:00:00.250Z",
            "level": "INFO",
            "logger": "sluice.worker",
            "outcome": "dead",
        },
    ]
    assert list(lines[0]) == ["ts", "level", "logger", "outcome", "message_id"]


def test_human_text_puts_the_outcome_first_and_quotes_what_has_spaces() -> None:
    record = logging.LogRecord("sluice.worker", logging.INFO, "", 0, "%s", None, None)
    record.args = (
        Entries([{"outcome": "dead", "message_id": 7, "run_id": None, "error": "not wanted"}]),
    )
    text = EachLine("%(levelname)s %(name)s %(message)s").format(record)
    assert text == 'INFO sluice.worker dead message_id=7 error="not wanted"'


def test_a_plain_record_is_one_json_line_with_its_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "sluice.x", logging.ERROR, "", 0, "failed %d", (3,), sys.exc_info()
        )
    line = orjson.loads(JsonLines().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("ERROR", "sluice.x", "failed 3")
    assert "ValueError: boom" in line["error"]
