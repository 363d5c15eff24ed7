"""Devices get a model (whose payload format they speak) and a LoRaWAN DevEUI."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("model", sa.String(63), nullable=False, server_default="tomning"))
        batch.add_column(sa.Column("dev_eui", sa.String(16), nullable=True))
        batch.create_unique_constraint("uq_devices_dev_eui", ["dev_eui"])


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_constraint("uq_devices_dev_eui", type_="unique")
        batch.drop_column("dev_eui")
        batch.drop_column("model")
