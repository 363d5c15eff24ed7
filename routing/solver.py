"""The one module that speaks OR-Tools: capacitated routing over an explicit distance matrix.

Matrices are registered in C++ (RegisterTransitMatrix), not as Python callbacks. Not yet here:
time windows, breaks, disposal trips, optional stops (see the route-optimiser issue).
"""

from __future__ import annotations

import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from core.errors import InvalidInput
from routing.problem import Problem, Route, Solution


def solve(problem: Problem, *, time_limit_s: float = 10.0) -> Solution:
    problem.check_feasible()
    if problem.distance_m is None:
        raise InvalidInput(f"problem {problem.name!r} has no distance matrix")
    if len(problem.depots) != 1:
        raise InvalidInput("one depot for now: several depots are the optimiser issue's work")
    started = time.perf_counter()
    size = len(problem.stops) + 1
    manager = pywrapcp.RoutingIndexManager(size, len(problem.vehicles), 0)
    model = pywrapcp.RoutingModel(manager)
    matrix = [[round(d) for d in row] for row in problem.distance_m]
    distance = model.RegisterTransitMatrix(matrix)
    model.SetArcCostEvaluatorOfAllVehicles(distance)
    demand = model.RegisterUnaryTransitVector([0, *(s.demand for s in problem.stops)])
    model.AddDimensionWithVehicleCapacity(
        demand,
        0,  # no slack: a load is what it is
        [v.capacity for v in problem.vehicles],
        True,  # every truck leaves the depot empty
        "load",
    )
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    parameters.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    assignment = model.SolveWithParameters(parameters)
    if assignment is None:
        raise InvalidInput(f"no plan serves problem {problem.name!r} (solver status {model.status()})")
    routes = []
    for k, vehicle in enumerate(problem.vehicles):
        index, stops, load, length = model.Start(k), [], 0, 0.0
        while not model.IsEnd(index):
            following = assignment.Value(model.NextVar(index))
            node = manager.IndexToNode(index)
            if node:
                stops.append(problem.stops[node - 1])
                load += problem.stops[node - 1].demand
            length += matrix[node][manager.IndexToNode(following)]
            index = following
        if stops:
            routes.append(
                Route(vehicle=vehicle.id, stops=tuple(s.id for s in stops), load=load, distance_m=length)
            )
    return Solution(
        problem=problem.name,
        routes=tuple(routes),
        distance_m=sum(r.distance_m for r in routes),
        solve_s=time.perf_counter() - started,
    )
