"""Vendor decoders on the vendors' own documented examples, and what they refuse."""

from __future__ import annotations

import pytest

from core.decoders import dragino_ldds75, milesight_em400_udl
from core.errors import PayloadRejected


def test_milesight_em400_udl_documented_examples() -> None:
    # Milesight-IoT/SensorDecoders, EM400-UDL README: 01755C 03670101 04824408 050001
    assert milesight_em400_udl(bytes.fromhex("01755C0367010104824408050001"), 85) == {
        "battery_pct": 92,
        "temperature": 25.7,
        "distance_mm": 2116,
        "tilt_deg": 90.0,
    }
    # the alarm records: 8367e80001 8482410601 → 23.2 degC (abnormal), 1601 mm (alarm)
    assert milesight_em400_udl(bytes.fromhex("8367e800018482410601"), 85) == {
        "temperature": 23.2,
        "distance_mm": 1601,
    }


def test_milesight_negative_temperatures_are_signed() -> None:
    assert milesight_em400_udl(bytes.fromhex("0367f6ff"), 85) == {"temperature": -1.0}


def test_dragino_ldds75_documented_example() -> None:
    # TheThingsNetwork/lorawan-devices, ldds75-114 codec: 0D3B 0AEF 00 0000 01 → 3.387 V, 2799 mm
    assert dragino_ldds75(bytes.fromhex("0D3B0AEF00000001"), 2) == {"battery_v": 3.387, "distance_mm": 2799}


def test_dragino_ldds75_reads_the_ds18b20_probe_when_fitted() -> None:
    assert dragino_ldds75(bytes.fromhex("0D3B0AEF00010501"), 2)["temperature"] == 26.1
    assert dragino_ldds75(bytes.fromhex("0D3B0AEF00FF3F01"), 2)["temperature"] == -19.3


@pytest.mark.parametrize(
    ("decoder", "frame", "port", "why"),
    [
        (milesight_em400_udl, "017564", 85, "no distance"),
        (milesight_em400_udl, "0482", 85, "wants 2 bytes"),
        (milesight_em400_udl, "09990102", 85, "unknown channel"),
        (dragino_ldds75, "0E1C0B05", 2, "8 bytes"),
        (dragino_ldds75, "0D3B0AEF00000001", 3, "port 2"),
        (dragino_ldds75, "0D3B000000000001", 2, "no ultrasonic sensor"),
        (dragino_ldds75, "0D3B0AEF00000000", 2, "no ultrasonic sensor"),
        (dragino_ldds75, "0D3B00C800000001", 2, "below the sensor's 280 mm"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(decoder, frame: str, port: int, why: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PayloadRejected, match=why) as refused:
        decoder(bytes.fromhex(frame), port)
    assert refused.value.reason == "undecodable_payload"
