"""Web UI sessions ended by logging out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from openruns.store.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_logouts",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_ui_logouts_expires_at", "ui_logouts", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_ui_logouts_expires_at", table_name="ui_logouts")
    op.drop_table("ui_logouts")
