"""`tomning plan` and the daily scheduler, on a registry and store with a week of readings."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from core.models import Fraction, Plan
from core.registry import Registry
from core.settings import PlanningSettings, Settings
from core.timeseries.sqlite import SqliteStore
from planning.fleet import FleetSpec
from planning.schedule import next_day_to_plan, next_run
from tests.api.conftest import FLEET, FLEET_WITH_LUNCH, readings_for
from tests.api.conftest import NOW as WORLD_NOW
from tests.integration.test_commands import tomning
from tomning.planner import run_scheduler

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def test_the_scheduler_keeps_local_time_across_daylight_saving() -> None:
    before = datetime(2026, 10, 24, 13, 0, tzinfo=UTC)  # summer time: 15:00 in Stockholm
    assert next_run(before, "14:00", STOCKHOLM) == datetime(2026, 10, 25, 13, 0, tzinfo=UTC)  # winter time
    summer = datetime(2026, 3, 28, 14, 0, tzinfo=UTC)  # winter time: 15:00 in Stockholm
    assert next_run(summer, "14:00", STOCKHOLM) == datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    # 02:30 does not exist on the spring change: it runs at the first moment after
    assert next_run(datetime(2026, 3, 28, 23, 0, tzinfo=UTC), "02:30", STOCKHOLM) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC)  # fmt: skip
    # 02:30 happens twice on the autumn change: once
    first = next_run(datetime(2026, 10, 24, 23, 0, tzinfo=UTC), "02:30", STOCKHOLM)
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert next_run(first, "02:30", STOCKHOLM).date() == date(2026, 10, 26)


def _seeded(tmp_path: Path) -> dict[str, str]:
    env = {
        "TOMNING_REGISTRY__URL": f"sqlite:///{tmp_path / 'registry.sqlite'}",
        "TOMNING_STORE__SQLITE_PATH": str(tmp_path / "readings.sqlite"),
    }
    tomning("seed", cwd=tmp_path, env=env)
    with Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry:
        registry.save_fleet("kalmar", FLEET)
        paper = [b for b in registry.bins("kalmar") if b.fraction is Fraction.PAPER]
    # the world's readings end at its NOW: move them to end now
    shift = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - WORLD_NOW
    with SqliteStore(tmp_path / "readings.sqlite") as store:
        store.write_readings(
            [r.model_copy(update={"ts": r.ts + shift}) for r in readings_for("kalmar", paper, 168)]
        )
    return env


def test_tomning_plan_makes_a_draft_and_summarises_it(tmp_path: Path) -> None:
    env = _seeded(tmp_path)
    with Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry:
        registry.save_fleet("kalmar", FLEET_WITH_LUNCH)
    shown = tomning(
        "plan", "--tenant", "kalmar", "--time-limit-s", "1", cwd=tmp_path, env=env | {"COLUMNS": "140"}
    )
    assert "Plan 1 for kalmar" in shown
    assert "draft plan 1" in shown
    with Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry:
        (plan,) = registry.plans("kalmar")
    assert plan.status.value == "draft"
    assert plan.routes
    today = datetime.now(UTC).astimezone(STOCKHOLM).date()
    with Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry:  # Monday's, on a Friday
        assert plan.day == next_day_to_plan(registry, "kalmar", today) > today
    bins = sum(v.kind == "bin" for r in plan.routes for v in r.visits)
    assert f"{bins} bins" in shown
    lunch = next(b for r in plan.routes for b in r.breaks)  # 06:40 to 07:00, and the routes last longer
    assert f"{lunch.start:%H:%M}–{lunch.end:%H:%M}" in shown


def _due() -> datetime:
    """A minute ago in Kalmar: when the scheduler is due. The days it plans and records count from this
    minute's day, not from when a test looks (a minute before midnight, the day plans the one after)."""
    return (datetime.now(UTC) - timedelta(minutes=1)).astimezone(STOCKHOLM).replace(second=0, microsecond=0)


def _run_scheduler(
    tmp_path: Path, env: dict[str, str], fleet: FleetSpec, due: datetime, *, wait_for_plan: bool
) -> list[Plan]:
    """The scheduler, due at `due` for kalmar, until it planned (or for a few seconds): the plans."""
    just_now = due.strftime("%H:%M")
    settings = Settings(planning=PlanningSettings(at="03:00", tenants={"kalmar": just_now}, grace_s=600))
    settings = settings.model_copy(update={"api": settings.api.model_copy(update={"plan_time_limit_s": 1})})
    stop = threading.Event()
    with (
        Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry,
        SqliteStore(tmp_path / "readings.sqlite") as store,
    ):
        registry.save_fleet("kalmar", fleet.model_dump(mode="json"))
        worker = threading.Thread(
            target=run_scheduler, args=(settings, registry, store, stop, Console(quiet=True))
        )
        worker.start()
        deadline = datetime.now(UTC) + timedelta(seconds=60 if wait_for_plan else 3)
        while not registry.plans("kalmar") and datetime.now(UTC) < deadline:
            stop.wait(0.2)
        stop.wait(2)  # time enough to plan a second time, which it must not
        stop.set()
        worker.join(timeout=30)
        return registry.plans("kalmar")


def test_the_scheduler_plans_tomorrow_once_at_the_tenants_time(tmp_path: Path) -> None:
    env = _seeded(tmp_path)
    # trucks every day, no holidays: tomorrow is a working day whenever the test runs
    every_day = FleetSpec.model_validate(FLEET | {"workdays": list(range(7)), "holidays": None})
    due = _due()
    plans = _run_scheduler(tmp_path, env, every_day, due, wait_for_plan=True)
    assert len(plans) == 1
    assert plans[0].created_by == "scheduler"
    today = due.date()
    assert plans[0].day == today + timedelta(days=1)
    # at the same time: yesterday's collection figures and today's so far, for the Collection dashboard
    with SqliteStore(tmp_path / "readings.sqlite") as store:
        written = store.measurements("collection")
    midnights = [datetime.combine(d, time(0), tzinfo=STOCKHOLM) for d in (today - timedelta(days=1), today)]
    assert [p.ts for p in written] == midnights
    assert all(p.tags == {"tenant": "kalmar"} and p.fields["routes"] == 0 for p in written)


def test_the_scheduler_plans_nothing_for_a_day_without_collection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = _seeded(tmp_path)
    due = _due()
    tomorrow = due.date() + timedelta(days=1)
    closed = FleetSpec.model_validate(FLEET | {"workdays": list(range(7)), "closed_days": [tomorrow]})
    with caplog.at_level("INFO", logger="tomning.planner"):
        assert _run_scheduler(tmp_path, env, closed, due, wait_for_plan=False) == []
    assert f"no collection on {tomorrow.isoformat()} (closed)" in caplog.text


def test_a_fire_risk_off_the_route_replans_the_day_where_the_fleet_asks_for_it(tmp_path: Path) -> None:
    from core.models import Event, EventKind, PlanStatus
    from planning.day import make_plan
    from planning.schedule import replan_urgent

    env = _seeded(tmp_path)
    today = datetime.now(UTC).astimezone(STOCKHOLM).date()
    now = datetime.combine(today, time(9, 0), tzinfo=STOCKHOLM)  # trucks out since 06:00, whatever the hour
    with (
        Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry,
        SqliteStore(tmp_path / "readings.sqlite") as store,
    ):
        fleet = FleetSpec.model_validate(FLEET)
        plan = registry.add_plan(
            make_plan(registry, store, tenant="kalmar", day=today, fleet=fleet, created_by="test", now=now,
                      time_limit_s=1).model_copy(update={"status": PlanStatus.DISPATCHED})
        )  # fmt: skip
        planned = {v.id for r in plan.routes for v in r.visits}
        burning = next(b.id for b in registry.bins("kalmar") if b.id not in planned)
        registry.add_events(
            [Event(tenant="kalmar", kind=EventKind.FIRE_RISK, bin_id=burning, ts=now, value=70.0)]
        )
        seen: set[int] = set()
        # off by default: the dispatcher decides
        assert replan_urgent(registry, store, now=now, time_limit_s=1, seen=seen) == []
        registry.save_fleet("kalmar", fleet.model_copy(update={"auto_replan": True}).model_dump(mode="json"))
        seen.clear()
        (new,) = replan_urgent(registry, store, now=now, time_limit_s=1, seen=seen)
        assert (new.replaces, new.status, new.created_by) == (plan.id, PlanStatus.DISPATCHED, "scheduler")
        assert burning in {v.id for r in new.routes for v in r.visits}
        assert registry.plan("kalmar", plan.id).status is PlanStatus.SUPERSEDED
        assert replan_urgent(registry, store, now=now, time_limit_s=1, seen=seen) == []  # once per alert
        (figures,) = store.measurements("collection")  # the day as re-planned, on the dashboard
        assert figures.ts == datetime.combine(today, time(0), tzinfo=STOCKHOLM)
        assert figures.fields["routes"] == len(new.routes)
        assert figures.fields["km"] == round(sum(r.distance_m for r in new.routes) / 1000, 1)


def test_tomning_figures_writes_each_days_figures_for_the_dashboard(tmp_path: Path) -> None:
    env = _seeded(tmp_path)
    today = datetime.now(UTC).astimezone(STOCKHOLM).date()
    first = today - timedelta(days=2)
    shown = tomning("figures", "--tenant", "kalmar", "--from", first.isoformat(), cwd=tmp_path,
                    env=env | {"COLUMNS": "200"})  # fmt: skip
    assert "3 days written to the collection measurement" in shown
    for n in range(3):
        assert (first + timedelta(days=n)).isoformat() in shown
    with SqliteStore(tmp_path / "readings.sqlite") as store:
        assert len(store.measurements("collection")) == 3
    backwards = subprocess.run(
        [sys.executable, "-m", "tomning", "figures", "--tenant", "kalmar", "--from", today.isoformat(),
         "--to", first.isoformat()],
        cwd=tmp_path, env=os.environ | env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert backwards.returncode == 2
    assert f"start {today} is after end {first}" in backwards.stderr


def test_tomning_plan_takes_the_dispatchers_choices(tmp_path: Path) -> None:
    env = _seeded(tmp_path)
    with Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry:
        first, other = sorted(b.id for b in registry.bins("kalmar"))[:2]
    asked = ("--vehicle-off", "truck-1", "--exclude", first, "--include", other)
    shown = tomning("plan", "--tenant", "kalmar", "--time-limit-s", "1", *asked, cwd=tmp_path,
                    env=env | {"COLUMNS": "140"})  # fmt: skip
    assert "draft plan 1" in shown
    with Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry:
        (plan,) = registry.plans("kalmar")
    assert {r.vehicle for r in plan.routes} == {"truck-2"}
    assert other in {v.id for r in plan.routes for v in r.visits}
    assert first in {o.bin_id for o in plan.left_out}
    refused = subprocess.run(
        [sys.executable, "-m", "tomning", "plan", "--tenant", "kalmar", "--include", "no-such-bin"],
        cwd=tmp_path, env=os.environ | env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "no such bins: no-such-bin" in refused.stdout


def test_a_plan_that_cannot_be_made_is_logged_and_the_scheduler_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = _seeded(tmp_path)
    tip = FLEET["facilities"][0] | {"opens": "03:00", "closes": "04:00"}  # shut before the trucks set off
    shut = FleetSpec.model_validate(
        FLEET | {"workdays": list(range(7)), "holidays": None, "facilities": [tip]}
    )
    due = _due()
    with caplog.at_level("WARNING", logger="tomning.planner"):
        assert _run_scheduler(tmp_path, env, shut, due, wait_for_plan=False) == []
    tomorrow = due.date() + timedelta(days=1)
    assert f"kalmar: no plan for {tomorrow.isoformat()}: facility 'moskogen' is closed all day" in caplog.text
