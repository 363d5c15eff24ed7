"""The registry's contract, run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import BinNotFound, Conflict, DeviceNotFound, TenantNotFound
from core.models import BinState, DeadLetter, Device, Event, EventKind, Tenant
from core.registry import Registry
from core.registry.migrate import downgrade, upgrade
from core.registry.store import Directory
from tests.core.test_models import a_bin

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest) -> Registry:
    chosen: Registry = request.getfixturevalue(
        f"{'sqlite' if request.param == 'sqlite' else 'postgres'}_registry"
    )
    chosen.add_tenant(Tenant(id="kalmar", name="Kalmar kommun"))
    return chosen


def test_tenants_round_trip_and_are_unique(registry: Registry) -> None:
    registry.add_tenant(Tenant(id="vaxjo", name="Växjö kommun"))
    assert [t.id for t in registry.tenants()] == ["kalmar", "vaxjo"]
    assert registry.tenant("vaxjo").timezone == "Europe/Stockholm"
    with pytest.raises(Conflict):
        registry.add_tenant(Tenant(id="vaxjo", name="again"))
    with pytest.raises(TenantNotFound, match="'nowhere'"):
        registry.tenant("nowhere")


def test_bins_round_trip_and_update_in_place(registry: Registry) -> None:
    registry.save_bins([a_bin(), a_bin(id="b2", fraction="glass")])
    registry.save_bins([a_bin(capacity_l=660)])
    assert registry.bin("kalmar", "kalmar-0880-147788-paper") == a_bin(capacity_l=660)
    assert [b.id for b in registry.bins("kalmar")] == ["b2", "kalmar-0880-147788-paper"]
    with pytest.raises(BinNotFound, match="bin 'nope' not found in tenant 'kalmar'"):
        registry.bin("kalmar", "nope")


def test_a_device_maps_to_the_bin_it_was_on_at_each_time(registry: Registry) -> None:
    registry.save_bins([a_bin(id="b1"), a_bin(id="b2")])
    registry.save_device(Device(tenant="kalmar", id="d1"))
    registry.mount("kalmar", "d1", "b1", since=T0)
    registry.mount("kalmar", "d1", "b2", since=T0 + timedelta(days=10))
    assert registry.device("kalmar", "d1").bin_id == "b2"
    directory = Directory(registry)
    assert directory.bin_at("kalmar", "d1", T0 - timedelta(seconds=1)) is None
    assert directory.bin_at("kalmar", "d1", T0 + timedelta(days=3)).id == "b1"  # type: ignore[union-attr]
    assert directory.bin_at("kalmar", "d1", T0 + timedelta(days=10)).id == "b2"  # type: ignore[union-attr]
    assert [m.until for m in registry.mounts("kalmar", "d1")] == [T0 + timedelta(days=10), None]


def test_mounting_an_unknown_device_names_it(registry: Registry) -> None:
    registry.save_bins([a_bin(id="b1")])
    with pytest.raises(DeviceNotFound, match="'ghost'"):
        registry.mount("kalmar", "ghost", "b1", since=T0)


def test_latest_state_is_one_row_per_bin(registry: Registry) -> None:
    registry.save_bins([a_bin(id="b1")])
    registry.save_device(Device(tenant="kalmar", id="d1"))
    for hours, level in ((1, 0.2), (2, 0.4)):
        state = BinState(tenant="kalmar", bin_id="b1", ts=T0 + timedelta(hours=hours), device_id="d1",
                         filling_level=level, date_last_emptying=T0)  # fmt: skip
        registry.save_states([state])
    (latest,) = registry.states("kalmar")
    assert (latest.filling_level, latest.ts, latest.date_last_emptying) == (0.4, T0 + timedelta(hours=2), T0)


def test_last_seen_only_moves_forward(registry: Registry) -> None:
    registry.save_device(Device(tenant="kalmar", id="d1"))
    registry.touch_devices({("kalmar", "d1"): T0 + timedelta(hours=2)})
    registry.touch_devices({("kalmar", "d1"): T0 + timedelta(hours=1)})
    assert registry.last_seen("kalmar") == {"d1": T0 + timedelta(hours=2)}


def test_events_and_dead_letters_are_kept_in_order(registry: Registry) -> None:
    registry.add_events([Event(tenant="kalmar", kind=EventKind.FULL, ts=T0, bin_id="b1", value=0.9)])
    letter = DeadLetter(
        tenant="kalmar", topic="t", reason="malformed_json", detail="x", payload="{", received_at=T0
    )
    registry.add_dead_letters([letter, letter])
    assert [e.kind for e in registry.events("kalmar", kind="full")] == [EventKind.FULL]
    assert registry.dead_letters("kalmar") == [letter, letter]
    assert registry.dead_letter_counts() == {"malformed_json": 2}


def test_migrations_go_down_and_up_again(registry: Registry) -> None:
    downgrade(registry.engine, "base")
    upgrade(registry.engine)
    assert registry.tenants() == []
