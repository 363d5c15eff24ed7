"""The search's entry point (`solve_large`): our ruin and recreate from OR-Tools' plan where it keeps
every constraint (routing/lns.py), else OR-Tools alone, and large problems in parts: a whole plan
first, then, again and again, a few neighbouring routes re-solved on their own and kept when they
come out cheaper.

OR-Tools' guided local search converges slowly on a day of a thousand bins: each move is checked
against every route. A part of two or three neighbouring routes (a few hundred stops) is small
enough for the search to converge in seconds, and the parts overlap from one round to the next, so
stops move across the boundaries too (cluster first, route second, re-optimise across boundaries;
POPMUSIC in the literature). Each part keeps its own trucks, so a truck's shift, breaks and
depot stay its own.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np

from core.errors import InvalidInput
from routing import lns
from routing.problem import Problem, Route, Solution
from routing.solver import solve

DECOMPOSE_FROM = 150  # stops: below this one search converges well enough
MIN_ROUTES = 8  # fewer, longer routes: a part of two would be a quarter of the day or more, and one
# search over everything did better (a Monday of 964 bins on 6 trucks: 794 km whole, 838 in parts;
# the city day of 2,000 bins on 10 trucks: 1,191.5 km whole, 1,269.2 in parts)
PART_STOPS = 80  # about how many stops a part holds (X-n513-k21 at 60 s: 80 best of 50 to 250)
FIRST_AT_LEAST_S = 6.0
FIRST_SHARE = 0.3  # of the budget, for the whole plan before the parts
LNS_FIRST_S = 3.0  # OR-Tools' share before the ruin and recreate takes over (at most a fifth of the budget)


def objective(problem: Problem, routes: tuple[Route, ...] | list[Route], dropped: tuple[str, ...]) -> float:
    """What the search minimises, in metres: driving, unloading, the trucks taken out, the stops left."""
    facilities = {f.id: f.unload_cost_m for f in problem.facilities}
    fixed = {v.id: v.fixed_cost_m for v in problem.vehicles}
    penalty = {s.id: s.penalty_m or 0.0 for s in problem.stops}
    return (
        sum(r.distance_m + fixed[r.vehicle] for r in routes)
        + sum(facilities[v.id] for r in routes for v in r.visits if v.kind == "facility")
        + sum(penalty[k] for k in dropped)
    )


def _centre(d: np.ndarray, places: list[int]) -> int:
    """The place of a route closest to all its others (its medoid), by the matrix alone."""
    if len(places) == 1:
        return places[0]
    block = d[np.ix_(places, places)]
    return places[int(block.sum(axis=1).argmin())]


def solve_large(
    problem: Problem,
    *,
    time_limit_s: float = 60.0,
    seed: int = 0,
    on_solution: Callable[[int], None] | None = None,
    warm_start: Solution | None = None,
    part_stops: int = PART_STOPS,
    part_s: float | None = None,
    iterations: int | None = None,
) -> Solution:
    """The best plan found within `time_limit_s`, the way that serves `problem` best.

    Where our ruin and recreate keeps every constraint (`routing.lns.fits`: no clocks), it improves
    OR-Tools' plan of a few seconds for the rest of the budget. Otherwise OR-Tools alone: one search
    over everything, then parts of neighbouring routes (`part_stops` stops, `part_s` seconds each)
    re-solved within the rest of the budget, each kept when cheaper. Small problems, and days of few
    long routes (more than half a part's stops per truck), go to one search whole.

    `iterations`: a fixed amount of search instead of the clock, so that a `seed` gives the same plan
    every time: OR-Tools' first plan, then that many ruin-and-recreate steps (or, where they do not
    serve, that many OR-Tools plans); `time_limit_s` still caps it."""
    started = time.perf_counter()
    if lns.fits(problem) and problem.stops:
        # OR-Tools' plan, then our ruin and recreate from it (X-n513-k21 at 60 s: 0.3 % instead of 6.4 %)
        problem.check_feasible()  # what no plan can serve is named here, not lost in the fallback below
        try:
            first = solve(
                problem,
                time_limit_s=time_limit_s if iterations else max(min(LNS_FIRST_S, time_limit_s * 0.2), 0.1),
                warm_start=warm_start,
                on_solution=on_solution,
                solution_limit=1 if iterations else None,
            )
        except InvalidInput:  # no first plan in so short a time: the search builds its own
            first = warm_start or Solution(problem=problem.name, routes=(), distance_m=0.0, solve_s=0.0)
        rest = time_limit_s - (time.perf_counter() - started)
        found = lns.improve(
            problem, first, time_limit_s=rest, seed=seed, iterations=iterations, on_solution=on_solution
        )
        return found.model_copy(update={"solve_s": time.perf_counter() - started})
    if (
        len(problem.stops) < max(DECOMPOSE_FROM, part_stops)
        or len(problem.vehicles) < MIN_ROUTES
        or len(problem.stops) / len(problem.vehicles) > part_stops / 2  # long routes: parts of two or more
    ):
        return solve(problem, time_limit_s=time_limit_s, on_solution=on_solution, warm_start=warm_start,
                     solution_limit=iterations)  # fmt: skip
    assert problem.distance_m is not None
    # short budgets need most of it for the first plan (X-n214-k11 at 10 s: 18.2 % with 3 s, 13.9 % with 6)
    first_s = max(time_limit_s * FIRST_SHARE, min(time_limit_s * 0.6, FIRST_AT_LEAST_S))
    first = solve(problem, time_limit_s=first_s, warm_start=warm_start, on_solution=on_solution)
    if len(first.routes) < MIN_ROUTES:
        rest = time_limit_s - (time.perf_counter() - started)
        return solve(problem, time_limit_s=max(0.5, rest), warm_start=first, on_solution=on_solution)
    d = np.asarray(problem.distance_m, dtype=float)
    base = len(problem.depots) + len(problem.facilities)
    place = {s.id: base + n for n, s in enumerate(problem.stops)}
    routes = {r.vehicle: r for r in first.routes}
    dropped = set(first.dropped)
    best = objective(problem, first.routes, first.dropped)
    if on_solution is not None:
        on_solution(round(best))
    rng = random.Random(seed)
    per_part = part_s if part_s is not None else min(3.0, max(1.0, time_limit_s * 0.05))
    version = dict.fromkeys(routes, 0)  # bumped when a route changes: a part of unchanged routes is done
    settled: set[frozenset[tuple[str, int]]] = set()
    queue: list[str] = []
    while time_limit_s - (time.perf_counter() - started) >= per_part * 0.5 and len(routes) >= 2:
        centres = {k: _centre(d, [place[s] for s in r.stops]) for k, r in routes.items() if r.stops}
        if not queue:
            queue = sorted(centres)
            rng.shuffle(queue)
        seed_vehicle = queue.pop()
        if seed_vehicle not in centres:
            continue
        chosen = _part_of(seed_vehicle, centres, routes, d, part_stops)
        key = frozenset((k, version[k]) for k in chosen)
        if key in settled:
            every = (_part_of(v, centres, routes, d, part_stops) for v in centres)
            if all(frozenset((k, version[k]) for k in part) in settled for part in every):
                break  # every part is as good as the search makes it
            continue
        mine = {s for k in chosen for s in routes[k].stops}
        for k in dropped:  # a stop left out goes with the part whose routes pass nearest
            nearest = min(centres, key=lambda v: d[place[k], centres[v]])
            if nearest in chosen:
                mine.add(k)
        part = _part(problem, d, base, chosen, [s for s in problem.stops if s.id in mine])
        before = tuple(routes[k] for k in chosen)
        was = objective(part, before, tuple(k for k in dropped if k in mine))
        budget = min(per_part, time_limit_s - (time.perf_counter() - started))
        try:
            found = solve(part, time_limit_s=budget, warm_start=Solution(
                problem=part.name, routes=before, distance_m=sum(r.distance_m for r in before), solve_s=0.0,
            ))  # fmt: skip
        except InvalidInput:
            settled.add(key)
            continue
        now = objective(part, found.routes, found.dropped)
        if now < was - 0.5:
            for k in chosen:
                routes.pop(k, None)
                version[k] += 1
            routes.update({r.vehicle: r for r in found.routes})  # the part's trucks: versions bumped above
            dropped = (dropped - mine) | set(found.dropped)
            best += now - was
            if on_solution is not None:
                on_solution(round(best))
        else:
            settled.add(key)
    order = [v.id for v in problem.vehicles]
    final = tuple(sorted(routes.values(), key=lambda r: order.index(r.vehicle)))
    return Solution(
        problem=problem.name,
        routes=final,
        dropped=tuple(s.id for s in problem.stops if s.id in dropped),
        distance_m=sum(r.distance_m for r in final),
        solve_s=time.perf_counter() - started,
    )


def _part_of(
    seed: str, centres: dict[str, int], routes: dict[str, Route], d: np.ndarray, part_stops: int
) -> list[str]:
    """The routes nearest `seed`'s (its own first) until they hold `part_stops` stops, at least two."""
    chosen: list[str] = []
    for k in sorted(centres, key=lambda k: d[centres[seed], centres[k]]):
        if len(chosen) >= 2 and sum(len(routes[v].stops) for v in chosen) >= part_stops:
            break
        chosen.append(k)
    return chosen


def _part(problem: Problem, d: np.ndarray, base: int, vehicles: list[str], stops: list) -> Problem:  # type: ignore[type-arg]
    """The sub-problem of some trucks and stops: the same depots and facilities, the matrix cut to fit."""
    index = {s.id: base + n for n, s in enumerate(problem.stops)}
    keep = list(range(base)) + [index[s.id] for s in stops]
    matrix = d[np.ix_(keep, keep)]
    seconds = None if problem.duration_s is None else np.asarray(problem.duration_s)[np.ix_(keep, keep)]
    return problem.model_copy(
        update={
            "name": f"{problem.name}:part",
            "vehicles": tuple(v for v in problem.vehicles if v.id in vehicles),
            "stops": tuple(stops),
            "distance_m": tuple(map(tuple, matrix.tolist())),
            "duration_s": None if seconds is None else tuple(map(tuple, seconds.tolist())),
        }
    )


def _one_of_several(args: tuple[Problem, float, int]) -> Solution | str:
    problem, deadline, seed = args
    try:
        return solve_large(problem, time_limit_s=max(0.5, deadline - time.monotonic()), seed=seed)
    except InvalidInput as exc:
        return str(exc)


def solve_side_by_side(
    problem: Problem, *, time_limit_s: float = 60.0, workers: int = 2, seed: int = 0
) -> Solution:
    """`solve_large` `workers` times at once with other seeds, each in a process of its own (a search runs
    on one core), within the same wall-clock budget (starting the processes included); the cheapest
    plan wins."""
    import multiprocessing

    if workers <= 1:
        return solve_large(problem, time_limit_s=time_limit_s, seed=seed)
    started = time.perf_counter()
    # the monotonic clock is one for every process of a machine, and no one sets it: a wall-clock
    # deadline moved with the clock (a test a year ahead made the workers search for a year)
    deadline = time.monotonic() + time_limit_s
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        found = pool.map(_one_of_several, [(problem, deadline, seed + k) for k in range(workers)])
    plans = [f for f in found if isinstance(f, Solution)]
    if not plans:
        raise InvalidInput(str(found[0]))
    best = min(plans, key=lambda s: objective(problem, s.routes, s.dropped))
    return best.model_copy(update={"solve_s": time.perf_counter() - started})
