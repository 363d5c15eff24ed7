"""The HTTP API's tables: keys, users, alert status, fleets, plans, outcomes, state revisions."""

import sqlalchemy as sa
from alembic import op

from core.registry.schema import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _tenant_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="open"))
        batch.add_column(sa.Column("acknowledged_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("acknowledged_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("resolved_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(200), nullable=True))
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(63), nullable=True),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        _tenant_fk(),
    )
    op.create_table(
        "users",
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("username", sa.String(63), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        _tenant_fk(),
    )
    op.create_table(
        "fleets",
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("doc", sa.Text, nullable=False),
        _tenant_fk(),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("replaces", sa.Integer, nullable=True),
        sa.Column("doc", sa.Text, nullable=False),
        _tenant_fk(),
    )
    op.create_index("ix_plans_tenant_day", "plans", ["tenant", "day"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("plan_id", sa.Integer, nullable=False),
        sa.Column("bin_id", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("tenant", "client_id", name="uq_outcomes_client"),
    )
    op.create_index("ix_outcomes_plan", "outcomes", ["plan_id", "bin_id"])
    # grows with every change to a tenant's bins or their states: what the map's cache keys on
    op.create_table(
        "revisions",
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("rev", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("revisions")
    op.drop_table("outcomes")
    op.drop_table("plans")
    op.drop_table("fleets")
    op.drop_table("users")
    op.drop_table("api_keys")
    with op.batch_alter_table("events") as batch:
        for column in ("resolved_by", "resolved_at", "acknowledged_by", "acknowledged_at", "status"):
            batch.drop_column(column)
