"""Worker start to first pickup: ``sluice worker bench.worker_app:app`` spawned with one
message already waiting, timed from just before the spawn to the handler's start (the
message's body is the spawn time; the handler logs ``now - body``). Beside it, in the same
run: the interpreter alone (``python -c pass``) and ``python -c "import sluice.cli.worker"``.

    .venv/bin/python bench/worker_start.py [--rounds 7] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.worker import ROOT, SLUICE, fresh_url, stop, workers
from sluice import App
from sluice.model import NewMessage


def spawn_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def first_pickup(backend: str, workdir: Path) -> float:
    url = fresh_url(backend, workdir)
    log = workdir / f"start-{time.monotonic_ns()}.log"
    app = App(url)
    for name in ("one", "many", "latency"):
        app.queue(name, visibility_timeout=60)
    app.store.enqueue([NewMessage("latency", time.time(), action="stamp")])
    procs = workers(url, {"SLUICE_BENCH_LATENCY": str(log)}, processes=1)
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and log.read_text().strip()):
            if time.monotonic() > deadline:
                raise TimeoutError("the worker picked nothing up in 60 s")
            time.sleep(0.005)
    finally:
        stop(procs)
        app.close()
    return float(log.read_text().split()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results: dict[str, list[float]] = {"python -c pass": [], "import sluice.cli.worker": []}
    results.update({f"{b}: spawn to first pickup": [] for b in backends})
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):  # in turns: the machine is noisy
            results["python -c pass"].append(spawn_seconds("pass"))
            results["import sluice.cli.worker"].append(spawn_seconds("import sluice.cli.worker"))
            for backend in backends:
                results[f"{backend}: spawn to first pickup"].append(
                    first_pickup(backend, Path(tmp))
                )
    base = statistics.median(results["python -c pass"])
    print(f"{args.rounds} rounds in turns, medians (min-max); cwd {ROOT}, {SLUICE}")
    for label, values in results.items():
        median = statistics.median(values)
        print(
            f"  {label:34} {median * 1000:6.0f} ms ({min(values) * 1000:.0f}-"
            f"{max(values) * 1000:.0f}), {median / base:4.1f}x the bare interpreter"
        )


if __name__ == "__main__":
    main()
