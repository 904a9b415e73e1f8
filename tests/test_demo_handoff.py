"""The hand-off story end to end at a small size: every row reaches the API exactly once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SLUICE = str(Path(sys.executable).with_name("sluice"))


def _figure(output: str, label: str) -> int:
    match = re.search(rf"{re.escape(label)}\s*│\s*([\d,]+)", output)
    assert match, f"{label!r} missing from:\n{output}"
    return int(match.group(1).replace(",", ""))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_handoff_sends_every_row_once_while_workers_are_killed(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            SLUICE,
            "demo",
            "handoff",
            "--store",
            f"sqlite:///{tmp_path}/h.db",
            "--rows",
            "800",
            "--kill-every",
            "1",
            "--workdir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
        env={"COLUMNS": "120"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert _figure(out, "rows acked") == 800
    assert _figure(out, "rows received by the API") == 800
    assert _figure(out, "duplicates recorded by the API") == 0
    assert _figure(out, "workers SIGKILLed") >= 1
