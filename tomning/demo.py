"""`tomning demo`: broker, ingest, store and Kalmar's simulated bins on one machine, shown live."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from core.registry import Registry
from core.settings import Settings, get_settings
from core.timeseries import TimeSeriesStore
from tomning.apiserver import Served
from tomning.runtime import open_registry, seed_tenant

TENANT = "kalmar"


@contextlib.contextmanager
def _broker(settings: Settings) -> Iterator[Settings]:
    """The configured broker, or the embedded one when none is configured."""
    if settings.mqtt.host:
        yield settings
        return
    from tomning.broker import EmbeddedBroker

    with EmbeddedBroker() as embedded:
        # amqtt speaks MQTT 3.1.1 only: no shared subscription, one ingest worker
        mqtt = settings.mqtt.model_copy(
            update={"host": "127.0.0.1", "port": embedded.port, "protocol": "v311"}
        )
        yield settings.model_copy(update={"mqtt": mqtt})


def _view(service: object, registry: object, started: float, published: int) -> Group:
    from core.registry import Registry
    from ingest.metrics import total
    from ingest.service import IngestService

    assert isinstance(service, IngestService)
    assert isinstance(registry, Registry)
    m = service.metrics
    flow = Table(title=f"Tömning demo: {TENANT}, {time.monotonic() - started:.0f} s", show_header=False)
    for label, value in (
        ("published by simulated sensors", published),
        ("received by ingest", total(m.received)),
        ("written to the store", total(m.written)),
        ("spooled (store down)", total(m.spooled)),
        ("dead letters", total(m.dead_letters)),
        ("events", total(m.events)),
    ):
        flow.add_row(label, str(value))
    fullest = Table(title="Fullest bins", show_lines=False)
    for column in ("bin", "fill", "temp °C", "battery V", "since emptying"):
        fullest.add_column(column)
    states = sorted(registry.states(TENANT), key=lambda s: -s.filling_level)[:8]
    for s in states:
        emptied = s.date_last_emptying.strftime("%H:%M:%S") if s.date_last_emptying else "-"
        bar = "█" * round(s.filling_level * 10) + "·" * (10 - round(s.filling_level * 10))
        fullest.add_row(
            s.bin_id, f"{bar} {s.filling_level:4.0%}", f"{s.temperature_c}", f"{s.battery_v}", emptied
        )
    return Group(flow, fullest)


# Kalmar's trucks leave from the town's depot and tip at Moskogen, the waste facility north-west of town.
DEMO_FLEET = {
    "depots": [{"id": "depot", "location": {"lat": 56.6745, "lon": 16.3220}}],
    "facilities": [{"id": "moskogen", "location": {"lat": 56.6827, "lon": 16.2353}}],
    "vehicles": [
        {"id": "truck-1", "capacity_l": 40_000, "depot": "depot", "driver": "anna"},
        {"id": "truck-2", "capacity_l": 40_000, "depot": "depot", "driver": "bo"},
    ],
}


def _serve_api(settings: Settings, registry: Registry, store: TimeSeriesStore, console: Console) -> Served:
    """The HTTP API beside the pipeline, with Kalmar's demo fleet and a dispatcher's key printed."""
    from api.context import Services
    from api.resources.admin import issue
    from core.models import Role

    if registry.fleet(TENANT) is None:
        registry.save_fleet(TENANT, DEMO_FLEET)
    served = Served(Services(registry=registry, store=store, settings=settings),
                    host=settings.api.host, port=settings.api.port)  # fmt: skip
    try:
        served.__enter__()
    except RuntimeError:  # the configured port is taken: any free one will do for a demo
        served = Served(
            Services(registry=registry, store=store, settings=settings), host=settings.api.host, port=0
        )
        served.__enter__()
    key = issue(registry, datetime.now(UTC), tenant=TENANT, role=Role.DISPATCHER, name="demo").key
    console.print(f"API: [bold]{served.url}/docs[/]  dispatcher key: {key}", soft_wrap=True)
    return served


def run_demo(*, duration_s: float | None, period_s: float, stop: threading.Event) -> None:
    from core.timeseries import open_store
    from ingest.service import IngestService
    from ingest.simulate import Simulator

    console = Console()
    with _broker(get_settings()) as settings, open_registry(settings) as registry:
        count = seed_tenant(registry, tenant=TENANT, name="Kalmar kommun", csv=None, municipality="0880")
        broker = f"{settings.mqtt.host}:{settings.mqtt.port}"
        console.print(f"[bold]{count}[/] containers at Kalmar's 30 recycling stations; broker {broker}")
        console.print(f"store: {settings.store.backend}; registry: {settings.registry.url}")
        store = open_store(settings.store)
        service = IngestService(mqtt=settings.mqtt, settings=settings.ingest, registry=registry, store=store)
        service.start()
        api = _serve_api(settings, registry, store, console)
        by_id = {b.id: b for b in registry.bins(TENANT)}
        pairs = [(by_id[d.bin_id], d) for d in registry.devices(TENANT) if d.bin_id in by_id]
        simulator = Simulator(
            pairs, mqtt=settings.mqtt, client_id="tomning-demo-simulator", speedup=3600, fixed_round=True
        )
        runner = threading.Thread(
            target=simulator.run,
            kwargs={"period_s": period_s, "ticks": None, "stop": stop, "on_tick": lambda _: None},
        )
        runner.start()
        started = time.monotonic()
        try:
            with Live(console=console, refresh_per_second=2) as live:
                while not stop.wait(1.0):
                    live.update(_view(service, registry, started, simulator.tally.published))
                    if duration_s is not None and time.monotonic() - started >= duration_s:
                        stop.set()
                time.sleep(max(0.5, 3 * settings.ingest.batch_max_wait_s))
                live.update(_view(service, registry, started, simulator.tally.published))
        finally:
            stop.set()
            runner.join()
            api.__exit__(None, None, None)
            service.stop()
            console.print(f"stored readings: [bold]{store.count_readings(TENANT)}[/]")
            store.close()
