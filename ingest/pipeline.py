"""Pure processing of a batch of inbound messages into readings, events, states and dead letters."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core import topics
from core.contract import Limits, UplinkReading, decode_uplink
from core.models import Bin, BinState, DeadLetter, Device, Event, Reading
from ingest.events import advance
from ingest.message import Inbound


class Resolver(Protocol):
    """What the pipeline asks of the registry: devices, and the bin a device was on at a time."""

    def device(self, tenant: str, device_id: str) -> Device | None: ...

    def bin_at(self, tenant: str, device_id: str, ts: datetime) -> Bin | None: ...


@dataclass
class Outcome:
    readings: list[Reading] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    states: dict[tuple[str, str], BinState] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    seen: dict[tuple[str, str], datetime] = field(default_factory=dict)


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", errors="backslashreplace")


def process(
    batch: Iterable[Inbound],
    *,
    resolver: Resolver,
    states: Mapping[tuple[str, str], BinState],
    limits: Limits,
) -> Outcome:
    """Everything a batch yields; `states` is read, the new states are in the outcome."""
    out = Outcome()
    for message in batch:
        _one(message, resolver=resolver, limits=limits, out=out)
    for reading in sorted(out.readings, key=lambda r: r.ts):
        _advance(reading, resolver, states, out)
    return out


def _one(message: Inbound, *, resolver: Resolver, limits: Limits, out: Outcome) -> None:
    def reject(tenant: str, reason: str, detail: str, payload: str | None = None) -> None:
        out.dead_letters.append(
            DeadLetter(
                tenant=tenant, topic=message.topic, reason=reason, detail=detail,
                payload=_text(message.payload) if payload is None else payload,
                received_at=message.received_at,
            )
        )  # fmt: skip

    parsed = topics.parse(message.topic)
    if parsed is None or parsed.kind != "up":
        reject("", "unknown_topic", f"{message.topic!r} is not a device uplink topic")
        return
    tenant, device_id = parsed.tenant, parsed.device_id
    device = resolver.device(tenant, device_id)
    if device is None:
        reject(tenant, "unknown_device", f"device {device_id!r} is not registered in {tenant!r}")
        return
    if not device.enabled:
        reject(tenant, "disabled_device", f"device {device_id!r} is disabled")
        return
    decoded = decode_uplink(message.payload, received_at=message.received_at, limits=limits)
    items = _items(message.payload) if any(r.position is not None for r in decoded.rejects) else []
    for rejected in decoded.rejects:
        where = f"reading [{rejected.position}]: " if rejected.position is not None else ""
        single = json.dumps(items[rejected.position]) if rejected.position is not None else None
        reject(tenant, rejected.reason, where + rejected.detail, single)
    for uplink in decoded.readings:
        bin_ = resolver.bin_at(tenant, device_id, uplink.ts)
        if bin_ is None:
            detail = f"device {device_id!r} was on no bin at {uplink.ts.isoformat()}"
            reject(tenant, "unmounted_device", detail, uplink.model_dump_json(by_alias=True))
            continue
        out.readings.append(_reading(uplink, tenant, device_id, bin_))
        key = (tenant, device_id)
        out.seen[key] = max(out.seen.get(key, uplink.ts), uplink.ts)


def _items(payload: bytes) -> list[object]:
    document = json.loads(payload)
    return document if isinstance(document, list) else [document]


def _reading(uplink: UplinkReading, tenant: str, device_id: str, bin_: Bin) -> Reading:
    # The bin's calibration is authoritative: a device's own fillingLevel is used only when it
    # sends no distance.
    if uplink.distance_mm is not None:
        level = bin_.filling_level(uplink.distance_mm)
    else:
        level = float(uplink.filling_level or 0.0)
    # Every value was validated already (the uplink and the bin): construct without validating
    # again, which would double the pipeline's cost.
    return Reading.model_construct(
        tenant=tenant, device_id=device_id, bin_id=bin_.id, fraction=bin_.fraction,
        district=bin_.district, ts=uplink.ts, seq=uplink.seq, distance_mm=uplink.distance_mm,
        filling_level=level, temperature_c=uplink.temperature_c, battery_v=uplink.battery_v,
        tilt_deg=uplink.tilt_deg, rssi_dbm=uplink.rssi_dbm, fw_version=uplink.fw_version,
        lat=bin_.location.lat, lon=bin_.location.lon, threshold=bin_.threshold,
    )  # fmt: skip


def _advance(
    reading: Reading, resolver: Resolver, states: Mapping[tuple[str, str], BinState], out: Outcome
) -> None:
    key = (reading.tenant, reading.bin_id)
    previous = out.states.get(key) or states.get(key)
    if previous is not None and reading.ts <= previous.ts:
        return  # late (buffered) or repeated: stored, but it does not move the latest state
    bin_ = resolver.bin_at(reading.tenant, reading.device_id, reading.ts)
    assert bin_ is not None
    state, events = advance(previous, reading, bin_)
    out.states[key] = state
    out.events.extend(events)
