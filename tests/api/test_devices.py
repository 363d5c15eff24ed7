"""Devices through the API: credentials shown once, LoRaWAN rules, a DevEUI taken, revocation."""

from __future__ import annotations

from tests.api.conftest import World
from tests.api.test_access import BIN


def test_provision_show_the_password_once_and_revoke(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "integration")
    made = client.post("/v1/devices", json={"id": "s-new", "bin_id": BIN}, headers=h).json()
    assert made["mqtt_username"] == "s-new@kalmar"
    assert len(made["mqtt_password"]) >= 20
    assert made["mqtt_password"] not in str(world.services.registry.credentials())
    shown = client.get("/v1/devices/s-new", headers=h).json()
    assert shown["bin_id"] == BIN
    assert "password" not in str(shown)
    revoked = client.post("/v1/devices/s-new/revoke", headers=h).json()
    assert revoked["enabled"] is False
    assert client.post("/v1/devices/ghost/revoke", headers=h).status_code == 404


def test_lorawan_sensors_need_their_own_deveui(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "integration")
    lora = {"id": "em-1", "bin_id": BIN, "model": "milesight-em400-udl", "dev_eui": "24E124713B123456"}
    assert client.post("/v1/devices", json=lora, headers=h).json()["device"]["dev_eui"] == "24e124713b123456"
    missing = client.post("/v1/devices", json=lora | {"id": "em-2", "dev_eui": None}, headers=h)
    assert missing.status_code == 422
    assert "needs its DevEUI" in missing.json()["detail"]
    taken = client.post("/v1/devices", json=lora | {"id": "em-2"}, headers=h)
    assert (taken.status_code, taken.json()["detail"]) == (
        409, "DevEUI 24e124713b123456 belongs to device 'em-1' already")  # fmt: skip
    elsewhere = client.post(
        "/v1/devices", json=lora | {"bin_id": None}, headers=world.auth("vaxjo", "integration")
    )
    assert elsewhere.status_code == 409  # one DevEUI, one device, whichever tenant
    unknown = client.post(
        "/v1/devices", json=lora | {"id": "em-3", "model": "acme", "dev_eui": "00"}, headers=h
    )
    assert unknown.status_code == 422
