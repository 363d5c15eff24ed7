"""A provisioned device turned against the broker (the secured Mosquitto of deploy/mosquitto.conf): it
cannot take ingest's client id, cannot take ingest's share of the uplinks, cannot send more than 64 KiB."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core import topics
from core.settings import MqttSettings
from core.timeseries.sqlite import SqliteStore
from ingest.mqtt import Publisher
from tests.firmware.test_broker import Secured, secured  # noqa: F401  (the fixture)
from tests.integration.pipeline_helpers import TENANT, eventually, running_ingest


def as_device(rig: Secured, username: str, password: str, client_id: str) -> Publisher:
    settings = MqttSettings(host="127.0.0.1", port=rig.broker.port, username=username, password=password)
    return Publisher(settings, client_id=client_id)


def readings(device: str, count: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        (topics.uplink(TENANT, device), json.dumps({"ts": (now - timedelta(minutes=n)).isoformat(), "seq": n,
                                                    "distance_mm": 500 + n}).encode())  # fmt: skip
        for n in range(count)
    ]


def test_a_device_cannot_take_ingests_client_id(secured: Secured, tmp_path: Path) -> None:
    mallory, honest = secured.provision("p-1", 0), secured.provision("p-2", 1)
    store = SqliteStore(tmp_path / "ts.sqlite")
    with running_ingest(secured.broker.port, secured.registry, store, tmp_path / "spool",
                        mqtt=secured.platform, client_id="tomning-ingest-1") as ingest:  # fmt: skip
        with as_device(secured, mallory.username, mallory.password, "tomning-ingest-1") as thief:
            with as_device(secured, honest.username, honest.password, "p-2") as device:
                for topic, body in readings("p-2", 100):
                    device.publish(topic, body)
                device.flush()
            eventually(lambda: store.count_readings(TENANT) == 100, what="all 100 readings stored")
            assert thief.connected.is_set(), "the thief is connected, under its own name"
        assert ingest.consumer.connected.is_set(), "ingest was never dropped"
    assert store.count_readings(TENANT) == 100
    store.close()


def test_a_device_joining_ingests_shared_subscription_takes_nothing(secured: Secured, tmp_path: Path) -> None:
    mallory, honest = secured.provision("p-1", 0), secured.provision("p-2", 1)
    store, stolen = SqliteStore(tmp_path / "ts.sqlite"), []
    with running_ingest(secured.broker.port, secured.registry, store, tmp_path / "spool", mqtt=secured.platform):
        with as_device(secured, mallory.username, mallory.password, "p-1") as thief:
            for group in ("tomning-ingest", "tomning-ingest-w1", "x"):  # the names it could guess
                thief.subscribe(topics.uplink_filter(group), lambda topic, body: stolen.append(topic))
            time.sleep(0.5)  # the subscriptions are in place before the readings go out
            with as_device(secured, honest.username, honest.password, "p-2") as device:
                for topic, body in readings("p-2", 200):
                    device.publish(topic, body)
                device.flush()
            eventually(lambda: store.count_readings(TENANT) == 200, what="all 200 readings stored")
    assert (store.count_readings(TENANT), stolen) == (200, [])
    store.close()


def test_the_broker_takes_no_payload_over_the_contracts_64_kib(secured: Secured, tmp_path: Path) -> None:
    mallory = secured.provision("p-1", 0)
    store = SqliteStore(tmp_path / "ts.sqlite")
    (topic, _), (_, last) = readings("p-1", 1)[0], readings("p-1", 1)[0]
    near_limit = json.dumps({"ts": 1, "seq": 1, "x": "a" * 60_000}).encode()
    with running_ingest(secured.broker.port, secured.registry, store, tmp_path / "spool",
                        mqtt=secured.platform) as ingest:  # fmt: skip
        with as_device(secured, mallory.username, mallory.password, "p-1") as device:
            device.publish(topic, b"[" + b" " * 70_000 + b"]")
            time.sleep(1)  # its PUBACK carries an error, which paho does not count as published
        with as_device(secured, mallory.username, mallory.password, "p-1") as device:
            device.publish(topic, near_limit)
            device.publish(topic, last)
            device.flush()
        eventually(lambda: store.count_readings(TENANT) == 1, what="the reading after the big one stored")
        eventually(lambda: len(secured.registry.dead_letters()) == 1, what="the 60 kB one dead-lettered")
        assert ingest.metrics.received._value.get() == 2, "the 70 kB payload never reached ingest"
    [letter] = secured.registry.dead_letters()
    assert letter.reason == "unknown_field"
    store.close()
