"""Initial registry: tenants, bins, devices, mounts, bin states, events, dead letters."""

from typing import Any

import sqlalchemy as sa
from alembic import op

from core.registry.schema import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(name: str, **kw: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(63), **kw)


def upgrade() -> None:
    op.create_table(
        "tenants",
        _id("id", primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
    )
    op.create_table(
        "bins",
        _id("tenant", primary_key=True),
        _id("id", primary_key=True),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("fraction", sa.String(32), nullable=False),
        sa.Column("capacity_l", sa.Float, nullable=False),
        sa.Column("empty_distance_mm", sa.Integer, nullable=False),
        sa.Column("full_distance_mm", sa.Integer, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("service_time_s", sa.Float, nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "devices",
        _id("tenant", primary_key=True),
        _id("id", primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("report_interval_s", sa.Integer, nullable=False),
        sa.Column("secret_hash", sa.String(200), nullable=True),
        sa.Column("last_seen", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "mounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _id("tenant", nullable=False),
        _id("device_id", nullable=False),
        _id("bin_id", nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("until", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant", "device_id"], ["devices.tenant", "devices.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tenant", "bin_id"], ["bins.tenant", "bins.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_mounts_device", "mounts", ["tenant", "device_id", "since"])
    op.create_table(
        "bin_states",
        _id("tenant", primary_key=True),
        _id("bin_id", primary_key=True),
        sa.Column("ts", UtcDateTime(), nullable=False),
        _id("device_id", nullable=False),
        sa.Column("filling_level", sa.Float, nullable=False),
        sa.Column("distance_mm", sa.Integer, nullable=True),
        sa.Column("temperature_c", sa.Float, nullable=True),
        sa.Column("battery_v", sa.Float, nullable=True),
        sa.Column("tilt_deg", sa.Float, nullable=True),
        sa.Column("date_last_emptying", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant", "bin_id"], ["bins.tenant", "bins.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _id("tenant", nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ts", UtcDateTime(), nullable=False),
        _id("bin_id", nullable=True),
        _id("device_id", nullable=True),
        sa.Column("fraction", sa.String(32), nullable=True),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_events_tenant_ts", "events", ["tenant", "ts"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _id("tenant", nullable=False),
        sa.Column("topic", sa.String(400), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_dead_letters_tenant_reason", "dead_letters", ["tenant", "reason"])


def downgrade() -> None:
    for table in ("dead_letters", "events", "bin_states", "mounts", "devices", "bins", "tenants"):
        op.drop_table(table)
