"""The one settings class: every knob is an ``OPENRUNS_*`` environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """OpenRuns configuration, read from ``OPENRUNS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="OPENRUNS_", extra="ignore")

    data_dir: Path = Field(
        Path("data"), description="Directory for the SQLite files, stored files and dev keys."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the metadata store; default: SQLite file in data_dir. "
        "postgresql://user@host/db selects PostgreSQL (asyncpg).",
    )
    temporal_address: str | None = Field(
        None, description="host:port of the Temporal frontend; default 127.0.0.1:<temporal_port>."
    )
    temporal_port: int = Field(7233, description="Port of the Temporal dev server (make dev).")
    temporal_ui_port: int = Field(8233, description="Port of the Temporal UI (make dev).")
    temporal_ui_url: str | None = Field(
        None, description="Base URL of the Temporal UI, for run links; default localhost UI port."
    )
    namespace: str = Field("default", description="Temporal namespace for every run.")
    task_queue: str = Field("openruns", description="Temporal task queue the worker polls.")
    api_host: str = Field("127.0.0.1", description="Interface the API binds to.")
    api_port: int = Field(8000, description="Port of the HTTP API and web UI.")
    api_url: str | None = Field(
        None,
        description="Base URL the `openruns schedule` commands call; default "
        "http://<api_host>:<api_port>.",
    )
    smtp_host: str = Field("127.0.0.1", description="Interface the SMTP gateway binds to.")
    smtp_port: int = Field(2525, description="Port of the SMTP gateway.")
    email_domain: str = Field(
        "openruns.localhost", description="Domain of the per-process email addresses."
    )
    api_key: SecretStr | None = Field(
        None, description="An API key to create at start-up (idempotent), e.g. for deployments."
    )
    http_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts or CIDRs the http step may reach even though they are loopback, "
        "link-local or cloud-metadata addresses (comma-separated).",
    )
    api_key_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long an API replica trusts a key it has verified; a revoked key stops "
        "working within this time on every replica. 0 checks the database on every request.",
    )
    auto_setup: bool = Field(
        True,
        description="Run database migrations and register Temporal search attributes when a "
        "component starts. Turn off where a one-shot setup job does it.",
    )
    log_level: str = Field("INFO", description="Log level of every component.")
    log_format: Literal["json", "text"] = Field(
        "json",
        description="json: one JSON object per line (run ids as fields); text: for people "
        "(what `openruns dev` uses unless this is set).",
    )
    max_request_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body the API accepts (413 beyond)."
    )

    _split = field_validator("http_allow", mode="before")(_split_csv)

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def temporal_ui_base(self) -> str:
        return (self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}").rstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        """The metadata store URL with an async driver chosen for the dialect."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'openruns.db').resolve()}"
        for prefix, driver in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if url.startswith(prefix):
                return driver + url[len(prefix) :]
        return url

    def run_ui_url(self, run_id: str) -> str:
        """Link to a run's history in the Temporal UI."""
        return f"{self.temporal_ui_base}/namespaces/{self.namespace}/workflows/{run_id}"
