"""Every resource and role: allowed, refused, and invisible across tenants; keys and passwords hashed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.registry import schema
from tests.api.conftest import NOW, World

BIN = "kalmar-0880-147788-paper"
NEW_BIN = {
    "id": "new-bin", "location": {"lat": 56.66, "lon": 16.36}, "fraction": "glass", "capacity_l": 1000,
    "empty_distance_mm": 1200, "full_distance_mm": 200,
}  # fmt: skip
ALL = {"admin", "dispatcher", "driver", "viewer", "integration"}
READERS = {"admin", "dispatcher", "viewer", "integration"}

# (method, path, body, roles allowed). Paths may name {plan}: a dispatched plan of the tenant.
CASES: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/v1/tenant", None, ALL),
    ("GET", "/v1/bins", None, READERS),
    ("GET", f"/v1/bins/{BIN}", None, READERS),
    ("POST", "/v1/bins", NEW_BIN, {"admin", "dispatcher", "integration"}),
    ("PUT", f"/v1/bins/{NEW_BIN['id']}", NEW_BIN, {"admin", "dispatcher", "integration"}),
    ("DELETE", f"/v1/bins/{BIN}", None, {"admin", "dispatcher", "integration"}),
    ("GET", f"/v1/bins/{BIN}/fiware", None, READERS),
    ("GET", "/v1/exports/bins.csv", None, READERS),
    ("GET", "/v1/exports/bins.geojson", None, READERS),
    ("GET", "/v1/state", None, READERS),
    ("GET", f"/v1/bins/{BIN}/readings", None, READERS),
    ("GET", f"/v1/bins/{BIN}/forecast", None, READERS),
    ("GET", "/v1/forecasts", None, READERS),
    ("GET", "/v1/devices", None, READERS),
    ("POST", "/v1/devices", {"id": "d-new", "bin_id": BIN}, {"admin", "integration"}),
    ("GET", "/v1/events", None, READERS),
    ("GET", "/v1/alerts", None, READERS),
    ("POST", "/v1/alerts/{alert}/acknowledge", None, {"admin", "dispatcher"}),
    ("GET", "/v1/fleet", None, READERS),
    ("PUT", "/v1/fleet", "FLEET", {"admin", "dispatcher"}),
    ("GET", "/v1/calendar", None, READERS),
    ("GET", "/v1/plans", None, READERS),
    ("GET", "/v1/plans/{plan}", None, READERS),
    ("POST", "/v1/plans/{plan}/replan", {"time_limit_s": 1}, {"admin", "dispatcher"}),
    ("GET", "/v1/plans/{plan}/routes/0", None, READERS),  # the driver of route 0 is tested below
    ("GET", "/v1/plans/{plan}/outcomes", None, ALL),
    ("GET", "/v1/kpis/daily", None, READERS),
    ("GET", "/v1/kpis/days?start=2026-11-20", None, READERS),
    ("GET", "/v1/exports/kpis.csv?start=2026-11-20", None, READERS),
    ("GET", "/v1/webhooks", None, {"admin", "integration"}),
    ("GET", "/v1/keys", None, {"admin"}),
    ("POST", "/v1/keys", {"role": "viewer", "name": "wall screen"}, {"admin"}),
    ("PUT", "/v1/users/anna", {"role": "driver", "password": "correct horse battery"}, {"admin"}),
    ("GET", "/v1/me", None, ALL),
]


def dispatched_plan(world: World, tenant: str = "kalmar") -> dict[str, Any]:
    headers = world.auth(tenant, "dispatcher")
    plan = world.client.post("/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1}, headers=headers)
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    for step in ("approve", "dispatch"):
        assert world.client.post(f"/v1/plans/{plan_id}/{step}", headers=headers).status_code == 200
    return dict(world.client.get(f"/v1/plans/{plan_id}", headers=headers).json())


@pytest.fixture
def plan(world: World) -> dict[str, Any]:
    return dispatched_plan(world)


def _call(
    world: World, tenant: str, who: str, case: tuple[str, str, Any, set[str]], plan: dict[str, Any]
) -> Any:
    from tests.api.conftest import FLEET

    method, path, body, _ = case
    alert = world.services.registry.alerts(tenant)[0][0].id
    path = path.format(plan=plan["id"], alert=alert)
    return world.client.request(
        method, path, json=FLEET if body == "FLEET" else body, headers=world.auth(tenant, who)
    )


@pytest.mark.parametrize("case", CASES, ids=[f"{m} {p}" for m, p, _, _ in CASES])
def test_each_role_is_allowed_or_refused(world: World, plan: dict[str, Any], case: Any) -> None:
    for role in sorted(ALL):
        answer = _call(world, "kalmar", role, case, plan)
        if role in case[3]:  # a second allowed role may meet a conflict the first one made (409, 404)
            assert answer.status_code < 400 or answer.status_code in (404, 409), (role, answer.text)
        elif role == "driver" and "/routes/" in case[1]:  # a route not theirs is invisible to a driver
            assert answer.status_code == 404, answer.text
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert f"the role {role!r} may not do this" in answer.json()["detail"]


def test_no_key_a_bad_key_a_revoked_key_and_an_expired_token_are_refused(world: World) -> None:
    client = world.client
    assert client.get("/v1/bins").status_code == 401
    assert client.get("/v1/bins").headers["www-authenticate"] == "Bearer"
    bad = {"Authorization": "Bearer tmn_0123456789abcdef_guess"}
    assert client.get("/v1/bins", headers=bad).json()["detail"] == "the key is not valid"
    viewer = world.auth("kalmar", "viewer")
    key_id = client.get("/v1/me", headers=viewer).json()["key_id"]
    assert client.delete(f"/v1/keys/{key_id}", headers=world.auth("kalmar", "admin")).status_code == 204
    assert client.get("/v1/bins", headers=viewer).json()["detail"] == "the key was revoked"
    # another tenant's admin cannot revoke Kalmar's keys: the key is not found there
    other = client.get("/v1/me", headers=world.auth("kalmar", "dispatcher")).json()["key_id"]
    assert client.delete(f"/v1/keys/{other}", headers=world.auth("vaxjo", "admin")).status_code == 404
    # sign in: a token that expires
    client.put("/v1/users/anna", json={"role": "driver", "password": "correct horse battery"},
               headers=world.auth("kalmar", "admin"))  # fmt: skip
    wrong = client.post("/v1/auth/token", json={"tenant": "kalmar", "username": "anna", "password": "nope"})
    assert wrong.status_code == 401
    token = client.post(
        "/v1/auth/token", json={"tenant": "kalmar", "username": "anna", "password": "correct horse battery"}
    ).json()  # fmt: skip
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token['token']}"}).json()
    assert (me["role"], me["subject"], me["tenant"]) == ("driver", "anna", "kalmar")
    world.services.clock = lambda: NOW + timedelta(hours=13)
    expired = client.get("/v1/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert (expired.status_code, expired.json()["detail"]) == (401, "the key has expired")


def test_keys_and_passwords_are_stored_hashed(world: World) -> None:
    client = world.client
    made = client.post("/v1/keys", json={"role": "viewer"}, headers=world.auth("kalmar", "admin")).json()
    secret = made["key"].split("_", 2)[2]
    client.put("/v1/users/anna", json={"role": "driver", "password": "correct horse battery"},
               headers=world.auth("kalmar", "admin"))  # fmt: skip
    with world.services.registry.engine.connect() as conn:
        stored = conn.execute(
            select(schema.api_keys.c.secret_hash).where(schema.api_keys.c.id == made["info"]["id"])
        )
        (key_hash,) = stored.one()
        (password_hash,) = conn.execute(select(schema.users.c.password_hash)).one()
    assert secret not in key_hash
    assert len(key_hash) == 64
    assert password_hash.startswith("$argon2")
    assert "correct horse" not in password_hash


def test_another_tenants_objects_answer_as_if_they_did_not_exist(world: World, plan: dict[str, Any]) -> None:
    client, vaxjo = world.client, world.auth("vaxjo", "admin")
    for path in (f"/v1/bins/{BIN}", f"/v1/plans/{plan['id']}", f"/v1/bins/{BIN}/readings",
                 f"/v1/plans/{plan['id']}/routes/0/gpx"):  # fmt: skip
        theirs = client.get(path, headers=vaxjo)
        missing = client.get(
            path.replace(BIN, "no-such-bin").replace(str(plan["id"]), "999999"), headers=vaxjo
        )
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["title"] == missing.json()["title"]
        assert BIN not in str(client.get("/v1/bins?limit=1000", headers=vaxjo).json())
    kalmar_alert = world.services.registry.alerts("kalmar")[0][0].id
    assert client.post(f"/v1/alerts/{kalmar_alert}/acknowledge", headers=vaxjo).status_code == 404
    assert client.get("/v1/state", headers=vaxjo).json()[0]["id"].startswith("vaxjo-")
    report = {"bin_id": BIN, "status": "collected", "at": NOW.isoformat(), "client_id": "abcdefgh1"}
    assert client.post(f"/v1/plans/{plan['id']}/outcomes", json=report, headers=vaxjo).status_code == 404


def test_a_driver_sees_only_their_own_dispatched_routes(world: World, plan: dict[str, Any]) -> None:
    client = world.client
    mine = {r["driver"]: r["index"] for r in plan["routes"]}
    assert mine, "the plan has routes"
    for driver, index in mine.items():
        other = "bo" if driver == "anna" else "anna"
        assert (
            client.get(
                f"/v1/plans/{plan['id']}/routes/{index}", headers=world.auth("kalmar", driver)
            ).status_code
            == 200
        )
        assert (
            client.get(
                f"/v1/plans/{plan['id']}/routes/{index}", headers=world.auth("kalmar", other)
            ).status_code
            == 404
        )
        assert (
            client.get(
                f"/v1/plans/{plan['id']}/routes/{index}/gpx", headers=world.auth("kalmar", other)
            ).status_code
            == 404
        )
        routes = client.get("/v1/my/routes", headers=world.auth("kalmar", driver)).json()
        assert [r["route"]["index"] for r in routes] == [index]
    assert client.get(f"/v1/plans/{plan['id']}", headers=world.auth("kalmar", "anna")).status_code == 403
    assert client.get("/v1/my/routes", headers=world.auth("vaxjo", "anna")).json() == []


def test_only_the_platform_admin_manages_tenants(world: World) -> None:
    client, platform = world.client, world.auth("*", "admin")
    made = client.post("/v1/tenants", json={"id": "mora", "name": "Mora kommun"}, headers=platform)
    assert made.status_code == 201
    assert made.json()["timezone"] == "Europe/Stockholm"
    assert (
        client.post("/v1/tenants", json={"id": "mora", "name": "again"}, headers=platform).status_code == 409
    )
    assert (
        client.post(
            "/v1/tenants", json={"id": "x", "name": "x"}, headers=world.auth("kalmar", "admin")
        ).status_code
        == 403
    )
    first = client.post(
        "/v1/tenants/mora/keys", json={"role": "admin", "name": "first"}, headers=platform
    ).json()
    assert (
        client.get("/v1/tenant", headers={"Authorization": f"Bearer {first['key']}"}).json()["id"] == "mora"
    )
    assert client.get("/v1/bins", headers=platform).status_code == 403


def test_guessing_a_password_gets_a_pause_not_a_token(world: World) -> None:
    client = world.client
    for name in ("anna", "bo"):
        client.put(f"/v1/users/{name}", json={"role": "driver", "password": "correct horse battery"},
                   headers=world.auth("kalmar", "admin"))  # fmt: skip

    def sign_in(name: str, password: str) -> Any:
        return client.post(
            "/v1/auth/token", json={"tenant": "kalmar", "username": name, "password": password}
        )

    for n in range(5):
        world.services.clock = lambda n=n: NOW + timedelta(minutes=n)  # type: ignore[misc]
        assert sign_in("anna", f"guess {n}").status_code == 401
    paused = sign_in("anna", "correct horse battery")  # even the right one: the guesser cannot tell
    assert paused.status_code == 429
    assert paused.headers["retry-after"] == str(11 * 60)  # the first guess counts until 00:15
    assert paused.json()["detail"] == f"too many wrong passwords for 'anna': try again in {11 * 60} s"
    assert sign_in("bo", "correct horse battery").status_code == 200  # another user is not held up
    world.services.clock = lambda: NOW + timedelta(minutes=15)
    assert sign_in("anna", "correct horse battery").status_code == 200  # the first guess aged out
    # a success forgets the failures before it
    for n in range(4):
        assert sign_in("anna", f"again {n}").status_code == 401
    assert sign_in("anna", "correct horse battery").status_code == 200
    assert sign_in("anna", "one more").status_code == 401
    assert sign_in("anna", "correct horse battery").status_code == 200
