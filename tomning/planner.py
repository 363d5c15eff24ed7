"""`tomning plan` and `tomning scheduler`: a tenant's plan for a day, made now or every day at a set time."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.figures import record_after
from api.planning import day_off, fleet_of, make_plan, next_workday, saved_fleet
from api.webhooks import run_webhooks
from core.errors import TomningError
from core.models import AlertStatus, EventKind, Plan, PlanChoices, PlanStatus
from core.registry import Registry
from core.settings import Settings
from core.timeseries import TimeSeriesStore

log = logging.getLogger(__name__)


def plan_now(
    registry: Registry, store: TimeSeriesStore, *, tenant: str, day: date, time_limit_s: float, by: str,
    console: Console | None = None, choices: PlanChoices | None = None,
) -> Plan:  # fmt: skip
    """Forecast, select and route `day` for `tenant`; store it as a draft plan. A day the trucks do not
    run (a weekend, a holiday) is planned all the same, with a warning: the dispatcher asked for it."""
    fleet = fleet_of(registry, tenant)
    if console is not None and (off := day_off(fleet, day)) is not None:
        console.print(
            f"[yellow]{day.isoformat()} is not a working day for the fleet ({off}): planned anyway[/]"
        )
    done = threading.Event()
    with Progress(TextColumn("[bold]planning"), BarColumn(), TimeElapsedColumn(), console=console,
                  transient=True, disable=console is None) as progress:  # fmt: skip
        task = progress.add_task("plan", total=time_limit_s + 5)

        def tick() -> None:
            while not done.wait(0.2):
                progress.advance(task, 0.2)

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            made = make_plan(registry, store, tenant=tenant, day=day, fleet=fleet, created_by=by,
                             now=datetime.now(UTC), time_limit_s=time_limit_s, choices=choices)  # fmt: skip
        finally:
            done.set()
            ticker.join()
    return registry.add_plan(made)


def next_day_to_plan(registry: Registry, tenant: str, today: date) -> date:
    """The tenant's next working day after `today` by its fleet's calendar; tomorrow without a fleet."""
    fleet = saved_fleet(registry, tenant)
    return next_workday(today, fleet) if fleet is not None else today + timedelta(days=1)


def summary(plan: Plan) -> Table:
    table = Table(title=f"Plan {plan.id} for {plan.tenant}, {plan.day.isoformat()} ({plan.status.value})")
    for column in ("truck", "driver", "bins", "unloads", "km", "hours", "mean fill at collection", "breaks"):
        table.add_column(column, justify="left" if column in ("truck", "driver", "breaks") else "right")
    for r in plan.routes:
        fills = [v.predicted_fill for v in r.visits if v.kind == "bin" and v.predicted_fill is not None]
        table.add_row(
            r.vehicle, r.driver or "-", str(sum(v.kind == "bin" for v in r.visits)),
            str(sum(v.kind == "facility" for v in r.visits)), f"{r.distance_m / 1000:.1f}",
            f"{r.duration_s / 3600:.1f}", f"{sum(fills) / len(fills):.0%}" if fills else "-",
            ", ".join(f"{b.start:%H:%M}–{b.end:%H:%M}" for b in r.breaks) or "-",
        )  # fmt: skip
    bins = sum(v.kind == "bin" for r in plan.routes for v in r.visits)
    km = sum(r.distance_m for r in plan.routes) / 1000
    hours = sum(r.duration_s for r in plan.routes) / 3600
    table.caption = f"{bins} bins, {km:.1f} km, {hours:.1f} truck-hours; {len(plan.left_out)} left out"
    return table


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


def run_scheduler(settings: Settings, registry: Registry, store: TimeSeriesStore, stop: threading.Event,
                  console: Console) -> None:  # fmt: skip
    """At each tenant's configured local time, plan tomorrow if its trucks run then (not before a weekend
    day, a holiday or a closed day: the evening before the next working day plans that), until `stop`;
    meanwhile, re-plan today on a fire risk where the fleet asks for it (`auto_replan`). At that time too,
    yesterday's collection figures (final) and today's so far go to the `collection` measurement. A thread
    of its own posts the tenants' events to their webhooks (api/webhooks.py) every two seconds."""
    hooks = threading.Thread(
        target=run_webhooks, args=(settings, registry, stop), name="webhooks", daemon=True
    )
    hooks.start()
    planned: set[tuple[str, date]] = set()
    seen: set[int] = set()  # fire-risk alerts already acted on
    while not stop.is_set():
        now = datetime.now(UTC)
        for plan in replan_urgent(registry, store, now=now, time_limit_s=settings.api.plan_time_limit_s,
                                  seen=seen):  # fmt: skip
            console.print(summary(plan))
        upcoming = []
        for tenant in registry.tenants():
            zone = ZoneInfo(tenant.timezone)
            at = settings.planning.tenants.get(tenant.id, settings.planning.at)
            upcoming.append(
                (next_run(now - timedelta(seconds=settings.planning.grace_s), at, zone), tenant.id, zone)
            )
        for due, tenant_id, zone in sorted(upcoming):
            day = (due.astimezone(zone) + timedelta(days=1)).date()
            if due <= now and (tenant_id, day) not in planned:
                today = due.astimezone(zone).date()
                record_after(registry, store, tenant_id, [today - timedelta(days=1), today], now)
                fleet = saved_fleet(registry, tenant_id)
                off = day_off(fleet, day) if fleet is not None else None
                if off is not None:
                    log.info("%s: no collection on %s (%s): nothing to plan", tenant_id, day.isoformat(), off)
                    planned.add((tenant_id, day))
                    continue
                try:
                    plan = plan_now(registry, store, tenant=tenant_id, day=day, by="scheduler",
                                    time_limit_s=settings.api.plan_time_limit_s)  # fmt: skip
                    console.print(summary(plan))
                except TomningError as exc:  # e.g. every shift over, a tip closed all day: said, not fatal
                    log.warning("%s: no plan for %s: %s", tenant_id, day.isoformat(), exc)
                planned.add((tenant_id, day))
        later = [(due - datetime.now(UTC)).total_seconds() for due, _, _ in upcoming]
        stop.wait(min([30.0, *(w for w in later if w > 0)]))
    hooks.join(timeout=30)
