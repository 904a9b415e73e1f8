"""examples/aws_purge.py: the purge story's AWS producer and consumer (boto3, unchanged)
run as a subprocess against a real server; the audit rule's action then runs in a worker."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from sluice.web import create_app
from tests.web.conftest import LiveServer

EXAMPLE = Path(__file__).parents[2] / "examples" / "aws_purge.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aws_purge_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_aws_purge_code_runs_against_sluice(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLUICE_AWS_KEYS", raising=False)
    monkeypatch.setenv("AWS_DEMO_AUDIT", str(tmp_path / "unused.jsonl"))
    monkeypatch.setenv("SLUICE_URL", f"sqlite:///{tmp_path}/unused.db")
    example = load()
    audit = tmp_path / "audit.jsonl"
    app = example.build_app(url, audit)
    db, out = tmp_path / "records.db", tmp_path / "handoff.csv"
    try:
        with LiveServer(create_app(app, {})) as live:
            command = [sys.executable, str(EXAMPLE), "--endpoint", live.base_url]
            done = subprocess.run(
                [*command, "--records", "120", "--db", str(db), "--csv", str(out)],
                capture_output=True,
                text=True,
                timeout=120,
                env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "PATH": ""},
            )
            assert done.returncode == 0, done.stderr
        counts = json.loads(done.stdout)
        assert counts["expired"] == counts["sent"] == counts["handed_off"] > 0
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM records WHERE expired = 1").fetchone() == (0,)
        rows = out.read_text().splitlines()
        assert len(rows) == counts["expired"]
        app.work(["audit"], stop_when_idle=True, grace=5)
        audited = [json.loads(line)["record_id"] for line in audit.read_text().splitlines()]
        assert sorted(audited) == sorted(int(row.split(",")[0]) for row in rows)
    finally:
        app.close()
