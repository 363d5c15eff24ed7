"""`tomning route solve`: read a problem, search with a progress bar, print, save and map the plan."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from core.errors import InvalidInput
from routing.matrix import straight_line
from routing.problem import Problem, Solution
from routing.vroomjson import is_vroom, problem_from_vroom, solution_to_vroom


def read_problem(path: Path) -> Problem:
    """Our Problem JSON, or VROOM's input format (it has `jobs` and `vehicles`)."""
    try:
        raw = path.read_bytes()
        doc = json.loads(raw)
        if isinstance(doc, dict) and is_vroom(doc):
            return problem_from_vroom(doc, name=path.stem)
        problem = Problem.model_validate_json(raw)
    except (OSError, ValueError, ValidationError, InvalidInput, KeyError) as exc:
        raise typer.BadParameter(f"{path}: {exc}") from exc
    if problem.distance_m is not None:
        return problem
    located = [*(d.location for d in problem.depots), *(f.location for f in problem.facilities)]
    located += [s.location for s in problem.stops]
    if any(place is None for place in located):
        raise typer.BadParameter(f"{path}: without a distance matrix every place needs a location")
    return problem.model_copy(update={"distance_m": straight_line([p for p in located if p])})


def solve_file(
    path: Path,
    *,
    time_limit_s: float,
    out: Path | None,
    map_file: Path | None,
    vroom_out: Path | None = None,
    seed: int = 0,
    iterations: int | None = None,
) -> None:
    from routing.decompose import solve_large

    problem = read_problem(path)
    console = Console()
    best: list[int] = []
    columns = (
        TextColumn("[bold]searching"),
        BarColumn(),
        TextColumn("best {task.fields[best]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("search", total=time_limit_s, best="-")
        done = threading.Event()

        def tick() -> None:
            started = time.monotonic()
            while not done.wait(0.2):
                best_text = f"{best[-1] / 1000:,.1f} (cost)" if best else "-"
                progress.update(task, completed=min(time_limit_s, time.monotonic() - started), best=best_text)

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            solution = solve_large(
                problem, time_limit_s=time_limit_s, on_solution=best.append, seed=seed, iterations=iterations
            )
        except InvalidInput as exc:
            done.set()
            raise typer.BadParameter(str(exc)) from exc
        done.set()
    show(console, solution)
    if out is not None:
        out.write_text(solution.model_dump_json(indent=2))
    if vroom_out is not None:
        vroom_out.write_text(json.dumps(solution_to_vroom(problem, solution), indent=2))
    if map_file is not None:
        from routing.mapview import render

        map_file.write_text(render(problem, solution), encoding="utf-8")
        console.print(f"map: {map_file}")


def show(console: Console, solution: Solution) -> None:
    table = Table(
        title=f"{solution.problem}: {solution.distance_m / 1000:,.1f} km in {len(solution.routes)} routes"
    )
    for column in ("vehicle", "stops", "dumps", "most carried", "km", "hours"):
        table.add_column(column)
    for r in solution.routes:
        dumps = sum(v.kind == "facility" for v in r.visits)
        table.add_row(
            r.vehicle,
            str(len(r.stops)),
            str(dumps),
            str(r.load),
            f"{r.distance_m / 1000:.1f}",
            f"{r.duration_s / 3600:.2f}",
        )
    console.print(table)
