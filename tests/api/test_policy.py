"""The planner's selection: due by fill, due by rule (longest interval), held back by rule (shortest)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from core.forecast import Forecast, Reliability
from core.models import Fraction
from planning.calendar import day_off, next_workday
from planning.day import plan_day
from planning.fleet import FleetSpec
from planning.select import select
from routing.problem import Break
from tests.api.conftest import FLEET, World
from tests.core.test_models import a_bin

DAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def forecast(bin_id: str, level: float, rate: float, emptied_days_ago: float | None) -> Forecast:
    emptied = None if emptied_days_ago is None else DAY - timedelta(days=emptied_days_ago)
    return Forecast(bin_id=bin_id, made_at=DAY, filling_level=level, observed_at=DAY, rate_per_day=rate,
                    threshold=0.8, reliability=Reliability.HIGH, emptied_at=emptied)  # fmt: skip


def test_fill_and_rules_decide_together() -> None:
    food = [a_bin(id=f"food-{n}", fraction=Fraction.FOOD) for n in range(4)]
    paper = [a_bin(id=f"paper-{n}") for n in range(4)]
    predicted = {
        "food-0": forecast("food-0", 0.2, 0.05, emptied_days_ago=13.5),  # low, but 14 days by tomorrow
        "food-1": forecast("food-1", 0.2, 0.05, emptied_days_ago=3),  # low and recent: waits
        "food-2": forecast("food-2", 0.2, 0.05, emptied_days_ago=None),  # never seen emptied: overdue
        "food-3": forecast("food-3", 0.75, 0.1, emptied_days_ago=2),  # full tomorrow: due whatever the rule
        "paper-0": forecast("paper-0", 0.6, 0.05, emptied_days_ago=1),  # could come along, but too soon
        "paper-1": forecast("paper-1", 0.6, 0.05, emptied_days_ago=6),  # comes along
        "paper-2": forecast("paper-2", 0.3, 0.05, emptied_days_ago=6),  # neither
    }  # and paper-3 has no forecast at all: a silent sensor, never seen emptied
    stops = select(
        food + paper, predicted, collection=DAY, next_collection=DAY + timedelta(days=1), optional_from=0.5,
        max_interval_days={Fraction.FOOD: 14}, min_interval_days={Fraction.PAPER: 3},
    )  # fmt: skip
    assert {k: v[2] for k, v in stops.items()} == {
        "food-0": True, "food-2": True, "food-3": True, "paper-1": False, "paper-3": False,
    }  # fmt: skip
    assert stops["paper-3"][1] == 1.0  # taken along as if full: the driver's report tells its fill again


def test_at_the_fastest_likely_rate_a_bin_that_wavers_is_due_a_day_sooner() -> None:
    bins = [a_bin(id="steady"), a_bin(id="wavering")]
    # both 0.5 today at 0.2 a day: 0.7 tomorrow, under the threshold (0.8); one has shown 0.35 a day
    predicted = {
        "steady": forecast("steady", 0.5, 0.2, 1).model_copy(update={"rate_band_per_day": (0.18, 0.22)}),
        "wavering": forecast("wavering", 0.5, 0.2, 1).model_copy(update={"rate_band_per_day": (0.1, 0.35)}),
    }
    options = {"collection": DAY, "next_collection": DAY + timedelta(days=1), "optional_from": 0.9}
    assert select(bins, predicted, **options) == {}  # type: ignore[arg-type]
    due = select(bins, predicted, fastest=True, **options)  # type: ignore[arg-type]
    assert {k: v[2] for k, v in due.items()} == {"wavering": True}


def test_a_plan_stores_each_bins_forecast_with_a_band(world: World) -> None:
    h = world.auth("kalmar", "dispatcher")
    assert (
        world.client.post("/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1}, headers=h).status_code
        == 201
    )
    stored = [m for m in world.services.store.measurements("forecasts") if m.tags["tenant"] == "kalmar"]
    by_bin: dict[str, list] = {}  # type: ignore[type-arg]
    for m in stored:
        by_bin.setdefault(m.tags["bin"], []).append(m)
    assert len(by_bin) == 24
    assert all(len(points) == 17 for points in by_bin.values())  # 48 hours, every 3
    for points in by_bin.values():
        for m in points:
            assert m.fields["lower"] <= m.fields["filling_level"] <= m.fields["upper"]
        assert (
            points[-1].fields["upper"] - points[-1].fields["lower"]
            >= points[0].fields["upper"] - points[0].fields["lower"]
        )


def test_a_bin_without_history_borrows_from_its_district_first() -> None:
    from zoneinfo import ZoneInfo

    from planning.forecasting import forecast_all

    now = DAY
    history = {}
    bins = []
    for district, rate in (("north", 0.02), ("south", 0.005)):  # per hour
        for n in range(4):
            b = a_bin(id=f"{district}-{n}", district=district)
            bins.append(b)
            history[b.id] = [(now - timedelta(hours=30 - h), 0.1 + rate * h) for h in range(30)]
    newcomer = a_bin(id="north-new", district="north")
    got = forecast_all([*bins, newcomer], history, {}, now, ZoneInfo("Europe/Stockholm"))
    assert "north-new" not in got  # no readings at all: no forecast
    got = forecast_all(
        [*bins, newcomer], history | {"north-new": [(now, 0.1)]}, {}, now, ZoneInfo("Europe/Stockholm")
    )
    assert got["north-new"].reliability is Reliability.LOW
    assert got["north-new"].rate_per_day > 0.3  # the north's pace (0.48 a day), not the fraction's median


def test_a_street_bin_borrows_the_pace_of_street_bins_not_households() -> None:
    from zoneinfo import ZoneInfo

    from planning.forecasting import forecast_all

    now, history, bins = DAY, {}, []
    for kind, litres, per_hour in (("house", 660, 0.005), ("street", 160, 0.015)):
        for n in range(5):
            b = a_bin(id=f"{kind}-{n}", capacity_l=litres)
            bins.append(b)
            rate = per_hour * (1 + n / 10)  # 0.12 to 0.17 a day for households, 0.36 to 0.50 for street bins
            history[b.id] = [(now - timedelta(hours=30 - h), 0.1 + rate * h) for h in range(30)]
    blind = a_bin(id="street-stuck", capacity_l=160)
    history[blind.id] = [(now - timedelta(hours=30 - h), 0.3) for h in range(30)]  # frozen for 30 hours
    got = forecast_all([*bins, blind], history, {}, now, ZoneInfo("Europe/Stockholm"))
    street = sorted(got[f"street-{n}"].rate_per_day for n in range(5))
    assert got[blind.id].reliability is Reliability.LOW
    # the upper quartile of street bins' paces: erring early
    assert got[blind.id].rate_per_day == pytest.approx(street[3], rel=0.05)
    assert got[blind.id].level_at(now) > 0.3 + 0.9 * street[3]  # filling since it froze, 30 hours ago


def test_trucks_of_two_depots_are_planned_in_one_search(world: World) -> None:
    from tests.api.conftest import FLEET

    two = FLEET | {
        "depots": [*FLEET["depots"], {"id": "north", "location": {"lat": 56.85, "lon": 16.40}}],  # type: ignore[list-item]
        "vehicles": [FLEET["vehicles"][0], FLEET["vehicles"][1] | {"depot": "north"}],  # type: ignore[index, operator]
    }
    h = world.auth("kalmar", "dispatcher")
    assert world.client.put("/v1/fleet", json=two, headers=h).status_code == 200
    plan = world.client.post("/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1}, headers=h).json()
    assert plan["routes"], plan
    planned = {v["id"] for r in plan["routes"] for v in r["visits"] if v["kind"] == "bin"}
    forecasts = {
        f["bin_id"]: f for f in world.client.get("/v1/forecasts?limit=100", headers=h).json()["items"]
    }
    due = {b for b, f in forecasts.items() if f["full_at"] and f["full_at"] < "2026-11-24T05:00:00Z"}
    assert due <= planned
    assert all(r["visits"][-1]["kind"] == "facility" for r in plan["routes"])


def test_more_due_than_the_trucks_can_take_gives_a_plan_and_says_what_is_left() -> None:
    from zoneinfo import ZoneInfo

    from core.models import Location
    from planning.day import plan_day
    from planning.fleet import FacilitySpec, FleetSpec, PlaceSpec, VehicleSpec

    here = Location(lat=56.66, lon=16.36)
    bins = [
        a_bin(id=f"paper-{n}", location=Location(lat=56.66 + n * 0.01, lon=16.36), service_time_s=600)
        for n in range(12)
    ]
    predicted = {b.id: forecast(b.id, 0.95, 0.1, emptied_days_ago=5) for b in bins}  # all due today
    fleet = FleetSpec(
        depots=(PlaceSpec(id="depot", location=here),),
        facilities=(FacilitySpec(id="tip", location=here, unload_s=600),),
        vehicles=(VehicleSpec(id="t1", capacity_l=40_000, depot="depot", shift_s=3600),),  # one hour
    )
    routes, left = plan_day(bins, predicted, day=DAY.date(), zone=ZoneInfo("Europe/Stockholm"), fleet=fleet,
                            time_limit_s=1)  # fmt: skip
    planned = [v.id for r in routes for v in r.visits if v.kind == "bin"]
    assert 1 <= len(planned) < 12  # ten minutes a bin: a few fit in the hour, the rest do not
    assert {x.bin_id for x in left} == {b.id for b in bins} - set(planned)
    assert all(x.reason.startswith("due, but more than the trucks can collect today") for x in left)


def test_trucks_do_not_run_on_weekends_public_holidays_and_the_eves_swedes_take_off() -> None:
    fleet = FleetSpec.model_validate(FLEET)  # Swedish holidays by default
    assert day_off(fleet, date(2026, 12, 24)) == "Christmas Eve"  # a Thursday
    assert day_off(fleet, date(2026, 12, 25)) == "Christmas Day"
    assert day_off(fleet, date(2026, 12, 23)) is None
    assert day_off(fleet, date(2026, 11, 28)) == "Saturday"
    assert next_workday(date(2026, 12, 23), fleet) == date(2026, 12, 28)  # Monday
    assert next_workday(date(2026, 6, 18), fleet) == date(2026, 6, 22)  # over Midsummer Eve, a Friday
    assert next_workday(date(2026, 12, 30), fleet) == date(2027, 1, 4)  # New Year's Eve and Day
    assert next_workday(date(2026, 12, 23), fleet.model_copy(update={"holidays": None})) == date(2026, 12, 24)
    closed = fleet.model_copy(update={"closed_days": (date(2026, 11, 25),)})
    assert (day_off(closed, date(2026, 11, 25)), next_workday(date(2026, 11, 24), closed)) == (
        "closed", date(2026, 11, 26))  # fmt: skip
    # an extra Saturday before Christmas: Friday's plan reaches to it, and it reaches to the 23rd
    extra = fleet.model_copy(update={"extra_days": (date(2026, 12, 19),)})
    assert (day_off(extra, date(2026, 12, 19)), next_workday(date(2026, 12, 18), extra)) == (
        None, date(2026, 12, 19))  # fmt: skip
    assert next_workday(date(2026, 12, 19), extra) == date(2026, 12, 21)
    norway = FleetSpec.model_validate(FLEET | {"holidays": "no"})
    assert norway.holidays == "NO"
    # a Monday: Norway's Constitution Day (and Whit Monday there); a working day in Sweden
    assert (day_off(norway, date(2027, 5, 17)), day_off(fleet, date(2027, 5, 17))) == (
        "Constitution Day; Pentecost Monday", None)  # fmt: skip
    with pytest.raises(ValidationError, match="holidays"):
        FleetSpec.model_validate(FLEET | {"holidays": "XX"})
    with pytest.raises(ValidationError, match="workdays"):
        FleetSpec.model_validate(FLEET | {"workdays": [7]})


def test_before_christmas_the_plan_takes_what_would_fill_before_the_trucks_run_again() -> None:
    """A bin at 0.55 rising 0.06 a day: under its threshold (0.8) at any next working day's collection
    in a normal week, over it by Monday after Christmas: due on the 23rd, not on the 22nd."""
    stockholm = ZoneInfo("Europe/Stockholm")
    fleet = FleetSpec.model_validate(FLEET)
    for day, due in ((date(2026, 12, 22), False), (date(2026, 12, 23), True)):
        seen = datetime(day.year, day.month, day.day, 5, 0, tzinfo=stockholm)
        bins = [a_bin(id="slow", location={"lat": 56.67, "lon": 16.35})]
        predicted = {
            "slow": Forecast(
                bin_id="slow",
                made_at=seen,
                filling_level=0.55,
                observed_at=seen,
                rate_per_day=0.06,
                threshold=0.8,
                reliability=Reliability.HIGH,
            )
        }
        routes, _ = plan_day(bins, predicted, day=day, zone=stockholm, fleet=fleet.model_copy(
            update={"optional_from": 0.95}), time_limit_s=1)  # fmt: skip
        assert any(v.id == "slow" for r in routes for v in r.visits) is due, day


def test_a_drivers_lunch_is_planned_on_the_route_in_its_window_and_in_its_hours() -> None:
    """Twelve bins 1 km apart in a line, 20 minutes each: a day of over four hours from 06:00, with 30
    minutes' lunch to start between 09:00 and 09:30."""
    from core.models import Location
    from planning.fleet import BreakSpec, FacilitySpec, PlaceSpec, VehicleSpec

    stockholm = ZoneInfo("Europe/Stockholm")
    here = Location(lat=56.66, lon=16.36)
    bins = [
        a_bin(id=f"b{n:02d}", location=Location(lat=56.66 + n * 0.009, lon=16.36), service_time_s=1200)
        for n in range(1, 13)
    ]
    predicted = {b.id: forecast(b.id, 0.95, 0.1, emptied_days_ago=5) for b in bins}
    lunch = BreakSpec(earliest=time(9, 0), latest=time(9, 30), minutes=30)
    truck = VehicleSpec(id="t1", capacity_l=40_000, depot="depot", shift_s=8 * 3600, breaks=(lunch,))
    fleet = FleetSpec(
        depots=(PlaceSpec(id="depot", location=here),),
        facilities=(FacilitySpec(id="tip", location=here, unload_s=600),),
        vehicles=(truck,),
    )
    assert truck.break_windows() == (Break(id="lunch", earliest_s=3 * 3600, latest_s=3 * 3600 + 1800,
                                           duration_s=1800),)  # fmt: skip
    (route,), left = plan_day(bins, predicted, day=DAY.date(), zone=stockholm, fleet=fleet, time_limit_s=2)
    assert not left
    (taken,) = route.breaks
    start = datetime.combine(DAY.date(), time(6, 0), tzinfo=stockholm)
    assert start + timedelta(hours=3) <= taken.start <= start + timedelta(hours=3, minutes=30)
    assert taken.end - taken.start == timedelta(minutes=30)
    assert not [v for v in route.visits if taken.start < v.arrival < taken.end]  # nobody works at lunch
    assert route.duration_s >= 12 * 1200 + 1800  # the bins' work and the lunch, besides the driving
    # the same day without lunch is 30 minutes shorter, stop for stop
    plain = fleet.model_copy(update={"vehicles": (truck.model_copy(update={"breaks": ()}),)})
    (without,), _ = plan_day(bins, predicted, day=DAY.date(), zone=stockholm, fleet=plain, time_limit_s=2)
    assert without.breaks == ()
    assert route.duration_s - without.duration_s == pytest.approx(1800, abs=1)


def test_a_break_outside_its_shift_or_back_to_front_is_refused_with_what_is_wrong() -> None:
    from planning.fleet import VehicleSpec

    truck = {"id": "t1", "capacity_l": 40_000, "depot": "depot", "shift_start": "06:00", "shift_s": 8 * 3600}
    with pytest.raises(ValidationError, match="lies outside its shift"):
        VehicleSpec.model_validate(
            truck | {"breaks": [{"earliest": "14:30", "latest": "15:00", "minutes": 30}]}
        )
    with pytest.raises(ValidationError, match="latest 10:00:00 is before earliest 11:00:00"):
        VehicleSpec.model_validate(
            truck | {"breaks": [{"earliest": "11:00", "latest": "10:00", "minutes": 30}]}
        )
    with pytest.raises(ValidationError, match="minutes"):
        VehicleSpec.model_validate(
            truck | {"breaks": [{"earliest": "10:00", "latest": "11:00", "minutes": 0}]}
        )
    # a night shift from 22:00: a break at 02:00 lies within it
    night = VehicleSpec.model_validate(
        truck | {"shift_start": "22:00", "breaks": [{"earliest": "02:00", "latest": "02:30", "minutes": 30}]}
    )
    assert night.break_windows()[0].earliest_s == 4 * 3600


def test_the_forecast_knows_the_tenants_holidays_for_the_years_around() -> None:
    from planning.calendar import holidays_around

    around = holidays_around("SE", date(2026, 12, 20))
    assert {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 31)} <= set(around)
    assert date(2027, 6, 25) in around  # Midsummer Eve next year
    assert date(2025, 1, 6) in around  # Epiphany the year before
    assert date(2026, 12, 27) not in around  # a plain Sunday is not a holiday
    assert min(around).year == 2025
    assert max(around).year == 2027
    assert holidays_around(None, date(2026, 12, 20)) == ()
    assert date(2026, 11, 26) in holidays_around("US", date(2026, 11, 1))  # Thanksgiving


def test_a_replan_route_with_nothing_left_to_visit_goes_out_as_it_is() -> None:
    """A truck sent home empty by the re-plan (no visits) whose driver reported since: nothing to time."""
    from core.models import Outcome, OutcomeStatus, Plan, PlannedRoute, PlannedVisit, PlanStatus
    from planning.progress import without_reported

    fleet = FleetSpec.model_validate(FLEET)
    made = DAY.replace(hour=9)
    b = a_bin(id="b1", location={"lat": 56.67, "lon": 16.35})
    visit = PlannedVisit(
        seq=0, kind="bin", id="b1", location=b.location, arrival=DAY.replace(hour=8), load_l=300
    )
    driven = PlannedRoute(
        index=0, vehicle="truck-1", driver="anna", distance_m=1.0, duration_s=1.0, co2_kg=0.0, visits=(visit,)
    )
    old = Plan(id=1, tenant="kalmar", day=DAY.date(), status=PlanStatus.DISPATCHED, created_at=DAY,
               created_by="k", routes=(driven,))  # fmt: skip
    home = driven.model_copy(update={"visits": (), "distance_m": 2.0})
    update = {"id": 2, "status": PlanStatus.APPROVED, "created_at": made, "routes": (home,), "replaces": 1}
    new = old.model_copy(update=update)
    report = Outcome(tenant="kalmar", plan_id=1, bin_id="b1", status=OutcomeStatus.COLLECTED,
                     at=made.replace(hour=10), by="anna", client_id="late-report-1")  # fmt: skip
    routes, gone = without_reported(new, old, [report], fleet, {"b1": b})
    assert (routes, gone) == ((home,), ())
