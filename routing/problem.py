"""A day's collection problem and its solution, as values (JSON in and out)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from core.errors import InvalidInput
from core.models import Frozen, Location


class Depot(Frozen):
    id: str
    location: Location | None = None


class Facility(Frozen):
    """Where a full truck unloads: a landfill, transfer or sorting station."""

    id: str
    location: Location | None = None
    unload_cost_m: float = Field(
        default=2000.0, ge=0, description="what a visit costs, in metres of driving (unloading time)"
    )
    unload_s: float = Field(default=900.0, ge=0, description="time to weigh in and tip a load")
    opening_s: tuple[int, int] | None = Field(
        default=None, description="open from, until: seconds after the shift starts (all day when None)"
    )


class Break(Frozen):
    """A pause the driver must take, starting within a window (seconds after the shift starts)."""

    id: str = "lunch"
    earliest_s: int = Field(ge=0)
    latest_s: int = Field(ge=0)
    duration_s: int = Field(gt=0, le=4 * 3600)

    @model_validator(mode="after")
    def _window(self) -> Break:
        if self.latest_s < self.earliest_s:
            raise ValueError(
                f"break {self.id!r}: latest_s ({self.latest_s}) is before earliest_s ({self.earliest_s})"
            )
        return self


class Vehicle(Frozen):
    id: str
    capacity: int = Field(gt=0, description="litres, or the instance's units")
    depot: str
    shift_s: int = Field(default=24 * 3600, gt=0, description="longest working day, depot to depot")
    fixed_cost_m: float = Field(
        default=0.0,
        ge=0,
        description="what taking this truck out costs, in metres: fewer trucks when it pays",
    )
    breaks: tuple[Break, ...] = Field(
        default=(), description="e.g. lunch: 30 minutes between 11:00 and 13:00"
    )
    # mid-day (a re-plan): where the truck is, since when, and what it carries; it still ends at `depot`
    start_at: str | None = Field(
        default=None,
        description="the depot (or place listed among depots) it sets off from; its own when None",
    )
    start_s: int = Field(default=0, ge=0, description="when it sets off: seconds after the shift starts")
    start_load: int = Field(default=0, ge=0, description="what it carries already")


class Stop(Frozen):
    """A bin, or bins at one place, to empty."""

    id: str
    location: Location | None = None
    demand: int = Field(ge=0)
    service_time_s: float = Field(default=0.0, ge=0)
    penalty_m: float | None = Field(
        default=None, ge=0, description="optional stop: left out when serving it costs more (metres)"
    )
    time_window: tuple[int, int] | None = Field(
        default=None, description="arrive from, until: seconds after the shift starts"
    )


class Problem(Frozen):
    """Places are indexed: depots, then facilities, then stops, in the order given (the matrix's)."""

    name: str = "problem"
    depots: tuple[Depot, ...] = Field(min_length=1)
    facilities: tuple[Facility, ...] = ()
    vehicles: tuple[Vehicle, ...] = Field(min_length=1)
    stops: tuple[Stop, ...]
    distance_m: tuple[tuple[float, ...], ...] | None = None
    duration_s: tuple[tuple[float, ...], ...] | None = Field(
        default=None, description="driving seconds between places (by road); else distance at `speed_kmh`"
    )
    speed_kmh: float = Field(default=30.0, gt=0, description="average driving speed between stops")

    def drive_s(self, a: int, b: int) -> float:
        """Seconds of driving from place `a` to place `b`."""
        if self.duration_s is not None:
            return self.duration_s[a][b]
        assert self.distance_m is not None
        return self.distance_m[a][b] * 3.6 / self.speed_kmh

    def driving_s(self) -> np.ndarray:
        """Seconds of driving between every pair of places: the duration matrix, or distance at speed."""
        if self.duration_s is not None:
            return np.asarray(self.duration_s, dtype=float)
        assert self.distance_m is not None
        return np.asarray(self.distance_m, dtype=float) * 3.6 / self.speed_kmh

    @model_validator(mode="after")
    def _consistent(self) -> Problem:
        depots = {d.id for d in self.depots}
        for v in self.vehicles:
            if v.depot not in depots:
                raise ValueError(f"vehicle {v.id!r} starts at unknown depot {v.depot!r}")
            if v.start_at is not None and v.start_at not in depots:
                raise ValueError(f"vehicle {v.id!r} sets off from unknown place {v.start_at!r}")
            if v.start_load > v.capacity:
                raise ValueError(f"vehicle {v.id!r} carries {v.start_load}, more than its capacity")
            if v.start_s >= v.shift_s:
                raise ValueError(
                    f"vehicle {v.id!r} sets off at {v.start_s} s, after its shift ({v.shift_s} s)"
                )
        size = len(self.depots) + len(self.facilities) + len(self.stops)
        for name, matrix in (("distance", self.distance_m), ("duration", self.duration_s)):
            if matrix is not None and (len(matrix) != size or any(len(row) != size for row in matrix)):
                raise ValueError(f"the {name} matrix must be {size} x {size}: depots, facilities, then stops")
        return self

    def check_feasible(self) -> None:
        """Refuse, naming it, what no plan can serve."""
        largest = max(v.capacity for v in self.vehicles)
        longest = max(v.shift_s for v in self.vehicles)
        base = len(self.depots) + len(self.facilities)
        seconds = (
            self.driving_s()
            if self.distance_m is not None and any(s.time_window for s in self.stops)
            else None
        )
        for n, stop in enumerate(self.stops):
            if stop.demand > largest:
                raise InvalidInput(
                    f"stop {stop.id!r} needs {stop.demand}, more than any vehicle carries ({largest})"
                )
            if stop.time_window is not None:
                start, end = stop.time_window
                drive = (
                    min(float(seconds[h][base + n]) for h in range(len(self.depots)))
                    if seconds is not None
                    else 0.0
                )
                if end < start or end < drive or start > longest:
                    raise InvalidInput(
                        f"stop {stop.id!r} cannot be reached within its time window {start}-{end} s "
                        f"(the drive from the depot takes {drive:.0f} s, shifts last {longest} s)"
                    )
        for facility in self.facilities:
            if facility.opening_s is not None and facility.opening_s[1] <= max(0, facility.opening_s[0]):
                raise InvalidInput(f"facility {facility.id!r} is closed all day ({facility.opening_s})")
        for v in self.vehicles:
            for b in v.breaks:
                if b.earliest_s + b.duration_s > v.shift_s:
                    raise InvalidInput(f"vehicle {v.id!r}: break {b.id!r} does not fit in its shift")


class Visit(Frozen):
    kind: Literal["stop", "facility"]
    id: str
    load: int  # carried when leaving: 0 after a facility
    arrival_s: int = 0  # seconds after the shift's start


class Route(Frozen):
    """One vehicle's day in order, from its depot and back; it unloads before it returns."""

    vehicle: str
    visits: tuple[Visit, ...]
    distance_m: float
    duration_s: float = 0.0
    breaks: tuple[tuple[str, int], ...] = Field(default=(), description="(break, its start in s) taken")

    @property
    def stops(self) -> tuple[str, ...]:
        return tuple(v.id for v in self.visits if v.kind == "stop")

    @property
    def load(self) -> int:
        """The most the truck carried at once."""
        return max((v.load for v in self.visits), default=0)


class Solution(Frozen):
    problem: str
    routes: tuple[Route, ...]
    distance_m: float
    dropped: tuple[str, ...] = ()
    solve_s: float
