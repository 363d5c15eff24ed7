"""The one module that speaks OR-Tools: capacitated routing with trips to disposal facilities.

Matrices are registered in C++ (RegisterTransitMatrix), not as Python callbacks. A full truck
unloads at a facility and goes on: each facility has optional copies in the model (OR-Tools'
cvrp_reload pattern) whose visit resets the load. Each visit costs its unloading, or zero-cost
copies get visited for nothing wherever a facility lies on a shortest path. Every route ends
unloaded: the last dump is priced into the arcs back to the depot (forcing an empty truck with a
cumul constraint leaves OR-Tools no first solution). Not yet here: time windows, breaks,
several depots (the route-optimiser issue). Optional stops carry a penalty: left out (`dropped`)
when serving them costs more.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from core.errors import InvalidInput
from routing.problem import Facility, Problem, Route, Solution, Visit


@dataclass(frozen=True)
class _Layout:
    """OR-Tools nodes: 0 the depot, then facility copies, then stops; `origin` maps to the matrix."""

    origin: list[int]
    facility_of: dict[int, Facility]
    stop_base: int


def _layout(problem: Problem) -> _Layout:
    depot_count, facility_count = len(problem.depots), len(problem.facilities)
    smallest = min(v.capacity for v in problem.vehicles)
    copies = math.ceil(sum(s.demand for s in problem.stops) / smallest) + len(problem.vehicles)
    origin, facility_of = [0], {}
    for f, facility in enumerate(problem.facilities):
        for _ in range(copies):
            facility_of[len(origin)] = facility
            origin.append(depot_count + f)
    stop_base = len(origin)
    origin += [depot_count + facility_count + s for s in range(len(problem.stops))]
    return _Layout(origin, facility_of, stop_base)


def _dump_home(problem: Problem, d: tuple[tuple[float, ...], ...], i: int) -> tuple[float, int | None]:
    """From matrix place `i` home to the depot by way of the best facility: (cost, facility)."""
    if not problem.facilities:
        return d[i][0], None
    base = len(problem.depots)
    return min(
        (d[i][base + f] + facility.unload_cost_m + d[base + f][0], f)
        for f, facility in enumerate(problem.facilities)
    )


def _square(size: int, cell: Callable[[int, int], float]) -> list[list[int]]:
    """An integer matrix over OR-Tools nodes; zero on the diagonal."""
    return [[0 if a == b else round(cell(a, b)) for b in range(size)] for a in range(size)]


def _costs(problem: Problem, layout: _Layout) -> list[list[int]]:
    d = problem.distance_m
    assert d is not None
    at, facility_of = layout.origin, layout.facility_of

    def cost(a: int, b: int) -> float:
        if b == 0 and a not in facility_of:
            return _dump_home(problem, d, at[a])[0]
        return d[at[a]][at[b]] + (facility_of[b].unload_cost_m if b in facility_of else 0.0)

    return _square(len(at), cost)


def _times(problem: Problem, layout: _Layout) -> list[list[int]]:
    """Seconds from leaving one node's work to the next node: its service or unloading, then driving."""
    d = problem.distance_m
    assert d is not None
    at, per_m, base = layout.origin, 3.6 / problem.speed_kmh, len(problem.depots)
    work = [0.0] * len(at)
    for node, facility in layout.facility_of.items():
        work[node] = facility.unload_s
    for s, stop in enumerate(problem.stops):
        work[layout.stop_base + s] = stop.service_time_s

    def seconds(a: int, b: int) -> float:
        if b == 0 and a not in layout.facility_of and problem.facilities:
            _, f = _dump_home(problem, d, at[a])
            assert f is not None
            return work[a] + (d[at[a]][base + f] + d[base + f][0]) * per_m + problem.facilities[f].unload_s
        return work[a] + d[at[a]][at[b]] * per_m

    return _square(len(at), seconds)


def solve(
    problem: Problem, *, time_limit_s: float = 10.0, on_solution: Callable[[int], None] | None = None
) -> Solution:
    """The best plan found within `time_limit_s`; `on_solution` hears each better plan's cost."""
    problem.check_feasible()
    if problem.distance_m is None:
        raise InvalidInput(f"problem {problem.name!r} has no distance matrix")
    if len(problem.depots) != 1:
        raise InvalidInput("one depot for now: several depots are the optimiser issue's work")
    started = time.perf_counter()
    layout = _layout(problem)
    manager = pywrapcp.RoutingIndexManager(len(layout.origin), len(problem.vehicles), 0)
    model = pywrapcp.RoutingModel(manager)
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(_costs(problem, layout)))
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
        True,  # every truck leaves the depot empty
        "load",
    )
    load = model.GetDimensionOrDie("load")
    model.AddDimensionWithVehicleCapacity(
        model.RegisterTransitMatrix(_times(problem, layout)),
        0,  # no waiting: there are no time windows yet
        [v.shift_s for v in problem.vehicles],
        True,  # the shift starts at zero
        "time",
    )
    for node in range(1, len(layout.origin)):
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
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    parameters.time_limit.FromMilliseconds(int(time_limit_s * 1000))
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
    visits, places, carried = [], [0], 0
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
    if not visits:
        return None
    _, final = _dump_home(problem, d, places[-1])
    end = assignment.Value(clock.CumulVar(model.End(k)))
    if final is not None and visits[-1].kind == "stop":
        facility = problem.facilities[final]
        arrival = round(end - facility.unload_s - d[len(problem.depots) + final][0] * 3.6 / problem.speed_kmh)
        visits.append(Visit(kind="facility", id=facility.id, load=0, arrival_s=arrival))
        places.append(len(problem.depots) + final)
    places.append(0)
    driven = sum(d[a][b] for a, b in pairwise(places))
    return Route(vehicle=problem.vehicles[k].id, visits=tuple(visits), distance_m=driven, duration_s=end)
