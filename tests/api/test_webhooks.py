"""Webhooks: registered through the API, fed by the events the registry stores, posted signed to a real
HTTP server on loopback, retried when it fails, given up in the end."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from api.webhooks import RETRY_S, deliver_due, run_webhooks
from core.models import Event, EventKind
from core.settings import Settings, WebhookSettings
from tests.api.conftest import NOW, World

BIN = "kalmar-0880-147788-paper"


class Receiver:
    """An HTTP server that records each post and answers `codes` in turn (then 204)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.codes: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tomning"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


def _fire(tenant: str = "kalmar", kind: EventKind = EventKind.FIRE_RISK) -> Event:
    return Event(tenant=tenant, kind=kind, ts=NOW, bin_id=BIN if tenant == "kalmar" else None, value=71.0)


def test_an_event_is_posted_signed_to_each_webhook_that_asks_for_its_kind(
    world: World, receiver: Receiver
) -> None:
    world.services.settings = Settings(webhooks=WebhookSettings(allow_private=True))  # the receiver is local
    admin = world.auth("kalmar", "integration")
    made = world.client.post(
        "/v1/webhooks", json={"url": receiver.url, "kinds": ["fire_risk"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    hook, secret = made.json()["webhook"], made.json()["secret"]
    assert (hook["url"], hook["kinds"]) == (receiver.url, ["fire_risk"])
    registry = world.services.registry
    registry.add_events(
        [_fire(), _fire(kind=EventKind.FULL), _fire("vaxjo")]
    )  # only the first is Kalmar's fire
    with httpx.Client() as client:
        assert deliver_due(registry, client, NOW, allow_private=True) == (1, 0)
        assert deliver_due(registry, client, NOW, allow_private=True) == (0, 0)  # posted once
    ((headers, body),) = receiver.posts
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-tomning-signature"] == expected
    assert headers["x-tomning-event"] == "fire_risk"
    sent = json.loads(body)
    assert (sent["webhook"], sent["event"]["kind"], sent["event"]["bin_id"]) == (hook["id"], "fire_risk", BIN)
    assert headers["x-tomning-delivery"] == str(sent["delivery"])
    (delivery,) = world.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin).json()
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)


def test_a_failing_receiver_is_tried_again_later_and_given_up_in_the_end(
    world: World, receiver: Receiver
) -> None:
    world.services.settings = Settings(webhooks=WebhookSettings(allow_private=True))
    admin = world.auth("kalmar", "admin")
    hook = world.client.post("/v1/webhooks", json={"url": receiver.url, "kinds": ["fire_risk", "full"]},
                             headers=admin).json()["webhook"]  # fmt: skip
    registry = world.services.registry
    registry.add_events([_fire()])
    receiver.codes = [500]
    with httpx.Client() as client:
        assert deliver_due(registry, client, NOW, allow_private=True) == (0, 1)
        (pending,) = registry.deliveries("kalmar", hook["id"])
        assert (pending.status, pending.attempts, pending.last_error) == ("pending", 1, "HTTP 500")
        assert pending.next_at == NOW + timedelta(seconds=RETRY_S[0])
        assert deliver_due(registry, client, NOW + timedelta(seconds=29), allow_private=True) == (
            0,
            0,
        )  # not yet
        assert deliver_due(registry, client, NOW + timedelta(seconds=30), allow_private=True) == (1, 0)
        assert len(receiver.posts) == 2  # the same delivery, twice: the receiver knows it by its id
        assert receiver.posts[0][0]["x-tomning-delivery"] == receiver.posts[1][0]["x-tomning-delivery"]
        # a receiver that never answers well: tried 13 times over about seven hours, then given up
        registry.add_events([_fire(kind=EventKind.FULL)])
        receiver.codes = [503] * 20
        at, tries = NOW, 0
        while registry.deliveries("kalmar", hook["id"])[0].status == "pending":
            at += timedelta(hours=1)
            tries += sum(deliver_due(registry, client, at, allow_private=True))
        assert tries == len(RETRY_S) + 1
    failed = world.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin).json()[0]
    assert (failed["status"], failed["attempts"], failed["last_error"]) == ("failed", 13, "HTTP 503")
    # posts done with are forgotten after a while; one still pending never is
    registry.add_events([_fire()])
    assert registry.prune_outbox(NOW) == 0  # nothing settled before the first post
    assert registry.prune_outbox(at + timedelta(days=31)) == 2  # the delivered one and the failed one
    assert [d.status for d in registry.deliveries("kalmar", hook["id"])] == ["pending"]


def test_webhooks_are_refused_where_they_would_reach_inside_and_are_the_tenants_own(world: World) -> None:
    admin = world.auth("kalmar", "admin")
    inside = world.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:8086/write", "kinds": ["full"]},
                               headers=admin)  # fmt: skip
    assert inside.status_code == 422
    assert inside.json()["detail"].startswith("'127.0.0.1' is 127.0.0.1, a private or local address")
    bad = world.client.post(
        "/v1/webhooks", json={"url": "ftp://example.org/x", "kinds": ["full"]}, headers=admin
    )
    assert bad.status_code == 422
    # names no DNS could carry and ports past 65535 (schemathesis found the first a 500): refused by name
    for url in ("https://\u00c2\u00c1\U0010e01d\u00a4r", "https://example.org:99999/x", "http://[::1/x"):
        refused = world.client.post("/v1/webhooks", json={"url": url, "kinds": ["full"]}, headers=admin)
        assert refused.status_code == 422, url
        assert "is not a valid URL" in refused.json()["detail"]
    for role in ("dispatcher", "viewer", "driver"):
        answer = world.client.get("/v1/webhooks", headers=world.auth("kalmar", role))
        assert answer.status_code == 403, role
    world.services.settings = Settings(webhooks=WebhookSettings(allow_private=True))
    hook = world.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "kinds": ["full"]},
                             headers=admin).json()["webhook"]  # fmt: skip
    other = world.auth("vaxjo", "admin")
    assert world.client.get("/v1/webhooks", headers=other).json() == []
    assert world.client.delete(f"/v1/webhooks/{hook['id']}", headers=other).status_code == 404
    assert world.client.delete(f"/v1/webhooks/{hook['id']}", headers=admin).status_code == 204
    assert world.client.get("/v1/webhooks", headers=admin).json() == []


def test_the_schedulers_webhook_thread_posts_an_event_within_seconds(
    world: World, receiver: Receiver
) -> None:
    settings = Settings(webhooks=WebhookSettings(allow_private=True))
    registry = world.services.registry
    registry.add_webhook("kalmar", receiver.url, [EventKind.FIRE_RISK], at=NOW, by="test")
    stop = threading.Event()
    worker = threading.Thread(target=run_webhooks, args=(settings, registry, stop, 0.2))
    worker.start()
    try:
        registry.add_events([_fire()])
        for _ in range(50):
            if receiver.posts:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    (headers, _), *_ = receiver.posts
    assert headers["x-tomning-event"] == "fire_risk"


def test_secrets_are_sealed_in_the_registry_and_keys_rotate_without_a_post_lost(
    world: World, receiver: Receiver
) -> None:
    from cryptography.fernet import Fernet
    from pydantic import SecretStr, ValidationError
    from sqlalchemy import select

    from api.webhooks import SEALED, Secrets
    from core.registry import schema

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    world.services.settings = Settings(
        webhooks=WebhookSettings(allow_private=True, secret_keys=SecretStr(old))
    )
    admin = world.auth("kalmar", "integration")
    made = world.client.post(
        "/v1/webhooks", json={"url": receiver.url, "kinds": ["fire_risk"]}, headers=admin
    )
    secret = made.json()["secret"]
    registry = world.services.registry

    def stored() -> str:
        with registry.engine.connect() as conn:
            return str(conn.execute(select(schema.webhooks.c.secret)).scalar_one())

    assert stored().startswith(SEALED)
    assert secret not in stored()  # a copy of the registry does not sign posts

    def post(keys: str) -> tuple[int, int]:
        registry.add_events([_fire()])
        with httpx.Client() as client:
            return deliver_due(registry, client, NOW, allow_private=True, secrets=Secrets(SecretStr(keys)))

    assert post(old) == (1, 0)
    assert post(f"{new},{old}") == (1, 0)  # a new key put first: the old one still opens
    assert registry.reseal_webhook_secrets(Secrets(SecretStr(f"{new},{old}")).reseal) == 1
    assert post(new) == (1, 0)  # sealed anew: the old key can go
    assert len(receiver.posts) == 3
    for headers, body in receiver.posts:  # each signed with the secret given when it was made
        assert (
            headers["x-tomning-signature"]
            == "sha256=" + hmac.new(secret.encode(), body, "sha256").hexdigest()
        )
    assert post(old) == (0, 1)  # the key taken out too soon: the post waits, and says why
    (waiting,) = [
        d for d in registry.deliveries("kalmar", made.json()["webhook"]["id"]) if d.status == "pending"
    ]
    assert len(receiver.posts) == 3  # nothing posted unsigned
    assert "none of TOMNING_WEBHOOKS__SECRET_KEYS opens" in waiting.last_error
    with pytest.raises(ValidationError, match="key 1 is not a Fernet key"):
        WebhookSettings(secret_keys=SecretStr("not-a-key"))


def test_drivers_reports_are_posted_to_the_webhooks_asking_for_them_once_each(
    world: World, receiver: Receiver
) -> None:
    from tests.api.test_access import dispatched_plan

    world.services.settings = Settings(webhooks=WebhookSettings(allow_private=True))
    admin = world.auth("kalmar", "integration")
    made = world.client.post(
        "/v1/webhooks", json={"url": receiver.url, "kinds": ["collected", "skipped"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    first, second = [v["id"] for v in route["visits"] if v["kind"] == "bin"][:2]
    driver = world.auth("kalmar", route["driver"])
    reports = [
        {"bin_id": first, "status": "collected", "at": NOW.isoformat(), "client_id": "hook-0001"},
        {"bin_id": second, "status": "skipped", "reason": "blocked", "note": "a van in front",
         "at": NOW.isoformat(), "client_id": "hook-0002"},
        {"bin_id": first, "status": "collected", "at": NOW.isoformat(), "client_id": "hook-0001"},  # resent
    ]  # fmt: skip
    for body in reports:
        answer = world.client.post(f"/v1/plans/{plan['id']}/outcomes", json=body, headers=driver)
        assert answer.status_code in (200, 201), answer.text
    with httpx.Client() as client:
        assert deliver_due(world.services.registry, client, NOW, allow_private=True) == (2, 0)
    posted = [json.loads(body)["event"] for _, body in receiver.posts]
    assert [(e["kind"], e["bin_id"]) for e in posted] == [("collected", first), ("skipped", second)]
    assert posted[1]["detail"] == f"plan {plan['id']}, {route['driver']}: blocked – a van in front"
    assert [h["x-tomning-event"] for h, _ in receiver.posts] == ["collected", "skipped"]
    # not sensors' events: asking the events for them says where they are
    asked = world.client.get("/v1/events?kind=collected", headers=admin)
    assert asked.status_code == 422
    assert "GET /v1/plans/{plan_id}/outcomes lists them" in asked.json()["detail"]
