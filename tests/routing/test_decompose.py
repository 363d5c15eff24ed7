"""Large days in parts: neighbouring routes re-solved on their own, kept only when cheaper."""

from __future__ import annotations

import random
from typing import Any

import pytest

from core.models import Location
from routing import decompose
from routing.decompose import objective, solve_large
from routing.matrix import straight_line
from routing.problem import Depot, Facility, Problem, Solution, Stop, Vehicle
from routing.solver import solve


def town(
    stops: int,
    trucks: int,
    *,
    seed: int = 3,
    optional_every: int = 0,
    shift_h: float = 10,
    tip_hours: tuple[int, int] | None = None,
) -> Problem:
    """Bins scattered over 20 x 20 km around a depot, a tip at its edge, trucks of 6,000 l."""
    rng = random.Random(seed)
    depot, tip = Location(lat=56.66, lon=16.36), Location(lat=56.70, lon=16.25)
    where = [Location(lat=56.66 + rng.uniform(-0.09, 0.09), lon=16.36 + rng.uniform(-0.16, 0.16))
             for _ in range(stops)]  # fmt: skip
    return Problem(
        name="town",
        depots=(Depot(id="depot", location=depot),),
        facilities=(Facility(id="tip", location=tip, unload_s=600, opening_s=tip_hours),),
        vehicles=tuple(
            Vehicle(id=f"t{k:02d}", capacity=6000, depot="depot", shift_s=round(shift_h * 3600))
            for k in range(trucks)
        ),
        stops=tuple(
            Stop(
                id=f"b{n:03d}",
                location=w,
                demand=rng.choice((240, 370, 660)),
                service_time_s=60,
                penalty_m=3000.0 if optional_every and n % optional_every == 0 else None,
            )
            for n, w in enumerate(where)
        ),
        distance_m=straight_line([depot, tip, *where]),
    )


def test_a_big_day_in_parts_visits_every_bin_once_and_costs_less_than_where_it_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # short shifts: many routes; a tip that opens an hour in, after trucks could get there, is a clock our
    # ruin and recreate does not keep (trucks would wait)
    problem = town(240, trucks=16, optional_every=7, shift_h=2.5, tip_hours=(3600, 12 * 3600))
    searched: list[int] = []

    def counted(part: Problem, **options: Any) -> Solution:
        searched.append(len(part.stops))
        return solve(part, **options)

    monkeypatch.setattr(decompose, "solve", counted)
    heard: list[int] = []
    solution = solve_large(problem, time_limit_s=12, on_solution=heard.append)
    assert searched[0] == 240
    assert len(searched) >= 4
    assert all(80 <= n < 240 for n in searched[1:])  # parts of neighbouring routes, not the whole
    served = [s for r in solution.routes for s in r.stops]
    assert len(served) == len(set(served))
    assert set(served) | set(solution.dropped) == {s.id for s in problem.stops}
    assert not set(served) & set(solution.dropped)
    mandatory = {s.id for s in problem.stops if s.penalty_m is None}
    assert mandatory <= set(served)
    for route in solution.routes:
        assert route.load <= 6000
        assert route.visits[-1].kind == "facility"  # every route unloads before it returns
    assert len(solution.routes) >= 8  # parts were tried: enough routes
    # the parts only ever replace routes by cheaper ones: the end is no dearer than the whole search's
    # first plan, and the cost reported last is the plan's
    assert heard
    assert objective(problem, solution.routes, solution.dropped) <= heard[0] + 1
    assert abs(objective(problem, solution.routes, solution.dropped) - heard[-1]) <= len(heard)
    assert solution.solve_s < 12 + 6  # its budget, and a busy machine's late return from a part's search


def test_a_small_day_or_few_long_routes_go_to_one_search() -> None:
    small = town(60, trucks=10)
    whole = solve(small, time_limit_s=1, first_solution="PATH_CHEAPEST_ARC")
    parts = solve_large(small, time_limit_s=1)
    assert {s for r in parts.routes for s in r.stops} == {s for r in whole.routes for s in r.stops}
    few = town(200, trucks=4)  # 200 bins on 4 trucks (with trips to the tip): long routes, one search
    solution = solve_large(few, time_limit_s=3)
    assert len(solution.routes) <= 4
    assert sorted(s for r in solution.routes for s in r.stops) == sorted(s.id for s in few.stops)
