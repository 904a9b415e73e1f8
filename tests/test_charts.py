"""The chart maths: quantiles from duration buckets, rates and failures from minute totals,
a queue's throughput as the sum of its actions'."""

from __future__ import annotations

import pytest

from sluice.charts import action_points, chart_view, quantile, window
from sluice.errors import ConfigError
from sluice.model import DURATION_BUCKETS
from sluice.store.rollups import Sample


def _buckets(**at: int) -> tuple[int, ...]:
    counts = [0] * (len(DURATION_BUCKETS) + 1)
    for index, count in at.items():
        counts[int(index[1:])] = count
    return tuple(counts)


def test_quantiles_interpolate_inside_a_bucket() -> None:
    counts = _buckets(b0=50, b7=50)  # half <= 5 ms, half in 0.5 .. 1 s
    assert quantile(counts, 0.5) == pytest.approx(0.005)
    assert quantile(counts, 0.99) == pytest.approx(0.5 + 0.5 * 49 / 50)
    assert quantile(_buckets(b14=3), 0.5) == DURATION_BUCKETS[-1]  # beyond the last bound
    assert quantile(_buckets(), 0.5) is None


def test_points_from_totals_and_a_queue_adds_its_actions() -> None:
    a = [
        Sample(60.0, processed=10, failed=1, buckets=_buckets(b0=10)),
        Sample(120.0, processed=70, failed=3, dead=1, buckets=_buckets(b0=40, b7=30)),
        Sample(180.0, processed=0, buckets=_buckets()),  # a worker's rows gone: no negatives
    ]
    [one, two] = action_points(a, 60)
    assert (one["at"], one["throughput"], one["failures"]) == (120.0, 1.0, 3)
    # 60 calls in the step: 30 of <= 5 ms, 30 of 0.5 .. 1 s
    assert (one["p50"], one["p99"]) == (pytest.approx(0.005), pytest.approx(0.5 + 0.5 * 29.4 / 30))
    assert (two["throughput"], two["failures"], two["p50"]) == (0.0, 0, None)
    q = [Sample(120.0, depth=5, in_flight=2, dead=1)]
    view = chart_view({"q": q}, {"a": a, "b": a}, {"a": "q", "b": "q"}, None)
    assert view["queues"]["q"] == [
        {"at": 120.0, "depth": 5, "in_flight": 2, "dead": 1, "throughput": 2.0}
    ]
    assert (view["window"], view["step"]) == ("hour", 60.0)
    assert window("day") == (86400.0, 900.0)
    with pytest.raises(ConfigError, match="unknown chart window 'week'"):
        window("week")
