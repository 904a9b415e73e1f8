"""Operator controls in the store: paused queues, disabled rules, paused schedules, live
limit overrides, and the audit log of every change. Each change and its audit entry commit in
one transaction; a change that changes nothing is still recorded (old equals new)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sluice import codec
from sluice.errors import ConfigError, UnknownAction, UnknownRule, UnknownSchedule
from sluice.model import ActionLimit

if TYPE_CHECKING:
    from sluice.model import QueuePolicy
    from sluice.store.driver import Driver, Params
    from sluice.store.schedules import StoredSchedule

STOPPED_TTL = 1.0
"""Seconds (on the store's clock) a store trusts its copy of the paused queues and disabled
rules: a pause made by any process is obeyed here within this long, at no cost per claim."""


@dataclass(frozen=True, slots=True)
class LimitInfo:
    """An action's limits: as the code declares them, the live override, and what is in force
    (``effective`` is the adaptive concurrency, when one has been computed)."""

    action: str
    concurrency: int | None = None
    rate: float | None = None
    override_concurrency: int | None = None
    override_rate: float | None = None
    effective: float | None = None

    @property
    def overridden(self) -> bool:
        return self.override_concurrency is not None or self.override_rate is not None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operator action: who did what to which target, when, from which value to which."""

    id: int
    at: float
    who: str
    what: str
    target: str
    old: Any
    new: Any


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _as_float(value: Any) -> float | None:
    return None if value is None else float(value)


class ControlVerbs:
    """The Store's operator verbs (a mixin of :class:`~sluice.store.base.Store`)."""

    _stopped: frozenset[tuple[str, str]] = frozenset()
    _stopped_read_at: float | None = None
    if TYPE_CHECKING:  # what the verbs use of the Store they are mixed into
        _driver: Driver
        _limits_read_at: float

        def clock(self) -> float: ...
        def _sql(self, db: Any, name: str, params: Params = ()) -> list[Any]: ...
        def policy(self, queue: str) -> QueuePolicy: ...
        def schedules(self) -> list[StoredSchedule]: ...

    # -- queues and rules: pausing -------------------------------------------------------------
    def stopped(self, kind: str) -> set[str]:
        """Names of kind ``queue`` (paused) or ``rule`` (disabled), as read at most
        :data:`STOPPED_TTL` seconds ago on the store's clock."""
        now = self.clock()
        read_at = self._stopped_read_at
        if read_at is None or not read_at <= now < read_at + STOPPED_TTL:
            with self._driver.read() as db:
                rows = self._sql(db, "stopped_all")
            self._stopped = frozenset((str(k), str(n)) for k, n in rows)
            self._stopped_read_at = now
        return {name for k, name in self._stopped if k == kind}

    def set_queue_paused(self, queue: str, paused: bool, who: str) -> bool:
        """Pause (or resume) ``queue``: no worker claims from a paused queue; enqueueing goes
        on. ``UnknownQueue`` if there is none. Return whether it was paused before."""
        self.policy(queue)
        return self._set_stopped("queue", queue, paused, who, "queue.pause")

    def set_rule_disabled(self, rule: str, disabled: bool, who: str) -> bool:
        """Disable (or enable) a declared rule: a disabled rule routes no published event.
        Return whether it was disabled before."""
        if rule not in self.declared("rule"):
            raise UnknownRule(f"unknown rule {rule[:80]!r}: {_known(self.declared('rule'))}")
        return self._set_stopped("rule", rule, disabled, who, "rule.disable")

    def _set_stopped(self, kind: str, name: str, stop: bool, who: str, what: str) -> bool:
        with self._driver.write() as db:
            now = self.clock()
            was = any(row[1] == name for row in self._sql(db, "stopped_all") if row[0] == kind)
            self._sql(db, "stop" if stop else "unstop", {"kind": kind, "name": name, "now": now})
            _audit(self, db, who, what, name, was, stop, now)
        self._stopped_read_at = None
        return was

    # -- declared names ------------------------------------------------------------------------
    def declare(self, kind: str, names: Sequence[str]) -> None:
        """Record that names of ``kind`` (``action``, ``rule``) are declared by some app."""
        if names:
            with self._driver.write() as db:
                for name in names:
                    self._sql(db, "declare", {"kind": kind, "name": name})

    def declared(self, kind: str) -> list[str]:
        """The names of ``kind`` any app has declared in this store, sorted."""
        with self._driver.read() as db:
            return [str(row[0]) for row in self._sql(db, "declared", {"kind": kind})]

    def _put_declared_limit(self, limit: ActionLimit) -> None:
        """``put_limit``: the declared limits; a live override stays as it is."""
        with self._driver.write() as db:
            self._sql(db, "declare", {"kind": "action", "name": limit.action})
            if limit.concurrency is None and limit.rate is None:
                self._sql(db, "clear_limit", (limit.action,))
                self._sql(db, "delete_limit", (limit.action,))
            else:
                row = (limit.action, limit.concurrency, limit.rate, limit.burst, limit.burst)
                self._sql(db, "put_limit", (*row, self.clock()))

    # -- live limits ---------------------------------------------------------------------------
    def limit_infos(self) -> list[LimitInfo]:
        """Every declared or limited action with its declared, overridden and adaptive limits."""
        with self._driver.read() as db:
            rows = self._sql(db, "limit_rows")
            names = [str(r[0]) for r in self._sql(db, "declared", {"kind": "action"})]
        found = {
            str(a): LimitInfo(
                str(a), _as_int(c), _as_float(r), _as_int(oc), _as_float(orate), _as_float(e)
            )
            for a, c, r, oc, orate, _burst, e in rows
        }
        for name in names:
            found.setdefault(name, LimitInfo(name))
        return [found[name] for name in sorted(found)]

    def set_limit_override(
        self,
        action: str,
        concurrency: int | None,
        rate: str | float | None,
        who: str,
    ) -> LimitInfo:
        """Override an action's concurrency and/or rate (what is not given keeps its current
        override) until :meth:`reset_limit_override`; workers obey it within about a second.
        ``ConfigError`` for a bad value, ``UnknownAction`` for an undeclared action."""
        if concurrency is None and rate is None:
            raise ConfigError("give a concurrency, a rate or both (e.g. --concurrency 2)")
        old = self._limit_info(action)
        given = ActionLimit(action, concurrency=concurrency, rate=rate)  # type: ignore[arg-type]
        new_concurrency = given.concurrency or old.override_concurrency
        new_rate = given.rate or old.override_rate
        burst = ActionLimit(action, rate=new_rate).burst if new_rate is not None else None
        params = {"action": action, "concurrency": new_concurrency, "rate": new_rate}
        with self._driver.write() as db:
            now = self.clock()
            self._sql(db, "limit_override_set", {**params, "burst": burst, "now": now})
            new = {"concurrency": new_concurrency, "rate": new_rate}
            _audit(self, db, who, "limits.set", action, _override(old), new, now)
        self._limits_read_at = -1.0
        return self._limit_info(action)

    def reset_limit_override(self, action: str, who: str) -> LimitInfo:
        """Drop an action's live override: the declared limits are in force again."""
        old = self._limit_info(action)
        with self._driver.write() as db:
            now = self.clock()
            self._sql(db, "limit_override_reset", {"action": action})
            self._sql(db, "limit_drop_empty", {"action": action})
            _audit(self, db, who, "limits.reset", action, _override(old), None, now)
        self._limits_read_at = -1.0
        return self._limit_info(action)

    def _limit_info(self, action: str) -> LimitInfo:
        infos = {info.action: info for info in self.limit_infos()}
        if action not in infos:
            raise UnknownAction(f"unknown action {action[:80]!r}: {_known(list(infos))}")
        return infos[action]

    # -- schedules -----------------------------------------------------------------------------
    def paused_schedules(self) -> set[str]:
        """Names of the paused schedules."""
        with self._driver.read() as db:
            return {str(row[0]) for row in self._sql(db, "schedules_paused")}

    def set_schedule_paused(
        self, name: str, paused: bool, who: str, next_at: float | None = None
    ) -> bool:
        """Pause a schedule (it fires no tick), or resume it from ``next_at`` (its first tick
        after now: ticks missed while paused are skipped). Return whether it was paused."""
        known = [s.schedule.name for s in self.schedules()]
        if name not in known:
            raise UnknownSchedule(f"unknown schedule {name[:80]!r}: {_known(known)}")
        if not paused and next_at is None:
            raise ConfigError("resuming a schedule needs its next fire time")
        with self._driver.write() as db:
            now = self.clock()
            was = name in {str(row[0]) for row in self._sql(db, "schedules_paused")}
            if paused:
                self._sql(db, "schedule_pause", {"name": name})
            else:
                self._sql(db, "schedule_resume", {"name": name, "next_at": next_at})
            _audit(self, db, who, "schedule.pause", name, was, paused, now)
        return was

    # -- the audit log -------------------------------------------------------------------------
    def audit(self, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        """Operator actions, newest first, ``limit`` at a time, before ``before_id``."""
        before = before_id if before_id is not None else 2**62
        with self._driver.read() as db:
            rows = self._sql(db, "audit_list", {"before": before, "n": limit})
        return [
            AuditEntry(int(i), float(at), who, what, target, codec.loads(old), codec.loads(new))
            for i, at, who, what, target, old, new in rows
        ]


def _override(info: LimitInfo) -> dict[str, Any] | None:
    if not info.overridden:
        return None
    return {"concurrency": info.override_concurrency, "rate": info.override_rate}


def _known(names: Sequence[str]) -> str:
    return f"known: {', '.join(names[:20])}" if names else "none is declared in this store"


def _audit(
    store: ControlVerbs, db: Any, who: str, what: str, target: str, old: Any, new: Any, now: float
) -> None:
    row = {"who": who, "what": what, "target": target, "now": now}
    encoded = {"old": codec.dumps(old).decode(), "new": codec.dumps(new).decode()}
    store._sql(db, "audit_add", {**row, **encoded})
