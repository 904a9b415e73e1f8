"""The README's Python example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_the_readme_example_runs(tmp_path: Path) -> None:
    # The store example is complete; the actions example is a sketch with placeholder names.
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)[0]
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "emails {'to': 'a@example.com'} 1" in result.stdout
    assert "orders {'order': 42, 'step': 'pay'} 1" in result.stdout
    assert (tmp_path / "work.db").exists()
