"""A city's day: 2,000 bins, their trucks and the disposal site, routed at once; time and memory.

The city is bench/policy.py's, grown to 2,000 bins around Kalmar's stations, every bin due (the
heaviest day there is), 10 trucks of 40,000 l with 10-hour shifts and the tip at Moskogen. Reported:
the time to build the matrices, to the first solution and in all, the km, the trucks used, the
unloading trips, and the process's peak memory. The reference, in the same run and with the same
budget: OR-Tools alone (parallel cheapest insertion, then guided local search), which our ruin and
recreate starts from. No VROOM here: it has no trips to unload, and a day's waste is several
truckloads (bench/routing.py compares the two on CVRPLIB).

    python -m bench.cityday [--quick] [--bins N] [--time-limit-s S] [--tip-hours 06:30-15:00]

`--tip-hours` gives the tip opening hours (the trucks set off at 06:00): our ruin and recreate keeps
them (the last unloading of each route before the closing), so the reference is the same.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from rich.console import Console

from bench.policy import DEPOT, MOSKOGEN, city
from core.models import Bin
from routing.decompose import solve_large
from routing.matrix import straight_line
from routing.problem import Depot, Facility, Problem, Stop, Vehicle
from routing.solver import solve

console = Console(stderr=True)


def due_stops(bins: list[Bin]) -> tuple[Stop, ...]:
    """The bins as stops to empty, each 70 % full."""
    return tuple(
        Stop(id=b.id, location=b.location, demand=round(b.capacity_l * 0.7), service_time_s=b.service_time_s)
        for b in bins
    )


def _hours(text: str) -> tuple[int, int]:
    """'06:30-15:00' as seconds after the trucks set off at 06:00."""
    try:
        opens, closes = ((int(x[:2]) - 6) * 3600 + int(x[3:5]) * 60 for x in text.split("-"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: give HH:MM-HH:MM, e.g. 06:30-15:00") from exc
    return opens, closes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="500 bins, 20 s")
    parser.add_argument("--bins", type=int, default=None)
    parser.add_argument("--time-limit-s", type=float, default=None)
    parser.add_argument(
        "--tip-hours", type=_hours, default=None, help="the tip open from-to, e.g. 06:30-15:00"
    )
    args = parser.parse_args()
    size = args.bins or (500 if args.quick else 2000)
    limit = args.time_limit_s or (20.0 if args.quick else 60.0)
    bins = city(size)
    started = time.perf_counter()
    located = [DEPOT, MOSKOGEN, *(b.location for b in bins)]
    problem = Problem(
        name=f"city-{size}",
        depots=(Depot(id="depot", location=DEPOT),),
        facilities=(Facility(id="moskogen", location=MOSKOGEN, unload_s=900, opening_s=args.tip_hours),),
        vehicles=tuple(
            Vehicle(id=f"truck-{k}", capacity=40_000, depot="depot", shift_s=10 * 3600) for k in range(1, 11)
        ),
        stops=due_stops(bins),
        distance_m=straight_line(located),
    )
    built = time.perf_counter() - started
    first: list[float] = []

    def heard(_: int) -> None:
        if not first:
            first.append(time.perf_counter())

    solution = solve_large(problem, time_limit_s=limit, on_solution=heard)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"ours: {solution.distance_m / 1000:,.1f} km; now OR-Tools alone, {limit:.0f} s")
    alone = solve(problem, time_limit_s=limit)
    summary = {
        "bins": size,
        "km": round(solution.distance_m / 1000, 1),
        "trucks": len(solution.routes),
        "unloading_trips": sum(v.kind == "facility" for r in solution.routes for v in r.visits),
        "build_s": round(built, 2),
        "first_solution_s": round(first[0] - started - built, 2) if first else None,
        "solve_s": round(solution.solve_s, 1),
        "peak_memory_mb": round(peak_mb),
        "ortools_alone_km": round(alone.distance_m / 1000, 1),
        "km_ratio": round(solution.distance_m / alone.distance_m, 3),
        "tip_hours_s": args.tip_hours,
        "tip_closings_kept": all(
            v.arrival_s <= args.tip_hours[1]
            for r in solution.routes
            for v in r.visits
            if v.kind == "facility"
        )
        if args.tip_hours
        else None,
        "quick": args.quick,
    }
    console.print(summary)
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
