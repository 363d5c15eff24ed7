"""VROOM's JSON formats: our problems read by the real VROOM (pyvroom), theirs read by us, refusals named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import vroom

from core.errors import InvalidInput
from routing.solver import solve
from routing.vroomjson import problem_from_vroom, problem_to_vroom, solution_to_vroom
from tests.routing.test_solver import kalmar


def test_our_problem_is_one_vroom_solves_and_reads_back_the_same(tmp_path: Path) -> None:
    problem = kalmar()
    doc = problem_to_vroom(problem)
    path = tmp_path / "kalmar.json"
    path.write_text(json.dumps(doc))
    answer = vroom.Input.from_json(path).solve(exploration_level=2, nb_threads=1)  # the real VROOM
    jobs = answer.routes[answer.routes["type"] == "job"]
    assert sorted(jobs["description"]) == sorted(s.id for s in problem.stops)
    assert len(answer.unassigned) == 0
    ours = solve(problem, time_limit_s=2)
    seconds = ours.distance_m * 3.6 / problem.speed_kmh  # VROOM's cost is its durations: our km at 30 km/h
    assert answer.summary.cost == pytest.approx(seconds, rel=0.1)  # the same problem: near the same cost
    back = problem_from_vroom(doc)
    assert [(s.demand, s.service_time_s) for s in back.stops] == [
        (s.demand, s.service_time_s) for s in problem.stops
    ]
    assert [v.capacity for v in back.vehicles] == [v.capacity for v in problem.vehicles]
    assert back.distance_m is not None
    assert problem.distance_m is not None
    assert back.distance_m[0][3] == pytest.approx(problem.distance_m[0][3], abs=0.5)
    # driving times go along: ours when the problem has them, read back as they were written
    assert back.duration_s is not None
    assert back.duration_s[0][3] == pytest.approx(problem.drive_s(0, 3), abs=0.5)
    doubled = tuple(tuple(2 * x for x in row) for row in problem.driving_s())
    slow = problem.model_copy(update={"duration_s": doubled})
    assert problem_to_vroom(slow)["matrices"]["car"]["durations"][0][3] == round(2 * problem.drive_s(0, 3))


def test_a_vroom_problem_with_coordinates_is_solved_and_answered_in_vroom_form() -> None:
    doc = {
        "vehicles": [{"id": 7, "start": [16.36, 56.66], "end": [16.36, 56.66], "capacity": [4]}],
        "jobs": [
            {"id": n, "location": [16.36 + 0.01 * n, 56.67], "pickup": [1], "service": 30}
            for n in range(1, 4)
        ],
    }
    problem = problem_from_vroom(doc)
    solution = solve(problem, time_limit_s=1)
    out = solution_to_vroom(problem, solution)
    (route,) = out["routes"]
    assert route["vehicle"] == "7"
    assert [s["type"] for s in route["steps"]][:1] == ["start"]
    assert sorted(s["id"] for s in route["steps"] if s["type"] == "job") == ["1", "2", "3"]
    assert out["summary"]["unassigned"] == 0
    assert out["summary"]["distance"] == round(solution.distance_m)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"jobs": [{"id": 1, "location": [16.3, 56.6], "time_windows": [[0, 9], [20, 30]]}]},
            "one time window",
        ),
        (
            {"vehicles": [{"id": 1, "start": [16.3, 56.6], "breaks": [{"id": 1}]}]},
            "break 1 needs exactly one",
        ),
        ({"jobs": [{"id": 1, "location": [16.3, 56.6], "skills": [1]}]}, "job 1: skills"),
        ({"shipments": [{"pickup": {}, "delivery": {}}]}, "shipments"),
        ({"jobs": [{"id": 1, "location": [16.3, 56.6], "pickup": [1, 2]}]}, "one capacity dimension"),
        ({"jobs": [{"id": 1, "location": "Kalmar"}]}, r"a location is \[lon, lat\]"),
    ],
)
def test_what_we_cannot_honour_is_refused_by_name(change: dict[str, object], message: str) -> None:
    doc = {
        "vehicles": [{"id": 1, "start": [16.3, 56.6]}],
        "jobs": [{"id": 1, "location": [16.4, 56.7]}],
    } | change
    with pytest.raises(InvalidInput, match=message):
        problem_from_vroom(doc)


def test_time_windows_and_breaks_go_both_ways_and_vroom_keeps_them(tmp_path: Path) -> None:
    from routing.problem import Break

    base = kalmar()
    stops = (base.stops[0].model_copy(update={"time_window": (3600, 7200)}), *base.stops[1:4])  # one load
    lunch = Break(earliest_s=1800, latest_s=5400, duration_s=1800)
    vehicles = (base.vehicles[0].model_copy(update={"breaks": (lunch,), "shift_s": 8 * 3600}),)
    size = 1 + len(stops)
    assert base.distance_m is not None
    matrix = tuple(row[:size] for row in base.distance_m[:size])
    problem = base.model_copy(update={"stops": stops, "vehicles": vehicles, "distance_m": matrix})
    doc = problem_to_vroom(problem)
    back = problem_from_vroom(doc)
    assert back.stops[0].time_window == (3600, 7200)
    assert back.vehicles[0].breaks == (lunch.model_copy(update={"id": "1"}),)
    path = tmp_path / "windows.json"
    path.write_text(json.dumps(doc))
    answer = vroom.Input.from_json(path).solve(exploration_level=2, nb_threads=1)
    steps = answer.routes
    first = steps[steps["description"] == stops[0].id].iloc[0]
    assert 3600 <= first["arrival"] + first["waiting_time"] <= 7200
    assert (steps["type"] == "break").sum() == 1
    ours = solve(problem, time_limit_s=1)
    (route,) = ours.routes
    assert 3600 <= next(v.arrival_s for v in route.visits if v.id == stops[0].id) <= 7200
    assert len(route.breaks) == 1
