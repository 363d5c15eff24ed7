"""Derives bin events and the new latest state from a bin's previous state and a new reading."""

from __future__ import annotations

from datetime import timedelta

from core.models import Bin, BinState, Event, EventKind, Reading

# A drop of 30 points of fill from a bin at least 20 % full is an emptying, not sensor noise
# (ultrasonic jitter on waste surfaces is a few points).
EMPTIED_DROP = 0.30
EMPTIED_FROM = 0.20
# Fire-service guidance for waste containers: 57 °C inside means smouldering; so does a rise of
# 15 °C within an hour.
FIRE_TEMPERATURE_C = 57.0
FIRE_RISE_C = 15.0
FIRE_RISE_WITHIN = timedelta(hours=1)
TILTED_DEG = 45.0
LOW_BATTERY_V = 3.3


def _event(reading: Reading, kind: EventKind, value: float, detail: str) -> Event:
    return Event(
        tenant=reading.tenant, kind=kind, ts=reading.ts, bin_id=reading.bin_id,
        device_id=reading.device_id, fraction=reading.fraction, district=reading.district,
        value=value, detail=detail,
    )  # fmt: skip


def _crossed(now: float | None, before: float | None, limit: float) -> bool:
    return now is not None and now >= limit and (before is None or before < limit)


def fill_events(previous: BinState | None, reading: Reading, bin_: Bin) -> list[Event]:
    level, limit = reading.filling_level, bin_.threshold
    was = previous.filling_level if previous else None
    events = []
    if was is not None and was >= EMPTIED_FROM and was - level >= EMPTIED_DROP:
        # its value is the fill at emptying: what the operations dashboard averages
        events.append(_event(reading, EventKind.EMPTIED, was, f"fill fell from {was:.0%} to {level:.0%}"))
    if _crossed(level, was, limit):
        events.append(_event(reading, EventKind.FULL, level, f"fill {level:.0%} reached {limit:.0%}"))
    return events


def fire_events(previous: BinState | None, reading: Reading) -> list[Event]:
    now = reading.temperature_c
    before = previous.temperature_c if previous else None
    if now is None:
        return []
    if _crossed(now, before, FIRE_TEMPERATURE_C):
        detail = f"temperature {now:.1f} °C ≥ {FIRE_TEMPERATURE_C:.0f} °C"
        return [_event(reading, EventKind.FIRE_RISK, now, detail)]
    if previous is None or before is None or now >= FIRE_TEMPERATURE_C:
        return []  # nothing to compare with, or already raised when it crossed the level
    if now - before >= FIRE_RISE_C and reading.ts - previous.ts <= FIRE_RISE_WITHIN:
        detail = f"temperature rose {now - before:.1f} °C in {reading.ts - previous.ts}"
        return [_event(reading, EventKind.FIRE_RISK, now, detail)]
    return []


def device_events(previous: BinState | None, reading: Reading) -> list[Event]:
    events = []
    if _crossed(reading.tilt_deg, previous.tilt_deg if previous else None, TILTED_DEG):
        tilt = reading.tilt_deg or 0.0
        events.append(_event(reading, EventKind.TILTED, tilt, f"tilted {tilt:.0f}° (≥ {TILTED_DEG:.0f}°)"))
    battery = reading.battery_v
    before = previous.battery_v if previous else None
    if battery is not None and battery <= LOW_BATTERY_V and (before is None or before > LOW_BATTERY_V):
        events.append(_event(reading, EventKind.LOW_BATTERY, battery, f"battery {battery:.2f} V"))
    return events


def advance(previous: BinState | None, reading: Reading, bin_: Bin) -> tuple[BinState, list[Event]]:
    """The bin's state after `reading` (newer than `previous`), and the events it raises."""
    events = fill_events(previous, reading, bin_) + fire_events(previous, reading)
    events += device_events(previous, reading)
    emptied = any(e.kind is EventKind.EMPTIED for e in events)
    state = BinState.model_validate({  # faster in pydantic-core than model_construct
        "tenant": reading.tenant, "bin_id": reading.bin_id, "ts": reading.ts, "device_id": reading.device_id,
        "filling_level": reading.filling_level, "distance_mm": reading.distance_mm,
        "temperature_c": reading.temperature_c, "battery_v": reading.battery_v,
        "tilt_deg": reading.tilt_deg,
        "date_last_emptying": reading.ts if emptied else (previous.date_last_emptying if previous else None),
    })  # fmt: skip
    return state, events
