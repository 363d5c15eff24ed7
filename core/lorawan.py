"""Uplinks from LoRaWAN network servers: The Things Stack v3 and ChirpStack v4 JSON over MQTT.

    TTS v3        v3/{application}@{tenant}/devices/{device}/up      uplink_message.frm_payload
    ChirpStack v4 application/{application}/device/{dev_eui}/event/up  data

Both carry the DevEUI, port, frame counter, base64 frame and the gateways' RSSI; the platform maps
the DevEUI to a registered device and decodes the frame with that device's model.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any, NamedTuple

from core import jsonin
from core.errors import PayloadRejected

TTS_FILTER = "v3/+/devices/+/up"
CHIRPSTACK_FILTER = "application/+/device/+/event/up"
_TTS = re.compile(r"^v3/[^/]+/devices/[^/]+/up$")
# The broker takes no message over 64 KiB (deploy/mosquitto.conf); an uplink with 100 gateways is ~30 KiB
MAX_ENVELOPE_BYTES = 64 * 1024
_CHIRPSTACK = re.compile(r"^application/[^/]+/device/[0-9a-fA-F]{16}/event/up$")


class LoRaWANUplink(NamedTuple):
    network: str
    dev_eui: str  # 16 lowercase hex digits
    f_port: int
    f_cnt: int
    frame: bytes
    received_at: datetime
    rssi_dbm: int | None


def is_lorawan(topic: str) -> bool:
    return bool(_TTS.match(topic) or _CHIRPSTACK.match(topic))


def parse(topic: str, payload: bytes) -> LoRaWANUplink:
    """The uplink in a network server's message; PayloadRejected names what is wrong."""
    document = jsonin.loads(payload, max_bytes=MAX_ENVELOPE_BYTES)
    if not isinstance(document, dict):
        raise PayloadRejected("not_an_object", "a network server's uplink is a JSON object")
    try:
        return _tts(document) if _TTS.match(topic) else _chirpstack(document)
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError, binascii.Error) as exc:
        network = "The Things Stack v3" if _TTS.match(topic) else "ChirpStack v4"
        raise PayloadRejected(
            "invalid_envelope", f"not a {network} uplink: {type(exc).__name__} {exc}"
        ) from exc


def _best_rssi(rx: list[dict[str, Any]] | None) -> int | None:
    values = [int(g["rssi"]) for g in rx or [] if "rssi" in g]
    return max(values) if values else None


def _eui(value: str) -> str:
    eui = value.lower()
    if not re.fullmatch(r"[0-9a-f]{16}", eui):
        raise ValueError(f"DevEUI {value!r} is not 16 hex digits")
    return eui


def _tts(d: dict[str, Any]) -> LoRaWANUplink:
    up = d["uplink_message"]
    return LoRaWANUplink(
        "tts",
        _eui(d["end_device_ids"]["dev_eui"]),
        int(up.get("f_port", 0)),
        int(up.get("f_cnt", 0)),
        base64.b64decode(up["frm_payload"], validate=True),
        datetime.fromisoformat(up.get("received_at") or d["received_at"]),
        _best_rssi(up.get("rx_metadata")),
    )


def _chirpstack(d: dict[str, Any]) -> LoRaWANUplink:
    return LoRaWANUplink(
        "chirpstack",
        _eui(d["deviceInfo"]["devEui"]),
        int(d.get("fPort", 0)),
        int(d.get("fCnt", 0)),
        base64.b64decode(d["data"], validate=True),
        datetime.fromisoformat(d["time"]),
        _best_rssi(d.get("rxInfo")),
    )
