"""The documentation site builds in strict mode and every guide's Python block runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.snippets import python_blocks, run

ROOT = Path(__file__).parent.parent
PAGES = sorted(
    path
    for path in (ROOT / "docs").rglob("*.md")
    if path.name not in ("architecture.md", "design-notes.md", "benchmarks.md")
)
BLOCKS = [
    pytest.param(path, n, id=f"{path.relative_to(ROOT / 'docs')}#{n}")
    for path in PAGES
    for n in range(len(python_blocks(path)))
]


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    # Broken links, missing references and any warning fail the build.
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "reference" / "http.html").exists()
    assert "sluice queues" in (tmp_path / "reference" / "cli.html").read_text()
    # Offline and CSP-friendly: no page loads a script, font or stylesheet from another host.
    external = re.compile(r'<(?:script|link)[^>]*(?:src|href)="(?:https?:)?//')
    for page in tmp_path.rglob("*.html"):
        assert not external.search(page.read_text()), page


@pytest.mark.parametrize(("path", "n"), BLOCKS)
def test_every_guide_block_runs(path: Path, n: int, tmp_path: Path) -> None:
    run(python_blocks(path)[n], tmp_path)
