"""A re-plan mid-day: trucks set off from where they are, with what they carry, for the rest of the day.

bench/policy.py's Kalmar city; two hours into a 10-hour shift each truck stands at one of the bins with
5,000 to 20,000 l aboard, and the rest of the day's bins are still to collect (tipping at Moskogen).
Ours: `solve_large` (OR-Tools' first plan, then our ruin and recreate, which keeps the trucks' start
places, times and loads). The reference, in the same run and with the same budget: OR-Tools alone,
which served re-plans before. The last line is one JSON object.

    python -m bench.replan [--quick] [--bins N] [--trucks N] [--time-limit-s S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from rich.console import Console

from bench.cityday import due_stops
from bench.policy import DEPOT, MOSKOGEN, city
from routing.decompose import objective, solve_large
from routing.matrix import straight_line
from routing.problem import Depot, Facility, Problem, Vehicle
from routing.solver import solve

console = Console(stderr=True)
SET_OFF_S = 2 * 3600


def replan(size: int, trucks: int) -> Problem:
    """The city's first `size` bins; the trucks found at evenly chosen ones, with 5,000 to 20,000 l aboard."""
    bins = city(size)
    found = [bins[k * len(bins) // trucks + 3] for k in range(trucks)]
    left = [b for b in bins if b not in found]
    now = [Depot(id=f"truck-{k}@now", location=b.location) for k, b in enumerate(found, 1)]
    return Problem(
        name=f"replan-{size}",
        depots=(Depot(id="depot", location=DEPOT), *now),
        facilities=(Facility(id="moskogen", location=MOSKOGEN, unload_s=900),),
        vehicles=tuple(
            Vehicle(
                id=f"truck-{k}",
                capacity=40_000,
                depot="depot",
                shift_s=10 * 3600,
                start_at=f"truck-{k}@now",
                start_s=SET_OFF_S,
                start_load=5_000 * (1 + (k - 1) % 4),
            )
            for k in range(1, trucks + 1)
        ),
        stops=due_stops(left),
        distance_m=straight_line([DEPOT, *(d.location for d in now), MOSKOGEN, *(b.location for b in left)]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="150 bins, 3 trucks, 10 s")
    parser.add_argument("--bins", type=int, default=None, help="default 400")
    parser.add_argument("--trucks", type=int, default=None, help="default 6")
    parser.add_argument("--time-limit-s", type=float, default=None, help="each search (default 30 s)")
    args = parser.parse_args()
    size = args.bins or (150 if args.quick else 400)
    trucks = args.trucks or (3 if args.quick else 6)
    limit = args.time_limit_s or (10.0 if args.quick else 30.0)
    problem = replan(size, trucks)
    started = time.perf_counter()
    console.print(f"{len(problem.stops)} bins, {trucks} trucks under way: ours, {limit:.0f} s")
    ours = solve_large(problem, time_limit_s=limit)
    console.print(f"ours: {ours.distance_m / 1000:,.1f} km; now OR-Tools alone, {limit:.0f} s")
    alone = solve(problem, time_limit_s=limit)
    summary = {
        "bins": len(problem.stops),
        "trucks": trucks,
        "time_limit_s": limit,
        "km": round(ours.distance_m / 1000, 1),
        "ortools_alone_km": round(alone.distance_m / 1000, 1),
        "km_ratio": round(ours.distance_m / alone.distance_m, 3),
        "objective_ratio": round(
            objective(problem, ours.routes, ours.dropped) / objective(problem, alone.routes, alone.dropped), 3
        ),
        "dropped": {"ours": len(ours.dropped), "ortools_alone": len(alone.dropped)},
        "seconds": round(time.perf_counter() - started),
        "quick": args.quick,
    }
    console.print(summary)
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
