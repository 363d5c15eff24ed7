"""An attacker with one device (or one network-server account) cannot stop ingest, nor touch another tenant.

Real Mosquitto, InfluxDB (a database per tenant) and registries; each test counts what was sent, stored,
dead-lettered and lost (0), and checks that the other tenant's readings all arrived.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from core import places, topics
from core.models import DeadLetter, Tenant
from core.registry import Registry
from core.settings import MqttSettings, StoreSettings
from core.timeseries.influx import InfluxStore
from ingest import pipeline
from ingest.mqtt import Publisher
from ingest.service import IngestService
from tests.conftest import unique
from tests.harness.services import InfluxDB, Mosquitto
from tests.integration.pipeline_helpers import eventually, running_ingest

TENANTS = {"kalmar": slice(0, 3), "vaxjo": slice(3, 6)}
DEEP = b"[" * 1000 + b"]" * 1000
POISON: dict[str, bytes] = {
    "too_deep": DEEP,
    "number_too_long": b'{"ts": 1, "seq": ' + b"9" * 5000 + b', "distance_mm": 500}',
    "not_utf8": b"\x00",
    "oversized": b'{"ts": 1, "seq": 1, "pad": "' + b"x" * 100_000 + b'"}',
}


def seed(registry: Registry) -> dict[str, list[str]]:
    """Two municipalities, three stations × four containers each; their device ids."""
    stations = places.stations()
    since = datetime.now(UTC) - timedelta(days=30)
    devices = {}
    for tenant, part in TENANTS.items():
        pairs = places.fleet(tenant, stations[part])
        places.seed(registry, Tenant(id=tenant, name=tenant.title()), pairs, since=since)
        devices[tenant] = [d.id for _, d in pairs]
    return devices


def good(device: str, n: int) -> bytes:
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=n)
    return json.dumps({"ts": ts.isoformat(), "seq": n, "distance_mm": 400 + n}).encode()


@pytest.fixture
def store(influxdb: InfluxDB) -> Iterator[InfluxStore]:
    name = unique("hostile") + "_{tenant}"
    with InfluxStore.from_settings(StoreSettings(backend="influxdb", influx_url=influxdb.url,
                                                 influx_database=name)) as store:  # fmt: skip
        yield store


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    with Publisher(MqttSettings(host="127.0.0.1", port=port), client_id=unique("attacker")) as client:
        for topic, body in messages:
            client.publish(topic, body)
        client.flush()


def barrage(devices: dict[str, list[str]], per_device: int) -> tuple[list[tuple[str, bytes]], int]:
    """Every device's good readings with Kalmar's first device's poison among them; (messages, good)."""
    attacker = devices["kalmar"][0]
    messages = []
    for n in range(per_device):
        for tenant, ids in devices.items():
            messages += [(topics.uplink(tenant, d), good(d, n)) for d in ids]
        if n < len(POISON):
            messages.append((topics.uplink("kalmar", attacker), list(POISON.values())[n]))
    chirpstack = {"deviceInfo": {"devEui": "a84041000181c0de"}, "fPort": 2, "fCnt": 1, "data": "AAAA",
                  "time": datetime.now(UTC).isoformat(), "rxInfo": [{"rssi": 1e999}]}  # fmt: skip
    envelope = json.dumps(chirpstack).replace("Infinity", "1e999").encode()
    messages.append(("application/app/device/a84041000181c0de/event/up", envelope))
    return messages, per_device * sum(len(ids) for ids in devices.values())


def healthz(service: IngestService) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"http://127.0.0.1:{service.health.port}/healthz", timeout=10)
    return answer.status_code, answer.json()


def test_poison_uplinks_hold_up_no_other_reading_of_any_tenant(
    mosquitto: Mosquitto, sqlite_registry: Registry, store: InfluxStore, tmp_path: Path
) -> None:
    devices = seed(sqlite_registry)
    vaxjo_bin = sqlite_registry.bins("vaxjo")[
        0
    ]  # a district from before the rule; InfluxDB 1.x cannot tag it
    sqlite_registry.save_bins([vaxjo_bin.model_copy(update={"district": "Centrum\\"})])
    messages, sent_good = barrage(devices, per_device=10)
    with running_ingest(mosquitto.port, sqlite_registry, store, tmp_path / "spool") as service:
        publish(mosquitto.port, messages)
        stored = lambda: sum(store.count_readings(t) for t in TENANTS)  # noqa: E731
        eventually(lambda: stored() >= sent_good, timeout_s=120, what="every good reading stored")
        eventually(
            lambda: len(sqlite_registry.dead_letters()) >= len(POISON) + 1, what="poison dead-lettered"
        )
        assert healthz(service) == (200, healthz(service)[1])
    letters = sqlite_registry.dead_letters()
    assert sorted(d.reason for d in letters) == sorted([*POISON, "invalid_envelope"])
    assert all(len(d.payload) <= 4096 for d in letters)
    assert store.count_readings("kalmar") == store.count_readings("vaxjo") == sent_good // 2  # lost: 0
    [centrum] = store.readings("vaxjo", bin_id=vaxjo_bin.id)[:1]
    assert centrum.district == "Centrum/"


def test_a_message_that_fails_as_nobody_foresaw_is_dead_lettered_alone(
    mosquitto: Mosquitto, sqlite_registry: Registry, store: InfluxStore, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    devices = seed(sqlite_registry)
    victim = devices["kalmar"][1]
    real = pipeline._reading

    def broken(uplink: Any, tenant: str, device_id: str, bin_: Any) -> Any:
        if device_id == victim:
            raise RuntimeError("a defect of ours, met by this device's readings only")
        return real(uplink, tenant, device_id, bin_)

    monkeypatch.setattr(pipeline, "_reading", broken)
    messages = [
        (topics.uplink(t, d), good(d, n)) for n in range(5) for t, ids in devices.items() for d in ids
    ]
    with running_ingest(mosquitto.port, sqlite_registry, store, tmp_path / "spool"):
        publish(mosquitto.port, messages)
        expected = len(messages) - 5
        eventually(lambda: sum(store.count_readings(t) for t in TENANTS) >= expected, what="the rest stored")
        eventually(lambda: len(sqlite_registry.dead_letters()) >= 5, what="the victim's dead-lettered")
    assert {(d.reason, d.topic) for d in sqlite_registry.dead_letters()} == {
        ("unprocessable", topics.uplink("kalmar", victim))
    }


class FlakyRegistry(Registry):
    """A registry that refuses to keep some dead letters (a defect), or is away (an outage)."""

    refuse_topic = "\0"
    away = False

    def add_dead_letters(self, letters: Any) -> None:
        if self.away:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("registry away"))
        if any(self.refuse_topic in d.topic and d.reason != "unprocessable" for d in letters):
            raise ValueError("this dead letter cannot be kept")
        super().add_dead_letters(letters)


@pytest.fixture
def flaky(sqlite_registry: Registry) -> FlakyRegistry:
    return FlakyRegistry(sqlite_registry.engine)


def test_a_batch_that_fails_is_split_until_the_one_message_that_fails_alone(
    mosquitto: Mosquitto, flaky: FlakyRegistry, store: InfluxStore, tmp_path: Path
) -> None:
    devices = seed(flaky)
    flaky.refuse_topic = "/devices/evil/"
    messages = [(topics.uplink(t, d), good(d, 0)) for t, ids in devices.items() for d in ids]
    messages.insert(7, (topics.uplink("kalmar", "evil"), b"{not json"))
    # one batch for the lot: the split is what finds the message
    with running_ingest(mosquitto.port, flaky, store, tmp_path / "spool", batch_max_wait_s=1.0) as service:
        publish(mosquitto.port, messages)
        eventually(lambda: sum(store.count_readings(t) for t in TENANTS) >= len(messages) - 1, what="stored")
        eventually(lambda: len(flaky.dead_letters()) == 1, what="the message that fails alone dead-lettered")
        eventually(lambda: service.report()["queue"] == 0 and service._waiting == 0, what="nothing waits")
    [letter] = flaky.dead_letters()
    assert letter.reason == "unprocessable"
    assert "this dead letter cannot be kept" in letter.detail


def test_health_says_so_while_messages_wait_and_nothing_is_stored(
    mosquitto: Mosquitto, flaky: FlakyRegistry, store: InfluxStore, tmp_path: Path
) -> None:
    devices = seed(flaky)
    flaky.away = True
    with running_ingest(mosquitto.port, flaky, store, tmp_path / "spool", stall_after_s=1.0) as service:
        publish(mosquitto.port, [(topics.uplink("kalmar", "nobody"), b"{}")])
        eventually(lambda: healthz(service)[0] == 503, what="/healthz unhealthy")
        _, report = healthz(service)
        assert report["status"] == "degraded"
        assert "none was stored" in report["problems"][0]
        flaky.away = False
        eventually(lambda: healthz(service)[0] == 200, what="/healthz healthy again")
    assert [d.reason for d in flaky.dead_letters()] == ["unknown_device"]
    assert devices  # the tenants were there all along: only the registry was away


def test_nul_bytes_are_dead_lettered_on_postgresql(
    mosquitto: Mosquitto, postgres_registry: Registry, store: InfluxStore, tmp_path: Path
) -> None:
    devices = seed(postgres_registry)
    attacker, other = devices["kalmar"][0], devices["vaxjo"][0]
    now = datetime.now(UTC).isoformat()
    nul_in_text = json.dumps({"ts": now, "seq": 1, "distance_mm": 500, "fw_version": "\0\0"}).encode()
    messages = [
        (topics.uplink("kalmar", attacker), b"\x00"),
        (topics.uplink("kalmar", attacker), nul_in_text),
        (topics.uplink("vaxjo", other), good(other, 1)),
    ]
    with running_ingest(mosquitto.port, postgres_registry, store, tmp_path / "spool"):
        publish(mosquitto.port, messages)
        eventually(lambda: len(postgres_registry.dead_letters()) >= 2, what="both dead-lettered")
        eventually(lambda: store.count_readings("vaxjo") == 1, what="the other tenant's reading stored")
    letters: list[DeadLetter] = postgres_registry.dead_letters()
    assert sorted(d.reason for d in letters) == ["invalid_value", "not_utf8"]
    assert all("\0" not in d.payload for d in letters)


def test_health_says_the_store_is_down_from_the_start(
    mosquitto: Mosquitto, sqlite_registry: Registry, tmp_path: Path
) -> None:
    from tests.harness.services import free_port

    nowhere = StoreSettings(
        backend="influxdb", influx_url=f"http://127.0.0.1:{free_port()}", influx_database="x"
    )
    with (
        InfluxStore.from_settings(nowhere) as down,
        running_ingest(mosquitto.port, sqlite_registry, down, tmp_path / "spool") as service,
    ):
        assert healthz(service)[1]["store_ok"] is False
