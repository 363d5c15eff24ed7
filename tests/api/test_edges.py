"""The API's edges: extreme dates, naive instants, unknown time zones and offsets on local times are refused
with 422 and the field named, never a 500."""

from __future__ import annotations

import pytest

from tests.api.conftest import FLEET, LUNCH, World

EXTREMES = ["0001-01-01", "9999-12-31"]
INSTANTS = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59Z"]


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize(
    "path", ["/v1/kpis/daily?day={}", "/v1/kpis/days?start={}", "/v1/kpis/days?end={}", "/v1/plans?day={}",
             "/v1/calendar?after={}", "/v1/my/routes?day={}"],
)  # fmt: skip
def test_a_day_out_of_range_is_refused(world: World, path: str, day: str) -> None:
    who = "anna" if "/my/" in path else "dispatcher"
    answer = world.client.get(path.format(day), headers=world.auth("kalmar", who))
    assert answer.status_code == 422, answer.text
    assert "must lie in the years 1970 to 2199" in answer.text


@pytest.mark.parametrize("instant", INSTANTS)
@pytest.mark.parametrize("path", ["/v1/events", "/v1/alerts"])
def test_an_instant_out_of_range_is_refused(world: World, path: str, instant: str) -> None:
    answer = world.client.get(path, params={"since": instant}, headers=world.auth("kalmar", "dispatcher"))
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("expires_at", [*INSTANTS, "2027-01-01T00:00:00"])
def test_a_key_must_expire_at_an_instant_with_a_zone_within_range(world: World, expires_at: str) -> None:
    answer = world.client.post("/v1/keys", json={"role": "viewer", "expires_at": expires_at},
                               headers=world.auth("kalmar", "admin"))  # fmt: skip
    assert answer.status_code == 422, answer.text


def test_a_tenant_needs_a_time_zone_of_the_iana_database(world: World) -> None:
    h = world.auth("*", "admin")
    for zone in ("Mars/Olympus", "../../etc/passwd", ""):
        answer = world.client.post(
            "/v1/tenants", json={"id": "mars", "name": "Mars", "timezone": zone}, headers=h
        )
        assert answer.status_code == 422, answer.text
        assert "IANA time zone" in answer.text
    lund = {"id": "lund", "name": "Lund", "timezone": "Europe/Stockholm"}
    made = world.client.post("/v1/tenants", json=lund, headers=h)
    assert made.status_code == 201


def test_a_fleets_local_times_carry_no_offset(world: World) -> None:
    """Schemathesis found it: a break at 10:30+01:00 subtracted a naive time from an aware one (500)."""
    h = world.auth("kalmar", "admin")
    trucks = [v | {"breaks": [LUNCH | {"earliest": "06:40:00+01:00"}]} for v in FLEET["vehicles"]]  # type: ignore[operator]
    answer = world.client.put("/v1/fleet", json=FLEET | {"vehicles": trucks}, headers=h)
    assert answer.status_code == 422, answer.text
    assert "without an offset" in answer.text
    shifted = [v | {"shift_start": "06:00Z"} for v in FLEET["vehicles"]]  # type: ignore[operator]
    assert world.client.put("/v1/fleet", json=FLEET | {"vehicles": shifted}, headers=h).status_code == 422
