"""Commands that load ``module:app`` (worker, scheduler, serve) say what is wrong with it,
and the worker's numeric options are usage errors when out of range."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import sluice

LOADERS = ["worker", "scheduler", "serve"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "jobs.py").write_text(
        f"import sluice\napp = sluice.App('sqlite:///{tmp_path}/jobs.db')\nnot_an_app = 3\n"
    )
    (tmp_path / "broken.py").write_text("import no_such_dependency\n")
    return tmp_path


def _error(result_stderr: str) -> str:
    """The error line (``serve`` warns about tokens on the line before)."""
    return result_stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("command", LOADERS)
def test_a_missing_attribute_is_named(project: Path, command: str) -> None:
    result = sluice(command, "jobs:ap", cwd=project)
    assert result.returncode == 1
    assert _error(result.stderr) == (
        f"error: module 'jobs' has no attribute 'ap' (in {project}/jobs.py)"
    )


@pytest.mark.parametrize("command", LOADERS)
def test_a_missing_module_is_named_with_where_it_was_looked_for(
    project: Path, command: str
) -> None:
    for target, missing in [("nosuchmodule:app", "nosuchmodule"), ("pkg.jobs:app", "pkg")]:
        result = sluice(command, target, cwd=project)
        assert result.returncode == 1
        module = target.partition(":")[0]
        assert _error(result.stderr) == (
            f"error: cannot import {module!r}: module {missing!r} not found on sys.path (which "
            f"holds the current directory {str(project)!r}); run from the project's directory "
            "or add its directory to PYTHONPATH"
        )


@pytest.mark.parametrize("command", LOADERS)
def test_a_module_that_fails_to_import_is_not_called_missing(project: Path, command: str) -> None:
    result = sluice(command, "broken:app", cwd=project)
    assert result.returncode == 1
    assert _error(result.stderr) == (
        "error: cannot import 'broken': importing it failed with ModuleNotFoundError: "
        "No module named 'no_such_dependency'"
    )


@pytest.mark.parametrize("command", LOADERS)
def test_an_attribute_that_is_no_app_is_named_with_its_type(project: Path, command: str) -> None:
    result = sluice(command, "jobs:not_an_app", cwd=project)
    assert result.returncode == 1
    assert _error(result.stderr) == "error: 'jobs:not_an_app' is not a sluice.App (found int)"


@pytest.mark.parametrize("option", ["--concurrency", "--processes"])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_worker_count_below_one_is_a_usage_error(project: Path, option: str, value: str) -> None:
    result = sluice("worker", "jobs:app", option, value, cwd=project)
    assert result.returncode == 2
    assert f"Invalid value for '{option}': {value} is not in the range x>=1." in result.stderr
    assert "ValueError" not in result.stderr
    assert not (project / "jobs.db").exists()
