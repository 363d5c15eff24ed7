"""Drivers' reports that a break began: a re-plan does not plan it again."""

import sqlalchemy as sa
from alembic import op

from core.registry.schema import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breaks_taken",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("plan_id", sa.Integer, nullable=False),
        sa.Column("route", sa.Integer, nullable=False),
        sa.Column("vehicle", sa.String(63), nullable=False),
        sa.Column("break_id", sa.String(63), nullable=False),
        sa.Column("start", UtcDateTime(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("tenant", "client_id", name="uq_breaks_taken_client"),
    )
    op.create_index("ix_breaks_taken_plan", "breaks_taken", ["plan_id"])


def downgrade() -> None:
    op.drop_index("ix_breaks_taken_plan", "breaks_taken")
    op.drop_table("breaks_taken")
