"""Daily figures: km, emptyings, fill at emptying, overflows, devices silent."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth import READ, allow, tenant_of
from api.context import Services, services
from api.problems import responses
from core.models import EventKind, OutcomeStatus, PlanStatus, Principal

router = APIRouter(prefix="/v1", tags=["kpis"], responses=responses(401, 403))
OVERFLOW = 0.98  # a bin read this full is overflowing, or about to


class DailyKpis(BaseModel):
    day: date
    routes: int = Field(description="routes of the day's dispatched plan")
    km: float = Field(description="planned km of those routes")
    co2_kg: float
    emptyings: int = Field(description="bins the drivers reported collected")
    skipped: int = Field(description="bins the drivers reported skipped")
    sensor_emptyings: int = Field(description="emptyings the sensors saw")
    mean_fill_at_emptying: float | None = Field(description="the sensors' fill just before each emptying")
    overflows: int = Field(description=f"bins read at {OVERFLOW:.0%} or more during the day")
    devices_silent: int = Field(description="enabled devices not heard from in three report intervals")


@router.get("/kpis/daily", summary="a day's figures (default: today in the tenant's time zone)")
def daily(ctx: Annotated[Services, Depends(services)], who: Annotated[Principal, Depends(allow(READ))],
          day: date | None = None) -> DailyKpis:  # fmt: skip
    tenant = tenant_of(who)
    zone = ZoneInfo(ctx.registry.tenant(tenant).timezone)
    now = ctx.clock()
    day = day or now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = start + timedelta(days=1)
    plans = ctx.registry.plans(tenant, day=day, status=PlanStatus.DISPATCHED)
    routes = [r for p in plans for r in p.routes]
    outcomes = ctx.registry.outcomes(tenant, day=day)
    emptied = ctx.registry.events(tenant, kind=EventKind.EMPTIED.value, since=start, until=end)
    fills = [e.value for e in emptied if e.value is not None]
    levels = ctx.store.fill_levels(tenant, start=start, end=end)
    over = {k for k, seen_levels in levels.items() if any(level >= OVERFLOW for _, level in seen_levels)}
    seen, checked_at = ctx.registry.last_seen(tenant), min(now, end)
    silent = sum(
        1 for d in ctx.registry.devices(tenant)
        if d.enabled and ((last := seen.get(d.id)) is None
                          or (checked_at - last).total_seconds() > 3 * d.report_interval_s)
    )  # fmt: skip
    km = sum(r.distance_m for r in routes) / 1000
    return DailyKpis(
        day=day, routes=len(routes), km=round(km, 1), co2_kg=round(sum(r.co2_kg for r in routes), 1),
        emptyings=sum(o.status is OutcomeStatus.COLLECTED for o in outcomes),
        skipped=sum(o.status is OutcomeStatus.SKIPPED for o in outcomes), sensor_emptyings=len(emptied),
        mean_fill_at_emptying=round(sum(fills) / len(fills), 3) if fills else None, overflows=len(over),
        devices_silent=silent,
    )  # fmt: skip
