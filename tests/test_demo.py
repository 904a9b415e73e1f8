"""The demo runs end to end and its summary adds up."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SLUICE = str(Path(sys.executable).with_name("sluice"))


def _figure(output: str, label: str) -> int:
    match = re.search(rf"{re.escape(label)}\s*│\s*([\d,]+)", output)
    assert match, f"{label!r} missing from:\n{output}"
    return int(match.group(1).replace(",", ""))


def test_demo_drains_everything_once_and_dead_letters_the_poison(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    result = subprocess.run(
        [SLUICE, "demo", "--store", url, "--messages", "3000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"COLUMNS": "120", "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert _figure(out, "messages enqueued") == 3000
    assert _figure(out, "repeats dropped by dedup") == 300
    assert _figure(out, "dead-lettered (poison, 3 receives)") == 4  # 0, 997, 1994, 2991
    assert _figure(out, "acked") == 2996
    assert _figure(out, "delivered twice") == 0
    assert _figure(out, "redriven from the DLQ afterwards") == 4
