"""A bin's simulated fill: a fraction's rate, a weekday and hour rhythm, noise and emptyings."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.models import Bin, Fraction

# Mean fill per day of a 3 m³ station container, by fraction: glass and metal fill slowly,
# packaging fast (Swedish station statistics put most containers at 2 to 10 days to full).
DAILY_FILL = {
    Fraction.PAPER: 0.16, Fraction.PLASTIC: 0.22, Fraction.GLASS: 0.08, Fraction.METAL: 0.06,
    Fraction.RESIDUAL: 0.25, Fraction.FOOD: 0.30, Fraction.NEWSPAPER: 0.12, Fraction.TEXTILE: 0.05,
}  # fmt: skip
WEEKEND_FACTOR = 1.4  # people sort more at weekends
SENSOR_NOISE_MM = 15.0


def rhythm(ts: datetime) -> float:
    """Relative fill speed at local hour and weekday: little at night, a peak in the evening."""
    hour = ts.hour + ts.minute / 60
    daily = 0.25 + 1.5 * math.exp(-(((hour - 17.0) / 4.0) ** 2))
    return daily * (WEEKEND_FACTOR if ts.weekday() >= 5 else 1.0)


@dataclass
class SimulatedBin:
    bin: Bin
    rng: random.Random
    level: float = 0.0
    temperature_c: float = 6.0
    battery_v: float = 3.95
    seq: int = 0

    def advance(self, ts: datetime, step: timedelta) -> bool:
        """Fill over `step` ending at `ts`; True when the bin was emptied on the way."""
        hours = step.total_seconds() / 3600
        speed = DAILY_FILL[self.bin.fraction] / 24 / 0.82  # rhythm() averages about 0.82
        self.level = min(1.05, self.level + max(0.0, self.rng.gauss(1.0, 0.3)) * speed * rhythm(ts) * hours)
        self.temperature_c += self.rng.gauss(0, 0.2) + (6.0 - self.temperature_c) * 0.05
        self.battery_v = max(3.0, self.battery_v - 2e-6 * hours * 3600 / 900)
        if self.level >= 0.9 and self.rng.random() < 0.5 * hours + 0.05:
            self.level = self.rng.uniform(0.0, 0.05)
            return True
        return False

    def distance_mm(self) -> int:
        b = self.bin
        clean = b.empty_distance_mm - self.level * (b.empty_distance_mm - b.full_distance_mm)
        return int(min(b.empty_distance_mm + 50, max(0.0, clean + self.rng.gauss(0, SENSOR_NOISE_MM))))

    def reading(self, ts: datetime) -> dict[str, object]:
        """A contract-v1 uplink reading."""
        self.seq += 1
        return {
            "ts": ts.isoformat(timespec="milliseconds"),
            "seq": self.seq,
            "distance_mm": self.distance_mm(),
            "temperature": round(self.temperature_c, 1),
            "battery_v": round(self.battery_v, 3),
            "tilt_deg": round(abs(self.rng.gauss(0, 1.5)), 1),
            "rssi_dbm": int(self.rng.uniform(-95, -55)),
            "fw_version": "sim-1.0",
        }
