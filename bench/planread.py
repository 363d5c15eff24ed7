"""What a plan's first step costs a large tenant: reading two weeks of every bin's fill and forecasting.

A seeded simulated city (bench/policy.py's, core/fillmodel.py's dynamics and faulty sensors) reports
every hour for two weeks into a time-series store; then, as the planner does, its history is read
back and every bin forecast. The reference, in the same run: reading the same window as whole
readings (`readings()`, what the planner did before `fill_levels()`), grouped by bin. Both reads
must give the same levels, and the forecasts from them must be the same.

    python -m bench.planread [--quick] [--bins N] [--influx-url URL]

SQLite by default (the embedded store, no server); `--influx-url` measures a running InfluxDB 1.x
(a database of its own, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from bench.policy import START, city
from core.fillmodel import STOCKHOLM, Fleet
from core.models import Bin, Reading
from core.settings import StoreSettings
from core.timeseries import TimeSeriesStore, open_store
from planning.forecasting import forecast_all

console = Console(stderr=True)
TENANT = "city"
HISTORY = timedelta(days=14)  # what the planner reads


def fill_store(store: TimeSeriesStore, bins: list[Bin], progress: Progress) -> datetime:
    """Two weeks of hourly readings from the simulated city; the moment they end."""
    fleet = Fleet(bins, seed=3, start=START, fault_share=0.05)
    by_id = {b.id: b for b in bins}
    hours = int(HISTORY.total_seconds() // 3600)
    task = progress.add_task("readings into the store", total=hours)
    clock, seq = START, 0
    for _ in range(hours):
        clock += timedelta(hours=1)
        seq += 1
        batch = []
        for bin_id, reading in fleet.step(clock).items():
            if reading is None:
                continue  # a silent sensor
            b = by_id[bin_id]
            level = b.filling_level(float(reading["distance_mm"]))  # type: ignore[arg-type]
            batch.append(Reading(tenant=TENANT, device_id=f"s-{bin_id}", bin_id=bin_id, fraction=b.fraction,
                                 ts=clock, seq=seq, fillingLevel=level))  # fmt: skip
        store.write_readings(batch)
        progress.advance(task)
    return clock


def measure(store: TimeSeriesStore, bins: list[Bin], now: datetime) -> dict[str, float | int | bool]:
    start, end = now - HISTORY, now + timedelta(minutes=5)
    began = time.perf_counter()
    whole = store.readings(TENANT, start=start, end=end)
    grouped: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for r in whole:
        grouped[r.bin_id].append((r.ts, r.filling_level))
    readings_s = time.perf_counter() - began
    began = time.perf_counter()
    levels = store.fill_levels(TENANT, start=start, end=end)
    fill_levels_s = time.perf_counter() - began
    began = time.perf_counter()
    ours = forecast_all(bins, levels, {}, now, STOCKHOLM)
    forecast_s = time.perf_counter() - began
    theirs = forecast_all(bins, grouped, {}, now, STOCKHOLM)
    same = ours.keys() == theirs.keys() and all(ours[k].model_dump() == theirs[k].model_dump() for k in ours)
    return {
        "readings": len(whole),
        "readings_s": round(readings_s, 2),
        "fill_levels_s": round(fill_levels_s, 2),
        "ratio": round(fill_levels_s / readings_s, 3) if readings_s else 0.0,
        "forecast_s": round(forecast_s, 2),
        "same_levels": dict(grouped) == levels,
        "same_forecasts": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="500 bins instead of 3,000")
    parser.add_argument("--bins", type=int, default=None)
    parser.add_argument("--influx-url", default=None, help="a running InfluxDB 1.x (default: SQLite)")
    args = parser.parse_args()
    size = args.bins or (500 if args.quick else 3000)
    if size < 1:
        parser.error("--bins must be at least 1")
    bins = city(size)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tomning-planread-") as scratch:
        if args.influx_url:
            database = f"planread_{uuid.uuid4().hex[:8]}"
            settings = StoreSettings(backend="influxdb", influx_url=args.influx_url, influx_database=database)
        else:
            settings = StoreSettings(sqlite_path=Path(scratch) / "readings.sqlite")
        store = open_store(settings)
        try:
            with Progress(console=console, transient=True) as progress:
                now = fill_store(store, bins, progress)
            figures = measure(store, bins, now)
        finally:
            if args.influx_url:
                store.query(f'DROP DATABASE "{database}"')  # type: ignore[attr-defined]
            store.close()
    seconds = round(time.perf_counter() - started)
    summary = {"store": settings.backend, "bins": size, **figures, "seconds": seconds, "quick": args.quick}
    console.print(
        f"{size} bins, {figures['readings']:,} readings in two weeks ({settings.backend}): fill_levels() "
        f"{figures['fill_levels_s']} s against readings() {figures['readings_s']} s; forecasts "
        f"{figures['forecast_s']} s"
    )
    print(json.dumps(summary))
    sys.stdout.flush()
    if not (figures["same_levels"] and figures["same_forecasts"]):
        sys.exit("the two reads disagree")


if __name__ == "__main__":
    main()
