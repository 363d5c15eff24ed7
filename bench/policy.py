"""The headline: a simulated city under a fixed round and under Tömning's sensor-driven planning.

One seeded city (core/fillmodel.py: household bins, street litter bins and recycling-station
containers around Kalmar's 30 stations, with their weekday and hour rhythms and 5 % faulty sensors)
lived twice, hour by hour:
(a) a fixed round, as most municipalities collect today: each district on its weekday, each bin as
    often as its kind needs for a mean fill at emptying of at most 75 % (a schedule sized for the
    peaks);
(b) Tömning: every working morning, each bin's forecast from its own sensor readings (noise, spikes,
    stuck and silent sensors included) and the day's collections, then the planner's selection
    (planning/select.py: mandatory before it would cross its threshold, optional from 85 %), routed.
Both route each day with the same solver, trucks and time budget; bins are emptied at their
planned arrival times. Trucks run Monday to Friday, except on Swedish public holidays and the eves
taken off.

    python -m bench.policy [--quick] [--weeks N] [--bins N] [--time-limit-s S] [--plot policy.png]
                           [--every-other-day] [--street-share F] [--start YYYY-MM-DD]

`--every-other-day` asks what skipping days could give (the km target is not met, see the README):
the city's two halves by bearing from the depot take turns, each planned every other working day
as if the day between had no collection, and nothing of a half is collected on its day off.

The two policies live side by side, one per core (each route search uses one), so each day's
search can have 20 s and the run still ends in about ten minutes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from core import places
from core.fillmodel import PROFILES, STATION_DAILY_FILL, STOCKHOLM, BinKind, Fleet, kind_of
from core.models import Bin, Fraction, Location, PlannedRoute
from planning.calendar import day_off, holidays_around, next_workday
from planning.day import _route_group, plan_day
from planning.fleet import FacilitySpec, FleetSpec, PlaceSpec, VehicleSpec
from planning.forecasting import forecast_all
from routing.matrix import CIRCUITY, haversine_m

console = Console(stderr=True)
START = datetime(2026, 11, 2, 0, 0, tzinfo=STOCKHOLM)  # a Monday
WARM_UP = timedelta(days=2)  # the weekend before: sensors report, nobody collects
DEPOT = Location(lat=56.6745, lon=16.3220)
MOSKOGEN = Location(lat=56.6827, lon=16.2353)
FIXED_TARGET_FILL = 0.75
POLICIES = ("fixed", "tomning")


def city(size: int, seed: int = 7, street_share: float = 0.3) -> list[Bin]:
    """Kalmar's station containers (4 fractions at 30 stations), then household and street bins near
    them: `street_share` of those street litter bins, the rest shared household bins."""
    rng = random.Random(seed)
    stations = places.stations()
    out = [b for b, _ in places.fleet("city", stations)][: min(120, size)]
    rest = size - len(out)
    for n in range(rest):
        near = rng.choice(stations).location
        where = Location(lat=near.lat + rng.gauss(0, 0.012), lon=near.lon + rng.gauss(0, 0.02))
        household = n < rest * (1 - street_share)  # shared bins of blocks of flats; the rest street litter
        out.append(
            Bin(
                tenant="city",
                id=f"city-{n:05d}",
                location=where,
                fraction=Fraction.RESIDUAL,
                capacity_l=660 if household else 160,
                empty_distance_mm=1100 if household else 800,
                full_distance_mm=150 if household else 100,
                service_time_s=60 if household else 30,
            )
        )
    return [b.model_copy(update={"threshold": 0.9}) for b in out]


def daily_fill(b: Bin) -> float:
    kind = kind_of(b)
    return STATION_DAILY_FILL[b.fraction] if kind is BinKind.STATION else PROFILES[kind].daily_fill


def sectors(bins: list[Bin], count: int) -> dict[str, int]:
    """`count` sectors around the depot with as many bins each: each bin's sector."""
    ranked = sorted(bins, key=lambda b: math.atan2(b.location.lat - DEPOT.lat, b.location.lon - DEPOT.lon))
    return {b.id: n * count // len(ranked) for n, b in enumerate(ranked)}


def fixed_schedule(bins: list[Bin]) -> dict[str, set[int]]:
    """Weekdays each bin is emptied, 1, 2, 3 or 5 times a week, as few as keep its mean fill ≤ 75 %,
    by district as rounds are drawn: five sectors around the depot, one weekday each."""
    district = sectors(bins, 5)
    out = {}
    for b in bins:
        weekly = daily_fill(b) * 7
        times = next((k for k in (1, 2, 3) if weekly / k <= FIXED_TARGET_FILL), 5)
        d = district[b.id]
        out[b.id] = {1: {d}, 2: {d % 2, d % 2 + 3}, 3: {0, 2, 4}, 5: {0, 1, 2, 3, 4}}[times]
    return out


def fleet_spec(trucks: int, **policy: Any) -> FleetSpec:
    return FleetSpec(
        **policy,
        depots=(PlaceSpec(id="depot", location=DEPOT),),
        facilities=(FacilitySpec(id="moskogen", location=MOSKOGEN, unload_s=900),),
        vehicles=tuple(
            VehicleSpec(id=f"truck-{k}", capacity_l=40_000, depot="depot", shift_s=10 * 3600)
            for k in range(1, trucks + 1)
        ),
    )


@dataclass
class Tally:
    km: float = 0.0
    emptyings: int = 0
    fills: list[float] = field(default_factory=list)
    overflow_hours: float = 0.0
    overflow_by_kind: Counter[str] = field(default_factory=Counter)
    daily_km: list[float] = field(default_factory=list)
    km_by_leg: Counter[str] = field(default_factory=Counter)  # out from and home to the depot, tip, bins

    def legs_km(self) -> dict[str, float]:
        return {k: round(v, 1) for k, v in sorted(self.km_by_leg.items())}

    def summary(self) -> dict[str, float]:
        return {
            "truck_km": round(self.km, 1),
            "emptyings": self.emptyings,
            "mean_fill_at_emptying": round(statistics.mean(self.fills), 4) if self.fills else 0.0,
            "overflow_bin_hours": round(self.overflow_hours, 1),
        }


def live(policy: str, bins: list[Bin], *, weeks: int, trucks: int, time_limit_s: float, seed: int,
         tuning: dict[str, Any], every_other_day: bool = False, start: datetime = START,
         advance: Callable[[], None] = lambda: None) -> Tally:  # fmt: skip
    """One policy's weeks from `start`, hour by hour; `advance` hears each hour lived. Trucks run on
    the fleet's working days: weekdays less Swedish public holidays and the eves taken off."""
    sim = Fleet(bins, seed=seed, start=start - WARM_UP, fault_share=0.05)
    fleet = fleet_spec(trucks, **tuning)
    schedule = fixed_schedule(bins)
    half = sectors(bins, 2)
    by_id = {b.id: b for b in bins}
    history: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    emptied: dict[str, datetime] = {}
    pending: list[tuple[datetime, str]] = []  # planned collections of the day, by arrival time
    tally = Tally()
    clock = start - WARM_UP
    for _ in range(hours_of(weeks)):
        to = clock + timedelta(hours=1)
        local = to.astimezone(STOCKHOLM)
        for at, bin_id in [p for p in pending if p[0] <= to]:
            level = sim.bins[bin_id].level
            sim.collect(bin_id, at)
            emptied[bin_id] = at
            if at >= start:
                tally.emptyings += 1
                tally.fills.append(min(1.0, level))
        pending = [p for p in pending if p[0] > to]
        for bin_id, reading in sim.step(to).items():
            if reading is not None:
                b = by_id[bin_id]
                history[bin_id].append((to, b.filling_level(float(reading["distance_mm"]))))  # type: ignore[arg-type]
        if to >= start:
            for bin_id, state in sim.bins.items():
                if state.level >= 1.0:
                    tally.overflow_hours += 1
                    tally.overflow_by_kind[kind_of(by_id[bin_id]).value] += 1
        if local.hour == 6 and day_off(fleet, local.date()) is None and to >= start:
            day = local.date()
            for bin_id in history:  # two weeks is all the forecast reads
                history[bin_id] = [p for p in history[bin_id] if p[0] > to - timedelta(days=14)]
            if policy == "fixed":
                routes = _fixed_day(bins, sim, schedule, fleet, day, time_limit_s)
            else:
                predicted = forecast_all(bins, history, emptied, to, STOCKHOLM,
                                         holidays=holidays_around(fleet.holidays, day))  # fmt: skip
                chosen, calendar = bins, fleet
                if every_other_day:  # this half's turn; the next working day is the other half's
                    turn = len(tally.daily_km) % 2
                    chosen = [b for b in bins if half[b.id] == turn]
                    off = next_workday(day, fleet)
                    calendar = fleet.model_copy(update={"closed_days": (*fleet.closed_days, off)})
                routes, _ = plan_day(chosen, predicted, day=day, zone=STOCKHOLM, fleet=calendar,
                                     time_limit_s=time_limit_s)  # fmt: skip
            km = sum(r.distance_m for r in routes) / 1000
            for r in routes:
                tally.km_by_leg.update(legs(r))
            tally.km += km
            tally.daily_km.append(km)
            pending += [(v.arrival, v.id) for r in routes for v in r.visits if v.kind == "bin"]
        clock = to
        advance()
    return tally


def legs(route: PlannedRoute) -> dict[str, float]:
    """A route's km by leg: out from and home to the depot, to and from the tip, between bins (by the
    straight lines with circuity the routes were planned on)."""
    places = [("depot", DEPOT), *((v.kind, v.location) for v in route.visits), ("depot", DEPOT)]
    out: Counter[str] = Counter()
    for (kind_a, a), (kind_b, b) in itertools.pairwise(places):
        kinds = {kind_a, kind_b}
        leg = "depot" if "depot" in kinds else "tip" if "facility" in kinds else "bins"
        out[leg] += haversine_m(a, b) * CIRCUITY / 1000
    return out


def hours_of(weeks: int) -> int:
    return int((WARM_UP + timedelta(weeks=weeks)).total_seconds() // 3600)


def _live_apart(args: tuple[str, list[Bin], dict[str, Any], Any]) -> Tally:
    """`live` in a process of its own, counting its hours in a shared value for the progress bar."""
    policy, bins, options, hours = args

    def advance() -> None:
        hours[policy] += 1  # only this process writes its policy's count

    return live(policy, bins, advance=advance, **options)


def live_both(bins: list[Bin], options: dict[str, Any], *, apart: bool) -> dict[str, Tally]:
    """Both policies, side by side on two cores when `apart` (each route search runs on one core)."""
    total = hours_of(options["weeks"])
    with Progress(console=console, transient=True) as progress:
        if not apart:
            out = {}
            for policy in POLICIES:
                task = progress.add_task(policy, total=total)
                out[policy] = live(policy, bins, advance=lambda t=task: progress.advance(t), **options)
            return out
        context = multiprocessing.get_context("spawn")
        tasks = {policy: progress.add_task(policy, total=total) for policy in POLICIES}
        with context.Manager() as manager, ProcessPoolExecutor(len(POLICIES), mp_context=context) as pool:
            hours = manager.dict(dict.fromkeys(POLICIES, 0))
            futures = {p: pool.submit(_live_apart, (p, bins, options, hours)) for p in POLICIES}
            while not all(f.done() for f in futures.values()):
                time.sleep(0.5)
                for policy in POLICIES:
                    progress.update(tasks[policy], completed=hours[policy])
            return {policy: f.result() for policy, f in futures.items()}


def _fixed_day(bins: list[Bin], sim: Fleet, schedule: dict[str, set[int]], fleet: FleetSpec, day: date,
               time_limit_s: float) -> list:  # type: ignore[type-arg]  # fmt: skip
    due = [b for b in bins if day.weekday() in schedule[b.id]]
    # no sensors: the trucks carry what is there (the true fill, for capacity only)
    chosen = [(b, min(1.0, sim.bins[b.id].level + daily_fill(b) * 0.2), True) for b in due]
    start = datetime.combine(day, fleet.vehicles[0].shift_start, tzinfo=STOCKHOLM)
    return _route_group(fleet, list(fleet.vehicles), chosen, start=start,
                        time_limit_s=time_limit_s, first_index=0, left_out=[])  # fmt: skip


def plot(results: dict[str, Tally], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, tally in results.items():
        left.plot(range(1, len(tally.daily_km) + 1), tally.daily_km, marker="o", label=name)
    left.set(title="Truck-km per working day / Lastbils-km per arbetsdag", xlabel="working day", ylabel="km")
    left.legend()
    right.hist([results[n].fills for n in results], bins=20, range=(0, 1), label=list(results))
    right.set(title="Fill at emptying / Fyllnad vid tömning", xlabel="fill", ylabel="emptyings")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="400 bins, one week, 1 s per route search")
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--bins", type=int, default=None)
    parser.add_argument("--trucks", type=int, default=None)
    parser.add_argument("--time-limit-s", type=float, default=None, help="route search a day (default 20 s)")
    parser.add_argument(
        "--workers", type=int, default=2, help="2: the two policies side by side, one per core (default)"
    )
    parser.add_argument("--plot", type=Path, default=Path("docs/policy.png"))
    parser.add_argument("--optional-from", type=float, default=None, help="the planner's optional_from")
    parser.add_argument("--penalty-m", type=float, default=None, help="the planner's optional_penalty_m")
    parser.add_argument("--safety", type=float, default=None, help="the planner's safety factor")
    parser.add_argument(
        "--due-at-rate", choices=("forecast", "fastest"), default=None, help="the planner's due_at_rate"
    )
    parser.add_argument("--start", type=date.fromisoformat, default=START.date(),
                        help=f"the first day lived (default {START.date()}, a Monday)")  # fmt: skip
    parser.add_argument(
        "--street-share",
        type=float,
        default=0.3,
        help="street litter bins' share of the non-station bins (default 0.3): what the saving owes it",
    )
    parser.add_argument(
        "--every-other-day",
        action="store_true",
        help="Tömning plans each half of the city every other working day only (what skipping days gives)",
    )
    args = parser.parse_args()
    size = args.bins or (400 if args.quick else 1520)
    weeks = args.weeks or (1 if args.quick else 4)
    trucks = args.trucks or (4 if args.quick else 6)
    limit = args.time_limit_s or (1.0 if args.quick else 20.0)
    if not 0 <= args.street_share <= 1:
        parser.error(f"--street-share is a share between 0 and 1, not {args.street_share}")
    bins = city(size, street_share=args.street_share)
    asked = (
        ("optional_from", args.optional_from),
        ("optional_penalty_m", args.penalty_m),
        ("safety", args.safety),
        ("due_at_rate", args.due_at_rate),
    )
    tuning: dict[str, Any] = {k: v for k, v in asked if v is not None}
    started = time.perf_counter()
    start = datetime.combine(args.start, datetime.min.time(), tzinfo=STOCKHOLM)
    options = {"weeks": weeks, "trucks": trucks, "time_limit_s": limit, "seed": 11, "tuning": tuning,
               "every_other_day": args.every_other_day, "start": start}  # fmt: skip
    results = live_both(bins, options, apart=args.workers > 1)
    for policy, tally in results.items():
        console.print(f"{policy}: {tally.summary()}; overflow by kind {dict(tally.overflow_by_kind)}; "
                      f"km by leg {tally.legs_km()}")  # fmt: skip
    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot(results, args.plot)
    fixed, ours = results["fixed"].summary(), results["tomning"].summary()
    kinds = {k.value: sum(1 for b in bins if kind_of(b) is k) for k in BinKind}
    summary = {
        "fixed": fixed,
        "tomning": ours,
        "km_saving": round(1 - ours["truck_km"] / fixed["truck_km"], 3) if fixed["truck_km"] else math.nan,
        "bins": kinds,
        "trucks": trucks,
        "weeks": weeks,
        "route_search_s": limit,
        "overflow_bin_hours_by_kind": {p: dict(t.overflow_by_kind) for p, t in results.items()},
        "km_by_leg": {p: t.legs_km() for p, t in results.items()},
        "policy": fleet_spec(trucks, **tuning).model_dump(
            include={"optional_from", "optional_penalty_m", "safety", "due_at_rate"}
        ),
        "every_other_day": args.every_other_day,
        "street_share": args.street_share,
        "start": args.start.isoformat(),
        "seconds": round(time.perf_counter() - started),
        "quick": args.quick,
    }
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
