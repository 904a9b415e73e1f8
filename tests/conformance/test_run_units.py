"""Units of work (``ctx.progress(rows=n)``) ride a call's ack into its run's stage: a fresh
ack adds them, a stale one or a retry adds nothing."""

from __future__ import annotations

from sluice.model import NewMessage, Outcome, RunSpec
from sluice.store import Store
from tests.conformance.helpers import declare


def test_units_count_with_a_fresh_ack_only(store: Store) -> None:
    declare(store, "q")
    first = [NewMessage("q", n, action="act") for n in range(3)]
    store.start_run(RunSpec("r1", "load"), first, seal=True)
    a, b, c = store.claim(["q"], 3)
    assert a.receipt and b.receipt and c.receipt
    store.complete([Outcome.ack(a.receipt, units=500), Outcome.retry(b.receipt, "later")])
    assert store.complete([Outcome.ack(a.receipt, units=500)]) == [a.receipt]  # stale
    state = store.run_state("r1")
    assert (state.units, state.stages[0].units, state.succeeded) == (500, 500, 1)
    store.complete([Outcome.ack(c.receipt, units=250)])
    assert store.run_state("r1").to_dict()["units"] == 750
