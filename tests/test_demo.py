"""``sluice demo`` runs end to end through the console script and its summary adds up."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SLUICE = str(Path(sys.executable).with_name("sluice"))


def _figures(output: str, label: str) -> list[int]:
    """The numbers in the table row that starts with ``label`` (cells split by │ or ", ")."""
    match = re.search(rf"{re.escape(label)}\s*│([\d,│ ]+)", output)
    assert match, f"{label!r} missing from:\n{output}"
    cells = match.group(1).replace(", ", "│").split("│")
    return [int(cell.replace(",", "")) for cell in cells if cell.strip()]


def _figure(output: str, label: str) -> int:
    return _figures(output, label)[0]


def test_demo_drains_everything_once_and_dead_letters_the_poison(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    result = subprocess.run(
        [SLUICE, "demo", "--store", url, "--messages", "2000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"COLUMNS": "120", "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    enqueued = _figure(out, "messages enqueued")
    acked = _figure(out, "acked")
    dead = _figure(out, "dead-lettered (poison, 3 receives)")
    assert enqueued == 2000
    assert _figure(out, "repeats dropped by dedup") == 200  # every tenth row was sent twice
    assert acked + dead == enqueued
    assert dead == 3  # rows 0, 997 and 1994 always fail
    assert sum(_figures(out, "acked per process")) == acked
    assert _figure(out, "delivered twice") == 0
    # depth, in flight, delayed, DLQ: the poison waits in the DLQ, then back in the queue
    assert _figures(out, "after the drain") == [0, 0, 0, 3]
    assert _figures(out, "after the redrive") == [3, 0, 0, 0]
    assert "poison row 997" in out
    assert re.search(r"drain time \(2 processes\)\s*│\s*[\d.]+ s \([\d,]+ msg/s\)", out)


def test_demo_refuses_a_nonsense_count() -> None:
    result = subprocess.run(
        [SLUICE, "demo", "--messages", "0"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "--messages" in result.stderr
