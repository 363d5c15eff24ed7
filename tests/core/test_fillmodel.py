"""The simulated fleet: kinds and rhythms, sensor faults, incidents, the fixed round, collection."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from core.fillmodel import PROFILES, STOCKHOLM, BinKind, Fault, Fleet, SimulatedBin, kind_of, rhythm
from tests.core.test_models import a_bin

MONDAY = datetime(2026, 11, 16, tzinfo=UTC)


def test_a_bins_size_tells_its_kind() -> None:
    assert kind_of(a_bin(capacity_l=120)) is BinKind.STREET
    assert kind_of(a_bin(capacity_l=370)) is BinKind.HOUSEHOLD
    assert kind_of(a_bin(capacity_l=3000)) is BinKind.STATION


def fill_between(sim: SimulatedBin, start: datetime, hours: int) -> float:
    before = sim.level
    for h in range(hours * 4):
        sim.advance(start + timedelta(minutes=15 * (h + 1)), timedelta(minutes=15))
    return sim.level - before


def test_household_bins_fill_in_the_evening_and_street_bins_at_weekends() -> None:
    evening = statistics.mean(
        fill_between(SimulatedBin(a_bin(capacity_l=370), random.Random(s)), MONDAY + timedelta(hours=16), 4)
        for s in range(40)
    )  # Stockholm 17:00 to 21:00
    night = statistics.mean(
        fill_between(SimulatedBin(a_bin(capacity_l=370), random.Random(s)), MONDAY + timedelta(hours=1), 4)
        for s in range(40)
    )
    assert evening > 3 * night
    saturday = statistics.mean(
        fill_between(SimulatedBin(a_bin(capacity_l=120), random.Random(s)), MONDAY + timedelta(days=5), 24)
        for s in range(40)
    )
    tuesday = statistics.mean(
        fill_between(SimulatedBin(a_bin(capacity_l=120), random.Random(s)), MONDAY + timedelta(days=1), 24)
        for s in range(40)
    )
    assert saturday > 1.4 * tuesday


def month(fault: Fault) -> list[dict[str, object] | None]:
    sim = SimulatedBin(a_bin(), random.Random(3), fault=fault, fault_from=MONDAY + timedelta(days=1))
    out = []
    for h in range(24 * 30):
        ts = MONDAY + timedelta(hours=h + 1)
        sim.advance(ts, timedelta(hours=1), incidents_per_year=0)
        out.append(sim.reading(ts))
    return out


def test_on_a_swedish_holiday_bins_fill_as_at_a_weekend() -> None:
    street = PROFILES[BinKind.STREET]
    christmas = datetime(2026, 12, 25, 13, tzinfo=STOCKHOLM)  # a Friday
    before = datetime(2026, 12, 18, 13, tzinfo=STOCKHOLM)  # the Friday before
    sunday = datetime(2026, 12, 20, 13, tzinfo=STOCKHOLM)
    assert rhythm(christmas, street) == rhythm(sunday, street)
    assert rhythm(christmas, street) == pytest.approx(street.weekend * rhythm(before, street))
    midsummer_eve = datetime(2026, 6, 19, 13, tzinfo=STOCKHOLM)
    assert rhythm(midsummer_eve, street) == rhythm(midsummer_eve + timedelta(days=2), street)


def test_a_stuck_sensor_repeats_itself() -> None:
    later = [r["distance_mm"] for r in month(Fault.STUCK)[48:] if r]
    assert len(set(later)) == 1


def test_a_spiking_sensor_throws_wild_echoes() -> None:
    clean = month(Fault.NONE)
    spiky = month(Fault.SPIKES)
    jumps = sum(
        abs(int(a["distance_mm"]) - int(b["distance_mm"])) > 300
        for a, b in zip(clean, spiky, strict=True)
        if a and b
    )  # type: ignore[call-overload]
    assert jumps > 30


def test_a_draining_battery_and_a_silent_sensor() -> None:
    draining = [r for r in month(Fault.DRAINING) if r]
    assert float(draining[0]["battery_v"]) - float(draining[-1]["battery_v"]) > 0.9  # type: ignore[arg-type]
    healthy = [r for r in month(Fault.NONE) if r]
    assert float(healthy[0]["battery_v"]) - float(healthy[-1]["battery_v"]) < 0.05  # type: ignore[arg-type]
    silent = month(Fault.SILENT)
    assert all(r is None for r in silent[30:])
    assert silent[0] is not None


def test_fires_and_knock_overs_happen_at_their_rate() -> None:
    sim = SimulatedBin(a_bin(), random.Random(5))
    hot = tilted = 0
    for h in range(24 * 365):
        ts = MONDAY + timedelta(hours=h + 1)
        sim.advance(ts, timedelta(hours=1), incidents_per_year=20)
        reading = sim.reading(ts)
        assert reading is not None
        hot += float(reading["temperature"]) >= 57  # type: ignore[arg-type]
        tilted += float(reading["tilt_deg"]) >= 45  # type: ignore[arg-type]
    assert hot > 0
    assert tilted > 0


def test_a_month_on_the_fixed_round_empties_each_bin_weekly() -> None:
    bins = [a_bin(id=f"b{i}", capacity_l=370) for i in range(200)]
    fleet = Fleet(bins, seed=7, start=MONDAY, fixed_round=True, fault_share=0.0)
    for h in range(24 * 28):
        fleet.step(MONDAY + timedelta(hours=h + 1))
    assert {len(sim.emptied) for sim in fleet.bins.values()} == {4}
    for bin_id, sim in fleet.bins.items():  # on its own weekday, at the round's 10:00
        assert {e.astimezone(STOCKHOLM).weekday() for e in sim.emptied} == {fleet.round_day[bin_id]}
        assert {e.astimezone(STOCKHOLM).hour for e in sim.emptied} == {10}


def test_collecting_a_bin_empties_it() -> None:
    fleet = Fleet([a_bin(id="b1")], start=MONDAY, fault_share=0.0)
    fleet.bins["b1"].level = 0.9
    assert fleet.collect("b1", MONDAY)
    assert fleet.bins["b1"].level < 0.05
    assert not fleet.collect("nope", MONDAY)


def test_a_share_of_sensors_develops_faults() -> None:
    fleet = Fleet([a_bin(id=f"b{i}") for i in range(1000)], seed=1, start=MONDAY, fault_share=0.1)
    faulty = sum(sim.fault is not Fault.NONE for sim in fleet.bins.values())
    assert 70 < faulty < 130
