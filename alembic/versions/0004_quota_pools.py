"""quota pools: pools, channel membership, lockable pool windows, exhausted-until

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A quota pool allows `limit` publications per window (a calendar day in its timezone, or any
24 hours) over the channels that name it. A writer that puts a live distribution into a
window locks that window's row (created on first use with INSERT .. ON CONFLICT DO NOTHING)
before counting, so replicas never overdraw a pool; `exhausted_until` holds a pool the platform
reported full.
"""

from __future__ import annotations

import sqlalchemy as sa

import persistence.base
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_pools",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("quota_limit", sa.Integer(), nullable=False),
        sa.Column("window_kind", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("exhausted_until", persistence.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("create_time", persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("update_time", persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_pools")),
    )
    op.create_table(
        "channel_quota_pools",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("pool_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_quota_pools_channel_id_channels"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["quota_pools.id"],
            name=op.f("fk_channel_quota_pools_pool_id_quota_pools"),
        ),
        sa.PrimaryKeyConstraint("channel_id", "pool_id", name=op.f("pk_channel_quota_pools")),
    )
    with op.batch_alter_table("channel_quota_pools", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_quota_pools_pool_id"), ["pool_id"], unique=False
        )
    op.create_table(
        "quota_pool_windows",
        sa.Column("pool_id", sa.String(length=64), nullable=False),
        sa.Column("window_start", persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["quota_pools.id"],
            name=op.f("fk_quota_pool_windows_pool_id_quota_pools"),
        ),
        sa.PrimaryKeyConstraint("pool_id", "window_start", name=op.f("pk_quota_pool_windows")),
    )


def downgrade() -> None:
    op.drop_table("quota_pool_windows")
    with op.batch_alter_table("channel_quota_pools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_quota_pools_pool_id"))
    op.drop_table("channel_quota_pools")
    op.drop_table("quota_pools")
