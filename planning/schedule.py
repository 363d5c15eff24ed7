"""The scheduler's rules: which day to plan next, when a tenant's planning time comes round, and when
a fire risk re-plans the day under way."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.errors import TomningError
from core.models import AlertStatus, EventKind, Plan, PlanStatus
from core.registry import Registry
from core.timeseries import TimeSeriesStore
from planning.calendar import next_workday
from planning.day import make_plan
from planning.figures import record_after
from planning.fleet import saved_fleet

log = logging.getLogger(__name__)


def next_day_to_plan(registry: Registry, tenant: str, today: date) -> date:
    """The tenant's next working day after `today` by its fleet's calendar; tomorrow without a fleet."""
    fleet = saved_fleet(registry, tenant)
    return next_workday(today, fleet) if fleet is not None else today + timedelta(days=1)


def next_run(now: datetime, at: str, zone: ZoneInfo) -> datetime:
    """The next moment the local clock in `zone` shows `at` (HH:MM), as UTC: daylight saving included
    (a time the spring change skips runs at the first moment after it)."""
    hour, minute = (int(x) for x in at.split(":"))
    local = now.astimezone(zone)
    for days in range(0, 3):
        wall = datetime.combine(local.date() + timedelta(days=days), datetime.min.time(), tzinfo=zone)
        candidate = wall.replace(hour=hour, minute=minute)
        # a wall time that does not exist (the spring change) normalises forward through UTC
        candidate = candidate.astimezone(UTC).astimezone(zone)
        if candidate > local:
            return candidate.astimezone(UTC)
    raise AssertionError("unreachable: a day always has the time")


def replan_urgent(
    registry: Registry, store: TimeSeriesStore, *, now: datetime, time_limit_s: float, seen: set[int]
) -> list[Plan]:
    """For each tenant whose fleet has `auto_replan`: a fire risk (an open alert not in `seen`) at a bin
    off today's dispatched plan re-plans the rest of the day and dispatches it. Returns the new plans."""
    made: list[Plan] = []
    for tenant in registry.tenants():
        fleet = saved_fleet(registry, tenant.id)
        if fleet is None or not fleet.auto_replan:
            continue
        today = now.astimezone(ZoneInfo(tenant.timezone)).date()
        live = registry.plans(tenant.id, day=today, status=PlanStatus.DISPATCHED)
        fires, _ = registry.alerts(
            tenant.id, status=AlertStatus.OPEN, kind=EventKind.FIRE_RISK.value, limit=1000
        )
        fresh = [a for a in fires if a.id not in seen]
        seen |= {a.id for a in fires}
        if not live or not fresh:
            continue
        plan = live[0]
        planned = {v.id for r in plan.routes for v in r.visits}
        burning = sorted({a.event.bin_id for a in fresh if a.event.bin_id and a.event.bin_id not in planned})
        if not burning:
            continue
        try:
            new = make_plan(registry, store, tenant=tenant.id, day=today, fleet=fleet, created_by="scheduler",
                            now=now, time_limit_s=time_limit_s, replaces=plan.id)  # fmt: skip
        except TomningError as exc:  # a plan that cannot be made is said, and the scheduler goes on
            log.warning("%s: fire risk at %s, and no re-plan: %s", tenant.id, ", ".join(burning), exc)
            continue
        stored = registry.add_plan(new.model_copy(update={"status": PlanStatus.DISPATCHED}))
        record_after(registry, store, tenant.id, [today], now)
        log.warning("%s: fire risk at %s: plan %d re-planned as %d and dispatched", tenant.id,
                    ", ".join(burning), plan.id, stored.id)  # fmt: skip
        made.append(stored)
    return made
