"""A fleet or a tenant saved before today's rules still loads or is set aside, never failing the others."""

from __future__ import annotations

import pytest

from core.errors import Conflict
from core.models import Tenant
from core.registry import Registry
from planning.fleet import fleet_of, saved_fleet
from tests.api.conftest import FLEET


def test_a_fleet_saved_before_a_rule_it_breaks_is_set_aside_with_its_reason(
    sqlite_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    for tenant in ("kalmar", "vaxjo"):
        sqlite_registry.save_tenant(Tenant(id=tenant, name=tenant))
    old = FLEET | {"facilities": [FLEET["facilities"][0] | {"opens": "06:00+01:00"}]}  # type: ignore[index]
    sqlite_registry.save_fleet("kalmar", old)
    sqlite_registry.save_fleet("vaxjo", FLEET)
    assert saved_fleet(sqlite_registry, "kalmar") is None
    assert "without an offset" in caplog.text
    with pytest.raises(Conflict, match="saved before a rule it breaks"):
        fleet_of(sqlite_registry, "kalmar")
    assert fleet_of(sqlite_registry, "vaxjo").vehicles  # the other tenant plans as before


def test_a_tenant_stored_with_a_zone_the_rule_now_refuses_still_loads(sqlite_registry: Registry) -> None:
    sqlite_registry.save_tenant(Tenant(id="mars", name="Mars", timezone="Mars/Olympus"))
    assert [t.id for t in sqlite_registry.tenants()] == ["mars"]
