"""How well the fill forecast says when a bin crosses its threshold, a day ahead, against two baselines.

A seeded simulated city (core/fillmodel.py, the same as bench/policy.py: rhythms, sensor noise,
spikes, stuck and silent sensors) reports every hour for several weeks; a bin is emptied when it is
truly full. For every true crossing of a bin's threshold, each method forecasts from the readings
up to 24 hours before it, and its error is how far its predicted crossing lies from the truth:
- Tömning: the planner's forecast (core/forecast.py: Theil-Sen rate since the last emptying);
- last observed rate: the fill gained over the last 24 hours of readings, carried on;
- fixed average: the mean daily fill of the bin's kind and fraction over the whole fleet.
Readings are what the sensors said (filling level from distance), the truth what the bins did.
Also measured: how often the truth lies within our forecast's band (its earliest to latest crossing,
from the 10 % and 90 % rates), and the band's median width. Swedish public holidays fill as weekends
in the simulation; `--start 2026-12-07` takes the weeks over Christmas and New Year, where the
forecasts whose day ahead touches a holiday are also made without knowing the holidays
(`holidays`: their errors both ways).

    python -m bench.forecast [--quick] [--bins N] [--weeks N] [--start YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta

from rich.console import Console
from rich.progress import Progress

from bench.policy import START, city
from core.fillmodel import STOCKHOLM, BinKind, Fleet, kind_of
from core.forecast import Rhythm, estimate, learn_rhythm, since_emptying
from core.models import Bin
from planning.calendar import holidays_around

console = Console(stderr=True)
AHEAD = timedelta(hours=24)
CAP_H = 14 * 24.0  # a forecast that never crosses counts as two weeks out
SLACK = timedelta(hours=1)  # readings are hourly: the band covers a crossing within the hour


Series = dict[str, list[tuple[datetime, float]]]


def simulate(
    bins: list[Bin], weeks: int, progress: Progress, start: datetime = START
) -> tuple[Series, Series, dict[str, list[datetime]]]:
    """(sensor readings, true levels, emptyings) per bin, hourly."""
    fleet = Fleet(bins, seed=5, start=start, fault_share=0.05)
    readings: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    truth: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    emptied: dict[str, list[datetime]] = defaultdict(list)
    by_id = {b.id: b for b in bins}
    hours = weeks * 7 * 24
    task = progress.add_task("simulating", total=hours)
    clock = start
    for _ in range(hours):
        clock += timedelta(hours=1)
        for bin_id, reading in fleet.step(clock).items():
            sim = fleet.bins[bin_id]
            truth[bin_id].append((clock, sim.level))
            if reading is not None:
                level = by_id[bin_id].filling_level(float(reading["distance_mm"]))  # type: ignore[arg-type]
                readings[bin_id].append((clock, level))
            if sim.level >= 1.0:  # emptied when truly full
                fleet.collect(bin_id, clock)
                emptied[bin_id].append(clock)
        progress.advance(task)
    return readings, truth, emptied


def crossings(truth: list[tuple[datetime, float]], threshold: float) -> list[datetime]:
    return [b[0] for a, b in itertools.pairwise(truth) if a[1] < threshold <= b[1]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="300 bins, three weeks")
    parser.add_argument("--bins", type=int, default=None)
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--start", type=date.fromisoformat, default=START.date(),
                        help=f"the first day simulated (default {START.date()}, a Monday)")  # fmt: skip
    args = parser.parse_args()
    start = datetime.combine(args.start, datetime.min.time(), tzinfo=STOCKHOLM)
    days_off = holidays_around("SE", args.start)
    bins = city(args.bins or (300 if args.quick else 1520))
    weeks = args.weeks or (3 if args.quick else 6)
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        readings, truth, _emptied = simulate(bins, weeks, progress, start)
        # the fixed average: each kind and fraction's mean daily fill, from every bin's true history
        gains: dict[tuple[str, str], list[float]] = defaultdict(list)
        for b in bins:
            levels = truth[b.id]
            rise = sum(max(0.0, y[1] - x[1]) for x, y in itertools.pairwise(levels))
            gains[kind_of(b).value, b.fraction.value].append(rise / (len(levels) / 24))
        average = {key: statistics.mean(values) for key, values in gains.items()}
        errors: dict[str, list[float]] = {"tomning": [], "last_rate": [], "fixed_average": []}
        # forecasts whose day ahead touches a holiday, with the holidays known and not
        festive: dict[str, list[float]] = {"tomning": [], "tomning_without_holidays": []}
        covered: list[bool] = []  # the truth within our band (earliest to latest crossing)
        widths: list[float] = []
        # the rhythm of each kind, learned from the first week's readings, as the planner learns it
        first_week = start + timedelta(days=7)

        def learned(holidays: tuple[date, ...]) -> dict[BinKind, Rhythm]:
            return {
                kind: learn_rhythm(
                    ([p for p in readings[b.id] if p[0] <= first_week] for b in bins if kind_of(b) is kind),
                    STOCKHOLM,
                    holidays,
                )
                for kind in BinKind
            }

        rhythms, unaware = learned(days_off), learned(())
        task = progress.add_task("forecasting", total=len(bins))
        for b in bins:
            for crossing in crossings(truth[b.id], b.threshold):
                made = crossing - AHEAD
                if made < start + timedelta(days=7):
                    continue  # a week of history first
                # the forecast finds emptyings in the readings itself, as in production
                seen = [p for p in readings[b.id] if made - timedelta(days=14) < p[0] <= made]
                if len(seen) < 2:
                    continue
                level_now = seen[-1][1]
                ours = estimate(b.id, seen, threshold=b.threshold, now=made, fallback_rate_per_day=0.1,
                                rhythm=rhythms[kind_of(b)])  # fmt: skip
                assert ours is not None
                ours_h = (ours.full_at - made).total_seconds() / 3600 if ours.full_at else CAP_H
                touching = made.astimezone(STOCKHOLM).date(), crossing.astimezone(STOCKHOLM).date()
                if any(touching[0] <= d <= touching[1] for d in days_off):
                    blind = estimate(b.id, seen, threshold=b.threshold, now=made, fallback_rate_per_day=0.1,
                                     rhythm=unaware[kind_of(b)])  # fmt: skip
                    assert blind is not None
                    blind_h = (blind.full_at - made).total_seconds() / 3600 if blind.full_at else CAP_H
                    for name, hours in (("tomning", ours_h), ("tomning_without_holidays", blind_h)):
                        festive[name].append(abs(min(CAP_H, max(0.0, hours)) - AHEAD.total_seconds() / 3600))
                earliest = ours.full_earliest or made + timedelta(hours=CAP_H)
                latest = ours.full_latest or made + timedelta(hours=CAP_H)
                covered.append(earliest - SLACK <= crossing <= latest + SLACK)
                widths.append(min(CAP_H, (latest - earliest).total_seconds() / 3600))
                cycle = since_emptying(seen)  # fair to the baseline: not across an emptying
                day_ago = [p for p in cycle if p[0] >= made - timedelta(hours=24)]
                if len(day_ago) < 2:  # a silent or just-emptied day: the last two readings there are
                    day_ago = cycle[-2:] if len(cycle) >= 2 else seen[-2:]
                span_days = max(1e-9, (day_ago[-1][0] - day_ago[0][0]).total_seconds() / 86_400)
                rate = (day_ago[-1][1] - day_ago[0][1]) / span_days
                avg = average[kind_of(b).value, b.fraction.value]
                for name, hours in (
                    ("tomning", ours_h),
                    ("last_rate", _hours(b.threshold - level_now, rate)),
                    ("fixed_average", _hours(b.threshold - level_now, avg)),
                ):
                    errors[name].append(abs(min(CAP_H, max(0.0, hours)) - AHEAD.total_seconds() / 3600))
            progress.advance(task)
    mae = {name: round(statistics.mean(values), 2) for name, values in errors.items()}
    better = min(mae["last_rate"], mae["fixed_average"])
    summary = {
        "mae_h": mae,
        "better_baseline": "last_rate" if mae["last_rate"] <= mae["fixed_average"] else "fixed_average",
        "improvement": round(1 - mae["tomning"] / better, 3),
        "median_abs_error_h": {name: round(statistics.median(v), 2) for name, v in errors.items()},
        "band_coverage": round(sum(covered) / len(covered), 3),
        "band_median_width_h": round(statistics.median(widths), 1),
        "crossings": len(errors["tomning"]),
        "holidays": {
            "cases": len(festive["tomning"]),
            "mae_h": {k: round(statistics.mean(v), 2) if v else None for k, v in festive.items()},
        },
        "start": args.start.isoformat(),
        "bins": len(bins),
        "weeks": weeks,
        "seconds": round(time.perf_counter() - started),
        "quick": args.quick,
    }
    print(json.dumps(summary))
    sys.stdout.flush()


def _hours(remaining: float, rate_per_day: float) -> float:
    if remaining <= 0:
        return 0.0
    return CAP_H if rate_per_day <= 0 else remaining / rate_per_day * 24


if __name__ == "__main__":
    main()
