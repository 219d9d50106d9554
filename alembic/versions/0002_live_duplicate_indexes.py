"""indexes for Assign's duplicate lookups

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

A channel's live distributions of one video and of one source URL, duplicate overrides
included: the partial unique indexes of 0001 exclude overrides, so the duplicate query could
not use them and scanned every live row of the channel.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_LIVE = "state IN ('ASSIGNED', 'SCHEDULED', 'PUBLISHING', 'PUBLISHED')"
_INDEXES = {
    "ix_distributions_live_channel_video": ["channel_id", "video_id"],
    "ix_distributions_live_channel_source": ["channel_id", "source_url"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(
            name,
            "distributions",
            columns,
            unique=False,
            sqlite_where=sa.text(_LIVE),
            postgresql_where=sa.text(_LIVE),
        )


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="distributions")
