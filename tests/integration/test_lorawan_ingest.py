"""LoRaWAN sensors' uplinks from The Things Stack and ChirpStack, through Mosquitto, into the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.provisioning import provision
from core.registry import Registry
from core.settings import MqttSettings
from core.timeseries.sqlite import SqliteStore
from ingest.mqtt import Publisher
from tests.core.test_lorawan import chirpstack_uplink, tts_uplink
from tests.harness.services import Mosquitto
from tests.integration.pipeline_helpers import TENANT, eventually, running_ingest, seed_kalmar

LDDS75_EUI, EM400_EUI = "a84041000181c0de", "24e124713b123456"
TTS_TOPIC = "v3/kalmar-bins@kalmar/devices/ldds75-1/up"
CHIRPSTACK_TOPIC = f"application/17c82e96-be03-4f38-aef3-f83d48582d97/device/{EM400_EUI}/event/up"


def test_uplinks_from_both_network_servers_are_stored(
    mosquitto: Mosquitto, sqlite_registry: Registry, tmp_path: Path
) -> None:
    seed_kalmar(sqlite_registry, stations=1)
    bins = [b.id for b in sqlite_registry.bins(TENANT)]
    since = datetime.now(UTC) - timedelta(days=365 * 7)
    provision(
        sqlite_registry,
        tenant=TENANT,
        device_id="ldds75-1",
        bin_id=bins[0],
        since=since,
        model="dragino-ldds75",
        dev_eui=LDDS75_EUI.upper(),
    )
    provision(
        sqlite_registry,
        tenant=TENANT,
        device_id="em400-1",
        bin_id=bins[1],
        since=since,
        model="milesight-em400-udl",
        dev_eui=EM400_EUI,
    )
    now = datetime.now(UTC).replace(microsecond=0)
    tts = tts_uplink(dev_eui=LDDS75_EUI.upper())
    tts["uplink_message"]["received_at"] = now.isoformat()  # type: ignore[index]
    em400 = chirpstack_uplink(dev_eui=EM400_EUI, frame=bytes.fromhex("01755C0367010104824408050001")) | {
        "time": (now - timedelta(minutes=1)).isoformat()
    }
    store = SqliteStore(tmp_path / "ts.sqlite")
    with (
        running_ingest(mosquitto.port, sqlite_registry, store, tmp_path / "spool"),
        Publisher(
            MqttSettings(host="127.0.0.1", port=mosquitto.port), client_id="network-servers"
        ) as network,
    ):
        network.publish(TTS_TOPIC, json.dumps(tts).encode())
        network.publish(CHIRPSTACK_TOPIC, json.dumps(em400).encode())
        network.publish(TTS_TOPIC, json.dumps(tts_uplink(dev_eui="FFFFFFFFFFFFFFFF")).encode())
        network.publish(
            CHIRPSTACK_TOPIC, json.dumps(chirpstack_uplink(dev_eui=EM400_EUI, frame=b"\x09\x99")).encode()
        )
        network.flush()
        eventually(lambda: store.count_readings(TENANT) == 2, what="both sensors' readings")
        eventually(lambda: len(sqlite_registry.dead_letters()) == 2, what="the two bad uplinks dead-lettered")
    by_device = {r.device_id: r for r in store.readings(TENANT)}
    ldds75, em400_reading = by_device["ldds75-1"], by_device["em400-1"]
    assert (ldds75.bin_id, ldds75.distance_mm, ldds75.battery_v, ldds75.seq) == (bins[0], 2799, 3.387, 4711)
    assert (ldds75.ts, ldds75.rssi_dbm) == (now, -84)
    assert (em400_reading.distance_mm, em400_reading.temperature_c, em400_reading.battery_pct) == (
        2116,
        25.7,
        92,
    )
    assert em400_reading.tilt_deg == 90.0
    assert [e.kind.value for e in sqlite_registry.events(TENANT) if e.device_id == "em400-1"] == ["tilted"]
    reasons = sorted((d.reason, d.tenant) for d in sqlite_registry.dead_letters())
    assert reasons == [("undecodable_payload", TENANT), ("unknown_device", "")]
    store.close()


@pytest.mark.parametrize(
    ("model", "dev_eui", "refusal"),
    [
        ("dragino-ldds75", None, "DevEUI"),
        ("tomning", "0011223344556677", "DevEUI"),
        ("acme-9000", "0011223344556677", "not one of"),
    ],
)
def test_provisioning_refuses_a_model_and_deveui_that_do_not_fit(
    sqlite_registry: Registry, model: str, dev_eui: str | None, refusal: str
) -> None:
    from core.errors import InvalidInput

    seed_kalmar(sqlite_registry, stations=1)
    with pytest.raises(InvalidInput, match=refusal):
        provision(
            sqlite_registry,
            tenant=TENANT,
            device_id="x",
            bin_id=None,
            since=datetime.now(UTC),
            model=model,
            dev_eui=dev_eui,
        )
