"""Device health from the registry and the readings: last seen, silence, battery level and trend."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from core.models import Device, Reading

LOW_BATTERY_V = 3.3
SILENT_AFTER_INTERVALS = 3


class DeviceHealth(NamedTuple):
    device_id: str
    bin_id: str | None
    last_seen: datetime | None
    silent: bool
    battery_v: float | None
    battery_v_per_day: float | None  # least-squares slope over the readings given
    days_to_low_battery: float | None


class FleetHealth(NamedTuple):
    devices: int
    silent: int
    silent_share: float
    low_battery: int


def _slope_per_day(points: Sequence[tuple[datetime, float]]) -> float | None:
    if len(points) < 2:
        return None
    origin = points[0][0]
    xs = [(ts - origin).total_seconds() / 86_400 for ts, _ in points]
    ys = [v for _, v in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def assess(
    devices: Iterable[Device],
    *,
    last_seen: Mapping[str, datetime | None],
    readings: Iterable[Reading],
    now: datetime,
) -> list[DeviceHealth]:
    batteries: dict[str, list[tuple[datetime, float]]] = {}
    for r in sorted(readings, key=lambda r: r.ts):
        if r.battery_v is not None:
            batteries.setdefault(r.device_id, []).append((r.ts, r.battery_v))
    out = []
    for d in devices:
        seen = last_seen.get(d.id)
        silent = d.enabled and (
            seen is None or now - seen > timedelta(seconds=d.report_interval_s * SILENT_AFTER_INTERVALS)
        )
        series = batteries.get(d.id, [])
        level = series[-1][1] if series else None
        slope = _slope_per_day(series)
        days = None
        if level is not None and slope is not None and slope < 0:
            days = max(0.0, (level - LOW_BATTERY_V) / -slope)
        out.append(DeviceHealth(d.id, d.bin_id, seen, silent, level, slope, days))
    return out


def summarise(health: Sequence[DeviceHealth]) -> FleetHealth:
    silent = sum(h.silent for h in health)
    low = sum(h.battery_v is not None and h.battery_v <= LOW_BATTERY_V for h in health)
    return FleetHealth(len(health), silent, silent / len(health) if health else 0.0, low)
