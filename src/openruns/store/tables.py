"""ORM tables of the metadata store (SQLAlchemy 2, SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class ProcessRow(Base):
    __tablename__ = "processes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    draft_revision: Mapped[int] = mapped_column(Integer)
    published_revision: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RevisionRow(Base):
    """An immutable revision of a process definition."""

    __tablename__ = "process_revisions"

    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UiLogoutRow(Base):
    """A web UI session ended by logging out: its cookie stays signed and unexpired, so the
    session is remembered as ended (by the SHA-256 of its CSRF token) until it would expire."""

    __tablename__ = "ui_logouts"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiKeyRow(Base):
    """An API key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class IdempotencyKeyRow(Base):
    """An ``Idempotency-Key`` and the run it started, scoped to the API key that sent it."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FileRow(Base):
    """A stored file; its bytes live content-addressed under ``<data_dir>/files``."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailTriggerRow(Base):
    """Who may start runs of a process by email, and which stage those runs use."""

    __tablename__ = "email_triggers"

    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    permission: Mapped[str] = mapped_column(String(16), default="anyone")
    allowed_senders: Mapped[list[str]] = mapped_column(JSONType, default=list)
    stage: Mapped[str] = mapped_column(String(16), default="Published")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EmailAddressRow(Base):
    """A process's email address; rotated-away addresses stay, retired, so they answer 550."""

    __tablename__ = "email_addresses"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower case
    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class RunArchiveRow(Base):
    """A run's archive flag: metadata only, as Temporal cannot re-tag a closed workflow.

    The row also keeps what listing needs to exclude archived runs without asking Temporal:
    the run's process, stage and trigger (fixed at start) and, once it has closed, its final
    state and close time (immutable after close). ``version`` orders archive/unarchive
    signals sent to runs that are still running. Unarchiving keeps the row (``archived``
    false) so versions only grow.
    """

    __tablename__ = "run_archives"
    __table_args__ = (
        Index("ix_run_archives_closed", "archived", "closed_at"),
        Index("ix_run_archives_archived_at", "archived", "archived_at"),
    )

    run_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    archived: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime | None]
    archived_by: Mapped[str | None] = mapped_column(String(64))
    archived_by_name: Mapped[str | None] = mapped_column(String(200))
    process_id: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str | None] = mapped_column(String(16))
    trigger: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TestCaseRow(Base):
    """A Succeeded run's inputs, files and outputs, kept as the baseline of a test case."""

    __test__ = False  # not a pytest class
    __tablename__ = "test_cases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
    source_run_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    inputs: Mapped[dict[str, Any]]
    file_ids: Mapped[list[str]] = mapped_column(JSONType)
    expected_outputs: Mapped[dict[str, Any]]
    compare: Mapped[list[str] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
