"""A tenant's collection figures for a day: what `/v1/kpis/daily` answers and the Collection dashboard draws.

The dashboard reads them from the `collection` measurement (core/operations.py), one point per local
day that a later write for the same day replaces. It is written when a plan is dispatched (the day as
planned), by the scheduler each day (yesterday, final, and today so far), and by `tomning figures`
(any days, e.g. to fill in the weeks before the scheduler ran).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from core.errors import InvalidInput, StoreUnavailable
from core.models import Device, EventKind, Location, OutcomeStatus, Plan, PlanStatus
from core.operations import CO2_KG_PER_KM, collection_day
from core.registry import Registry
from core.timeseries import TimeSeriesStore
from planning.fleet import fleet_of
from planning.progress import underway
from planning.roads import road_matrices

log = logging.getLogger(__name__)
OVERFLOW = 0.98  # a bin read this full is overflowing, or about to
HELD_AT_MOST = timedelta(hours=6)  # a reading stands for the bin until the next one, this long at most


class DailyKpis(BaseModel):
    day: date
    routes: int = Field(description="routes of the day's dispatched plan")
    km: float = Field(
        description="planned km of those routes, and, on a day re-planned, what the trucks drove on the "
        "plans it replaced up to their drivers' last reports there (where the re-plan set them off)"
    )
    duration_h: float = Field(description="planned hours of those routes, from each shift's start")
    co2_kg: float
    emptyings: int = Field(description="bins the drivers reported collected")
    skipped: int = Field(description="bins the drivers reported skipped")
    sensor_emptyings: int = Field(description="emptyings the sensors saw")
    mean_fill_at_emptying: float | None = Field(description="the sensors' fill just before each emptying")
    overflows: int = Field(description=f"bins read at {OVERFLOW:.0%} or more during the day")
    overflow_bin_hours: float = Field(
        description=f"hours bins spent at {OVERFLOW:.0%} or more during the day (so far, for today): each "
        f"reading counts until the next, {HELD_AT_MOST.total_seconds() / 3600:.0f} hours at most"
    )
    devices_silent: int = Field(
        description="enabled devices not heard from in three report intervals before the day's end (or now)"
    )


def overflow_hours(levels: Sequence[tuple[datetime, float]], start: datetime, end: datetime) -> float:
    """Hours in [start, end) a bin's readings (oldest first; one before `start` counts from `start`) say it
    was at `OVERFLOW` or more: each reading holds until the next, `HELD_AT_MOST` at most (a silent sensor
    says nothing of the hours after)."""
    seconds = 0.0
    for n, (ts, level) in enumerate(levels):
        if level < OVERFLOW:
            continue
        until = ts + HELD_AT_MOST
        if n + 1 < len(levels):
            until = min(until, levels[n + 1][0])
        span = (min(until, end) - max(ts, start)).total_seconds()
        seconds += max(0.0, span)
    return round(seconds / 3600, 2)


def silent_at(
    at: datetime,
    devices: Sequence[Device],
    last_seen: dict[str, datetime | None],
    levels: dict[str, list[tuple[datetime, float]]],
) -> int:
    """Enabled devices not heard from in the three report intervals before `at`. One heard from since
    `at` (a past day's) counts by its bin's readings then (`levels`, reaching back that far)."""
    silent = 0
    for d in devices:
        last, since = last_seen.get(d.id), at - timedelta(seconds=3 * d.report_interval_s)
        if last is not None and last > at:
            heard = any(since <= ts <= at for ts, _ in levels.get(d.bin_id or "", ()))
        else:
            heard = last is not None and last >= since
        silent += not heard
    return silent


def driven_before_replans(registry: Registry, tenant: str, plans: Sequence[Plan]) -> float:
    """Metres the trucks drove on a day's plans replaced since (`plans`: all of the day's), up to each
    driver's last report there: from the depot, or from where the plan it replaced set the truck off."""
    by_id = {p.id: p for p in plans}
    superseded = [p for p in plans if p.status is PlanStatus.SUPERSEDED]
    if not superseded:
        return 0.0
    fleet = fleet_of(registry, tenant)
    depots = {d.id: d.location for d in fleet.depots}
    depot_of = {v.id: depots[v.depot] for v in fleet.vehicles if v.depot in depots}
    metres = 0.0
    for plan in superseded:
        reported = {o.bin_id for o in registry.outcomes(tenant, plan_id=plan.id)}
        before = by_id.get(plan.replaces) if plan.replaces is not None else None
        set_off = underway(before, registry.outcomes(tenant, plan_id=before.id)) if before else {}
        for route in plan.routes:
            done = [v.seq for v in route.visits if v.kind == "bin" and v.id in reported]
            origin = (
                set_off[route.vehicle].location if route.vehicle in set_off else depot_of.get(route.vehicle)
            )
            if not done or origin is None:
                continue
            path: list[Location] = [origin, *(v.location for v in route.visits if v.seq <= max(done))]
            legs, _ = road_matrices(fleet, path)
            metres += sum(legs[n][n + 1] for n in range(len(path) - 1))
    return metres


def day_figures(
    registry: Registry, store: TimeSeriesStore, tenant: str, day: date, now: datetime
) -> DailyKpis:
    """`day`'s figures in the tenant's local time, as they stand at `now`."""
    zone = ZoneInfo(registry.tenant(tenant).timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)  # 23 or 25 hours at a change
    plans = registry.plans(tenant, day=day, limit=1000)
    routes = [r for p in plans if p.status is PlanStatus.DISPATCHED for r in p.routes]
    metres = sum(r.distance_m for r in routes) + driven_before_replans(registry, tenant, plans)
    outcomes = registry.outcomes(tenant, day=day)
    emptied = registry.events(tenant, kind=EventKind.EMPTIED.value, since=start, until=end)
    fills = [e.value for e in emptied if e.value is not None]
    until = min(end, now)
    devices = [d for d in registry.devices(tenant) if d.enabled]
    longest = timedelta(seconds=3 * max((d.report_interval_s for d in devices), default=0))
    reach = min(start - HELD_AT_MOST, until - longest)  # for overflows, and for who was silent then
    levels = store.fill_levels(tenant, start=reach, end=until) if until > start else {}
    over = {k for k, seen in levels.items() if any(level >= OVERFLOW and ts >= start for ts, level in seen)}
    hours = sum((overflow_hours(seen, start, until) for seen in levels.values()), 0.0)
    silent = silent_at(until, devices, registry.last_seen(tenant), levels)
    return DailyKpis(
        day=day, routes=len(routes), km=round(metres / 1000, 1),
        duration_h=round(sum(r.duration_s for r in routes) / 3600, 2),
        co2_kg=round(metres / 1000 * CO2_KG_PER_KM, 1),
        emptyings=sum(o.status is OutcomeStatus.COLLECTED for o in outcomes),
        skipped=sum(o.status is OutcomeStatus.SKIPPED for o in outcomes), sensor_emptyings=len(emptied),
        mean_fill_at_emptying=round(sum(fills) / len(fills), 3) if fills else None, overflows=len(over),
        overflow_bin_hours=round(hours, 1), devices_silent=silent,
    )  # fmt: skip


LONGEST_RANGE = 366  # days asked for at once, at most


def day_range(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`; refused back to front or longer than `LONGEST_RANGE`."""
    if first > last:
        raise InvalidInput(f"start {first} is after end {last}")
    if (last - first).days >= LONGEST_RANGE:
        raise InvalidInput(
            f"at most {LONGEST_RANGE} days at a time, not {(last - first).days + 1}: split the range"
        )
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def days_figures(
    registry: Registry, store: TimeSeriesStore, tenant: str, days: Iterable[date], now: datetime
) -> list[DailyKpis]:
    return [day_figures(registry, store, tenant, day, now) for day in days]


def record_days(
    registry: Registry, store: TimeSeriesStore, tenant: str, days: Iterable[date], now: datetime
) -> list[DailyKpis]:
    """Each day's figures, written to the `collection` measurement (replacing what was there for the day)."""
    timezone = registry.tenant(tenant).timezone
    figures = days_figures(registry, store, tenant, days, now)
    store.write_measurements([
        collection_day(tenant=tenant, day=f.day, timezone=timezone, routes=f.routes, km=f.km,
                       duration_h=f.duration_h, emptyings=f.emptyings,
                       overflow_bin_hours=f.overflow_bin_hours)
        for f in figures
    ])  # fmt: skip
    return figures


def record_after(
    registry: Registry, store: TimeSeriesStore, tenant: str, days: Iterable[date], now: datetime
) -> list[DailyKpis]:
    """`record_days` after a plan is dispatched or a scheduled run: a store that is down costs the dashboard
    those figures until the next write (logged), not the dispatch."""
    try:
        return record_days(registry, store, tenant, days, now)
    except StoreUnavailable as exc:
        log.warning("%s: the day's collection figures were not written (the next run writes them): %s",
                    tenant, exc)  # fmt: skip
        return []
