"""Readings published to a real Mosquitto land in a real InfluxDB, as sent, once; bad input dead-letters."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import topics
from core.registry import Registry
from core.settings import MqttSettings
from core.timeseries.influx import InfluxStore
from ingest.metrics import total
from ingest.mqtt import Publisher
from tests.harness.services import Mosquitto
from tests.integration.pipeline_helpers import (
    TENANT,
    eventually,
    payload,
    reading,
    running_ingest,
    seed_kalmar,
    uplink,
)


@pytest.fixture
def devices(sqlite_registry: Registry) -> list[str]:
    return seed_kalmar(sqlite_registry, stations=5)


@pytest.fixture
def publisher(mosquitto: Mosquitto, tmp_path: Path) -> Publisher:
    with Publisher(
        MqttSettings(host="127.0.0.1", port=mosquitto.port), client_id=f"pub-{tmp_path.name}"
    ) as pub:
        yield pub


def test_published_readings_come_back_with_the_same_values(
    mosquitto: Mosquitto, sqlite_registry: Registry, influx_store: InfluxStore, devices: list[str],
    publisher: Publisher, tmp_path: Path,
) -> None:  # fmt: skip
    ts = datetime.now(UTC).replace(microsecond=123000) - timedelta(minutes=5)
    sent = reading(7, ts=ts, distance_mm=1025, temperature=4.5, battery_v=3.61, tilt_deg=2.0,
                   rssi_dbm=-71, fw_version="1.2.0")  # fmt: skip
    with running_ingest(mosquitto.port, sqlite_registry, influx_store, tmp_path / "spool"):
        publisher.publish(uplink(devices[0]), payload(sent))
        eventually(lambda: influx_store.count_readings(TENANT) == 1, what="the reading in InfluxDB")
    (stored,) = influx_store.readings(TENANT)
    assert stored.device_id == devices[0]
    assert stored.ts == ts
    assert (stored.seq, stored.distance_mm, stored.temperature_c) == (7, 1025, 4.5)
    assert (stored.battery_v, stored.tilt_deg, stored.rssi_dbm, stored.fw_version) == (
        3.61,
        2.0,
        -71,
        "1.2.0",
    )
    assert stored.filling_level == pytest.approx((1800 - 1025) / (1800 - 250))
    state = sqlite_registry.states(TENANT)[0]
    assert (state.bin_id, state.filling_level) == (stored.bin_id, stored.filling_level)


def test_duplicate_reading_is_stored_once(
    mosquitto: Mosquitto, sqlite_registry: Registry, influx_store: InfluxStore, devices: list[str],
    publisher: Publisher, tmp_path: Path,
) -> None:  # fmt: skip
    batch = [reading(seq) for seq in range(1, 21)]
    with running_ingest(mosquitto.port, sqlite_registry, influx_store, tmp_path / "spool") as ingest:
        publisher.publish(uplink(devices[1]), payload(batch))
        publisher.publish(uplink(devices[1]), payload(batch))
        publisher.publish(uplink(devices[1]), payload(batch[5]))
        publisher.flush()
        eventually(lambda: total(ingest.metrics.received) == 3, what="three messages")
        eventually(lambda: ingest.inbox.empty() and influx_store.count_readings(TENANT) == 20)
    assert influx_store.count_readings(TENANT) == 20
    assert sorted(r.seq for r in influx_store.readings(TENANT)) == list(range(1, 21))


BAD_INPUT = {
    "malformed_json": lambda d: (uplink(d), b'{"ts": 1, "seq":'),
    "wrong_type": lambda d: (uplink(d), payload(reading(1, distance_mm="far"))),  # type: ignore[arg-type]
    "out_of_range": lambda d: (uplink(d), payload(reading(1, distance_mm=99_999))),
    "unknown_field": lambda d: (uplink(d), payload(reading(1, colour="green"))),
    "missing_field": lambda d: (uplink(d), payload({"seq": 1, "distance_mm": 500})),
    "unknown_device": lambda d: (uplink("no-such-sensor"), payload(reading(1))),
    "timestamp_future": lambda d: (uplink(d), payload(reading(1, ts=datetime.now(UTC) + timedelta(hours=2)))),
    "timestamp_past": lambda d: (uplink(d), payload(reading(1, ts=datetime.now(UTC) - timedelta(days=90)))),
    "oversized": lambda d: (uplink(d), b"[" + b" " * 70_000 + b"]"),
    "not_an_object": lambda d: (uplink(d), b'"hello"'),
}


def test_each_bad_input_class_is_dead_lettered_with_its_reason(
    mosquitto: Mosquitto, sqlite_registry: Registry, influx_store: InfluxStore, devices: list[str],
    publisher: Publisher, tmp_path: Path,
) -> None:  # fmt: skip
    good = reading(1)
    with running_ingest(mosquitto.port, sqlite_registry, influx_store, tmp_path / "spool") as ingest:
        for make in BAD_INPUT.values():
            topic, body = make(devices[2])
            publisher.publish(topic, body)
        publisher.publish(uplink(devices[3]), payload([good, {"seq": "x"}]))
        publisher.flush()
        eventually(lambda: len(sqlite_registry.dead_letters(TENANT)) == len(BAD_INPUT) + 1)
        eventually(lambda: influx_store.count_readings(TENANT) == 1, what="the good reading beside a bad one")
        assert ingest.consumer.connected.is_set(), "bad input must not break the service"
    reasons = {letter.reason for letter in sqlite_registry.dead_letters(TENANT)}
    assert reasons == set(BAD_INPUT) | {"missing_field"}
    array_letter = next(d for d in sqlite_registry.dead_letters(TENANT) if d.detail.startswith("reading [1]"))
    assert json.loads(array_letter.payload) == {"seq": "x"}
    assert influx_store.readings(TENANT)[0].device_id == devices[3]


def test_dead_letters_are_published_on_the_tenants_dead_letter_topic(
    mosquitto: Mosquitto, sqlite_registry: Registry, influx_store: InfluxStore, devices: list[str],
    publisher: Publisher, tmp_path: Path,
) -> None:  # fmt: skip
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    heard: list[dict[str, str]] = []
    listener = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"dl-{tmp_path.name}")
    listener.on_message = lambda _c, _u, m: heard.append(json.loads(m.payload))
    listener.connect("127.0.0.1", mosquitto.port)
    listener.subscribe(topics.dead_letter(TENANT), qos=1)
    listener.loop_start()
    try:
        with running_ingest(mosquitto.port, sqlite_registry, influx_store, tmp_path / "spool"):
            publisher.publish(uplink(devices[0]), b"{broken")
            eventually(lambda: len(heard) == 1, what="the dead letter on its topic")
    finally:
        listener.loop_stop()
        listener.disconnect()
    assert heard[0]["reason"] == "malformed_json"
    assert heard[0]["payload"] == "{broken"
    assert heard[0]["topic"] == uplink(devices[0])


def test_a_device_silent_for_three_intervals_raises_one_event(
    mosquitto: Mosquitto, sqlite_registry: Registry, influx_store: InfluxStore, devices: list[str],
    publisher: Publisher, tmp_path: Path,
) -> None:  # fmt: skip
    long_ago = datetime.now(UTC) - timedelta(hours=2)  # the devices report every 15 min
    spool = tmp_path / "spool"
    with running_ingest(mosquitto.port, sqlite_registry, influx_store, spool, silent_check_interval_s=0.1):
        publisher.publish(uplink(devices[0]), payload(reading(1, ts=long_ago)))
        publisher.publish(uplink(devices[1]), payload(reading(1)))
        eventually(lambda: len(sqlite_registry.events(TENANT, kind="silent")) == 1, what="a silent event")
        time.sleep(0.5)  # several more checks
    (event,) = sqlite_registry.events(TENANT, kind="silent")
    assert (event.device_id, event.bin_id) == (devices[0], sqlite_registry.device(TENANT, devices[0]).bin_id)
    assert event.detail.startswith("silent since")
    assert [e.device_id for e in influx_store.events(TENANT, kind="silent")] == [devices[0]]
