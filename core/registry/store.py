"""Registry storage over SQLAlchemy Core: SQLite embedded by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, and_, bindparam, create_engine, event, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from core.errors import BinNotFound, Conflict, DeviceNotFound, TenantNotFound
from core.models import Bin, BinState, DeadLetter, Device, Event, Location, Mount, Tenant
from core.registry import schema as t
from core.registry.desk import Desk, event_of
from core.registry.hooks import Hooks
from core.registry.signins import SignIns


def make_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if engine.url.database not in (None, "", ":memory:"):  # var/ on a fresh clone: made, not a traceback
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Registry(Desk, Hooks, SignIns):
    """Tenants, bins, devices, mounts, bins' latest state, events and dead letters."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._hooks_seen = {}

    @classmethod
    def connect(cls, url: str) -> Registry:
        return cls(make_engine(url))

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def _upsert(
        self, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str], *, newer: str | None = None
    ) -> None:
        """Insert or update by `keys`; with `newer`, only where that column grows."""
        if not rows:
            return
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table)
        changes = {c: statement.excluded[c] for c in rows[0] if c not in keys}
        where = table.c[newer] < statement.excluded[newer] if newer else None
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    statement.on_conflict_do_update(index_elements=keys, set_=changes, where=where), rows
                )
                if "tenant" in keys:
                    self.bump(conn, {row["tenant"] for row in rows})
        except IntegrityError as exc:  # another unique key (a DevEUI) or an unknown parent (a tenant)
            raise Conflict(f"{table.name}: {exc.orig}") from exc

    def bump(self, conn: Any, tenants: Iterable[str]) -> None:
        """Count a change to these tenants' bins or states (in the caller's transaction)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.revisions)
        grown = statement.on_conflict_do_update(
            index_elements=["tenant"], set_={"rev": t.revisions.c.rev + 1}
        )
        conn.execute(grown, [{"tenant": tenant, "rev": 1} for tenant in sorted(tenants)])

    def revision(self, tenant: str) -> int:
        """Grows whenever the tenant's bins or their latest states change."""
        with self.engine.connect() as conn:
            rev = conn.execute(select(t.revisions.c.rev).where(t.revisions.c.tenant == tenant)).scalar()
        return int(rev or 0)

    def _insert(self, table: Any, row: dict[str, Any], what: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(table), row)
        except IntegrityError as exc:
            raise Conflict(f"{what} exists already or names an unknown parent") from exc

    # tenants
    def add_tenant(self, tenant: Tenant) -> None:
        self._insert(t.tenants, tenant.model_dump(), f"tenant {tenant.id!r}")

    def save_tenant(self, tenant: Tenant) -> None:
        self._upsert(t.tenants, [tenant.model_dump()], ["id"])

    def tenant(self, tenant_id: str) -> Tenant:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.tenants).where(t.tenants.c.id == tenant_id)).first()
        if row is None:
            raise TenantNotFound(tenant_id)
        return Tenant.model_validate(row._asdict())

    def tenants(self) -> list[Tenant]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.tenants).order_by(t.tenants.c.id)).all()
        return [Tenant.model_validate(r._asdict()) for r in rows]

    # bins
    def save_bins(self, bins: Iterable[Bin]) -> None:
        self._upsert(t.bins, [_bin_row(b) for b in bins], ["tenant", "id"])

    def bin(self, tenant: str, bin_id: str) -> Bin:
        with self.engine.connect() as conn:
            query = select(t.bins).where(t.bins.c.tenant == tenant, t.bins.c.id == bin_id)
            row = conn.execute(query).first()
        if row is None:
            raise BinNotFound(tenant, bin_id)
        return _bin(row._asdict())

    def bins(self, tenant: str) -> list[Bin]:
        with self.engine.connect() as conn:
            query = select(t.bins).where(t.bins.c.tenant == tenant).order_by(t.bins.c.id)
            return [_bin(r._asdict()) for r in conn.execute(query)]

    # devices and mounts
    def save_device(self, device: Device, *, secret_hash: str | None = None) -> None:
        row = device.model_dump(exclude={"bin_id"}) | {"secret_hash": secret_hash}
        self._upsert(t.devices, [row], ["tenant", "id"])

    def device(self, tenant: str, device_id: str) -> Device:
        with self.engine.connect() as conn:
            query = select(t.devices).where(t.devices.c.tenant == tenant, t.devices.c.id == device_id)
            row = conn.execute(query).first()
            if row is None:
                raise DeviceNotFound(tenant, device_id)
            mount = conn.execute(_open_mount(tenant, device_id)).first()
        fields = {k: v for k, v in row._asdict().items() if k in Device.model_fields}
        return Device.model_validate(fields | {"bin_id": mount.bin_id if mount else None})

    def credentials(self) -> list[tuple[str, str, str]]:
        """(tenant, device id, password hash) of every enabled device that has credentials."""
        c = t.devices.c
        query = select(c.tenant, c.id, c.secret_hash).where(c.enabled.is_(True), c.secret_hash.is_not(None))
        with self.engine.connect() as conn:
            return [(r.tenant, r.id, r.secret_hash) for r in conn.execute(query.order_by(c.tenant, c.id))]

    def devices(self, tenant: str) -> list[Device]:
        with self.engine.connect() as conn:
            query = select(t.devices.c.id).where(t.devices.c.tenant == tenant).order_by(t.devices.c.id)
            ids = conn.execute(query).scalars().all()
        return [self.device(tenant, device_id) for device_id in ids]

    def mount(self, tenant: str, device_id: str, bin_id: str, *, since: datetime) -> None:
        """Mount a device on a bin from `since`, closing its open mount."""
        self.device(tenant, device_id)
        self.bin(tenant, bin_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(t.mounts)
                .where(t.mounts.c.tenant == tenant, t.mounts.c.device_id == device_id)
                .where(t.mounts.c.until.is_(None))
                .values(until=since)
            )
            conn.execute(
                insert(t.mounts),
                {"tenant": tenant, "device_id": device_id, "bin_id": bin_id, "since": since},
            )

    def mounts(self, tenant: str, device_id: str) -> list[Mount]:
        with self.engine.connect() as conn:
            query = (
                select(t.mounts)
                .where(t.mounts.c.tenant == tenant, t.mounts.c.device_id == device_id)
                .order_by(t.mounts.c.since)
            )
            rows = conn.execute(query).all()
        return [Mount.model_validate({k: v for k, v in r._asdict().items() if k != "id"}) for r in rows]

    def touch_devices(self, seen: dict[tuple[str, str], datetime]) -> None:
        """Move each device's last_seen forward (never back), in one statement."""
        if not seen:
            return
        c = t.devices.c
        statement = (
            update(t.devices)
            .where(c.tenant == bindparam("b_tenant"), c.id == bindparam("b_id"))
            .where(or_(c.last_seen.is_(None), c.last_seen < bindparam("b_ts", type_=t.Stamp)))
            .values(last_seen=bindparam("b_ts", type_=t.Stamp))
        )
        rows = [{"b_tenant": tenant, "b_id": device, "b_ts": ts} for (tenant, device), ts in seen.items()]
        with self.engine.begin() as conn:
            conn.execute(statement, rows)

    def last_seen(self, tenant: str) -> dict[str, datetime | None]:
        with self.engine.connect() as conn:
            query = select(t.devices.c.id, t.devices.c.last_seen).where(t.devices.c.tenant == tenant)
            return {row.id: row.last_seen for row in conn.execute(query)}

    # latest state, events, dead letters
    def save_states(self, states: Iterable[BinState]) -> None:
        """Each bin's state, unless the registry has a newer one (from another ingest worker)."""
        self._upsert(t.bin_states, [s.model_dump() for s in states], ["tenant", "bin_id"], newer="ts")

    def states(self, tenant: str) -> list[BinState]:
        with self.engine.connect() as conn:
            query = select(t.bin_states).where(t.bin_states.c.tenant == tenant)
            rows = conn.execute(query.order_by(t.bin_states.c.bin_id)).all()
        return [BinState.model_validate(r._asdict()) for r in rows]

    def add_events(self, events: Sequence[Event]) -> None:
        """Store events, and in the same transaction their posts to the tenants' webhooks."""
        if events:
            with self.engine.begin() as conn:
                conn.execute(insert(t.events), [e.model_dump() for e in events])
                self.enqueue(conn, events)

    def events(
        self,
        tenant: str,
        *,
        kind: str | None = None,
        bin_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Event]:
        """A tenant's events, oldest first; `since` inclusive, `until` exclusive."""
        c = t.events.c
        query = select(t.events).where(c.tenant == tenant)
        if kind is not None:
            query = query.where(c.kind == kind)
        if bin_id is not None:
            query = query.where(c.bin_id == bin_id)
        if since is not None:
            query = query.where(c.ts >= since)
        if until is not None:
            query = query.where(c.ts < until)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.events.c.ts, t.events.c.id)).all()
        return [event_of(r._asdict()) for r in rows]

    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        if letters:
            with self.engine.begin() as conn:
                conn.execute(insert(t.dead_letters), [d.model_dump() for d in letters])

    def dead_letters(self, tenant: str | None = None) -> list[DeadLetter]:
        query = select(t.dead_letters)
        if tenant is not None:
            query = query.where(t.dead_letters.c.tenant == tenant)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.dead_letters.c.id)).all()
        return [DeadLetter.model_validate({k: v for k, v in r._asdict().items() if k != "id"}) for r in rows]

    def dead_letter_counts(self) -> dict[str, int]:
        query = select(t.dead_letters.c.reason, func.count()).group_by(t.dead_letters.c.reason)
        with self.engine.connect() as conn:
            return {str(reason): int(count) for reason, count in conn.execute(query)}


def _open_mount(tenant: str, device_id: str) -> Any:
    return (
        select(t.mounts.c.bin_id)
        .where(and_(t.mounts.c.tenant == tenant, t.mounts.c.device_id == device_id))
        .where(t.mounts.c.until.is_(None))
    )


def _bin_row(b: Bin) -> dict[str, Any]:
    return b.model_dump(exclude={"location"}) | {"lat": b.location.lat, "lon": b.location.lon}


def _bin(row: dict[str, Any]) -> Bin:
    location = Location(lat=row.pop("lat"), lon=row.pop("lon"))
    return Bin.model_validate(row | {"location": location})


class Directory:
    """An in-memory snapshot of devices, their mounts and bins: what ingest resolves against."""

    def __init__(self, registry: Registry) -> None:
        with registry.engine.connect() as conn:
            self.devices = {
                (r.tenant, r.id): Device.model_validate(
                    {k: v for k, v in r._asdict().items() if k in Device.model_fields}
                )
                for r in conn.execute(select(t.devices))
            }
            self.bins = {(r.tenant, r.id): _bin(r._asdict()) for r in conn.execute(select(t.bins))}
            self._euis = {d.dev_eui: d for d in self.devices.values() if d.dev_eui}
            self.mounts: dict[tuple[str, str], list[Mount]] = {}
            for r in conn.execute(select(t.mounts).order_by(t.mounts.c.since)):
                mount = Mount.model_validate({k: v for k, v in r._asdict().items() if k != "id"})
                self.mounts.setdefault((r.tenant, r.device_id), []).append(mount)

    def device(self, tenant: str, device_id: str) -> Device | None:
        return self.devices.get((tenant, device_id))

    def by_eui(self, dev_eui: str) -> Device | None:
        """The device with this LoRaWAN DevEUI, whichever tenant it is in."""
        return self._euis.get(dev_eui)

    def bin_at(self, tenant: str, device_id: str, ts: datetime) -> Bin | None:
        """The bin a device was mounted on at `ts`, if any."""
        for mount in reversed(self.mounts.get((tenant, device_id), [])):
            if mount.since <= ts and (mount.until is None or ts < mount.until):
                return self.bins.get((tenant, mount.bin_id))
        return None
