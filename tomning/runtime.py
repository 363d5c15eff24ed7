"""Builds long-lived parts from settings for the commands: registry, store, ingest, simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def run_workers(count: int, stop: threading.Event, *, verbose: bool) -> int:
    """`count` ingest processes sharing the subscription: worker i has client id and spool `…-i`."""
    settings = get_settings()
    base = settings.ingest
    children = []
    for index in range(1, count + 1):
        env = os.environ | {
            "TOMNING_INGEST__CLIENT_ID": f"{base.client_id}-w{index}",
            "TOMNING_INGEST__SPOOL_DIR": str(base.spool_dir / f"w{index}"),
            "TOMNING_INGEST__HEALTH_PORT": str(base.health_port + index - 1 if base.health_port else 0),
        }
        command = [sys.executable, "-m", "tomning", "ingest", *(["--verbose"] if verbose else [])]
        children.append(subprocess.Popen(command, env=env))
    while not stop.wait(0.5):
        if any(child.poll() is not None for child in children):
            break  # a worker died: stop the others and say so
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)


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
    *,
    tenant: str,
    devices: int,
    period_s: float,
    ticks: int | None,
    speedup: float,
    bad_share: float,
    stop: threading.Event,
    backfill_days: float = 0.0,
    report_interval_s: int = 900,
    fault_share: float = 0.0,
    fixed_round: bool = True,
    mqtt: MqttSettings | None = None,
) -> None:
    from ingest.simulate import Simulator, Tally

    with open_registry() as registry:
        by_id = {b.id: b for b in registry.bins(tenant)}
        pairs = [(by_id[d.bin_id], d) for d in registry.devices(tenant) if d.bin_id in by_id][:devices]
    if not pairs:
        raise SystemExit(f"tenant {tenant!r} has no devices on bins: run `tomning seed` first")
    simulator = Simulator(
        pairs,
        mqtt=mqtt or get_settings().mqtt,
        speedup=speedup,
        bad_share=bad_share,
        fault_share=fault_share,
        fixed_round=fixed_round,
    )
    columns = (
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.completed} readings"),
        TextColumn(
            "{task.fields[bad]} bad, {task.fields[silent]} silent, {task.fields[collected]} collected"
        ),
        TextColumn("{task.fields[clock]}"),
        TimeElapsedColumn(),
    )

    with Progress(*columns) as progress:
        task = progress.add_task(f"{len(pairs)} devices", total=None, bad=0, silent=0, collected=0, clock="")

        def show(t: Tally) -> None:
            clock = f"simulated {t.simulated_to:%Y-%m-%d %H:%M}" if t.simulated_to else ""
            progress.update(
                task, completed=t.published, bad=t.bad, silent=t.silent, collected=t.collected, clock=clock
            )

        simulator.run(
            period_s=period_s,
            ticks=ticks,
            stop=stop,
            on_tick=show,
            backfill_days=backfill_days,
            report_interval_s=report_interval_s,
        )


def sync_broker_files(registry: Registry, settings: Settings | None = None) -> int:
    from core.provisioning import sync_broker

    settings = settings or get_settings()
    if not (settings.mqtt.username and settings.mqtt.password):
        raise SystemExit(
            "set TOMNING_MQTT__USERNAME and TOMNING_MQTT__PASSWORD: the platform's broker account"
        )
    return sync_broker(
        registry,
        settings.broker,
        platform_username=settings.mqtt.username,
        platform_password=settings.mqtt.password.get_secret_value(),
    )


def device_health_table(tenant: str, days: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from core.devicehealth import assess, summarise
    from core.timeseries import open_store

    settings = get_settings()
    now = datetime.now(UTC)
    with open_registry(settings) as registry:
        fleet = registry.devices(tenant)
        seen = registry.last_seen(tenant)
    store = open_store(settings.store)
    try:
        health = assess(
            fleet, last_seen=seen, readings=store.readings(tenant, start=now - timedelta(days=days)), now=now
        )
    finally:
        store.close()
    table = Table(title=f"Devices of {tenant}")
    for column in ("device", "bin", "last seen", "silent", "battery V", "V/day", "days to 3.3 V"):
        table.add_column(column)
    for h in sorted(health, key=lambda h: (not h.silent, h.days_to_low_battery or 1e9)):
        table.add_row(
            h.device_id,
            h.bin_id or "-",
            h.last_seen.strftime("%Y-%m-%d %H:%M") if h.last_seen else "never",
            "yes" if h.silent else "",
            f"{h.battery_v:.2f}" if h.battery_v else "-",
            f"{h.battery_v_per_day:+.3f}" if h.battery_v_per_day else "-",
            f"{h.days_to_low_battery:.0f}" if h.days_to_low_battery is not None else "-",
        )
    summary = summarise(health)
    console = Console()
    console.print(table)
    console.print(
        f"{summary.silent} of {summary.devices} silent ({summary.silent_share:.0%}); "
        f"{summary.low_battery} at or below 3.3 V"
    )
