"""The file-ingestion story end to end at a small size, on both stores."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sources.conftest import s3_endpoint  # noqa: F401  (a fixture)

SLUICE = str(Path(sys.executable).with_name("sluice"))


def _figure(output: str, label: str) -> str:
    match = re.search(rf"{re.escape(label)}\s*│\s*([^│]+?)\s*│", output)
    assert match, f"{label!r} missing from:\n{output}"
    return match.group(1).replace(",", "")


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_files_demo_loads_each_valid_file_once_and_dead_letters_the_invalid(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/files.db"
    else:
        from tests.conftest import reset_pg

        url = request.getfixturevalue("pg_url")
        reset_pg(url)
    workdir = tmp_path / "drop"
    result = subprocess.run(
        [
            SLUICE,
            "demo",
            "files",
            "--store",
            url,
            "--files",
            "400",
            "--window",
            "1",
            "--workdir",
            str(workdir),
        ],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
        env={**os.environ, "COLUMNS": "160"},
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert _figure(out, "files written") == "400"
    matching, valid, invalid = (
        int(_figure(out, label))
        for label in ("matching input/**.json", "valid files", "invalid files")
    )
    assert matching == valid + invalid and 300 < matching < 400 and invalid > 5
    assert int(_figure(out, "files processed (in processed/)")) == valid
    assert int(_figure(out, "files loaded")) == valid
    loaded, expected = _figure(out, "rows loaded").split(" of ")
    assert loaded == expected and int(loaded) > valid
    assert _figure(out, "duplicate rows") == "0"
    assert int(_figure(out, "dead-lettered")) == invalid
    assert int(_figure(out, "files in failed/")) == invalid
    untouched, other = _figure(out, "non-matching untouched").split(" of ")
    assert untouched == other == str(400 - matching)
    assert "every valid file loaded once" in out
    reasons = sorted((workdir / "failed").rglob("*.reason"))
    assert len(reasons) == invalid
    text = reasons[0].read_text()
    assert "dead-lettered after 2 receive(s)" in text
    assert "invalid JSON" in text or "qty must be an integer" in text
    assert not [p for p in (workdir / "input").rglob("*.json") if p.is_file()]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_files_demo_runs_its_handler_unchanged_against_a_bucket(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import boto3

    endpoint = request.getfixturevalue("s3_endpoint")  # moto on loopback

    url = f"sqlite:///{tmp_path}/files.db"
    command = [SLUICE, "demo", "files", "--store", url, "--files", "150", "--window", "1"]
    bucket = ["--bucket", "s3://landing", "--endpoint-url", endpoint]
    result = subprocess.run(
        [*command, *bucket],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
        env={**os.environ, "COLUMNS": "160"},
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "s3://landing/" in out and "every valid file loaded once" in out
    valid, invalid = (int(_figure(out, label)) for label in ("valid files", "invalid files"))
    assert int(_figure(out, "files loaded")) == valid and invalid > 2
    assert int(_figure(out, "files in failed/")) == invalid
    s3 = boto3.client("s3", endpoint_url=endpoint)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="landing", Prefix="failed/")
    reasons = [
        o["Key"] for p in pages for o in p.get("Contents", ()) if o["Key"].endswith(".reason")
    ]
    text = s3.get_object(Bucket="landing", Key=reasons[0])["Body"].read().decode()
    assert "dead-lettered after 2 receive(s)" in text
