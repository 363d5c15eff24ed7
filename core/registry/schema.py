"""SQLAlchemy tables of the registry; Alembic migrations under core/migrations build them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


metadata = MetaData()
Stamp = UtcDateTime()

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
)

bins = Table(
    "bins",
    metadata,
    Column("tenant", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("fraction", String(32), nullable=False),
    Column("capacity_l", Float, nullable=False),
    Column("empty_distance_mm", Integer, nullable=False),
    Column("full_distance_mm", Integer, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("service_time_s", Float, nullable=False),
    Column("district", String(100), nullable=False),
    Column("address", String(200), nullable=False),
    ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
)

devices = Table(
    "devices",
    metadata,
    Column("tenant", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("report_interval_s", Integer, nullable=False),
    Column("secret_hash", String(200), nullable=True),
    Column("last_seen", Stamp, nullable=True),
    Column("model", String(63), nullable=False, server_default="tomning"),
    Column("dev_eui", String(16), nullable=True),
    UniqueConstraint("dev_eui", name="uq_devices_dev_eui"),
    ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
)

mounts = Table(
    "mounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("device_id", String(63), nullable=False),
    Column("bin_id", String(63), nullable=False),
    Column("since", Stamp, nullable=False),
    Column("until", Stamp, nullable=True),
    ForeignKeyConstraint(["tenant", "device_id"], ["devices.tenant", "devices.id"], ondelete="CASCADE"),
    ForeignKeyConstraint(["tenant", "bin_id"], ["bins.tenant", "bins.id"], ondelete="CASCADE"),
    Index("ix_mounts_device", "tenant", "device_id", "since"),
)

bin_states = Table(
    "bin_states",
    metadata,
    Column("tenant", String(63), primary_key=True),
    Column("bin_id", String(63), primary_key=True),
    Column("ts", Stamp, nullable=False),
    Column("device_id", String(63), nullable=False),
    Column("filling_level", Float, nullable=False),
    Column("distance_mm", Integer, nullable=True),
    Column("temperature_c", Float, nullable=True),
    Column("battery_v", Float, nullable=True),
    Column("tilt_deg", Float, nullable=True),
    Column("date_last_emptying", Stamp, nullable=True),
    ForeignKeyConstraint(["tenant", "bin_id"], ["bins.tenant", "bins.id"], ondelete="CASCADE"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ts", Stamp, nullable=False),
    Column("bin_id", String(63), nullable=True),
    Column("device_id", String(63), nullable=True),
    Column("fraction", String(32), nullable=True),
    Column("district", String(100), nullable=False),
    Column("value", Float, nullable=True),
    Column("detail", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("acknowledged_at", Stamp, nullable=True),
    Column("acknowledged_by", String(200), nullable=True),
    Column("resolved_at", Stamp, nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Index("ix_events_tenant_ts", "tenant", "ts"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("topic", String(400), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", Stamp, nullable=False),
    Index("ix_dead_letters_tenant_reason", "tenant", "reason"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(63), nullable=True),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("subject", String(63), nullable=True),
    Column("secret_hash", String(200), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("expires_at", Stamp, nullable=True),
    Column("revoked_at", Stamp, nullable=True),
    ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
)

users = Table(
    "users",
    metadata,
    Column("tenant", String(63), primary_key=True),
    Column("username", String(63), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
)

sign_ins = Table(
    "sign_ins",
    metadata,
    Column("tenant", String(63), primary_key=True),  # no foreign key: a made-up tenant counts too
    Column("username", String(63), primary_key=True),
    Column("attempts", Text, nullable=False),  # JSON: Unix times of the attempts not forgotten
    Column("last_at", Stamp, nullable=False),
    Index("ix_sign_ins_last_at", "last_at"),
)

fleets = Table(
    "fleets",
    metadata,
    Column("tenant", String(63), primary_key=True),
    Column("doc", Text, nullable=False),
    ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
)

plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("day", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("replaces", Integer, nullable=True),
    Column("doc", Text, nullable=False),
    ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_plans_tenant_day", "tenant", "day"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("plan_id", Integer, nullable=False),
    Column("bin_id", String(63), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(32), nullable=True),
    Column("note", Text, nullable=False),
    Column("at", Stamp, nullable=False),
    Column("by", String(200), nullable=False),
    Column("client_id", String(64), nullable=False),
    ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="CASCADE"),
    UniqueConstraint("tenant", "client_id", name="uq_outcomes_client"),
    Index("ix_outcomes_plan", "plan_id", "bin_id"),
)

breaks_taken = Table(
    "breaks_taken",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("plan_id", Integer, nullable=False),
    Column("route", Integer, nullable=False),
    Column("vehicle", String(63), nullable=False),
    Column("break_id", String(63), nullable=False),
    Column("start", Stamp, nullable=False),
    Column("by", String(200), nullable=False),
    Column("client_id", String(64), nullable=False),
    ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="CASCADE"),
    UniqueConstraint("tenant", "client_id", name="uq_breaks_taken_client"),
    Index("ix_breaks_taken_plan", "plan_id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("url", Text, nullable=False),
    Column("kinds", String(200), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("created_by", String(200), nullable=False),
    ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_webhooks_tenant", "tenant"),
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, nullable=False),
    Column("tenant", String(63), nullable=False),
    Column("event", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", Stamp, nullable=True),
    Column("claimed_until", Stamp, nullable=True),
    Column("delivered_at", Stamp, nullable=True),
    Column("last_error", Text, nullable=False),
    ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], ondelete="CASCADE"),
    Index("ix_webhook_outbox_due", "status", "next_at"),
    Index("ix_webhook_outbox_hook", "webhook_id", "id"),
)

revisions = Table(
    "revisions",
    metadata,
    Column("tenant", String(63), primary_key=True),
    Column("rev", Integer, nullable=False),
)
