"""Thousands of QoS 1 readings in flight while ingest is killed, InfluxDB stops, the broker restarts.

After each fault every published reading is in InfluxDB exactly once, with the values sent.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.registry import Registry
from core.registry.migrate import upgrade
from core.settings import MqttSettings, StoreSettings
from core.timeseries.influx import InfluxStore
from ingest.mqtt import Publisher
from tests.conftest import unique
from tests.harness.ingest_process import IngestProcess
from tests.harness.services import InfluxDB, Mosquitto
from tests.integration.pipeline_helpers import TENANT, eventually, seed_kalmar, uplink

READINGS_PER_DEVICE = 60  # × 120 devices = 7,200 readings, one message each


class Rig:
    def __init__(self, tmp_path: Path, broker: Mosquitto, influxdb: InfluxDB) -> None:
        self.broker, self.influxdb = broker, influxdb
        registry_url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
        with Registry.connect(registry_url) as registry:
            upgrade(registry.engine)
            self.devices = seed_kalmar(registry)
        self.database = unique("faults")
        self.store = InfluxStore.from_settings(
            StoreSettings(backend="influxdb", influx_url=influxdb.url, influx_database=self.database)
        )
        self.ingest = IngestProcess(tmp_path, broker_port=broker.port, registry_url=registry_url,
                                    influx_url=influxdb.url, database=self.database,
                                    # small batches: more of them in flight when a fault strikes
                                    extra_env={"TOMNING_INGEST__BATCH_SIZE": "100"})  # fmt: skip
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=READINGS_PER_DEVICE)
        self.sent = {
            (device, start + timedelta(hours=i)): {"ts": (start + timedelta(hours=i)).isoformat(), "seq": i,
                                                   "distance_mm": 300 + (i * 37 + n) % 1400}
            for n, device in enumerate(self.devices)
            for i in range(READINGS_PER_DEVICE)
        }  # fmt: skip

    def publish(self, part: slice = slice(None)) -> None:
        settings = MqttSettings(host="127.0.0.1", port=self.broker.port)
        with Publisher(settings, client_id=unique("pub")) as publisher:
            for (device, _), body in list(self.sent.items())[part]:
                publisher.publish(uplink(device), json.dumps(body).encode())
            publisher.flush()

    def backlog(self) -> None:
        """Every reading queued in the broker for ingest's session, then ingest started on it."""
        self.ingest.start()
        self.ingest.stop()
        self.publish()
        self.ingest.start()

    def stored(self) -> int:
        return self.store.count_readings(TENANT)

    def assert_all_stored_exactly_once(self, timeout_s: float = 120) -> None:
        eventually(lambda: self.stored() >= len(self.sent), timeout_s=timeout_s, what="every reading stored")
        readings = self.store.readings(TENANT)
        assert len(readings) == len(self.sent)
        got = {(r.device_id, r.ts): {"ts": r.ts.isoformat(), "seq": r.seq, "distance_mm": r.distance_mm}
               for r in readings}  # fmt: skip
        assert got == self.sent


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def influx(tmp_path: Path) -> Iterator[InfluxDB]:
    with InfluxDB(tmp_path / "influxdb") as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def rig(tmp_path: Path, broker: Mosquitto, influx: InfluxDB) -> Iterator[Rig]:
    rig = Rig(tmp_path, broker, influx)
    yield rig
    if rig.ingest.process is not None:
        rig.ingest.stop(signal.SIGKILL)
    rig.store.close()


def test_sigkilled_ingest_loses_nothing(rig: Rig) -> None:
    rig.backlog()
    eventually(lambda: rig.stored() > 0, what="ingest under way")
    rig.ingest.stop(signal.SIGKILL)
    at_kill = rig.stored()
    assert at_kill < len(rig.sent), "the kill came after everything was stored: the test proves nothing"
    rig.ingest.start()
    rig.assert_all_stored_exactly_once()


def test_influxdb_down_for_30_s_loses_nothing(rig: Rig) -> None:
    rig.ingest.start()
    rig.publish(slice(0, 1000))
    eventually(lambda: rig.stored() == 1000, what="the first part stored")
    rig.influxdb.stop()
    rig.publish(slice(1000, None))  # acknowledged by the broker, spooled by ingest
    eventually(lambda: rig.ingest.health()["spool_batches"] > 0, what="spooling")
    assert rig.ingest.health()["store_ok"] is False
    time.sleep(30)
    rig.influxdb.start()
    rig.assert_all_stored_exactly_once()
    eventually(lambda: rig.ingest.health()["spool_batches"] == 0, what="the spool drained")
    assert "tomning_ingest_readings_spooled_total" in rig.ingest.metrics()


def test_mosquitto_restart_loses_nothing(rig: Rig) -> None:
    rig.backlog()
    eventually(lambda: rig.stored() > 0, what="ingest under way")
    rig.broker.restart()  # SIGTERM: Mosquitto saves its persistence file, then starts from it
    assert rig.stored() < len(rig.sent), "the restart came after everything was stored"
    rig.assert_all_stored_exactly_once()


def test_sigterm_flushes_and_stops_cleanly(rig: Rig) -> None:
    rig.backlog()
    eventually(lambda: rig.stored() > 0, what="ingest under way")
    assert rig.ingest.stop(signal.SIGTERM) == 0
    assert rig.stored() < len(rig.sent), "the stop came after everything was stored"
    rig.ingest.start()
    rig.assert_all_stored_exactly_once()


def test_two_workers_split_the_load_and_store_everything_once(tmp_path: Path, broker: Mosquitto,
                                                               influx: InfluxDB) -> None:  # fmt: skip
    rig = Rig(tmp_path, broker, influx)
    rig.ingest.workers = 2
    try:
        rig.backlog()
        eventually(lambda: rig.ingest.health(0)["queue"] >= 0 and rig.ingest.health(1)["queue"] >= 0)
        rig.assert_all_stored_exactly_once()
        received = [
            float(line.split()[-1])
            for worker in (0, 1)
            for line in rig.ingest.metrics(worker).splitlines()
            if line.startswith("tomning_ingest_messages_received_total")
        ]
        assert len(received) == 2
        assert all(count > 0 for count in received), f"one worker took nothing: {received}"
        assert rig.ingest.stop() == 0
    finally:
        if rig.ingest.process is not None:
            rig.ingest.stop(signal.SIGKILL)
        rig.store.close()
