"""Dedup within one enqueue batch: which rows are new, and the result of every row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sluice.model import Enqueued
from sluice.model.slots import positional

new_enqueued = positional(Enqueued)


@dataclass(slots=True)
class DedupSplit:
    """Which rows of an enqueue batch are new, and which repeat a dedup id."""

    rows: Sequence[Any]
    first_of: dict[tuple[str, str], int] = field(default_factory=dict)
    """(queue, dedup_id) -> index of the first row in the batch that carries it"""

    @property
    def keys(self) -> list[tuple[str, str]]:
        return list(self.first_of)

    def new_rows(self, existing: Mapping[tuple[str, str], int]) -> list[int]:
        """Indexes of rows to insert: no dedup id, or the first of an id not already stored."""
        if not self.first_of:
            return list(range(len(self.rows)))
        new = []
        for index, row in enumerate(self.rows):
            key = None if row.dedup_id is None else (row.queue, row.dedup_id)
            if key is None or (self.first_of[key] == index and key not in existing):
                new.append(index)
        return new

    def results(
        self, new: Sequence[int], ids: Sequence[int], existing: Mapping[tuple[str, str], int]
    ) -> list[Enqueued]:
        """One result per row: the new ids in ``new`` order, else the id the dedup id names."""
        if len(new) == len(self.rows):
            return [new_enqueued(id_, True) for id_ in ids]
        assigned = dict(zip(new, ids, strict=True))
        results = []
        for index, row in enumerate(self.rows):
            if index in assigned:
                results.append(Enqueued(assigned[index], True))
                continue
            key = (row.queue, row.dedup_id)
            found = existing.get(key)
            first = found if found is not None else assigned[self.first_of[key]]
            results.append(Enqueued(first, False))
        return results


def split_dedup(rows: Sequence[Any]) -> DedupSplit:
    """Index an enqueue batch by its dedup ids (rows need ``queue`` and ``dedup_id``)."""
    split = DedupSplit(rows)
    for index, row in enumerate(rows):
        if row.dedup_id is not None:
            split.first_of.setdefault((row.queue, row.dedup_id), index)
    return split
