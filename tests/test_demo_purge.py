"""The purge story (the README's main job) end to end at a small size, crashes included."""

from __future__ import annotations

import os
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
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_purge_deletes_every_expired_record_once_despite_sigkills(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/purge.db"
    else:
        from tests.conftest import reset_pg

        url = request.getfixturevalue("pg_url")
        reset_pg(url)
    result = subprocess.run(
        [SLUICE, "demo", "purge", "--store", url, "--records", "30000", "--crash"],
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    expired = _figure(out, "expired records")
    assert 8000 < expired < 10000  # about 30% of 30,000
    assert _figure(out, "records deleted") == expired
    assert _figure(out, "audit events written") == expired
    assert _figure(out, "duplicate audit events") == 0
    assert _figure(out, "expired records left") == 0
    assert _figure(out, "live records kept") == 30000 - expired
    assert re.search(r"SIGKILLs \(producer, workers\)\s*│\s*[01], 1", out), out
    assert "succeeded:" in out and "every expired record deleted once" in out
