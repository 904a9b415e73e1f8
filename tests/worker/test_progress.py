"""``ctx.progress(rows=n)``: whole numbers of 0 or more add up; anything else is refused
with the fix, and nothing is added."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sluice import App
from sluice.errors import ConfigError
from sluice.worker.context import Context


def test_progress_adds_whole_rows_and_refuses_the_rest(tmp_path: Any) -> None:
    ctx = Context(App(f"sqlite:///{tmp_path}/p.db"), [], logging.getLogger("test"))
    ctx.progress(rows=40)
    ctx.progress(rows=0)
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(ConfigError, match="rows must be a whole number >= 0"):
            ctx.progress(rows=bad)  # type: ignore[arg-type]
    assert ctx.units == 40
