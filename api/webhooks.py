"""Posting a tenant's events to its webhooks: signed, retried with a growing wait, then given up.

`run_webhooks` sends what is due every two seconds, from a thread of `tomning api` and of `tomning
scheduler` (each post is claimed first, so the two never send one at once). A post is JSON
`{"delivery": id, "webhook": id, "event": {...}}` with `X-Tomning-Event` (the kind),
`X-Tomning-Delivery` (the id: a receiver that sees it twice has it already) and
`X-Tomning-Signature: sha256=<hex HMAC-SHA256 of the body with the webhook's secret>`. Any 2xx is
delivered; anything else, or no answer within the timeout, is tried again after 30 s, 1, 2, 5, 10
and 30 minutes, then hourly, 13 tries over about seven hours in all, then marked failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from api import egress
from core.errors import InvalidInput
from core.models import Delivery
from core.registry import Registry
from core.settings import Settings

log = logging.getLogger(__name__)
RESOLVE_S = 3.0  # a name that takes longer is refused (the API answers meanwhile)
_resolver = ThreadPoolExecutor(4, thread_name_prefix="webhook-dns")
KEEP_POSTS_DAYS = 30  # delivered and failed posts, for GET /v1/webhooks/{id}/deliveries
RETRY_S = (30, 60, 120, 300, 600, 1800, 3600, 3600, 3600, 3600, 3600, 3600)  # after each failed try


SEALED = "fernet:"  # a stored secret sealed with one of TOMNING_WEBHOOKS__SECRET_KEYS


class Secrets:
    """The webhooks' signing secrets sealed in the registry (Fernet: AES-128-CBC and HMAC-SHA256) under
    the operator's keys, so a copy of the registry database does not let anyone sign posts as ours."""

    def __init__(self, keys: SecretStr | None) -> None:
        """`keys` as the settings checked them: Fernet keys, comma-separated, the first sealing."""
        given = [k.strip() for k in keys.get_secret_value().split(",") if k.strip()] if keys else []
        self._fernet = MultiFernet([Fernet(k) for k in given]) if given else None

    @property
    def sealing(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        """As kept in the registry: sealed with the first key, or in clear when there is none."""
        if self._fernet is None:
            return secret
        return SEALED + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret to sign with; a sealed one no key opens raises InvalidInput."""
        if not stored.startswith(SEALED):
            return stored
        if self._fernet is None:
            raise InvalidInput("the webhook's secret is sealed and TOMNING_WEBHOOKS__SECRET_KEYS is not set")
        try:
            return self._fernet.decrypt(stored[len(SEALED) :].encode()).decode()
        except InvalidToken as exc:
            raise InvalidInput(
                "none of TOMNING_WEBHOOKS__SECRET_KEYS opens the webhook's secret (a key taken out too soon?)"
            ) from exc

    def reseal(self, stored: str) -> str:
        return self.seal(self.open(stored))


def body_of(delivery: Delivery) -> bytes:
    event = json.loads(delivery.event.model_dump_json())
    return json.dumps({"delivery": delivery.id, "webhook": delivery.webhook_id, "event": event}).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host is (or resolves to) a loopback, private, link-local
    or reserved address, unless `allow_private`."""
    try:
        parts = urlsplit(url)
        port, host = parts.port or 443, parts.hostname or ""
        host.encode("idna")  # a name no DNS could carry: refused here, not failing each post
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:  # UnicodeError is a ValueError
        raise InvalidInput(f"{url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInput(f"{url!r} is not an http or https URL")
    if allow_private:
        return
    lookup = _resolver.submit(socket.getaddrinfo, host, port)
    try:
        found = {info[4][0] for info in lookup.result(timeout=RESOLVE_S)}
    except OSError as exc:
        raise InvalidInput(f"{parts.hostname!r} does not resolve: {exc}") from exc
    except TimeoutError as exc:
        raise InvalidInput(f"{parts.hostname!r} does not resolve within {RESOLVE_S:.0f} s") from exc
    if (bad := egress.first_private(str(a) for a in found)) is not None:
        raise InvalidInput(
            f"{parts.hostname!r} is {bad}, a private or local address: webhooks post to public addresses "
            "(TOMNING_WEBHOOKS__ALLOW_PRIVATE=true allows others)"
        )


def deliver_due(registry: Registry, client: httpx.Client, now: datetime, *, allow_private: bool,
                secrets: Secrets | None = None, limit: int = 50) -> tuple[int, int]:  # fmt: skip
    """Post what is due now, signed with each webhook's secret as `secrets` open it; (delivered, failed
    tries)."""
    delivered = failed = 0
    keys = secrets or Secrets(None)
    for delivery, url, stored in registry.claim_due(now, limit=limit):
        body = body_of(delivery)
        error = ""
        try:
            headers = {
                "Content-Type": "application/json", "User-Agent": "Tomning-Webhooks/1",
                "X-Tomning-Event": delivery.event.kind.value, "X-Tomning-Delivery": str(delivery.id),
                "X-Tomning-Signature": signature(keys.open(stored), body),
            }  # fmt: skip
            check_target(url, allow_private=allow_private)  # again: a name may point elsewhere since
            answer = client.post(url, content=body, headers=headers)
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}"
        except (httpx.HTTPError, httpx.InvalidURL, InvalidInput) as exc:
            error = f"{type(exc).__name__}: {exc}"
        tries = delivery.attempts + 1
        if not error:
            registry.settle(delivery.id, now, attempts=tries)
            delivered += 1
            continue
        failed += 1
        retry_at = now + timedelta(seconds=RETRY_S[tries - 1]) if tries <= len(RETRY_S) else None
        registry.settle(delivery.id, now, error=error, retry_at=retry_at, attempts=tries)
        log.warning("webhook %d, delivery %d (%s): %s; %s", delivery.webhook_id, delivery.id,
                    delivery.event.kind.value, error,
                    f"tried again at {retry_at:%H:%M:%S}" if retry_at else "given up")  # fmt: skip
    return delivered, failed


def run_webhooks(settings: Settings, registry: Registry, stop: threading.Event, every_s: float = 2.0) -> None:
    """Post the tenants' events to their webhooks as they are due, until `stop` (a thread of its own, so a
    long route search does not hold up a fire alarm)."""
    pruned, secrets = 0.0, Secrets(settings.webhooks.secret_keys)
    # the address is checked again where the connection is made: a name may point elsewhere by then
    transport = None if settings.webhooks.allow_private else egress.GuardedTransport()
    with httpx.Client(
        timeout=settings.webhooks.timeout_s, follow_redirects=False, transport=transport
    ) as client:
        while not stop.is_set():
            try:
                if time.monotonic() - pruned > 3600:  # posts done with are kept 30 days, then forgotten
                    registry.prune_outbox(datetime.now(UTC) - timedelta(days=KEEP_POSTS_DAYS))
                    pruned = time.monotonic()
                while deliver_due(registry, client, datetime.now(UTC), secrets=secrets,
                                  allow_private=settings.webhooks.allow_private) != (0, 0):  # fmt: skip
                    if stop.is_set():
                        return
            except Exception:  # the registry away for a moment: the outbox keeps them, try again
                log.exception("webhooks: posting failed; trying again in %.0f s", every_s)
            stop.wait(every_s)
