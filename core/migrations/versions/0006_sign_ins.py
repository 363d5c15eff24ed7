"""Failed sign-ins in the registry: counted across API processes, atomically."""

import sqlalchemy as sa
from alembic import op

from core.registry.schema import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_ins",
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("username", sa.String(63), primary_key=True),
        sa.Column("attempts", sa.Text, nullable=False),
        sa.Column("last_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_sign_ins_last_at", "sign_ins", ["last_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_ins_last_at", "sign_ins")
    op.drop_table("sign_ins")
