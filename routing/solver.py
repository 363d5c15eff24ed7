"""The one module that speaks OR-Tools: capacitated routing with trips to disposal facilities.

Matrices are registered in C++ (RegisterTransitMatrix), not as Python callbacks. A full truck
unloads at a facility and goes on: each facility has optional copies in the model (OR-Tools'
cvrp_reload pattern) whose visit resets the load. Each visit costs its unloading, or zero-cost
copies get visited for nothing wherever a facility lies on a shortest path. Every route ends
unloaded: the last dump is priced into the arcs back to the depot (forcing an empty truck with a
cumul constraint leaves OR-Tools no first solution). Optional stops carry a penalty: left out
(`dropped`) when serving them costs more. Time windows, facility opening hours, drivers' breaks,
several depots, and trucks that set off mid-day from where they are with what they carry (a
re-plan) are dimensions and start nodes of the same model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from core.errors import InvalidInput
from routing.problem import Facility, Problem, Route, Solution, Visit


@dataclass(frozen=True)
class _Layout:
    """OR-Tools nodes: the depots, then facility copies, then stops; `origin` maps to the matrix."""

    origin: list[int]
    facility_of: dict[int, Facility]
    stop_base: int


def _layout(problem: Problem) -> _Layout:
    depot_count, facility_count = len(problem.depots), len(problem.facilities)
    smallest = min(v.capacity for v in problem.vehicles)
    copies = math.ceil(sum(s.demand for s in problem.stops) / smallest) + len(problem.vehicles)
    origin, facility_of = list(range(depot_count)), {}
    for f, facility in enumerate(problem.facilities):
        for _ in range(copies):
            facility_of[len(origin)] = facility
            origin.append(depot_count + f)
    stop_base = len(origin)
    origin += [depot_count + facility_count + s for s in range(len(problem.stops))]
    return _Layout(origin, facility_of, stop_base)


def _dump_home(
    problem: Problem, d: tuple[tuple[float, ...], ...], i: int, depot: int = 0
) -> tuple[float, int | None]:
    """From matrix place `i` home to `depot` by way of the best facility: (cost, facility)."""
    if not problem.facilities:
        return d[i][depot], None
    base = len(problem.depots)
    return min(
        (d[i][base + f] + facility.unload_cost_m + d[base + f][depot], f)
        for f, facility in enumerate(problem.facilities)
    )


def _home(problem: Problem, d: np.ndarray, depot: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For every matrix place: the cost home to `depot` by way of its best facility, and which one."""
    if not problem.facilities:
        return d[:, depot], np.full(len(d), -1)
    base = len(problem.depots)
    via = np.stack(
        [
            d[:, base + f] + facility.unload_cost_m + d[base + f, depot]
            for f, facility in enumerate(problem.facilities)
        ],
        axis=1,
    )
    best = via.argmin(axis=1)
    return via[np.arange(len(d)), best], best


def _nodes(problem: Problem, layout: _Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the distance matrix, each node's matrix place, which nodes are not facility copies)."""
    assert problem.distance_m is not None
    d = np.asarray(problem.distance_m, dtype=float)
    at = np.asarray(layout.origin)
    plain = np.ones(len(at), dtype=bool)
    plain[list(layout.facility_of)] = False
    return d, at, plain


def _integers(matrix: np.ndarray) -> list[list[int]]:
    """An integer matrix over OR-Tools nodes, zero on the diagonal, as RegisterTransitMatrix takes it."""
    np.fill_diagonal(matrix, 0)
    return np.rint(matrix).astype(np.int64).tolist()  # type: ignore[no-any-return]


def _costs(problem: Problem, layout: _Layout, depot: int = 0) -> list[list[int]]:
    """Metres between nodes for trucks of `depot`; a facility copy costs its unloading; the way home
    goes by a facility."""
    d, at, plain = _nodes(problem, layout)
    cost = d[np.ix_(at, at)]
    for node, facility in layout.facility_of.items():
        cost[:, node] += facility.unload_cost_m
    home, _ = _home(problem, d, depot)
    cost[plain, depot] = home[at[plain]]
    return _integers(cost)


def _times(problem: Problem, layout: _Layout, depot: int = 0) -> list[list[int]]:
    """Seconds from leaving one node's work to the next node: its service or unloading, then driving."""
    d, at, plain = _nodes(problem, layout)
    drive, base = problem.driving_s(), len(problem.depots)
    work = np.zeros(len(at))
    for node, facility in layout.facility_of.items():
        work[node] = facility.unload_s
    for s, stop in enumerate(problem.stops):
        work[layout.stop_base + s] = stop.service_time_s
    seconds = work[:, None] + drive[np.ix_(at, at)]
    if problem.facilities:
        _, best = _home(problem, d, depot)
        rows = np.flatnonzero(plain)
        f = best[at[rows]]
        unload = np.array([facility.unload_s for facility in problem.facilities])
        seconds[rows, depot] = work[rows] + drive[at[rows], base + f] + drive[base + f, depot] + unload[f]
    return _integers(seconds)


def solve(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    on_solution: Callable[[int], None] | None = None,
    warm_start: Solution | None = None,
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION",
    solution_limit: int | None = None,
) -> Solution:
    """The best plan found within `time_limit_s`; `on_solution` hears each better plan's cost.
    `solution_limit`: stop after that many plans instead (repeatable, where the clock is not).

    `warm_start`: a previous plan (yesterday's, or before a re-plan) to start the search from; its
    stops that are gone are skipped, new ones are inserted by the search.
    """
    problem.check_feasible()
    if problem.distance_m is None:
        raise InvalidInput(f"problem {problem.name!r} has no distance matrix")
    started = time.perf_counter()
    layout = _layout(problem)
    depot_of = {dp.id: n for n, dp in enumerate(problem.depots)}
    homes = [depot_of[v.depot] for v in problem.vehicles]
    starts = [depot_of[v.start_at or v.depot] for v in problem.vehicles]
    manager = pywrapcp.RoutingIndexManager(len(layout.origin), len(problem.vehicles), starts, homes)
    model = pywrapcp.RoutingModel(manager)
    # each depot its own matrices: the way home (by a facility) leads to that depot
    costs = {h: model.RegisterTransitMatrix(_costs(problem, layout, h)) for h in sorted(set(homes))}
    times = {h: model.RegisterTransitMatrix(_times(problem, layout, h)) for h in sorted(set(homes))}
    for k, h in enumerate(homes):
        model.SetArcCostEvaluatorOfVehicle(costs[h], k)
    for k, vehicle in enumerate(problem.vehicles):
        model.SetFixedCostOfVehicle(round(vehicle.fixed_cost_m), k)
    largest = max(v.capacity for v in problem.vehicles)
    transit = [0] * len(layout.origin)
    for node in layout.facility_of:
        transit[node] = -largest  # unloading: the slack below brings the load back to zero
    for s, stop in enumerate(problem.stops):
        transit[layout.stop_base + s] = stop.demand
    model.AddDimensionWithVehicleCapacity(
        model.RegisterUnaryTransitVector(transit),
        largest,  # slack, used only at facilities
        [v.capacity for v in problem.vehicles],
        False,  # a truck leaves the depot empty, or mid-day with what it carries
        "load",
    )
    load = model.GetDimensionOrDie("load")
    for k, vehicle in enumerate(problem.vehicles):
        load.CumulVar(model.Start(k)).SetValue(vehicle.start_load)
    windows = (
        any(s.time_window for s in problem.stops)
        or any(f.opening_s for f in problem.facilities)
        or any(v.breaks for v in problem.vehicles)
    )
    longest = max(v.shift_s for v in problem.vehicles)
    model.AddDimensionWithVehicleTransitAndCapacity(
        [times[h] for h in homes],
        longest if windows else 0,  # waiting: where a window makes a truck early, and for breaks
        [v.shift_s for v in problem.vehicles],
        False,  # the shift starts at zero; a re-plan's trucks set off later
        "time",
    )
    clock = model.GetDimensionOrDie("time")
    for k, vehicle in enumerate(problem.vehicles):
        clock.CumulVar(model.Start(k)).SetValue(vehicle.start_s)
    for s, stop in enumerate(problem.stops):
        if stop.time_window is not None:
            clock.CumulVar(manager.NodeToIndex(layout.stop_base + s)).SetRange(*stop.time_window)
    for node, facility in layout.facility_of.items():
        if facility.opening_s is not None:
            clock.CumulVar(manager.NodeToIndex(node)).SetRange(
                max(0, facility.opening_s[0]), facility.opening_s[1]
            )
    _last_unloading(problem, layout, model, manager, clock, homes)
    _breaks(problem, layout, model, manager, clock)
    for node in range(len(problem.depots), len(layout.origin)):
        index = manager.NodeToIndex(node)
        if node in layout.facility_of:
            model.AddDisjunction([index], 0)  # a facility copy is visited only when needed
            continue
        load.SlackVar(index).SetValue(0)
        penalty = problem.stops[node - layout.stop_base].penalty_m
        if penalty is not None:
            model.AddDisjunction([index], round(penalty))
    if on_solution is not None:
        model.AddAtSolutionCallback(lambda: on_solution(model.CostVar().Max()))
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    parameters.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    if solution_limit is not None:
        parameters.solution_limit = solution_limit
    start = _initial(problem, layout, model, manager, warm_start) if warm_start is not None else None
    if start is not None:
        assignment = model.SolveFromAssignmentWithParameters(start, parameters)
    else:
        assignment = model.SolveWithParameters(parameters)
    left = time_limit_s - (time.perf_counter() - started)
    if (
        assignment is None
        and model.status() == routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL
        and left > 0
    ):
        # insertion never adds a trip to the tip on its own (an optional node that costs): where a
        # route can end only by one (the tip on its way home closed by then), build paths instead
        parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
        parameters.time_limit.FromMilliseconds(int(left * 1000))
        assignment = model.SolveWithParameters(parameters)
    if assignment is None:
        raise InvalidInput(f"no plan serves problem {problem.name!r} (solver status {model.status()})")
    routes = tuple(
        r
        for k in range(len(problem.vehicles))
        if (r := _route(problem, layout, model, manager, assignment, k))
    )
    dropped = tuple(
        stop.id
        for s, stop in enumerate(problem.stops)
        if assignment.Value(model.NextVar(manager.NodeToIndex(layout.stop_base + s)))
        == manager.NodeToIndex(layout.stop_base + s)
    )
    return Solution(
        problem=problem.name,
        routes=routes,
        dropped=dropped,
        distance_m=sum(r.distance_m for r in routes),
        solve_s=time.perf_counter() - started,
    )


def _last_unloading(
    problem: Problem,
    layout: _Layout,
    model: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    clock: pywrapcp.RoutingDimension,
    homes: list[int],
) -> None:
    """The last unloading is priced into the way home, not a node, so its tip's closing is kept here.

    Every truck is home in time to have tipped before the latest closing: exact with one tip. With
    tips that close at different times, a stop whose way home goes by a tip closing earlier than
    that may be a route's last only while that tip is still open; else a truck ends by a visit to
    another tip (a node, whose own hours hold)."""
    if not any(f.opening_s for f in problem.facilities):
        return
    d, at, _ = _nodes(problem, layout)
    drive, base = problem.driving_s(), len(problem.depots)
    solver, longest = model.solver(), max(v.shift_s for v in problem.vehicles) + 1
    for h in sorted(set(homes)):
        ends = [model.End(k) for k, home in enumerate(homes) if home == h]
        latest = {  # the time home of a truck that tips at each tip just before its closing
            f: facility.opening_s[1] + facility.unload_s + drive[base + f, h]
            for f, facility in enumerate(problem.facilities)
            if facility.opening_s is not None
        }
        bound = max(latest.values()) if len(latest) == len(problem.facilities) else None
        for k, home in enumerate(homes):
            truck = problem.vehicles[k]  # one that sets off after the closing stays home
            if bound is not None and home == h:
                clock.CumulVar(model.End(k)).SetMax(max(truck.start_s, min(truck.shift_s, math.floor(bound))))
        _, best = _home(problem, d, h)
        for s, stop in enumerate(problem.stops):
            node = layout.stop_base + s
            f = int(best[at[node]])
            if f not in latest or (bound is not None and latest[f] >= bound):
                continue  # its tip keeps no hours, or the truck's own bound already keeps them
            closes = problem.facilities[f].opening_s[1]  # type: ignore[index]
            by = math.floor(closes - stop.service_time_s - drive[at[node], base + f])
            index = manager.NodeToIndex(node)
            last = solver.IsMemberVar(model.NextVar(index), ends)
            # when last: leave it in time to reach the tip open; otherwise bound only by the shift
            solver.Add(clock.CumulVar(index) <= by + (1 - last) * longest)


def _initial(
    problem: Problem,
    layout: _Layout,
    model: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    previous: Solution,
) -> pywrapcp.Assignment | None:
    """A previous plan as OR-Tools routes over this problem's nodes (each unloading trip its own facility
    copy); None when it does not fit, and the search starts afresh."""
    node_of = {stop.id: layout.stop_base + s for s, stop in enumerate(problem.stops)}
    copies: dict[str, list[int]] = {}
    for node, facility in layout.facility_of.items():
        copies.setdefault(facility.id, []).append(node)
    by_vehicle = {r.vehicle: r for r in previous.routes}
    routes = []
    for vehicle in problem.vehicles:
        nodes = []
        route = by_vehicle.get(vehicle.id)
        for visit in route.visits if route else ():
            if visit.kind == "stop" and visit.id in node_of:
                nodes.append(node_of.pop(visit.id))
            elif (
                visit.kind == "facility"
                and copies.get(visit.id)
                and nodes
                and nodes[-1] not in layout.facility_of
            ):
                nodes.append(copies[visit.id].pop())
        while nodes and nodes[-1] in layout.facility_of:  # the last dump is priced into the way home
            nodes.pop()
        routes.append([manager.NodeToIndex(node) for node in nodes])
    return model.ReadAssignmentFromRoutes(routes, True)


def _breaks(
    problem: Problem,
    layout: _Layout,
    model: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    clock: pywrapcp.RoutingDimension,
) -> None:
    """Drivers' breaks as OR-Tools break intervals: taken between visits, never inside one."""
    if not any(v.breaks for v in problem.vehicles):
        return
    work = [0] * manager.GetNumberOfIndices()
    for node, facility in layout.facility_of.items():
        work[manager.NodeToIndex(node)] = round(facility.unload_s)
    for s, stop in enumerate(problem.stops):
        work[manager.NodeToIndex(layout.stop_base + s)] = round(stop.service_time_s)
    solver = model.solver()
    for k, vehicle in enumerate(problem.vehicles):
        intervals = [
            solver.FixedDurationIntervalVar(
                b.earliest_s, b.latest_s, b.duration_s, False, f"{vehicle.id}:{b.id}"
            )
            for b in vehicle.breaks
        ]
        if intervals:
            clock.SetBreakIntervalsOfVehicle(intervals, k, work)


def _route(
    problem: Problem,
    layout: _Layout,
    model: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    assignment: pywrapcp.Assignment,
    k: int,
) -> Route | None:
    d = problem.distance_m
    assert d is not None
    clock = model.GetDimensionOrDie("time")
    home = manager.IndexToNode(model.End(k))  # the vehicle's depot: node and matrix place alike
    vehicle = problem.vehicles[k]
    visits, places, carried = [], [manager.IndexToNode(model.Start(k))], vehicle.start_load
    index = assignment.Value(model.NextVar(model.Start(k)))
    while not model.IsEnd(index):
        node = manager.IndexToNode(index)
        at = assignment.Value(clock.CumulVar(index))
        if node in layout.facility_of:
            carried = 0
            visits.append(Visit(kind="facility", id=layout.facility_of[node].id, load=0, arrival_s=at))
        else:
            stop = problem.stops[node - layout.stop_base]
            carried += stop.demand
            visits.append(Visit(kind="stop", id=stop.id, load=carried, arrival_s=at))
        places.append(layout.origin[node])
        index = assignment.Value(model.NextVar(index))
    if not visits and not vehicle.start_load and places[0] == home:
        return None  # not taken out
    _, final = _dump_home(problem, d, places[-1], home)
    end = assignment.Value(clock.CumulVar(model.End(k)))
    if final is not None and (not visits or visits[-1].kind == "stop"):  # as the arc home was priced
        facility = problem.facilities[final]
        arrival = round(end - facility.unload_s - problem.drive_s(len(problem.depots) + final, home))
        visits.append(Visit(kind="facility", id=facility.id, load=0, arrival_s=arrival))
        places.append(len(problem.depots) + final)
    places.append(home)
    driven = sum(d[a][b] for a, b in pairwise(places))
    taken = []
    if vehicle.breaks:
        intervals = assignment.IntervalVarContainer()
        for i in range(intervals.Size()):
            element = intervals.Element(i)
            owner, _, name = element.Var().Name().partition(":")
            if owner == vehicle.id and element.PerformedValue():
                taken.append((name, int(element.StartValue())))
    return Route(
        vehicle=vehicle.id,
        visits=tuple(visits),
        distance_m=driven,
        duration_s=end,
        breaks=tuple(sorted(taken, key=lambda b: b[1])),
    )
