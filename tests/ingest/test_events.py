"""Events derived from a bin's previous state and a new reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.models import BinState, EventKind, Reading
from ingest.events import advance
from tests.core.test_models import a_bin

T0 = datetime(2026, 11, 23, 6, tzinfo=UTC)
BIN = a_bin(id="b1", threshold=0.8)


def reading(level: float, minutes: int = 15, **fields: object) -> Reading:
    values: dict[str, object] = {
        "tenant": "kalmar", "device_id": "d1", "bin_id": "b1", "fraction": "paper",
        "ts": T0 + timedelta(minutes=minutes), "seq": minutes, "filling_level": level,
    }  # fmt: skip
    return Reading.model_validate(values | fields)


def state(level: float, **fields: object) -> BinState:
    values: dict[str, object] = {
        "tenant": "kalmar",
        "bin_id": "b1",
        "ts": T0,
        "device_id": "d1",
        "filling_level": level,
    }
    return BinState.model_validate(values | fields)


def kinds(previous: BinState | None, new: Reading) -> list[EventKind]:
    return [e.kind for e in advance(previous, new, BIN)[1]]


def test_a_sharp_drop_is_an_emptying_and_dates_it() -> None:
    new_state, events = advance(state(0.85), reading(0.05), BIN)
    assert [(e.kind, e.value) for e in events] == [(EventKind.EMPTIED, 0.85)]
    assert new_state.date_last_emptying == T0 + timedelta(minutes=15)


def test_noise_is_not_an_emptying() -> None:
    assert kinds(state(0.55), reading(0.48)) == []
    assert kinds(state(0.15), reading(0.0)) == []


def test_crossing_the_threshold_is_full_once() -> None:
    assert kinds(state(0.7), reading(0.82)) == [EventKind.FULL]
    assert kinds(state(0.82), reading(0.9)) == []
    assert kinds(None, reading(0.95)) == [EventKind.FULL]


def test_fire_risk_by_level_and_by_fast_rise() -> None:
    assert kinds(state(0.3, temperature_c=20.0), reading(0.3, temperature_c=58.0)) == [EventKind.FIRE_RISK]
    assert kinds(state(0.3, temperature_c=58.0), reading(0.3, temperature_c=60.0)) == []
    assert kinds(state(0.3, temperature_c=10.0), reading(0.3, temperature_c=26.0)) == [EventKind.FIRE_RISK]
    slow = reading(0.3, minutes=180, temperature_c=26.0)
    assert kinds(state(0.3, temperature_c=10.0), slow) == []


def test_tilt_and_low_battery_are_raised_when_crossed() -> None:
    assert kinds(state(0.3, tilt_deg=3.0), reading(0.3, tilt_deg=80.0)) == [EventKind.TILTED]
    assert kinds(state(0.3, battery_v=3.4), reading(0.3, battery_v=3.25)) == [EventKind.LOW_BATTERY]
    assert kinds(state(0.3, battery_v=3.2), reading(0.3, battery_v=3.1)) == []


def test_an_event_names_its_bin_device_and_value() -> None:
    (event,) = advance(state(0.7), reading(0.82), BIN)[1]
    assert (event.tenant, event.bin_id, event.device_id, event.value) == ("kalmar", "b1", "d1", 0.82)
    assert "80%" in event.detail
