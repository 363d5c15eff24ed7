"""Decoders for commercial LoRaWAN bin sensors' raw payloads, into contract-v1 reading fields.

Each takes the frame's bytes (and port) and returns the fields it knows (`distance_mm`,
`temperature`, `battery_v`, `battery_pct`, `tilt_deg`), or raises PayloadRejected. Formats are from
the vendors' published decoders and manuals; the tests run their documented examples.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import PayloadRejected

Fields = dict[str, float | int]


def _undecodable(model: str, why: str) -> PayloadRejected:
    return PayloadRejected("undecodable_payload", f"{model}: {why}")


def milesight_em400_udl(data: bytes, f_port: int) -> Fields:
    """Milesight EM400-UDL: channel, type, value records (little-endian)."""
    fields: Fields = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise _undecodable("EM400-UDL", f"record header cut at byte {i}")
        channel, kind = data[i], data[i + 1]
        i += 2
        size = {
            (0x01, 0x75): 1,
            (0x03, 0x67): 2,
            (0x04, 0x82): 2,
            (0x05, 0x00): 1,
            (0x83, 0x67): 3,
            (0x84, 0x82): 3,
            (0x06, 0x88): 9,
        }.get((channel, kind))
        if size is None:
            raise _undecodable("EM400-UDL", f"unknown channel {channel:#04x} type {kind:#04x}")
        value = data[i : i + size]
        if len(value) < size:
            raise _undecodable("EM400-UDL", f"channel {channel:#04x} wants {size} bytes, got {len(value)}")
        i += size
        if (channel, kind) == (0x01, 0x75):
            fields["battery_pct"] = value[0]
        elif kind == 0x67:  # temperature, also in the abnormal-temperature alarm record
            fields["temperature"] = int.from_bytes(value[:2], "little", signed=True) / 10
        elif kind == 0x82:  # distance, also in the distance alarm record
            fields["distance_mm"] = int.from_bytes(value[:2], "little")
        elif (channel, kind) == (0x05, 0x00):
            # The sensor says only "tilted" or not; stored as 90 degrees or 0 (our events fire at 45).
            fields["tilt_deg"] = 90.0 if value[0] else 0.0
    if "distance_mm" not in fields and "temperature" not in fields:
        raise _undecodable("EM400-UDL", "no distance or temperature in the frame")
    return fields


def dragino_ldds75(data: bytes, f_port: int) -> Fields:
    """Dragino LDDS75 (firmware 1.1.x), port 2: battery mV, distance mm, interrupt, DS18B20, sensor flag."""
    if f_port != 2:
        raise _undecodable("LDDS75", f"uplinks come on port 2, not {f_port}")
    if len(data) != 8:
        raise _undecodable("LDDS75", f"a frame is 8 bytes, got {len(data)}")
    battery_mv = int.from_bytes(data[0:2], "big") & 0x3FFF
    distance = int.from_bytes(data[2:4], "big")
    raw_temperature = int.from_bytes(data[5:7], "big")
    sensor_present = data[7] & 0x01
    if not sensor_present or distance == 0:
        raise _undecodable("LDDS75", "no ultrasonic sensor answered (sensor flag 0 or distance 0)")
    fields: Fields = {"battery_v": battery_mv / 1000}
    if distance >= 280:  # the LDDS75 measures 280..7500 mm; nearer is not a reading
        fields["distance_mm"] = distance
    else:
        raise _undecodable("LDDS75", f"distance {distance} mm is below the sensor's 280 mm")
    if raw_temperature:  # 0 when no DS18B20 probe is fitted
        signed = raw_temperature - 65536 if raw_temperature & 0x8000 else raw_temperature
        fields["temperature"] = signed / 10
    return fields


DECODERS: dict[str, Callable[[bytes, int], Fields]] = {
    "milesight-em400-udl": milesight_em400_udl,
    "dragino-ldds75": dragino_ldds75,
}
MODELS = ("tomning", *DECODERS)  # "tomning": our firmware, speaking the contract itself
