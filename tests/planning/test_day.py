"""A truck group's day in its two halves, each alone: the routing problem built from the plan's terms, and
the search's answer read back as the plan's routes and the bins left out."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.models import Location
from planning.day import Frame, group_problem, group_routes
from planning.fleet import FleetSpec
from planning.progress import Underway
from planning.select import DUE_PENALTY_M, URGENT_PENALTY_M
from routing.problem import Route, Solution, Visit
from tests.api.conftest import FLEET
from tests.core.test_models import a_bin

START = datetime(2026, 11, 24, 6, 0, tzinfo=ZoneInfo("Europe/Stockholm"))  # both trucks' shift start
FLEET_SPEC = FleetSpec.model_validate(FLEET)
BINS = [a_bin(id=f"b{n}", location=Location(lat=56.66 + n / 100, lon=16.36)) for n in range(3)]
CHOSEN = [(BINS[0], 0.9, True), (BINS[1], 0.5, False), (BINS[2], 0.95, True)]


def test_the_problem_carries_the_days_terms() -> None:
    problem, frame = group_problem(
        FLEET_SPEC, list(FLEET_SPEC.vehicles), CHOSEN, start=START, now=None, underway={}, urgent={"b2"},
        breaks_taken={},
    )  # fmt: skip
    assert [d.id for d in problem.depots] == ["depot"]
    assert [f.id for f in problem.facilities] == ["moskogen"]
    assert [(v.id, v.capacity, v.start_s, v.start_at) for v in problem.vehicles] == [
        ("truck-1", 30_000, 0, None),
        ("truck-2", 30_000, 0, None),
    ]
    penalties = {s.id: s.penalty_m for s in problem.stops}
    assert penalties == {
        "b0": DUE_PENALTY_M,
        "b1": FLEET_SPEC.optional_penalty_m * 0.5,
        "b2": URGENT_PENALTY_M,
    }
    assert {s.id: s.demand for s in problem.stops} == {"b0": 2700, "b1": 1500, "b2": 2850}
    assert len(problem.distance_m) == 1 + 1 + 3  # the depot, the tip, the bins
    assert (frame.origin, frame.offset, frame.setting_off) == (START, {"truck-1": 0, "truck-2": 0},
                                                               {"truck-1": 0, "truck-2": 0})  # fmt: skip


def test_a_truck_under_way_sets_off_from_where_it_is_with_its_load() -> None:
    now = START + timedelta(hours=2)
    found = Underway(location=BINS[0].location, since=now - timedelta(minutes=10), load_l=4000)
    problem, frame = group_problem(
        FLEET_SPEC, list(FLEET_SPEC.vehicles), CHOSEN[1:], start=START, now=now, underway={"truck-1": found},
        urgent=set(), breaks_taken={},
    )  # fmt: skip
    truck = next(v for v in problem.vehicles if v.id == "truck-1")
    assert (truck.start_at, truck.start_load, truck.start_s) == ("truck-1@now", 4000, 2 * 3600)
    assert [d.id for d in problem.depots] == ["depot", "truck-1@now"]
    assert frame.setting_off["truck-2"] == 2 * 3600  # planned during the day: from now


def test_the_answer_becomes_routes_on_the_clock_and_reasons_for_what_was_left() -> None:
    _, frame = group_problem(
        FLEET_SPEC, list(FLEET_SPEC.vehicles), CHOSEN, start=START, now=None, underway={}, urgent=set(),
        breaks_taken={},
    )  # fmt: skip
    route = Route(vehicle="truck-1", visits=(
        Visit(kind="stop", id="b0", load=2700, arrival_s=600),
        Visit(kind="facility", id="moskogen", load=0, arrival_s=1800),
    ), distance_m=12_345.6, duration_s=3600)  # fmt: skip
    solution = Solution(problem="p", routes=(route,), dropped=("b1", "b2"), distance_m=12_345.6, solve_s=1)
    routes, left = group_routes(FLEET_SPEC, solution, frame, first_index=3)
    (planned,) = routes
    assert (planned.index, planned.vehicle, planned.driver, planned.distance_m) == (
        3,
        "truck-1",
        "anna",
        12345.6,
    )
    assert [(v.kind, v.id, v.arrival) for v in planned.visits] == [
        ("bin", "b0", START + timedelta(minutes=10)),
        ("facility", "moskogen", START + timedelta(minutes=30)),
    ]
    assert planned.visits[0].predicted_fill == 0.9
    assert {o.bin_id: o.code for o in left} == {"b1": "not_worth_it", "b2": "over_capacity"}
    assert isinstance(frame, Frame)
