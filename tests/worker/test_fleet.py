"""Three real worker processes (``sluice worker --processes 3``): global limits and FIFO."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice import App, NewMessage

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))


@pytest.fixture
def fleet(url: str, tmp_path: Path) -> Iterator[tuple[App, Path, list[str]]]:
    """An app like fleet_app's on this backend, and a way to run 3 worker processes."""
    record = tmp_path / "record.log"
    app = App(url)
    app.queue("limited", visibility_timeout=60)
    app.queue("metered", visibility_timeout=60)
    app.queue("ordered", fifo=True, max_receives=3, visibility_timeout=60)
    env = {**os.environ, "SLUICE_FLEET_URL": url, "SLUICE_FLEET_RECORD": str(record)}
    command = [SLUICE, "worker", "tests.worker.fleet_app:app", "--processes", "3"]
    started: list[subprocess.Popen[bytes]] = []

    def run_until(drained: list[str], deadline: float) -> None:
        started.append(
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            time.sleep(0.2)  # poll the store for the end of the drain
            stats = app.store.stats(drained)
            if all(s.depth == s.in_flight == s.delayed == 0 for s in stats):
                break
        started[-1].send_signal(signal.SIGTERM)
        assert started[-1].wait(timeout=60) == 0

    app.run_until = run_until  # type: ignore[attr-defined]
    yield app, record, []
    for process in started:
        if process.poll() is None:
            process.kill()
    app.close()


def _lines(record: Path, kind: str) -> list[list[str]]:
    return [line.split()[1:] for line in record.read_text().splitlines() if line.startswith(kind)]


def test_global_concurrency_holds_across_three_processes(
    fleet: tuple[App, Path, list[str]],
) -> None:
    app, record, _ = fleet
    app.store.enqueue([NewMessage("limited", n, action="limited") for n in range(300)])
    app.run_until(["limited"], 120)  # type: ignore[attr-defined]
    spans = [(float(a), float(b)) for a, b in _lines(record, "limited")]
    assert len(spans) == 300
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    assert 3 <= peak <= 5


def test_global_rate_holds_within_ten_percent(fleet: tuple[App, Path, list[str]]) -> None:
    app, record, _ = fleet
    app.store.enqueue([NewMessage("metered", n, action="metered") for n in range(1250)])
    app.run_until(["metered"], 60)  # type: ignore[attr-defined]
    starts = sorted(float(t) for [t] in _lines(record, "metered"))
    assert len(starts) == 1250
    window = [t for t in starts if starts[0] + 1 <= t < starts[0] + 11]
    assert 900 <= len(window) <= 1100, f"{len(window)} starts in 10 s at 100/s"


def test_fifo_groups_stay_in_order_and_a_poison_head_blocks_only_its_group(
    fleet: tuple[App, Path, list[str]],
) -> None:
    app, record, _ = fleet
    groups, per_group = 50, 200
    messages = [
        NewMessage(
            "ordered",
            {"g": g, "seq": s, **({"poison": 1} if (g, s) == (7, 0) else {})},
            action="step",
            group=f"g{g}",
        )
        for s in range(per_group)
        for g in range(groups)
    ]
    for start in range(0, len(messages), 1000):
        app.store.enqueue(messages[start : start + 1000])
    app.run_until(["ordered"], 150)  # type: ignore[attr-defined]
    done = [(int(g), int(s)) for g, s in _lines(record, "ordered")]
    assert len(done) == groups * per_group - 1
    for group in range(groups):
        expected = list(range(1 if group == 7 else 0, per_group))
        assert [s for g, s in done if g == group] == expected
    [dead] = app.store.dlq_list("ordered")
    assert dead.body == {"g": 7, "seq": 0, "poison": 1}
    assert dead.receive_count == 3
