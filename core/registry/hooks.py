"""Mixed into Registry: webhooks, and the outbox of their posts (written with the events themselves)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, literal, or_, select, update

from core.errors import NotFound
from core.models import Delivery, Event, EventKind, Webhook
from core.registry import schema as t

HOOKS_SEEN_S = 5.0  # how long ingest trusts its list of a tenant's webhooks: a new one posts within that


class Hooks:
    """Needs `self.engine`. Events reach the outbox in the transaction that stores them, so an event stored
    is an event posted (at least once)."""

    engine: Engine
    _hooks_seen: dict[str, tuple[float, bool]]

    def add_webhook(self, tenant: str, url: str, kinds: Iterable[EventKind], *, at: datetime, by: str,
                    seal: Callable[[str], str] = str) -> tuple[Webhook, str]:  # fmt: skip
        """A new webhook and the secret its posts are signed with (shown once), kept as `seal` makes it."""
        secret = secrets.token_urlsafe(32)
        row = {"tenant": tenant, "url": url, "kinds": ",".join(k.value for k in kinds),
               "secret": seal(secret), "created_at": at, "created_by": by}  # fmt: skip
        with self.engine.begin() as conn:
            hook_id = conn.execute(insert(t.webhooks).returning(t.webhooks.c.id), row).scalar_one()
        self._hooks_seen.pop(tenant, None)
        return self.webhook(tenant, hook_id), secret

    def webhook(self, tenant: str, hook_id: int) -> Webhook:
        c = t.webhooks.c
        with self.engine.connect() as conn:
            row = conn.execute(select(t.webhooks).where(c.tenant == tenant, c.id == hook_id)).first()
        if row is None:
            raise NotFound(f"webhook {hook_id} not found")
        return _webhook(row._asdict())

    def webhooks(self, tenant: str) -> list[Webhook]:
        c = t.webhooks.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.webhooks).where(c.tenant == tenant).order_by(c.id))
            return [_webhook(r._asdict()) for r in rows]

    def reseal_webhook_secrets(self, reseal: Callable[[str], str]) -> int:
        """Every webhook's stored secret as `reseal` makes it anew (sealed with a new key); how many."""
        c = t.webhooks.c
        with self.engine.begin() as conn:
            rows = conn.execute(select(c.id, c.secret)).all()
            for row in rows:
                conn.execute(update(t.webhooks).where(c.id == row.id).values(secret=reseal(row.secret)))
        return len(rows)

    def delete_webhook(self, tenant: str, hook_id: int) -> None:
        """The webhook and what it had still to post."""
        self.webhook(tenant, hook_id)
        with self.engine.begin() as conn:
            conn.execute(t.webhook_outbox.delete().where(t.webhook_outbox.c.webhook_id == hook_id))
            conn.execute(t.webhooks.delete().where(t.webhooks.c.id == hook_id))
        self._hooks_seen.pop(tenant, None)

    def _has_hooks(self, conn: Connection, tenant: str) -> bool:
        """Whether `tenant` has webhooks, by a look at most `HOOKS_SEEN_S` old (events are stored often)."""
        seen = self._hooks_seen.get(tenant)
        if seen is None or time.monotonic() - seen[0] > HOOKS_SEEN_S:
            found = conn.execute(
                select(t.webhooks.c.id).where(t.webhooks.c.tenant == tenant).limit(1)
            ).first()
            seen = (time.monotonic(), found is not None)
            self._hooks_seen[tenant] = seen
        return seen[1]

    def enqueue(self, conn: Connection, events: Sequence[Event]) -> None:
        """Each event, for each of its tenant's webhooks that asks for its kind, into the outbox: chosen in
        the same statement, so a webhook deleted meanwhile by another process is not posted to (nor can
        it fail the events' transaction). A tenant seen without webhooks costs no statement."""
        w, o = t.webhooks.c, t.webhook_outbox
        for e in events:
            if not self._has_hooks(conn, e.tenant):
                continue
            wanted = (literal(",") + w.kinds + literal(",")).contains(f",{e.kind.value},")
            rows = select(
                w.id, literal(e.tenant), literal(e.model_dump_json()), literal("pending"), literal(0),
                literal(""),
            ).where(w.tenant == e.tenant, wanted)  # fmt: skip
            columns = ["webhook_id", "tenant", "event", "status", "attempts", "last_error"]
            conn.execute(insert(o).from_select(columns, rows))

    def claim_due(
        self, now: datetime, *, limit: int = 50, lease_s: float = 60
    ) -> list[tuple[Delivery, str, str]]:
        """Posts due now, oldest first, each claimed for `lease_s` (so two senders never post one twice at
        once; a sender that dies leaves it to the next after the lease): (delivery, url, secret)."""
        o, w = t.webhook_outbox.c, t.webhooks.c
        free = or_(o.claimed_until.is_(None), o.claimed_until < now)
        due = (o.status == "pending") & or_(o.next_at.is_(None), o.next_at <= now) & free
        query = (
            select(t.webhook_outbox, w.url, w.secret)
            .join(t.webhooks, w.id == o.webhook_id)
            .where(due)
            .order_by(o.id)
            .limit(limit)
        )
        out = []
        with self.engine.begin() as conn:
            for row in conn.execute(query).all():
                taken = conn.execute(
                    update(t.webhook_outbox).where((o.id == row.id) & free)
                    .values(claimed_until=now + timedelta(seconds=lease_s))
                )  # fmt: skip
                if taken.rowcount == 1:
                    data = row._asdict()
                    out.append((_delivery(data), data["url"], data["secret"]))
        return out

    def pending_posts(self) -> int:
        """Posts still to make, over every tenant (due now or waiting for a retry)."""
        with self.engine.connect() as conn:
            query = (
                select(func.count())
                .select_from(t.webhook_outbox)
                .where(t.webhook_outbox.c.status == "pending")
            )
            return int(conn.execute(query).scalar_one())

    def settle(self, delivery_id: int, at: datetime, *, error: str = "", retry_at: datetime | None = None,
               attempts: int = 1) -> None:  # fmt: skip
        """A post's outcome: delivered (no `error`), due again at `retry_at`, or failed for good."""
        values: dict[str, Any] = {"attempts": attempts, "claimed_until": None, "last_error": error[:500]}
        if not error:
            values |= {"status": "delivered", "delivered_at": at}
        elif retry_at is not None:
            values |= {"next_at": retry_at}
        else:
            values |= {"status": "failed", "next_at": at}  # when it was given up
        with self.engine.begin() as conn:
            conn.execute(
                update(t.webhook_outbox).where(t.webhook_outbox.c.id == delivery_id).values(**values)
            )

    def prune_outbox(self, before: datetime) -> int:
        """Forget posts delivered before `before`, and failed ones last tried before it; pending stay."""
        o = t.webhook_outbox.c
        done = ((o.status == "delivered") & (o.delivered_at < before)) | (
            (o.status == "failed") & (o.next_at < before)
        )
        with self.engine.begin() as conn:
            return int(conn.execute(t.webhook_outbox.delete().where(done)).rowcount)

    def deliveries(self, tenant: str, hook_id: int, *, limit: int = 100) -> list[Delivery]:
        """A webhook's posts, newest first."""
        self.webhook(tenant, hook_id)
        o = t.webhook_outbox.c
        query = select(t.webhook_outbox).where(o.webhook_id == hook_id).order_by(o.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_delivery(r._asdict()) for r in conn.execute(query)]


def _webhook(row: dict[str, Any]) -> Webhook:
    row = {k: v for k, v in row.items() if k != "secret"}
    return Webhook.model_validate(row | {"kinds": tuple(row["kinds"].split(","))})


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"], webhook_id=row["webhook_id"], event=Event.model_validate(json.loads(row["event"])),
        status=row["status"], attempts=row["attempts"], next_at=row["next_at"],
        delivered_at=row["delivered_at"], last_error=row["last_error"],
    )  # fmt: skip
