"""CVRPLIB instances (.vrp) and best-known solutions (.sol) as problems, through vrplib."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import vrplib

from routing.problem import Depot, Problem, Stop, Vehicle


def load(path: Path) -> Problem:
    """An X-style instance; distances rounded to integers as CVRPLIB's best-known costs assume."""
    instance = vrplib.read_instance(str(path))
    depot = int(instance["depot"][0])
    demand = instance["demand"]
    weights = np.round(instance["edge_weight"])
    order = [depot] + [i for i in range(len(demand)) if i != depot]
    fleet = int(re.search(r"-k(\d+)", path.stem).group(1)) if re.search(r"-k(\d+)", path.stem) else len(order)  # type: ignore[union-attr]
    capacity = int(instance["capacity"])
    return Problem(
        name=path.stem,
        depots=(Depot(id="depot"),),
        vehicles=tuple(Vehicle(id=f"v{k + 1}", capacity=capacity, depot="depot") for k in range(fleet + 2)),
        stops=tuple(Stop(id=str(i), demand=int(demand[i])) for i in order[1:]),
        distance_m=tuple(tuple(float(weights[a][b]) for b in order) for a in order),
    )


def best_known(path: Path) -> float:
    return float(vrplib.read_solution(str(path.with_suffix(".sol")))["cost"])
