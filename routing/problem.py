"""A day's collection problem and its solution, as values (JSON in and out)."""

from __future__ import annotations

from pydantic import Field, model_validator

from core.errors import InvalidInput
from core.models import Frozen, Location


class Depot(Frozen):
    id: str
    location: Location | None = None


class Vehicle(Frozen):
    id: str
    capacity: int = Field(gt=0, description="litres, or the instance's units")
    depot: str


class Stop(Frozen):
    """A bin, or bins at one place, to empty."""

    id: str
    location: Location | None = None
    demand: int = Field(ge=0)
    service_time_s: float = Field(default=0.0, ge=0)


class Problem(Frozen):
    """Places are indexed: depots first, then stops, in the order given (the matrix's order)."""

    name: str = "problem"
    depots: tuple[Depot, ...] = Field(min_length=1)
    vehicles: tuple[Vehicle, ...] = Field(min_length=1)
    stops: tuple[Stop, ...]
    distance_m: tuple[tuple[float, ...], ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Problem:
        depots = {d.id for d in self.depots}
        for v in self.vehicles:
            if v.depot not in depots:
                raise ValueError(f"vehicle {v.id!r} starts at unknown depot {v.depot!r}")
        size = len(self.depots) + len(self.stops)
        if self.distance_m is not None and (
            len(self.distance_m) != size or any(len(r) != size for r in self.distance_m)
        ):
            raise ValueError(f"the distance matrix must be {size} x {size}: depots, then stops")
        return self

    def check_feasible(self) -> None:
        """Refuse, naming it, what no plan can serve."""
        largest = max(v.capacity for v in self.vehicles)
        for stop in self.stops:
            if stop.demand > largest:
                raise InvalidInput(
                    f"stop {stop.id!r} needs {stop.demand}, more than any vehicle carries ({largest})"
                )


class Route(Frozen):
    """One vehicle's day: the stops in order, from its depot and back."""

    vehicle: str
    stops: tuple[str, ...]
    load: int
    distance_m: float


class Solution(Frozen):
    problem: str
    routes: tuple[Route, ...]
    distance_m: float
    dropped: tuple[str, ...] = ()
    solve_s: float
