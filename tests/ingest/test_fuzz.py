"""Property-based fuzzing: any bytes on any topic are stored or dead-lettered, quickly, and never raise."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core import topics
from core.contract import Limits, decode_uplink
from core.decoders import DECODERS
from core.errors import PayloadRejected
from core.models import Bin, Device
from ingest.message import Inbound
from ingest.pipeline import process
from tests.core.test_lorawan import chirpstack_uplink, tts_uplink
from tests.core.test_models import a_bin

NOW = datetime.now(UTC)
LDDS75, EM400 = "a84041000181c0de", "24e124713b123456"
TOPICS = [
    topics.uplink("kalmar", "d1"),
    topics.uplink("kalmar", "nobody"),
    topics.uplink("vaxjo", "d1"),
    "v3/bins@kalmar/devices/ldds75-1/up",
    f"application/app/device/{EM400}/event/up",
    "tomning/kalmar/devices/d1/config",
    "anything/else",
]


class Resolver:
    def __init__(self) -> None:
        self.bin = a_bin(id="b1")
        self.devices = [
            Device(tenant="kalmar", id="d1", bin_id="b1"),
            Device(tenant="kalmar", id="lora-1", bin_id="b1", model="dragino-ldds75", dev_eui=LDDS75),
            Device(tenant="kalmar", id="lora-2", bin_id="b1", model="milesight-em400-udl", dev_eui=EM400),
        ]

    def device(self, tenant: str, device_id: str) -> Device | None:
        return next((d for d in self.devices if (d.tenant, d.id) == (tenant, device_id)), None)

    def by_eui(self, dev_eui: str) -> Device | None:
        return next((d for d in self.devices if d.dev_eui == dev_eui), None)

    def bin_at(self, tenant: str, device_id: str, ts: datetime) -> Bin | None:
        return self.bin


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
readings = st.fixed_dictionaries(
    {"ts": st.sampled_from([NOW.isoformat(), (NOW - timedelta(days=40)).isoformat(), "x", 1, None])},
    optional={
        "seq": st.integers() | st.floats() | st.text(max_size=5),
        "distance_mm": st.integers(-10, 20_000) | st.floats(allow_nan=True),
        "fillingLevel": st.floats(allow_nan=True, allow_infinity=True),
        "temperature": st.floats(-100, 200),
        "fw_version": st.text(max_size=40),
        "junk": json_values,
    },
)


def envelope(draw_value: Any) -> bytes:
    return json.dumps(draw_value, allow_nan=True).encode()


def chirpstack(frame: bytes, rssi: object) -> bytes:
    return json.dumps(chirpstack_uplink(dev_eui=EM400, frame=frame) | {"rxInfo": [{"rssi": rssi}]}).encode()


def tts(frame: bytes) -> bytes:
    return json.dumps(tts_uplink(dev_eui=LDDS75, frame=frame)).encode()


payloads = st.one_of(
    st.binary(max_size=300),
    json_values.map(envelope),
    readings.map(envelope),
    st.lists(readings, max_size=4).map(envelope),
    st.builds(chirpstack, st.binary(max_size=20), st.integers() | st.floats() | st.text(max_size=3)),
    st.builds(tts, st.binary(max_size=12)),
)


@settings(max_examples=400, deadline=None)
@given(messages=st.lists(st.tuples(st.sampled_from(TOPICS), payloads), min_size=1, max_size=6))
def test_any_bytes_on_any_topic_are_stored_or_dead_lettered(messages: list[tuple[str, bytes]]) -> None:
    batch = [Inbound(topic, body, NOW) for topic, body in messages]
    started = time.monotonic()
    out = process(batch, resolver=Resolver(), states={}, limits=Limits())
    assert time.monotonic() - started < 5
    assert len(out.readings) + len(out.dead_letters) >= len(batch)  # each message has an answer
    assert all(letter.reason for letter in out.dead_letters)
    assert all(0 <= r.filling_level <= 1 for r in out.readings)


@settings(max_examples=300, deadline=None)
@given(frame=st.binary(max_size=40), port=st.integers(0, 255))
def test_every_frame_decoder_answers_fields_or_a_rejection(frame: bytes, port: int) -> None:
    known = {"distance_mm", "temperature", "battery_v", "battery_pct", "tilt_deg"}
    for decode in DECODERS.values():
        try:
            fields = decode(frame, port)
        except PayloadRejected as exc:
            reason = exc.reason
        else:
            reason = "decoded" if set(fields) <= known else f"unknown fields {set(fields) - known}"
        assert reason in {"decoded", "undecodable_payload"}


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=2000) | json_values.map(envelope))
def test_the_contract_decoder_never_raises(payload: bytes) -> None:
    decoded = decode_uplink(payload, received_at=NOW)
    assert decoded.readings or decoded.rejects
