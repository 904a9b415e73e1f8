"""The README's Python example and the pages' examples that print a checked answer, run as
written."""

from __future__ import annotations

from pathlib import Path

from tests.snippets import python_blocks, run

README = Path(__file__).parent.parent / "README.md"
LIBRARY = Path(__file__).parent.parent / "docs" / "library.md"
APPLICATION = Path(__file__).parent.parent / "docs" / "application.md"


def test_the_readme_example_runs(tmp_path: Path) -> None:
    # The store example is complete; the actions example is a sketch with placeholder names.
    result = run(python_blocks(README)[0], tmp_path)
    assert "emails {'to': 'a@example.com'} 1" in result.stdout
    assert "orders {'order': 42, 'step': 'pay'} 1" in result.stdout
    assert (tmp_path / "work.db").exists()


DISCOVER_SETUP = """
import sqlite3, time
from sluice import App
app = App("sqlite:///work.db")
app.action("purge_record")(lambda body, ctx: None)
app.action("notify")(lambda body, ctx: None)
db = sqlite3.connect("records.db")
db.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, expires_at REAL)")
db.executemany("INSERT INTO records VALUES (?, ?)", [(n, 0.0) for n in range(1, 2501)])
db.executemany("INSERT INTO records VALUES (?, ?)", [(n, 9e9) for n in range(2501, 2601)])
cutoff = time.time()
"""
DISCOVER_CHECK = """
state = app.run_state(run.id)
ids = sorted(m.body[0] for m in app.store.peek("default", limit=10_000))
assert (state.status, state.total) == ("running", 2500), state
assert ids == list(range(1, 2501)), (len(ids), ids[-1])
print("discovered", state.total)
"""


def test_the_library_discover_example_pages_through_a_real_table(tmp_path: Path) -> None:
    # 2,500 expired records (and 100 live ones) read with the example's LIMIT 1000 keyset query
    [code] = [block for block in python_blocks(LIBRARY, "py") if "app.discover(" in block]
    assert "LIMIT 1000" in code
    result = run(DISCOVER_SETUP + code + DISCOVER_CHECK, tmp_path)
    assert "discovered 2500" in result.stdout


def test_the_application_priority_example_claims_urgent_work_first(tmp_path: Path) -> None:
    [code] = [block for block in python_blocks(APPLICATION) if "priority=5" in block]
    lines = run(code, tmp_path).stdout.splitlines()
    assert lines == ["waiting", "{'n': 'ceo'}"]


def test_the_application_transactional_enqueue_example_runs(tmp_path: Path) -> None:
    [code] = [block for block in python_blocks(APPLICATION) if "connection=conn" in block]
    assert "confirm {'order': 42}" in run(code, tmp_path).stdout
