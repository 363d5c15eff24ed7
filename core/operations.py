"""Measurements beside the readings: `bins` (ingest), `collection` and `forecasts` (planning).

Fields: routes, km, duration_h, emptyings, co2_kg, overflow_bin_hours. The operations dashboard
reads them; emptyings and fill at emptying also come straight from `emptied` events.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from core.models import Bin, Measurement

# Diesel refuse trucks burn about 0.5 l/km in stop-and-go collection; 2.65 kg CO2 per litre.
CO2_KG_PER_KM = 1.3


def collection_day(
    *, tenant: str, day: date, timezone: str, routes: int, km: float, duration_h: float,
    emptyings: int, overflow_bin_hours: float,
) -> Measurement:  # fmt: skip
    """A day's collection figures, stamped at local midnight of `day`."""
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    fields: dict[str, float | int] = {
        "routes": routes, "km": km, "duration_h": duration_h, "emptyings": emptyings,
        "co2_kg": round(km * CO2_KG_PER_KM, 1), "overflow_bin_hours": overflow_bin_hours,
    }  # fmt: skip
    return Measurement(name="collection", tags={"tenant": tenant}, fields=fields, ts=midnight)


def bin_point(bin_: Bin, ts: datetime) -> Measurement:
    """A bin's place and size (`bins`): the fleet map joins it to the latest fills by `bin`."""
    tags = {"tenant": bin_.tenant, "bin": bin_.id, "fraction": bin_.fraction.value, "district": bin_.district}
    fields: dict[str, float | int] = {"lat": bin_.location.lat, "lon": bin_.location.lon,
                                      "threshold": bin_.threshold, "capacity_l": bin_.capacity_l}  # fmt: skip
    return Measurement(name="bins", tags={k: v for k, v in tags.items() if v}, fields=fields, ts=ts)


def forecast_points(
    *, tenant: str, bin_id: str, points: list[tuple[datetime, float, float, float]]
) -> list[Measurement]:
    """A bin's predicted fill (`forecasts`: filling_level with its lower and upper bound) per time."""
    return [
        Measurement(
            name="forecasts",
            tags={"tenant": tenant, "bin": bin_id},
            fields={"filling_level": level, "lower": low, "upper": high},
            ts=ts,
        )
        for ts, level, low, high in points
    ]
