"""Run management: archive flags and test cases.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from openruns.store.tables import UTCDateTime

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "run_archives",
        sa.Column("run_id", sa.String(200), primary_key=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTCDateTime()),
        sa.Column("archived_by", sa.String(64)),
        sa.Column("archived_by_name", sa.String(200)),
        sa.Column("process_id", sa.String(64)),
        sa.Column("stage", sa.String(16)),
        sa.Column("trigger", sa.String(16)),
        sa.Column("state", sa.String(16)),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_run_archives_closed", "run_archives", ["archived", "closed_at"])
    op.create_index("ix_run_archives_archived_at", "run_archives", ["archived", "archived_at"])
    op.create_table(
        "test_cases",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "process_id",
            sa.String(64),
            sa.ForeignKey("processes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source_run_id", sa.String(200), nullable=False, unique=True),
        sa.Column("name", sa.String(200)),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("file_ids", JSON, nullable=False),
        sa.Column("expected_outputs", JSON, nullable=False),
        sa.Column("compare", JSON),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64)),
    )
    op.create_index("ix_test_cases_process_id", "test_cases", ["process_id"])
    op.create_index("ix_test_cases_created_at", "test_cases", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_test_cases_created_at", "test_cases")
    op.drop_index("ix_test_cases_process_id", "test_cases")
    op.drop_table("test_cases")
    op.drop_index("ix_run_archives_archived_at", "run_archives")
    op.drop_index("ix_run_archives_closed", "run_archives")
    op.drop_table("run_archives")
