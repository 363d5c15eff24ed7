"""The simulated fleet through the broker: a backfilled week lands in the store, a collected bin empties."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from core import topics
from core.models import EventKind
from core.registry import Registry
from core.settings import MqttSettings
from core.timeseries.sqlite import SqliteStore
from ingest.mqtt import Publisher
from ingest.simulate import Simulator
from tests.harness.services import Mosquitto
from tests.integration.pipeline_helpers import TENANT, eventually, running_ingest, seed_kalmar


def fleet(registry: Registry, stations: int) -> list:  # type: ignore[type-arg]
    devices = [registry.device(TENANT, d) for d in seed_kalmar(registry, stations=stations)]
    return [(registry.bin(TENANT, str(d.bin_id)), d) for d in devices]


def test_a_backfilled_week_with_its_round_and_faults_is_stored(
    mosquitto: Mosquitto, sqlite_registry: Registry, tmp_path: Path
) -> None:
    pairs = fleet(sqlite_registry, stations=10)
    mqtt = MqttSettings(host="127.0.0.1", port=mosquitto.port)
    store = SqliteStore(tmp_path / "ts.sqlite")
    simulator = Simulator(
        pairs, mqtt=mqtt, bad_share=0.0, fault_share=0.2, fixed_round=True, client_id="sim-week"
    )
    with running_ingest(mosquitto.port, sqlite_registry, store, tmp_path / "spool"):
        simulator.run(
            period_s=0.1,
            ticks=0,
            stop=threading.Event(),
            on_tick=lambda _: None,
            backfill_days=7,
            report_interval_s=1800,
        )
        eventually(lambda: store.count_readings(TENANT) == simulator.tally.published, timeout_s=60)
    tally = simulator.tally
    assert tally.published + tally.silent == 40 * 7 * 48  # a reading per bin each half hour, unless silent
    first = min(r.ts for r in store.readings(TENANT))
    assert (datetime.now(UTC) - first).days == 6  # the week is there, stamped in the past
    emptied = sqlite_registry.events(TENANT, kind=EventKind.EMPTIED.value)
    assert len({e.bin_id for e in emptied}) > 25  # most bins met their weekly round
    assert all(0.2 <= (e.value or 0) <= 1.15 for e in emptied)
    store.close()


def test_a_bin_marked_collected_is_emptied_by_the_simulation(
    mosquitto: Mosquitto, sqlite_registry: Registry, tmp_path: Path
) -> None:
    pairs = fleet(sqlite_registry, stations=1)
    target = pairs[0][0].id
    mqtt = MqttSettings(host="127.0.0.1", port=mosquitto.port)
    store = SqliteStore(tmp_path / "ts.sqlite")
    simulator = Simulator(pairs, mqtt=mqtt, bad_share=0.0, speedup=1, client_id="sim-collect")
    for sim in simulator.fleet.bins.values():
        sim.level = 0.8
    stop = threading.Event()
    with running_ingest(mosquitto.port, sqlite_registry, store, tmp_path / "spool"):
        runner = threading.Thread(
            target=simulator.run,
            kwargs={"period_s": 0.2, "ticks": None, "stop": stop, "on_tick": lambda _: None},
        )
        runner.start()
        try:
            eventually(lambda: len(sqlite_registry.states(TENANT)) == 4, what="every bin reported")
            with Publisher(mqtt, client_id="driver-app") as driver:
                driver.publish(topics.collected(TENANT, target), json.dumps({"ts": "now"}).encode())
            eventually(lambda: simulator.tally.collected == 1, what="the simulation heard it")
            eventually(lambda: bool(sqlite_registry.events(TENANT, kind="emptied")), what="an emptied event")
        finally:
            stop.set()
            runner.join()
    (event,) = sqlite_registry.events(TENANT, kind="emptied")
    assert event.bin_id == target
    assert event.value is not None
    assert event.value > 0.7
    store.close()
