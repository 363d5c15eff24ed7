"""The registry's part for people at work: API keys and users, alerts, fleets, plans, outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import Conflict, NotFound
from core.models import (
    ALERT_KINDS,
    Alert,
    AlertStatus,
    ApiKey,
    BreakTaken,
    Event,
    EventKind,
    Outcome,
    OutcomeStatus,
    Plan,
    PlanStatus,
    Role,
)
from core.registry import schema as t

_EVENT_FIELDS = tuple(Event.model_fields)
Report = TypeVar("Report", Outcome, BreakTaken)  # a driver's report, counted once by its client_id


def event_of(row: dict[str, Any]) -> Event:
    return Event.model_validate({k: row[k] for k in _EVENT_FIELDS})


class Desk:
    """Mixed into Registry: needs only `self.engine`."""

    engine: Engine

    def bump(self, conn: Any, tenants: Iterable[str]) -> None: ...

    enqueue: Callable[[Connection, Sequence[Event]], None]  # Hooks': a new report posted to webhooks with it

    # keys and users
    def add_key(self, key: ApiKey, secret_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(t.api_keys), key.model_dump() | {"secret_hash": secret_hash})

    def key(self, key_id: str) -> tuple[ApiKey, str] | None:
        """A key and its secret's hash, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == key_id)).first()
        if row is None:
            return None
        return _key(row._asdict()), row.secret_hash

    def keys(self, tenant: str | None) -> list[ApiKey]:
        query = select(t.api_keys).where(
            t.api_keys.c.tenant.is_(None) if tenant is None else t.api_keys.c.tenant == tenant
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.api_keys.c.created_at)).all()
        return [_key(r._asdict()) for r in rows]

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """Revoke a key; False when it was revoked already (so a one-time key is taken once)."""
        c = t.api_keys.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.api_keys).where(c.id == key_id, c.revoked_at.is_(None)).values(revoked_at=at)
            )
        return bool(done.rowcount)

    def save_user(self, tenant: str, username: str, role: Role, password_hash: str) -> None:
        row = {"tenant": tenant, "username": username, "role": role.value, "password_hash": password_hash}
        try:
            with self.engine.begin() as conn:
                same = (t.users.c.tenant == tenant) & (t.users.c.username == username)
                conn.execute(t.users.delete().where(same))
                conn.execute(insert(t.users), row)
        except IntegrityError as exc:
            raise NotFound(f"tenant {tenant!r} not found") from exc

    def user(self, tenant: str, username: str) -> tuple[Role, str] | None:
        """A user's role and password hash, or None."""
        query = select(t.users).where(t.users.c.tenant == tenant, t.users.c.username == username)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else (Role(row.role), row.password_hash)

    # fleets: stored as the API validated them
    def save_fleet(self, tenant: str, doc: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.fleets.delete().where(t.fleets.c.tenant == tenant))
            conn.execute(insert(t.fleets), {"tenant": tenant, "doc": json.dumps(doc)})

    def fleet(self, tenant: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            doc = conn.execute(select(t.fleets.c.doc).where(t.fleets.c.tenant == tenant)).scalar()
        return None if doc is None else dict(json.loads(doc))

    # the map of every bin: what the API's heaviest read serves
    def state_rows(self, tenant: str, bin_id: str | None = None) -> list[dict[str, Any]]:
        """Every bin of a tenant (or one) with its latest state (None where it has none), as plain dicts."""
        b, s = t.bins.c, t.bin_states.c
        query = (
            select(
                b.id, b.fraction, b.district, b.address, b.lat, b.lon, b.capacity_l, b.threshold,
                s.filling_level, s.ts, s.temperature_c, s.battery_v, s.tilt_deg, s.device_id,
                s.date_last_emptying,
            )
            .select_from(t.bins.outerjoin(t.bin_states, (s.tenant == b.tenant) & (s.bin_id == b.id)))
            .where(b.tenant == tenant)
            .order_by(b.id)
        )  # fmt: skip
        if bin_id is not None:
            query = query.where(b.id == bin_id)
        with self.engine.connect() as conn:
            return [r._asdict() for r in conn.execute(query)]

    def delete_bin(self, tenant: str, bin_id: str) -> None:
        with self.engine.begin() as conn:
            gone = conn.execute(t.bins.delete().where(t.bins.c.tenant == tenant, t.bins.c.id == bin_id))
            self.bump(conn, {tenant})
        if gone.rowcount == 0:
            raise NotFound(f"bin {bin_id!r} not found")

    # alerts: events of the kinds that want attention
    def alerts(
        self,
        tenant: str,
        *,
        status: AlertStatus | None = None,
        kind: str | None = None,
        bin_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Alert], int]:
        """A page of alerts, newest first, and how many match in all."""
        c = t.events.c
        where = [c.tenant == tenant, c.kind.in_([k.value for k in ALERT_KINDS])]
        if status is not None:
            where.append(c.status == status.value)
        if kind is not None:
            where.append(c.kind == kind)
        if bin_id is not None:
            where.append(c.bin_id == bin_id)
        if since is not None:
            where.append(c.ts >= since)
        query = select(t.events).where(*where).order_by(c.ts.desc(), c.id.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(t.events).where(*where)).scalar_one()
            return [_alert(r._asdict()) for r in conn.execute(query)], int(total)

    def alert(self, tenant: str, alert_id: int) -> Alert:
        c = t.events.c
        query = select(t.events).where(c.tenant == tenant, c.id == alert_id)
        with self.engine.connect() as conn:
            row = conn.execute(query.where(c.kind.in_([k.value for k in ALERT_KINDS]))).first()
        if row is None:
            raise NotFound(f"alert {alert_id} not found")
        return _alert(row._asdict())

    def set_alert_status(
        self, tenant: str, alert_id: int, status: AlertStatus, by: str, at: datetime
    ) -> Alert:
        """Acknowledge or resolve; a resolved alert stays resolved."""
        current = self.alert(tenant, alert_id)
        if current.status is AlertStatus.RESOLVED:
            raise Conflict(f"alert {alert_id} is resolved already")
        if status is AlertStatus.ACKNOWLEDGED:
            values: dict[str, Any] = {"status": status.value, "acknowledged_at": at, "acknowledged_by": by}
        else:
            values = {"status": status.value, "resolved_at": at, "resolved_by": by}
            if current.acknowledged_at is None:
                values |= {"acknowledged_at": at, "acknowledged_by": by}
        with self.engine.begin() as conn:
            conn.execute(update(t.events).where(t.events.c.id == alert_id).values(**values))
        return self.alert(tenant, alert_id)

    # plans and outcomes
    def add_plan(self, plan: Plan) -> Plan:
        """Store a plan; its id is given here. A plan that replaces another supersedes it once it is
        dispatched (until then drivers keep the one they drive)."""
        row = plan.model_dump(include={"tenant", "day", "created_at", "created_by", "replaces"})
        row |= {"status": plan.status.value, "doc": _doc(plan)}
        with self.engine.begin() as conn:
            plan_id = conn.execute(insert(t.plans).returning(t.plans.c.id), row).scalar_one()
            if plan.status is PlanStatus.DISPATCHED:
                self._supersede(conn, plan)
        return plan.model_copy(update={"id": plan_id})

    def dispatch_plan(self, plan: Plan) -> Plan:
        """Send a stored plan to the drivers, with its routes as given (a re-plan's, less what was reported
        since it was made); the plan it replaces is superseded in the same transaction."""
        with self.engine.begin() as conn:
            self._supersede(conn, plan)
            conn.execute(
                update(t.plans)
                .where(t.plans.c.tenant == plan.tenant, t.plans.c.id == plan.id)
                .values(status=PlanStatus.DISPATCHED.value, doc=_doc(plan))
            )
        return self.plan(plan.tenant, plan.id)

    @staticmethod
    def _supersede(conn: Connection, plan: Plan) -> None:
        """The plan `plan` replaces, superseded; refused when another re-plan of it went out first."""
        if plan.replaces is None:
            return
        replaced = (t.plans.c.tenant == plan.tenant) & (t.plans.c.id == plan.replaces)
        if conn.execute(select(t.plans.c.status).where(replaced)).scalar_one() == PlanStatus.SUPERSEDED.value:
            raise Conflict(f"plan {plan.replaces} was replaced by another plan already: re-plan that one")
        conn.execute(update(t.plans).where(replaced).values(status=PlanStatus.SUPERSEDED.value))

    def plan(self, tenant: str, plan_id: int) -> Plan:
        query = select(t.plans).where(t.plans.c.tenant == tenant, t.plans.c.id == plan_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"plan {plan_id} not found")
        return _plan(row._asdict())

    def plans(
        self, tenant: str, *, day: date | None = None, status: PlanStatus | None = None, limit: int = 100,
        offset: int = 0,
    ) -> list[Plan]:  # fmt: skip
        query = select(t.plans).where(t.plans.c.tenant == tenant)
        if day is not None:
            query = query.where(t.plans.c.day == day)
        if status is not None:
            query = query.where(t.plans.c.status == status.value)
        query = query.order_by(t.plans.c.day.desc(), t.plans.c.id.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [_plan(r._asdict()) for r in conn.execute(query)]

    def set_plan_status(self, tenant: str, plan_id: int, status: PlanStatus) -> Plan:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.plans)
                .where(t.plans.c.tenant == tenant, t.plans.c.id == plan_id)
                .values(status=status.value)
            )
        return self.plan(tenant, plan_id)

    def add_outcome(self, outcome: Outcome) -> tuple[Outcome, bool]:
        """Record a driver's report; a report with a known `client_id` is the stored one, not a new one. A
        new one goes to the tenant's webhooks that ask for its kind (`collected`, `skipped`) with it."""
        kind = EventKind.COLLECTED if outcome.status is OutcomeStatus.COLLECTED else EventKind.SKIPPED
        said = " – ".join(
            part for part in (outcome.reason.value if outcome.reason else "", outcome.note) if part
        )
        detail = f"plan {outcome.plan_id}, {outcome.by}" + (f": {said}" if said else "")
        event = Event(tenant=outcome.tenant, kind=kind, ts=outcome.at, bin_id=outcome.bin_id, detail=detail)
        return self._add_once(t.outcomes, outcome, _outcome, (event,))

    def add_break(self, taken: BreakTaken) -> tuple[BreakTaken, bool]:
        """Record that a driver's break began; a report with a known `client_id` is the stored one."""
        return self._add_once(t.breaks_taken, taken, _break_taken)

    def _add_once(
        self,
        table: Any,
        report: Report,
        parse: Callable[[dict[str, Any]], Report],
        events: Sequence[Event] = (),
    ) -> tuple[Report, bool]:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(table), report.model_dump())
                self.enqueue(conn, events)
        except IntegrityError:
            c = table.c
            query = select(table).where(c.tenant == report.tenant, c.client_id == report.client_id)
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
            if row is None:
                raise
            stored = parse(row._asdict())
            if stored != report:  # not this report sent again: another's, whose contents are not the caller's
                raise Conflict(
                    f"client_id {report.client_id!r} names another report: choose a new one"
                ) from None
            return stored, False
        return report, True

    def breaks_taken(self, tenant: str, *, day: date) -> list[BreakTaken]:
        """The breaks drivers reported begun on `day`'s plans, earliest first."""
        c = t.breaks_taken.c
        query = (
            select(t.breaks_taken)
            .join(t.plans, t.plans.c.id == c.plan_id)
            .where(c.tenant == tenant, t.plans.c.day == day)
            .order_by(c.start, c.id)
        )
        with self.engine.connect() as conn:
            return [_break_taken(r._asdict()) for r in conn.execute(query)]

    def outcomes(
        self,
        tenant: str,
        *,
        plan_id: int | None = None,
        day: date | None = None,
        since: datetime | None = None,
    ) -> list[Outcome]:
        c = t.outcomes.c
        query = select(t.outcomes).where(c.tenant == tenant)
        if since is not None:
            query = query.where(c.at >= since)
        if plan_id is not None:
            query = query.where(c.plan_id == plan_id)
        if day is not None:
            query = query.join(t.plans, t.plans.c.id == c.plan_id).where(t.plans.c.day == day)
        with self.engine.connect() as conn:
            return [_outcome(r._asdict()) for r in conn.execute(query.order_by(c.at, c.id))]


def _key(row: dict[str, Any]) -> ApiKey:
    return ApiKey.model_validate({k: v for k, v in row.items() if k != "secret_hash"})


def _alert(row: dict[str, Any]) -> Alert:
    names = ("status", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by")
    extra = {k: row[k] for k in names}
    return Alert.model_validate({"id": row["id"], "event": event_of(row)} | extra)


def _plan(row: dict[str, Any]) -> Plan:
    doc = json.loads(row.pop("doc"))
    return Plan.model_validate(row | doc)


def _outcome(row: dict[str, Any]) -> Outcome:
    return Outcome.model_validate({k: v for k, v in row.items() if k != "id"})


def _break_taken(row: dict[str, Any]) -> BreakTaken:
    return BreakTaken.model_validate({k: v for k, v in row.items() if k != "id"})


def _doc(plan: Plan) -> str:
    """What of a plan is kept as one JSON document: its routes, the bins it leaves out, and the dispatcher's
    choices it was made with."""
    return plan.model_dump_json(include={"routes", "left_out", "choices"})
