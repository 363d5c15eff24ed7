"""The route optimiser on CVRPLIB X instances against their best known, with VROOM in the same run.

Ours: `solve_large` at a 10 s and a 60 s budget: OR-Tools' plan of a few seconds (routing/solver.py),
then our ruin and recreate from it for the rest (routing/lns.py). The peer: VROOM through pyvroom at
its default exploration level 5 with 2 threads. Gaps are to the best-known solutions in
shared/data/cvrplib. The last line is one JSON object with the 60 s figures.

    python -m bench.routing [--quick] [--large]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import vroom
from rich.console import Console

from routing.cvrplib import best_known, load
from routing.decompose import solve_large, solve_side_by_side
from routing.problem import Problem

CVRPLIB = Path(__file__).resolve().parents[2] / "shared" / "data" / "cvrplib"
DEFAULT = ("X-n101-k25", "X-n106-k14", "X-n200-k36", "X-n214-k11", "X-n502-k39", "X-n513-k21")
QUICK = ("X-n101-k25", "X-n214-k11")
LARGE = ("X-n1001-k43",)
LEVEL = 5
console = Console(stderr=True)


def vroom_cost(problem: Problem, *, timeout_s: float | None) -> tuple[float, float]:
    assert problem.distance_m is not None
    peer = vroom.Input()
    peer.set_durations_matrix(
        profile="car", matrix_input=[[int(x) for x in row] for row in problem.distance_m]
    )
    for k, vehicle in enumerate(problem.vehicles, start=1):
        peer.add_vehicle(vroom.Vehicle(id=k, start=0, end=0, capacity=[vehicle.capacity]))
    for i, stop in enumerate(problem.stops, start=1):
        peer.add_job(vroom.Job(id=i, location=i, delivery=[stop.demand]))
    started = time.perf_counter()
    kwargs = {"timeout": int(timeout_s * 1000)} if timeout_s else {}
    solution = peer.solve(exploration_level=LEVEL, nb_threads=2, **kwargs)
    return float(solution.summary.cost), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="X-n101-k25 and X-n214-k11 at 60 s only")
    parser.add_argument("--large", action="store_true", help="add X-n1001-k43 (VROOM stopped at 300 s)")
    parser.add_argument(
        "--workers", type=int, default=1, help="ours: searches side by side with other seeds (2: both cores)"
    )
    args = parser.parse_args()
    names = QUICK if args.quick else DEFAULT + (LARGE if args.large else ())
    budgets = (60.0,) if args.quick else (10.0, 60.0)
    results: dict[str, dict[str, float]] = {}
    for name in names:
        path = CVRPLIB / f"{name}.vrp"
        problem, bks = load(path), best_known(path)
        row: dict[str, float] = {"bks": bks}
        for budget in budgets:
            ours = (
                solve_side_by_side(problem, time_limit_s=budget, workers=args.workers)
                if args.workers > 1
                else solve_large(problem, time_limit_s=budget)
            )
            suffix = "" if budget == 60.0 else f"_{budget:.0f}s"
            row[f"ours_gap_pct{suffix}"] = round((ours.distance_m / bks - 1) * 100, 2)
            row[f"ours_s{suffix}"] = round(ours.solve_s, 1)
        cost, seconds = vroom_cost(problem, timeout_s=300 if name in LARGE else None)
        row |= {"vroom_gap_pct": round((cost / bks - 1) * 100, 2), "vroom_s": round(seconds, 1)}
        results[name] = row
        console.print(
            f"{name}: ours {row['ours_gap_pct']} % ({row['ours_s']} s), VROOM {row['vroom_gap_pct']} % "
            f"({row['vroom_s']} s)"
        )
    summary = {
        "instances": results,
        "mean_gap_pct": round(statistics.mean(r["ours_gap_pct"] for r in results.values()), 2),
        "vroom_mean_gap_pct": round(statistics.mean(r["vroom_gap_pct"] for r in results.values()), 2),
        "vroom_exploration_level": LEVEL,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "quick": args.quick,
        "workers": args.workers,
    }
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
