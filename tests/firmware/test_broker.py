"""The firmware against a real, secured Mosquitto: delivery end to end, and what the broker refuses.

Accounts come from `tomning devices`' provisioning: the registry, the password and ACL files it
writes, and a SIGHUP to the running broker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import topics
from core.provisioning import Provisioned, provision, revoke, sync_broker
from core.registry import Registry
from core.settings import BrokerAccessSettings, MqttSettings
from core.timeseries.sqlite import SqliteStore
from ingest.mqtt import Publisher
from tests.firmware.fakes import FakeHal
from tests.harness.services import Mosquitto
from tests.integration.pipeline_helpers import TENANT, eventually, running_ingest, seed_kalmar

from device import Device, Identity  # type: ignore[import-not-found]  # firmware, on sys.path
from mqtt import Client, MQTTError  # type: ignore[import-not-found]

PLATFORM = ("tomning-platform", "platform-secret")


class Secured:
    def __init__(self, broker: Mosquitto, registry: Registry) -> None:
        self.broker, self.registry = broker, registry
        self.access = BrokerAccessSettings(password_file=broker.password_file, acl_file=broker.acl_file,
                                           pid_file=broker.pid_file)  # fmt: skip
        self.bins = [registry.device(TENANT, d).bin_id for d in seed_kalmar(registry, stations=2)]

    def sync(self) -> None:
        sync_broker(self.registry, self.access, platform_username=PLATFORM[0], platform_password=PLATFORM[1])
        time.sleep(0.3)  # Mosquitto rereads its files on the signal, between two network loops

    def provision(self, device_id: str, bin_index: int) -> Provisioned:
        since = datetime.now(UTC) - timedelta(days=1)
        made = provision(self.registry, tenant=TENANT, device_id=device_id, bin_id=self.bins[bin_index], since=since)
        self.sync()
        return made

    @property
    def platform(self) -> MqttSettings:
        return MqttSettings(host="127.0.0.1", port=self.broker.platform_port, username=PLATFORM[0],
                            password=PLATFORM[1])  # fmt: skip


@pytest.fixture
def secured(tmp_path: Path, sqlite_registry: Registry) -> Iterator[Secured]:
    broker = Mosquitto(tmp_path / "broker", secured=True)
    rig = Secured(broker, sqlite_registry)
    rig.access = rig.access.model_copy(update={"pid_file": None})
    rig.sync()  # the files must exist before Mosquitto starts
    broker.start()
    rig.access = rig.access.model_copy(update={"pid_file": broker.pid_file})
    yield rig
    broker.stop()


def client(rig: Secured, user: str | None, password: str | None) -> Client:
    return Client(f"test-{user}-{time.monotonic_ns()}", "127.0.0.1", rig.broker.port, user=user, password=password,
                  timeout_s=5)  # fmt: skip


def firmware(rig: Secured, made: Provisioned, tmp_path: Path, hal: FakeHal) -> Device:
    identity = Identity(TENANT, made.device.id, made.password, "127.0.0.1", rig.broker.port)
    return Device(hal, identity, str(tmp_path / f"{made.device.id}.json"), str(tmp_path / f"{made.device.id}-out.json"))


def test_the_firmware_delivers_readings_that_ingest_accepts(secured: Secured, tmp_path: Path) -> None:
    made = secured.provision("fw-1", 0)
    hal = FakeHal(echo_us=[5800, 5790, 5810, 5805, 5795, 9000, 5800], temperature=20.0, battery=3.87,
                  clock=int(time.time()))  # fmt: skip
    with Publisher(secured.platform, client_id="platform-config") as platform:
        platform.publish(topics.config(TENANT, "fw-1"), json.dumps({"report_busy_s": 600}).encode(), retain=True)
        platform.flush()
    store = SqliteStore(tmp_path / "ts.sqlite")
    with running_ingest(secured.broker.port, secured.registry, store, tmp_path / "spool",
                        mqtt=secured.platform):  # fmt: skip
        sensor = firmware(secured, made, tmp_path, hal)
        sensor.cycle()
        eventually(lambda: store.count_readings(TENANT) == 1, what="the firmware's reading stored")
    (stored,) = store.readings(TENANT)
    assert (stored.device_id, stored.bin_id, stored.seq) == ("fw-1", secured.bins[0], 1)
    assert stored.distance_mm == pytest.approx(5800 * 343.42 / 2000, abs=1)
    assert (stored.temperature_c, stored.battery_v) == (20.0, 3.87)
    assert sensor.config["report_busy_s"] == 600, "the retained config was applied"
    assert sensor.outbox.items == []
    store.close()


def test_an_invalid_config_is_refused_and_the_old_one_kept(secured: Secured, tmp_path: Path) -> None:
    made = secured.provision("fw-2", 1)
    with Publisher(secured.platform, client_id="platform-bad-config") as platform:
        platform.publish(topics.config(TENANT, "fw-2"), b'{"threshold": 7}', retain=True)
        platform.flush()
    sensor = firmware(secured, made, tmp_path, FakeHal(clock=int(time.time())))
    sensor.cycle()
    assert sensor.config["threshold"] == 0.8
    assert any("config refused: threshold" in line for line in sensor.log)


def test_a_device_cannot_publish_as_another(secured: Secured, tmp_path: Path) -> None:
    mallory = secured.provision("fw-mallory", 0)
    secured.provision("fw-victim", 1)
    store = SqliteStore(tmp_path / "ts.sqlite")
    with running_ingest(secured.broker.port, secured.registry, store, tmp_path / "spool", mqtt=secured.platform):
        c = client(secured, mallory.username, mallory.password)
        c.connect()
        forged = {"ts": datetime.now(UTC).isoformat(), "seq": 1, "distance_mm": 300}
        try:  # Mosquitto drops the message, and then the client too (MQTT 3.1.1 has no way to say no)
            c.publish(topics.uplink(TENANT, "fw-victim"), json.dumps(forged))
        except MQTTError:
            pass
        c.close()
        c = client(secured, mallory.username, mallory.password)
        c.connect()
        c.publish(topics.uplink(TENANT, "fw-mallory"), json.dumps(forged | {"seq": 2}))
        c.disconnect()
        eventually(lambda: store.count_readings(TENANT) == 1, what="mallory's own reading")
        time.sleep(0.5)
    assert [(r.device_id, r.seq) for r in store.readings(TENANT)] == [("fw-mallory", 2)]
    store.close()


def test_a_device_reads_only_its_own_config(secured: Secured) -> None:
    reader = secured.provision("fw-reader", 0)
    with Publisher(secured.platform, client_id="platform-configs") as platform:
        for device in ("fw-reader", "fw-other"):
            platform.publish(topics.config(TENANT, device), json.dumps({"pings": 9}).encode(), retain=True)
        platform.flush()
    heard: list[str] = []
    c = client(secured, reader.username, reader.password)
    c.on_message = lambda topic, _message: heard.append(topic)
    c.connect()
    try:
        c.subscribe(topics.config(TENANT, "fw-other"))
    except MQTTError:
        pass  # refused outright: as good as never delivered
    c.subscribe(topics.config(TENANT, "fw-reader"))
    while c.wait_msg(1.0):
        pass
    c.disconnect()
    assert heard == [topics.config(TENANT, "fw-reader")]


def test_anonymous_clients_and_wrong_passwords_are_refused(secured: Secured) -> None:
    made = secured.provision("fw-3", 0)
    for user, password in ((None, None), (made.username, "wrong"), ("fw-3", made.password)):
        with pytest.raises(MQTTError, match="refused"):
            client(secured, user, password).connect()


def test_revoking_a_device_takes_effect_without_a_restart(secured: Secured) -> None:
    made = secured.provision("fw-4", 0)
    first = client(secured, made.username, made.password)
    first.connect()
    first.disconnect()
    pid = secured.broker.process.pid if secured.broker.process else None
    revoke(secured.registry, tenant=TENANT, device_id="fw-4")
    secured.sync()
    with pytest.raises(MQTTError, match="refused"):
        client(secured, made.username, made.password).connect()
    assert secured.broker.process is not None
    assert secured.broker.process.pid == pid, "the broker was reloaded, not restarted"
    assert secured.registry.device(TENANT, "fw-4").enabled is False
