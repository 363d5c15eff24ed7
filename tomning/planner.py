"""`tomning plan` and `tomning scheduler`: a tenant's plan for a day, made now or every day at a set time."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.webhooks import run_webhooks
from core.errors import TomningError
from core.models import Plan, PlanChoices
from core.registry import Registry
from core.settings import Settings
from core.timeseries import TimeSeriesStore
from planning.calendar import day_off
from planning.day import make_plan
from planning.figures import record_after
from planning.fleet import fleet_of, saved_fleet
from planning.schedule import next_run, replan_urgent

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
