"""moto's own SQS test suite run against a real ``sluice serve``: how many pass, and why the
others fail. Run by hand or with ``make aws-differential``:

    python bench/moto_differential.py --moto-python /path/venv/bin/python [--backend sqlite]

``--moto-python``: a Python with ``moto[server]``, pytest and freezegun installed (moto's tests
import moto). The sdist is downloaded once with ``pip download --no-binary :all: --no-deps
moto==VERSION`` into ``--cache``. moto's reset API is not called (sluice has none): every test
file runs against a fresh store instead. Prints a table per test file and each failure's
first error line; ``--oracle`` runs the same tests against moto's own server too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.aws_server import moto_server, sluice_server
from bench.pgdb import fresh_database

MOTO_VERSION = "5.2.5"
FILES = (
    "test_sqs.py",
    "test_sqs_message_attributes.py",
    "test_sqs_integration.py",
    "test_sqs_multiaccount.py",
    "test_sqs_authentication.py",
)
PG = os.environ.get("SLUICE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench_moto")


def moto_tests(cache: Path, python: str) -> Path:
    """moto's source tree (its tests) from the sdist, downloaded once."""
    tree = cache / f"moto-{MOTO_VERSION}"
    pip_download = [python, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps"]
    if not tree.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [*pip_download, f"moto=={MOTO_VERSION}", "-d", str(cache)],
            check=True,
        )
        with tarfile.open(cache / f"moto-{MOTO_VERSION}.tar.gz") as archive:
            archive.extractall(cache, filter="data")
    return tree


def run_file(tree: Path, python: str, name: str, endpoint: str, report: Path) -> None:
    pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
    env = {
        **os.environ,
        "TEST_SERVER_MODE": "true",
        "TEST_SERVER_MODE_ENDPOINT": endpoint,
        "MOTO_CALL_RESET_API": "false",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    subprocess.run(
        [*pytest, f"tests/test_sqs/{name}", f"--junitxml={report}"],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )


def results(report: Path) -> tuple[int, int, int, list[tuple[str, str]]]:
    """(passed, failed, skipped, [(test, first error line)]) of a junit report."""
    passed = failed = skipped = 0
    failures: list[tuple[str, str]] = []
    for case in ET.parse(report).iter("testcase"):
        problem = case.find("failure")
        problem = case.find("error") if problem is None else problem
        if case.find("skipped") is not None:
            skipped += 1
        elif problem is not None:
            failed += 1
            text = (problem.get("message") or problem.text or "").strip().splitlines()
            failures.append((case.get("name", "?"), (text[0] if text else "")[:200]))
        else:
            passed += 1
    return passed, failed, skipped, failures


def run_all(tree: Path, python: str, serve: object, label: str) -> None:
    totals = [0, 0, 0]
    with tempfile.TemporaryDirectory() as tmp:
        for index, name in enumerate(FILES):
            report = Path(tmp) / f"{index}.xml"
            with serve(Path(tmp) / f"{index}") as endpoint:  # type: ignore[operator]
                run_file(tree, python, name, endpoint, report)
            if not report.exists():
                print(f"{label} {name}: no report (collection failed)")
                continue
            passed, failed, skipped, failures = results(report)
            for i, n in enumerate((passed, failed, skipped)):
                totals[i] += n
            print(f"{label} {name}: {passed} passed, {failed} failed, {skipped} skipped")
            for test, line in failures:
                print(f"    FAIL {test}: {line}")
    print(f"{label} total: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moto-python", required=True)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "moto-sdist")
    parser.add_argument("--oracle", action="store_true", help="also run against moto's server")
    args = parser.parse_args()
    tree = moto_tests(args.cache, args.moto_python)

    def serve(tmp: Path) -> object:
        if args.backend == "postgres":
            return sluice_server(fresh_pg())
        tmp.mkdir(parents=True, exist_ok=True)
        return sluice_server(f"sqlite:///{tmp}/moto.db")

    run_all(tree, args.moto_python, serve, f"sluice/{args.backend}")
    if args.oracle:
        run_all(tree, args.moto_python, lambda _tmp: moto_server(args.moto_python), "moto")


def fresh_pg() -> str:
    """An empty PostgreSQL database for one test file."""
    return fresh_database(PG)


if __name__ == "__main__":
    main()
