"""Simulated bins: fill by kind and fraction with a weekday and hour rhythm, sensor faults, incidents.

Pure and seeded, so the fleet simulator (devices publishing through the broker) and the policy
simulation of the planning issue share one model of how bins fill and sensors fail.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.daysoff import holidays_in
from core.models import Bin, Fraction

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SENSOR_NOISE_MM = 15.0


class BinKind(StrEnum):
    HOUSEHOLD = "household"  # 140 to 660 l at a property: weekly rhythm, evening peak
    STREET = "street_litter"  # 50 to 250 l in streets and parks: lunch and weekend peaks
    STATION = "station"  # recycling-station containers, 1 to 8 m³, one per fraction


def kind_of(bin_: Bin) -> BinKind:
    """Bins carry no kind: their size tells it."""
    if bin_.capacity_l <= 250:
        return BinKind.STREET
    return BinKind.HOUSEHOLD if bin_.capacity_l <= 1000 else BinKind.STATION


@dataclass(frozen=True)
class Profile:
    peak_hour: float
    weekend: float  # fill speed at weekends relative to weekdays
    daily_fill: float  # mean share of the bin filled per day


# Station containers by fraction: glass and metal fill slowly, packaging fast (Swedish station
# statistics put most containers at 2 to 10 days to full).
STATION_DAILY_FILL = {
    Fraction.PAPER: 0.16,
    Fraction.PLASTIC: 0.22,
    Fraction.GLASS: 0.08,
    Fraction.METAL: 0.06,
    Fraction.RESIDUAL: 0.25,
    Fraction.FOOD: 0.30,
    Fraction.NEWSPAPER: 0.12,
    Fraction.TEXTILE: 0.05,
}
PROFILES = {
    BinKind.HOUSEHOLD: Profile(peak_hour=19.0, weekend=1.2, daily_fill=0.13),  # full in about a week
    BinKind.STREET: Profile(peak_hour=13.0, weekend=1.8, daily_fill=0.35),  # parks fill on sunny weekends
    BinKind.STATION: Profile(peak_hour=17.0, weekend=1.4, daily_fill=0.15),
}


class Fault(StrEnum):
    NONE = "none"
    STUCK = "stuck"  # the same distance forever (ice, a cobweb, a failed transducer)
    SPIKES = "spikes"  # now and then a wild echo (a bag's edge, rain on the lid)
    DRAINING = "draining"  # a cell failing: volts fall fast
    SILENT = "silent"  # stops reporting (flat battery, broken antenna, vandalism)


def rhythm(ts: datetime, profile: Profile) -> float:
    """Relative fill speed at a local hour and weekday; averages about 1 over a week. Public holidays
    fill as weekends do."""
    local = ts.astimezone(STOCKHOLM)
    hour = local.hour + local.minute / 60
    daily = 0.3 + 1.6 * math.exp(-(((hour - profile.peak_hour) / 4.0) ** 2))
    day_off = local.weekday() >= 5 or local.date() in holidays_in("SE", local.year)  # a Swedish city
    weekly = profile.weekend if day_off else 1.0
    return daily * weekly / (0.3 + 1.6 * 4.0 * math.sqrt(math.pi) / 24) / ((5 + 2 * profile.weekend) / 7)


@dataclass
class SimulatedBin:
    bin: Bin
    rng: random.Random
    level: float = 0.0
    temperature_c: float = 6.0
    battery_v: float = 3.95
    seq: int = 0
    fault: Fault = Fault.NONE
    fault_from: datetime | None = None
    fire_until: datetime | None = None
    tilted_until: datetime | None = None
    stuck_mm: int | None = None
    emptied: list[datetime] = field(default_factory=list)
    rate_factor: float = 1.0  # this bin's pace against its kind's: sites differ, some bins fill twice as fast

    @property
    def kind(self) -> BinKind:
        return kind_of(self.bin)

    def daily_fill(self) -> float:
        if self.kind is BinKind.STATION:
            return STATION_DAILY_FILL[self.bin.fraction] * self.rate_factor
        return PROFILES[self.kind].daily_fill * self.rate_factor

    def advance(self, ts: datetime, step: timedelta, *, incidents_per_year: float = 0.5) -> None:
        """Fill, weather and wear over `step` ending at `ts`; rare fires and knock-overs."""
        days = step.total_seconds() / 86_400
        speed = self.daily_fill() * rhythm(ts, PROFILES[self.kind])
        self.level = min(1.15, self.level + max(0.0, self.rng.gauss(1.0, 0.35)) * speed * days)
        self.temperature_c += self.rng.gauss(0, 0.3) * math.sqrt(days * 96) + (
            6.0 - self.temperature_c
        ) * min(1, days)
        drain = 0.05 if self._faulty(Fault.DRAINING, ts) else 0.0003  # volts a day
        self.battery_v = max(2.9, self.battery_v - drain * days)
        if self.rng.random() < incidents_per_year / 365 * days:
            if self.rng.random() < 0.3:
                self.fire_until = ts + timedelta(hours=3)
            else:
                self.tilted_until = ts + timedelta(hours=self.rng.uniform(2, 24))

    def collect(self, ts: datetime) -> None:
        """Emptied by a truck: a little stays behind."""
        self.level = self.rng.uniform(0.0, 0.04)
        self.emptied.append(ts)

    def _faulty(self, fault: Fault, ts: datetime) -> bool:
        return self.fault is fault and self.fault_from is not None and ts >= self.fault_from

    def distance_mm(self, ts: datetime) -> int:
        b = self.bin
        if self._faulty(Fault.STUCK, ts):
            self.stuck_mm = self.stuck_mm or int(b.empty_distance_mm * 0.6)
            return self.stuck_mm
        if self._faulty(Fault.SPIKES, ts) and self.rng.random() < 0.15:
            return int(self.rng.uniform(250, b.empty_distance_mm + 200))
        clean = b.empty_distance_mm - min(self.level, 1.0) * (b.empty_distance_mm - b.full_distance_mm)
        return int(min(b.empty_distance_mm + 50, max(0.0, clean + self.rng.gauss(0, SENSOR_NOISE_MM))))

    def reading(self, ts: datetime) -> dict[str, object] | None:
        """A contract-v1 uplink reading, or None when the sensor is silent."""
        if self._faulty(Fault.SILENT, ts):
            return None
        self.seq += 1
        on_fire = self.fire_until is not None and ts < self.fire_until
        tilted = self.tilted_until is not None and ts < self.tilted_until
        return {
            "ts": ts.isoformat(timespec="milliseconds"),
            "seq": self.seq,
            "distance_mm": self.distance_mm(ts),
            "temperature": round(self.rng.uniform(62, 90) if on_fire else self.temperature_c, 1),
            "battery_v": round(self.battery_v, 3),
            "tilt_deg": round(self.rng.uniform(70, 95) if tilted else abs(self.rng.gauss(0, 1.5)), 1),
            "rssi_dbm": int(self.rng.uniform(-95, -55)),
            "fw_version": "sim-1.0",
        }


class Fleet:
    """Many simulated bins on one clock; a share of sensors develop faults; optional fixed round."""

    def __init__(
        self,
        bins: list[Bin],
        *,
        seed: int = 1,
        fault_share: float = 0.05,
        start: datetime,
        fixed_round: bool = False,
        incidents_per_year: float = 0.5,
    ) -> None:
        self.rng = random.Random(seed)
        self.clock = start
        self.fixed_round = fixed_round
        self.incidents_per_year = incidents_per_year
        self.bins: dict[str, SimulatedBin] = {}
        for b in bins:
            sim = SimulatedBin(
                b, random.Random(self.rng.random()), level=self.rng.uniform(0.0, 0.7),
                rate_factor=self.rng.lognormvariate(0.0, 0.35),
            )  # fmt: skip
            if self.rng.random() < fault_share:
                sim.fault = self.rng.choice([f for f in Fault if f is not Fault.NONE])
                sim.fault_from = start + timedelta(days=self.rng.uniform(0, 10))
            self.bins[b.id] = sim
        # a fixed weekly round: each bin on one weekday at 10:00 local time
        self.round_day = {b.id: self.rng.randrange(5) for b in bins}

    def step(self, to: datetime) -> dict[str, dict[str, object] | None]:
        """Advance every bin to `to`; each bin's reading there (None from a silent sensor)."""
        step = to - self.clock
        readings: dict[str, dict[str, object] | None] = {}
        for bin_id, sim in self.bins.items():
            if self.fixed_round and self._round_passes(bin_id, self.clock, to):
                sim.collect(to)
            sim.advance(to, step, incidents_per_year=self.incidents_per_year)
            readings[bin_id] = sim.reading(to)
        self.clock = to
        return readings

    def _round_passes(self, bin_id: str, start: datetime, end: datetime) -> bool:
        local = end.astimezone(STOCKHOLM)
        due = local.replace(hour=10, minute=0, second=0, microsecond=0)
        return local.weekday() == self.round_day[bin_id] and start.astimezone(STOCKHOLM) < due <= local

    def collect(self, bin_id: str, ts: datetime) -> bool:
        sim = self.bins.get(bin_id)
        if sim is None:
            return False
        sim.collect(ts)
        return True
