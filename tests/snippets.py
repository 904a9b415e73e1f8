"""One runner for the Python code blocks of the README and the documentation pages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def python_blocks(path: Path, lang: str = "python") -> list[str]:
    """The code blocks of a Markdown file tagged ``lang``, in order. Pages tag complete,
    runnable code ``python`` and sketches ``py`` (highlighted alike, not run as they stand)."""
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(), re.DOTALL)


def run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in ``cwd``; fail with its stderr if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result
