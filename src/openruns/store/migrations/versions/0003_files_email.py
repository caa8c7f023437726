"""Stored files, and the email trigger's settings and addresses.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from openruns.store.tables import UTCDateTime

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _process_fk() -> sa.ForeignKey:
    return sa.ForeignKey("processes.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_files_sha256", "files", ["sha256"])
    op.create_table(
        "email_triggers",
        sa.Column("process_id", sa.String(64), _process_fk(), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("permission", sa.String(16), nullable=False),
        sa.Column("allowed_senders", JSON, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "email_addresses",
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("process_id", sa.String(64), _process_fk(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime()),
    )
    op.create_index("ix_email_addresses_process_id", "email_addresses", ["process_id"])


def downgrade() -> None:
    op.drop_index("ix_email_addresses_process_id", "email_addresses")
    op.drop_table("email_addresses")
    op.drop_table("email_triggers")
    op.drop_index("ix_files_sha256", "files")
    op.drop_table("files")
