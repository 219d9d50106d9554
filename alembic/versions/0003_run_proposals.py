"""runs kept as proposals: state, expiry, change count and the proposed plan

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A dry run is stored as a PROPOSED run with its plan (the changes it would make), so that
ApplyRun can write exactly that plan later. Runs written before this revision are APPLIED.
"""

from __future__ import annotations

import sqlalchemy as sa

import persistence.base
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="APPLIED")
        )
        batch_op.add_column(
            sa.Column("expire_time", persistence.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("change_count", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("proposal", sa.JSON(), nullable=True))
        batch_op.create_index("ix_runs_state_create_time", ["state", "create_time"])


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_state_create_time")
        for column in ("proposal", "change_count", "expire_time", "state"):
            batch_op.drop_column(column)
