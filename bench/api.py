"""The API under concurrent load: the map of 10,000 bins and one bin's week, against the framework's ceiling.

In one run, on one uvicorn worker (a child process) over SQLite registry and store:
(1) the ceiling: a bare FastAPI endpoint answering pre-built bytes the size of the map; (2) the map
of every bin (`GET /v1/state`, authenticated, from the registry, while a writer process updates
states the way 10,000 sensors reporting every 15 minutes do: 11 a second, so the map's cache is
rebuilt every second); (3) one bin's week of hourly history (`GET /v1/bins/{id}/readings`), a random
bin per request. The load comes from another process: threads on keep-alive connections.
ratio = state rps / ceiling rps.

    python -m bench.api [--quick] [--bins N] [--concurrency C] [--seconds S]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from core import places
from core.models import Bin, BinState, Fraction, Location, Reading, Role, Tenant
from core.registry import Registry
from core.registry.migrate import upgrade
from core.timeseries.sqlite import SqliteStore

TENANT = "bench"
STATIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "places"
STATIONS_CSV = STATIONS / "sweden_recycling_stations_2026-08-20.csv"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
WRITES_PER_S = 11  # 10,000 sensors every 15 minutes
console = Console(stderr=True)


def _bins(count: int) -> list[Bin]:
    """`count` bins at Sweden's recycling stations (four fractions each), or around Kalmar's without them."""
    source = STATIONS_CSV if STATIONS_CSV.is_file() else places.KALMAR
    stations = places.stations(source)
    pairs = places.fleet(TENANT, stations)
    bins = [b for b, _ in pairs]
    n = 0
    while len(bins) < count:  # too few stations here: jitter copies around them
        base = bins[n % len(pairs)]
        shifted = Location(lat=base.location.lat + 0.001 * (n % 7), lon=base.location.lon + 0.001 * (n % 11))
        bins.append(base.model_copy(update={"id": f"{base.id}-x{n}", "location": shifted}))
        n += 1
    return bins[:count]


def build(data: Path, count: int) -> tuple[list[str], str]:
    """Registry and store with `count` bins, their states and a week of hourly readings; a viewer's key."""
    from api.resources.admin import issue

    registry = Registry.connect(f"sqlite:///{data / 'registry.sqlite'}")
    upgrade(registry.engine)
    bins = _bins(count)
    registry.save_tenant(Tenant(id=TENANT, name="Benchmark"))
    registry.save_bins(bins)
    registry.save_states(
        BinState(
            tenant=TENANT, bin_id=b.id, ts=NOW, device_id=f"d{n}", filling_level=0.3 + 0.5 * (n % 10) / 10
        )
        for n, b in enumerate(bins)
    )
    key = issue(registry, NOW, tenant=TENANT, role=Role.VIEWER, name="bench").key
    registry.close()
    hours = 7 * 24
    with SqliteStore(data / "readings.sqlite") as store, Progress(console=console, transient=True) as bar:
        task = bar.add_task("a week of hourly readings", total=len(bins))
        for start in range(0, len(bins), 500):
            chunk = [
                Reading.model_construct(
                    tenant=TENANT,
                    device_id=f"d{n}",
                    bin_id=b.id,
                    fraction=Fraction(b.fraction),
                    district="",
                    ts=NOW - timedelta(hours=hours - h),
                    seq=h,
                    distance_mm=None,
                    filling_level=((n % 10) / 20 + h * 0.004) % 1.0,
                    temperature_c=5.0,
                    battery_v=3.6,
                    battery_pct=None,
                    tilt_deg=None,
                    rssi_dbm=None,
                    fw_version=None,
                    threshold=0.8,
                )
                for n, b in enumerate(bins[start : start + 500], start=start)
                for h in range(hours)
            ]
            store.write_readings(chunk)
            bar.advance(task, len(chunk) // hours)
    return [b.id for b in bins], key


def serve(data: Path, port: int) -> None:
    """The child process: the app as `tomning api` builds it, plus the bare ceiling endpoint."""
    import uvicorn
    from fastapi import Response

    from api.app import create_app
    from api.context import Services
    from api.resources.bins import _state_item
    from api.resources.common import dumps
    from core.settings import Settings

    registry = Registry.connect(f"sqlite:///{data / 'registry.sqlite'}")
    store = SqliteStore(data / "readings.sqlite")
    app = create_app(Services(registry=registry, store=store, settings=Settings()))
    ceiling = dumps([_state_item(r) for r in registry.state_rows(TENANT)])

    @app.get("/ceiling", include_in_schema=False)
    def bare() -> Response:
        return Response(ceiling, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def writer(data: Path, bin_ids: list[str], stop: Any) -> None:
    """States change as ingest would change them: WRITES_PER_S bins a second, in one batch."""
    registry = Registry.connect(f"sqlite:///{data / 'registry.sqlite'}")
    rng = random.Random(1)
    ts = NOW
    while not stop.is_set():
        ts += timedelta(seconds=1)
        registry.save_states(
            BinState(tenant=TENANT, bin_id=b, ts=ts, device_id="w", filling_level=rng.random())
            for b in rng.sample(bin_ids, WRITES_PER_S)
        )
        stop.wait(1.0)
    registry.close()


def load(port: int, paths: list[str], key: str, *, concurrency: int, seconds: float) -> dict[str, float]:
    """`concurrency` threads on keep-alive connections for `seconds`: p50, p99 (ms), requests per second."""
    latencies: list[float] = []
    sizes: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            conn.request("GET", rng.choice(paths), headers=headers)
            response = conn.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - started)
            sizes.append(len(body))
            if response.status != 200 or not body:
                with lock:
                    errors.append(f"{response.status} {body[:200]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000, "rps": len(latencies) / elapsed,
        "bytes": statistics.mean(sizes),
    }  # fmt: skip


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the API did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the same 10,000 bins, 5 s of load per phase")
    parser.add_argument("--bins", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--seconds", type=float, default=None, help="load per phase (default 20, quick 5)")
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    from tests.harness.services import free_port

    with tempfile.TemporaryDirectory(prefix="tomning-bench-api-") as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        bin_ids, key = build(data, args.bins)
        console.print(
            f"{len(bin_ids)} bins, {len(bin_ids) * 168:,} readings in {time.perf_counter() - t0:.0f} s"
        )
        port = free_port()
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(data, port), daemon=True)
        server.start()
        stop = multiprocessing.get_context("spawn").Event()
        updates = multiprocessing.get_context("spawn").Process(target=writer, args=(data, bin_ids, stop))
        try:
            _wait_for(port)
            ceiling = load(port, ["/ceiling"], key, concurrency=args.concurrency, seconds=seconds)
            console.print(f"ceiling: {ceiling['rps']:.1f} rps, p99 {ceiling['p99_ms']:.1f} ms")
            updates.start()
            state = load(port, ["/v1/state"], key, concurrency=args.concurrency, seconds=seconds)
            console.print(
                f"state: {state['rps']:.1f} rps, p50 {state['p50_ms']:.1f} ms, p99 {state['p99_ms']:.1f} ms"
            )
            week = (NOW - timedelta(days=7)).isoformat().replace("+00:00", "Z")
            history_paths = [f"/v1/bins/{b}/readings?interval=1h&start={week}" for b in bin_ids]
            history = load(port, history_paths, key, concurrency=args.concurrency, seconds=seconds)
            console.print(f"history: {history['rps']:.1f} rps, p99 {history['p99_ms']:.1f} ms")
        finally:
            stop.set()
            if updates.pid is not None:
                updates.join(timeout=10)
            server.terminate()
            server.join(timeout=10)
    summary = {
        "state_p50_ms": round(state["p50_ms"], 1),
        "state_p99_ms": round(state["p99_ms"], 1),
        "history_p99_ms": round(history["p99_ms"], 1),
        "rps": round(state["rps"], 1),
        "ceiling_rps": round(ceiling["rps"], 1),
        "ratio": round(state["rps"] / ceiling["rps"], 3),
        "history_p50_ms": round(history["p50_ms"], 1),
        "history_rps": round(history["rps"], 1),
        "ceiling_p99_ms": round(ceiling["p99_ms"], 1),
        "state_bytes": round(state["bytes"]),
        "ceiling_bytes": round(ceiling["bytes"]),
        "bins": len(bin_ids),
        "readings": len(bin_ids) * 168,
        "state_writes_per_s": WRITES_PER_S,
        "concurrency": args.concurrency,
        "seconds_per_phase": seconds,
        "cpus": os.cpu_count(),
        "quick": args.quick,
    }
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
