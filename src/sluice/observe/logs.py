"""Log records as JSON lines or as human text on stderr: the format of every sluice process.

Structured records carry :class:`Entries` as their only argument: the worker logs the outcomes
of many messages as one record (a record per outcome cost more than a no-op call), and each
entry becomes a line of its own, in either format.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

from sluice import codec


class Entries:
    """Structured log entries (one dict each) logged as one record; ``str()`` gives one JSON
    object per line, so a plain handler still shows them."""

    __slots__ = ("items",)

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def __str__(self) -> str:
        return "\n".join(codec.dumps(item).decode() for item in self.items)


def entries_of(record: logging.LogRecord) -> list[dict[str, Any]] | None:
    """The entries of a structured record (None for a plain one)."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], Entries):
        return args[0].items
    return None


class JsonLines(logging.Formatter):
    """One JSON object per line, each with ``ts`` (ISO 8601, UTC), ``level`` and ``logger``;
    a plain record's text is its ``message`` (its traceback, if any, ``error``)."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        head = {
            "ts": stamp.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
        }
        items = entries_of(record)
        if items is not None:
            # The head's fields, encoded once, open each entry's object (none is empty).
            prefix = codec.dumps(head)[:-1] + b","
            return b"\n".join(prefix + codec.dumps(i)[1:] for i in items if i).decode()
        line = {**head, "message": record.getMessage()}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["error"] = self.formatStack(record.stack_info)
        return codec.dumps(line).decode()


class EachLine(logging.Formatter):
    """Human text: the prefix (time, level, logger) on every line of a multi-line message;
    each structured entry becomes ``word key=value ...`` (its ``outcome`` or ``event`` first)."""

    def format(self, record: logging.LogRecord) -> str:
        items = entries_of(record)
        if items is None:
            message = record.getMessage()
            if "\n" not in message or record.exc_info or record.stack_info:
                return super().format(record)
        else:
            message = "\n".join(_human(item) for item in items)
        bare = logging.makeLogRecord({**record.__dict__, "msg": "", "args": ()})
        head = super().format(bare)
        return "\n".join(head + line for line in message.split("\n"))


def _human(item: dict[str, Any]) -> str:
    words = [str(item[key]) for key in ("outcome", "event") if key in item]
    for key, value in item.items():
        if key in ("outcome", "event") or value is None:
            continue
        text = (
            value
            if isinstance(value, str) and value.isprintable() and " " not in value
            else codec.dumps(value).decode()
        )
        words.append(f"{key}={text}")
    return " ".join(words)


def configure_logging(log_format: str) -> None:
    """Log INFO and above to stderr as JSON lines (``json``) or human text (``text``)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(EachLine("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
