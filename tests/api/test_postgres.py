"""The API on a PostgreSQL registry, as in production: plans, reports counted once, alerts, the map."""

from __future__ import annotations

from tests.api.conftest import FLEET_WITH_LUNCH, NOW, World
from tests.api.test_access import BIN, dispatched_plan


def test_the_api_works_the_same_on_postgresql(pg_world: World) -> None:
    world = pg_world
    h = world.auth("kalmar", "dispatcher")
    assert world.client.put("/v1/fleet", json=FLEET_WITH_LUNCH, headers=h).status_code == 200
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    some_bin = next(v["id"] for v in route["visits"] if v["kind"] == "bin")
    report = {"bin_id": some_bin, "status": "collected", "at": NOW.isoformat(), "client_id": "pg-000001"}
    url, driver = f"/v1/plans/{plan['id']}/outcomes", world.auth("kalmar", route["driver"])
    assert world.client.post(url, json=report, headers=driver).status_code == 201
    assert world.client.post(url, json=report, headers=driver).status_code == 200
    assert len(world.client.get(url, headers=driver).json()) == 1
    lunch = {"break_id": "lunch", "start": NOW.isoformat(), "client_id": "pg-000002"}
    base = f"/v1/plans/{plan['id']}/routes/{route['index']}"
    assert world.client.post(f"{base}/breaks", json=lunch, headers=driver).status_code == 201
    assert world.client.post(f"{base}/breaks", json=lunch, headers=driver).status_code == 200
    assert [b["client_id"] for b in world.client.get(base, headers=driver).json()["breaks_taken"]] == [
        "pg-000002"
    ]
    alert = world.client.get("/v1/alerts", headers=h).json()["items"][0]["id"]
    assert world.client.post(f"/v1/alerts/{alert}/resolve", headers=h).json()["status"] == "resolved"
    assert len(world.client.get("/v1/state", headers=h).json()) == 24
    assert world.client.get(f"/v1/bins/{BIN}", headers=world.auth("vaxjo", "admin")).status_code == 404


def test_webhook_posts_are_queued_with_their_events_and_claimed_once_on_postgresql(pg_world: World) -> None:
    from datetime import timedelta

    from core.models import Event, EventKind

    registry = pg_world.services.registry
    hook, _ = registry.add_webhook(
        "kalmar", "https://example.org/hook", [EventKind.FIRE_RISK], at=NOW, by="t"
    )
    registry.add_events([Event(tenant="kalmar", kind=EventKind.FIRE_RISK, ts=NOW, bin_id=BIN, value=70.0)])
    ((delivery, url, _),) = registry.claim_due(NOW)
    assert (delivery.webhook_id, delivery.event.bin_id, url) == (hook.id, BIN, "https://example.org/hook")
    assert registry.claim_due(NOW) == []  # claimed: no second sender takes it meanwhile
    registry.settle(delivery.id, NOW, error="HTTP 502", retry_at=NOW + timedelta(seconds=30))
    assert registry.claim_due(NOW + timedelta(seconds=10)) == []
    assert len(registry.claim_due(NOW + timedelta(seconds=30))) == 1
    # another process deletes the webhook while this one still believes the tenant has one: its events
    # are stored all the same, and nothing is queued for the webhook gone
    from core.registry import schema

    with registry.engine.begin() as conn:
        conn.execute(schema.webhook_outbox.delete())
        conn.execute(schema.webhooks.delete())
    registry.add_events([Event(tenant="kalmar", kind=EventKind.FIRE_RISK, ts=NOW, bin_id=BIN, value=75.0)])
    assert [e.value for e in registry.events("kalmar", kind="fire_risk")][-1] == 75.0
    assert registry.claim_due(NOW + timedelta(hours=1)) == []
