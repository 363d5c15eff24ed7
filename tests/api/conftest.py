"""A world for the API's tests: two tenants, a key per role, Kalmar's stations with readings, a fleet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.context import Services
from api.resources.admin import issue
from core import places
from core.models import BinState, Event, EventKind, Fraction, Reading, Role, Tenant
from core.registry import Registry
from core.settings import Settings
from core.timeseries.sqlite import SqliteStore

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 06:00 in Kalmar
FLEET = {
    "depots": [{"id": "depot", "location": {"lat": 56.6745, "lon": 16.3220}}],
    "facilities": [{"id": "moskogen", "location": {"lat": 56.6827, "lon": 16.2353}, "unload_s": 900}],
    "vehicles": [
        {"id": "truck-1", "capacity_l": 30_000, "depot": "depot", "driver": "anna"},
        {"id": "truck-2", "capacity_l": 30_000, "depot": "depot", "driver": "bo"},
    ],
}

# a lunch so early that every route of the test city lasts past it
LUNCH = {"earliest": "06:40", "latest": "07:00", "minutes": 30}
FLEET_WITH_LUNCH = FLEET | {"vehicles": [v | {"breaks": [LUNCH]} for v in FLEET["vehicles"]]}  # type: ignore[operator]


@dataclass
class World:
    client: TestClient
    services: Services
    keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (tenant, role or driver): key
    collected: list[tuple[str, str, datetime]] = field(default_factory=list)

    def auth(self, tenant: str, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant, who]}"}


def readings_for(tenant: str, bins: list[places.Bin], hours: int = 72) -> list[Reading]:
    """A fill rising at each bin's own pace since an emptying `hours` ago, every two hours."""
    out = []
    for n, b in enumerate(bins):
        rate = 0.004 + 0.0004 * (n % 20)  # per hour: 10 % to 29 % a day
        for h in range(0, hours, 2):
            ts = NOW - timedelta(hours=hours - h)
            level = min(1.0, 0.05 + rate * h)
            out.append(Reading(
                tenant=tenant, device_id=f"d-{n}", bin_id=b.id, fraction=b.fraction, ts=ts, seq=h,
                filling_level=round(level, 4), temperature_c=6.0,
            ))  # fmt: skip
    return out


def build_world(registry: Registry, store: SqliteStore) -> World:
    services = Services(registry=registry, store=store, settings=Settings(), clock=lambda: NOW)
    world = World(client=TestClient(create_app(services)), services=services)
    services.on_collected.append(lambda *args: world.collected.append(args))
    stations = places.stations()
    for tenant_id, name, chosen in (
        ("kalmar", "Kalmar kommun", stations[:12]),
        ("vaxjo", "Växjö", stations[12:16]),
    ):
        tenant = Tenant(id=tenant_id, name=name)
        pairs = places.fleet(tenant_id, chosen, [Fraction.PAPER, Fraction.PLASTIC])
        places.seed(registry, tenant, pairs, since=NOW - timedelta(days=30))
        written = readings_for(tenant_id, [b for b, _ in pairs])
        store.write_readings(written)
        latest = {r.bin_id: r for r in written}
        registry.save_states(
            BinState(tenant=tenant_id, bin_id=b.id, ts=latest[b.id].ts, device_id=d.id,
                     filling_level=latest[b.id].filling_level)
            for b, d in pairs
        )  # fmt: skip
        registry.save_fleet(tenant_id, FLEET)
        for role in Role:
            made = issue(registry, NOW, tenant=tenant_id, role=role, name=role.value)
            world.keys[tenant_id, role.value] = made.key
        for driver in ("anna", "bo"):
            made = issue(registry, NOW, tenant=tenant_id, role=Role.DRIVER, name=driver, subject=driver)
            world.keys[tenant_id, driver] = made.key
        first = pairs[0][0]
        hour = timedelta(hours=1)
        registry.add_events([
            Event(tenant=tenant_id, kind=EventKind.FULL, ts=NOW - 3 * hour, bin_id=first.id, value=0.85),
            Event(tenant=tenant_id, kind=EventKind.FIRE_RISK, ts=NOW - 2 * hour, bin_id=first.id, value=71.0,
                  detail="71 °C"),
            Event(tenant=tenant_id, kind=EventKind.EMPTIED, ts=NOW - hour, bin_id=first.id, value=0.8),
        ])  # fmt: skip
    platform = issue(registry, NOW, tenant=None, role=Role.ADMIN, name="platform")
    world.keys["*", "admin"] = platform.key
    return world


@pytest.fixture
def world(sqlite_registry: Registry, tmp_path: Path) -> Iterator[World]:
    store = SqliteStore(tmp_path / "readings.sqlite")
    yield build_world(sqlite_registry, store)
    store.close()


@pytest.fixture
def pg_world(postgres_registry: Registry, tmp_path: Path) -> Iterator[World]:
    store = SqliteStore(tmp_path / "readings.sqlite")
    yield build_world(postgres_registry, store)
    store.close()
