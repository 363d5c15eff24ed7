"""The API on a PostgreSQL registry, as in production: plans, reports counted once, alerts, the map."""

from __future__ import annotations

from tests.api.conftest import NOW, World
from tests.api.test_access import BIN, dispatched_plan


def test_the_api_works_the_same_on_postgresql(pg_world: World) -> None:
    world = pg_world
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    some_bin = next(v["id"] for v in route["visits"] if v["kind"] == "bin")
    report = {"bin_id": some_bin, "status": "collected", "at": NOW.isoformat(), "client_id": "pg-000001"}
    url, driver = f"/v1/plans/{plan['id']}/outcomes", world.auth("kalmar", route["driver"])
    assert world.client.post(url, json=report, headers=driver).status_code == 201
    assert world.client.post(url, json=report, headers=driver).status_code == 200
    assert len(world.client.get(url, headers=driver).json()) == 1
    h = world.auth("kalmar", "dispatcher")
    alert = world.client.get("/v1/alerts", headers=h).json()["items"][0]["id"]
    assert world.client.post(f"/v1/alerts/{alert}/resolve", headers=h).json()["status"] == "resolved"
    assert len(world.client.get("/v1/state", headers=h).json()) == 24
    assert world.client.get(f"/v1/bins/{BIN}", headers=world.auth("vaxjo", "admin")).status_code == 404
