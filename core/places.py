"""Real Swedish recycling stations as demo and test fleets: bins per fraction, devices mounted."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from core.models import Bin, Device, Fraction, Location, Tenant
from core.registry import Registry

KALMAR = Path(__file__).resolve().parent / "data" / "kalmar_stations.csv"
STATION_FRACTIONS = (Fraction.PAPER, Fraction.PLASTIC, Fraction.GLASS, Fraction.METAL)


class Station(NamedTuple):
    id: str
    name: str
    address: str
    municipality: str
    location: Location


def stations(csv_path: Path = KALMAR, *, municipality: str | None = None) -> list[Station]:
    """Stations of a CSV in the format of shared/data/places (one municipality, or all)."""
    with csv_path.open(encoding="utf-8", newline="") as handle:
        return [
            Station(
                row["id"], row["name"], row["streetAddress"], row["municipalityCode"],
                Location(lat=float(row["latitude"]), lon=float(row["longitude"])),
            )
            for row in csv.DictReader(handle)
            if municipality is None or row["municipalityCode"] == municipality
        ]  # fmt: skip


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.\-]+", "-", text.lower()).strip("-")


def bin_id(tenant: str, station: Station, fraction: Fraction) -> str:
    return f"{tenant}-{station.municipality}-{_slug(station.id)}-{fraction.value}"


def device_id(station: Station, fraction: Fraction) -> str:
    return f"s-{_slug(station.id)}-{fraction.value}"


def fleet(
    tenant: str, places: Iterable[Station], fractions: Sequence[Fraction] = STATION_FRACTIONS
) -> list[tuple[Bin, Device]]:
    """A 3 m³ container with a sensor for each fraction at each station."""
    return [
        (
            Bin(
                tenant=tenant, id=bin_id(tenant, s, f), location=s.location, fraction=f,
                capacity_l=3000, empty_distance_mm=1800, full_distance_mm=250,
                district=s.name[:100], address=s.address[:200],
            ),
            Device(tenant=tenant, id=device_id(s, f)),
        )
        for s in places
        for f in fractions
    ]  # fmt: skip


def seed(registry: Registry, tenant: Tenant, pairs: Sequence[tuple[Bin, Device]], *, since: datetime) -> None:
    """Save the tenant, bins and devices, and mount each device on its bin (idempotent)."""
    registry.save_tenant(tenant)
    registry.save_bins(b for b, _ in pairs)
    for bin_, device in pairs:
        registry.save_device(device)
        if not registry.mounts(tenant.id, device.id):
            registry.mount(tenant.id, device.id, bin_.id, since=since)
