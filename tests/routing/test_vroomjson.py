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
        ({"jobs": [{"id": 1, "location": [16.3, 56.6], "time_windows": [[0, 100]]}]}, "job 1: time_windows"),
        ({"vehicles": [{"id": 1, "start": [16.3, 56.6], "breaks": [{"id": 1}]}]}, "vehicle 1: breaks"),
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
