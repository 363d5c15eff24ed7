"""`tomning route solve` as a dispatcher runs it: a problem file in, a table, a JSON plan and a map out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from routing.problem import Solution
from tests.integration.test_commands import tomning
from tests.routing.test_solver import with_disposal


def test_solve_prints_saves_and_maps_the_plan(tmp_path: Path) -> None:
    problem = with_disposal(trucks=3).model_copy(update={"distance_m": None})  # computed from locations
    (tmp_path / "problem.json").write_text(problem.model_dump_json())
    shown = tomning(
        "route",
        "solve",
        "problem.json",
        "--time-limit-s",
        "2",
        "--out",
        "plan.json",
        "--map",
        "map.html",
        cwd=tmp_path,
        env={"COLUMNS": "120"},
    )
    assert "kalmar-paper:" in shown
    assert "dumps" in shown
    plan = Solution.model_validate_json((tmp_path / "plan.json").read_text())
    assert sorted(s for r in plan.routes for s in r.stops) == sorted(s.id for s in problem.stops)
    page = (tmp_path / "map.html").read_text()
    assert "L.polyline" in page
    assert "Leaflet" in page  # inlined, so the page needs no web server
    assert "OpenStreetMap contributors" in page
    data = json.loads(page.split("const data = ")[1].split(";\n")[0])
    assert len(data["lines"]) == len(plan.routes)
    assert {m["kind"] for m in data["marks"]} == {"stop", "facility", "depot"}


def test_a_problem_without_places_or_distances_is_refused_clearly(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    problem = with_disposal(trucks=3).model_copy(update={"distance_m": None, "facilities": ()})
    document = json.loads(problem.model_dump_json())
    document["stops"][0]["location"] = None
    (tmp_path / "problem.json").write_text(json.dumps(document))
    result = subprocess.run(
        [sys.executable, "-m", "tomning", "route", "solve", "problem.json"],
        cwd=tmp_path,
        env=os.environ | {"COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "every place needs a location" in result.stderr


def test_solve_takes_a_vroom_problem_and_answers_in_vroom_form(tmp_path: Path) -> None:
    doc = {
        "vehicles": [{"id": 1, "start": [16.36, 56.66], "end": [16.36, 56.66], "capacity": [10]}],
        "jobs": [
            {"id": n, "location": [16.30 + 0.02 * n, 56.68], "pickup": [2], "service": 60}
            for n in range(1, 5)
        ],
    }
    (tmp_path / "vroom.json").write_text(json.dumps(doc))
    shown = tomning("route", "solve", "vroom.json", "--time-limit-s", "1", "--vroom-out", "answer.json",
                    cwd=tmp_path, env={"COLUMNS": "120"})  # fmt: skip
    assert "vroom:" in shown
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer["code"] == 0
    assert answer["summary"]["unassigned"] == 0
    assert sorted(s["id"] for s in answer["routes"][0]["steps"] if s["type"] == "job") == ["1", "2", "3", "4"]
    refused = tmp_path / "windows.json"
    refused.write_text(json.dumps(doc | {"jobs": [doc["jobs"][0] | {"time_windows": [[0, 9], [20, 60]]}]}))  # type: ignore[operator]
    command = [sys.executable, "-m", "tomning", "route", "solve", str(refused)]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "one time window per job for now" in run.stderr


def test_a_seed_and_a_number_of_steps_give_the_same_plan_each_run(tmp_path: Path) -> None:
    problem = with_disposal(trucks=3)
    (tmp_path / "problem.json").write_text(problem.model_dump_json())
    plans = []
    for run in ("a", "b"):
        steps = ("--seed", "5", "--iterations", "2000")
        tomning("route", "solve", "problem.json", *steps, "--out", f"{run}.json", cwd=tmp_path)
        plan = Solution.model_validate_json((tmp_path / f"{run}.json").read_text())
        plans.append([(r.vehicle, [(v.kind, v.id) for v in r.visits]) for r in plan.routes])
    assert plans[0] == plans[1]
    assert sorted(s for _, visits in plans[0] for kind, s in visits if kind == "stop") == sorted(
        s.id for s in problem.stops
    )
