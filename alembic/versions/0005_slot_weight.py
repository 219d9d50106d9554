"""distributions.slot_weight: the weight of the slot a distribution holds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

A placement is worth score * the weight of its weekly slot (WeeklySlot.weight); each
distribution keeps the weight it was planned with. Existing rows weigh 1.0.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("distributions") as batch:
        batch.add_column(
            sa.Column("slot_weight", sa.Float(), nullable=False, server_default=sa.text("1.0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("distributions") as batch:
        batch.drop_column("slot_weight")
