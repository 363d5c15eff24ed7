"""Network servers' uplink envelopes: The Things Stack v3 and ChirpStack v4."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from core.errors import PayloadRejected
from core.lorawan import is_lorawan, parse

FRAME = bytes.fromhex("0D3B0AEF00000001")


def tts_uplink(dev_eui: str = "A84041000181C0DE", frame: bytes = FRAME) -> dict[str, object]:
    """Shaped as The Things Stack v3 publishes on v3/{app}@{tenant}/devices/{device}/up."""
    return {
        "end_device_ids": {
            "device_id": "ldds75-1",
            "application_ids": {"application_id": "kalmar-bins"},
            "dev_eui": dev_eui,
            "join_eui": "A840410000000101",
            "dev_addr": "260B1234",
        },
        "correlation_ids": ["as:up:01H0", "gs:uplink:01H0"],
        "received_at": "2026-11-23T06:15:02.120517042Z",
        "uplink_message": {
            "session_key_id": "AYa0",
            "f_port": 2,
            "f_cnt": 4711,
            "frm_payload": base64.b64encode(frame).decode(),
            "rx_metadata": [
                {"gateway_ids": {"gateway_id": "kalmar-gw-1"}, "rssi": -97, "snr": 6.25},
                {"gateway_ids": {"gateway_id": "kalmar-gw-2"}, "rssi": -84, "snr": 9.5},
            ],
            "settings": {
                "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 9}},
                "frequency": "868100000",
            },
            "received_at": "2026-11-23T06:15:02.015286903Z",
            "consumed_airtime": "0.185344s",
        },
    }


def chirpstack_uplink(dev_eui: str = "24e124713b123456", frame: bytes = FRAME) -> dict[str, object]:
    """Shaped as ChirpStack v4 publishes on application/{app}/device/{dev_eui}/event/up."""
    return {
        "deduplicationId": "3ac3a5a4-3a0c-4c41-9e2b-5f3c0d5e6a10",
        "time": "2026-11-23T06:20:11.000123+00:00",
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "tenantName": "Kalmar kommun",
            "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
            "applicationName": "bins",
            "deviceProfileName": "EM400-UDL",
            "deviceName": "em400-1",
            "devEui": dev_eui,
            "tags": {},
        },
        "devAddr": "00a0c1d2",
        "adr": True,
        "dr": 5,
        "fCnt": 88,
        "fPort": 85,
        "confirmed": False,
        "data": base64.b64encode(frame).decode(),
        "rxInfo": [{"gatewayId": "0016c001ff10a235", "rssi": -71, "snr": 8.8, "context": "EFwMtA=="}],
        "txInfo": {
            "frequency": 868300000,
            "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7}},
        },
    }


def test_the_things_stack_v3_uplink() -> None:
    topic = "v3/kalmar-bins@kalmar/devices/ldds75-1/up"
    assert is_lorawan(topic)
    up = parse(topic, json.dumps(tts_uplink()).encode())
    assert (up.network, up.dev_eui, up.f_port, up.f_cnt, up.frame) == (
        "tts",
        "a84041000181c0de",
        2,
        4711,
        FRAME,
    )
    assert up.rssi_dbm == -84  # the best gateway
    assert up.received_at == datetime(2026, 11, 23, 6, 15, 2, 15286, tzinfo=UTC)


def test_chirpstack_v4_uplink() -> None:
    topic = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/24e124713b123456/event/up"
    assert is_lorawan(topic)
    up = parse(topic, json.dumps(chirpstack_uplink()).encode())
    assert (up.network, up.dev_eui, up.f_port, up.f_cnt, up.rssi_dbm) == (
        "chirpstack",
        "24e124713b123456",
        85,
        88,
        -71,
    )


def test_other_topics_are_not_lorawan() -> None:
    assert not is_lorawan("tomning/kalmar/devices/s-1/up")
    assert not is_lorawan("application/x/device/not-an-eui/event/up")
    assert not is_lorawan("v3/app@t/devices/d/join")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{oops", "malformed_json"),
        (b"[]", "not_an_object"),
        (json.dumps({"uplink_message": {}}).encode(), "invalid_envelope"),
        (json.dumps(tts_uplink(dev_eui="XYZ")).encode(), "invalid_envelope"),
        (
            json.dumps(tts_uplink() | {"uplink_message": {"frm_payload": "!!notbase64"}}).encode(),
            "invalid_envelope",
        ),
    ],
)
def test_broken_envelopes_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected) as refused:
        parse("v3/kalmar-bins@kalmar/devices/ldds75-1/up", payload)
    assert refused.value.reason == reason
