"""Builds long-lived parts from settings for the commands: registry, store, ingest, simulator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.progress import Progress, TextColumn, TimeElapsedColumn

from core import places
from core.models import Tenant
from core.registry import Registry
from core.registry.migrate import upgrade
from core.settings import MqttSettings, Settings, get_settings


def open_registry(settings: Settings | None = None) -> Registry:
    url = (settings or get_settings()).registry.url.get_secret_value()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    registry = Registry.connect(url)
    upgrade(registry.engine)
    return registry


def seed_tenant(registry: Registry, *, tenant: str, name: str, csv: Path | None, municipality: str) -> int:
    stations = places.stations(csv, municipality=municipality) if csv else places.stations()
    pairs = places.fleet(tenant, stations)
    since = datetime.now(UTC) - timedelta(days=365)
    places.seed(registry, Tenant(id=tenant, name=name), pairs, since=since)
    return len(pairs)


def run_ingest(stop: threading.Event, settings: Settings | None = None) -> None:
    from core.timeseries import open_store
    from ingest.service import IngestService

    settings = settings or get_settings()
    with open_registry(settings) as registry:
        store = open_store(settings.store)
        service = IngestService(mqtt=settings.mqtt, settings=settings.ingest, registry=registry, store=store)
        service.start()
        stop.wait()
        service.stop()
        store.close()


def run_simulator(
    *, tenant: str, devices: int, period_s: float, ticks: int | None, speedup: float,
    bad_share: float, stop: threading.Event, mqtt: MqttSettings | None = None,
) -> None:  # fmt: skip
    from ingest.simulate import Simulator

    with open_registry() as registry:
        by_id = {b.id: b for b in registry.bins(tenant)}
        pairs = [(by_id[d.bin_id], d) for d in registry.devices(tenant) if d.bin_id in by_id][:devices]
    if not pairs:
        raise SystemExit(f"tenant {tenant!r} has no devices on bins: run `tomning seed` first")
    simulator = Simulator(pairs, mqtt=mqtt or get_settings().mqtt, speedup=speedup, bad_share=bad_share)
    columns = (TextColumn("[bold]{task.description}"), TextColumn("{task.completed} readings"),
               TextColumn("{task.fields[bad]} bad"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns) as progress:
        task = progress.add_task(f"{len(pairs)} devices", total=None, bad=0)
        simulator.run(period_s=period_s, ticks=ticks, stop=stop,
                      on_tick=lambda t: progress.update(task, completed=t.published, bad=t.bad))  # fmt: skip
