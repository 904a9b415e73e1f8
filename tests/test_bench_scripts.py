"""Every benchmark script loads (its imports resolve) from any working directory: a bench
that breaks when a module it imports is split is found here, not by the next person to run
it. The peers' own drivers (PGQueuer, Huey) run in their own venv and are left out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
PEERS_VENV_ONLY = {"peer_huey.py", "peer_pgqueuer.py"}
LOAD_ALL = """
import runpy, sys, traceback
failed = []
for path in sys.argv[1:]:
    try:
        runpy.run_path(path, run_name="bench_load_check")
    except BaseException:
        failed.append(path + ": " + traceback.format_exc(limit=1).splitlines()[-1])
print("\\n".join(failed))
"""


def test_every_bench_script_loads_from_another_directory(tmp_path: Path) -> None:
    scripts = sorted(
        str(p) for p in BENCH.glob("*.py") if p.name not in PEERS_VENV_ONLY | {"__init__.py"}
    )
    assert len(scripts) > 20
    env = {**os.environ, "SLUICE_URL": f"sqlite:///{tmp_path}/bench.db"}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_ALL, *scripts],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", done.stdout
