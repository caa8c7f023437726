"""The one settings class: every knob is an ``OPENRUNS_*`` environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_API_KEY_LENGTH = 20  # characters of an operator's own OPENRUNS_API_KEY
ENV_PREFIX = "OPENRUNS_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# URL schemes of the metadata stores OpenRuns has drivers for (aiosqlite, asyncpg).
DATABASE_SCHEMES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgres", "postgresql+asyncpg")


class ConfigError(ValueError):
    """A setting whose value cannot be used (a file that cannot be read, say); the message
    names the variable."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """OpenRuns configuration, read from ``OPENRUNS_*`` environment variables."""

    # An empty variable counts as unset, so compose files can pass `${VAR:-}` through.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

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
    temporal_tls: bool | None = Field(
        None,
        description="Connect to Temporal over TLS. Default: on when any OPENRUNS_TEMPORAL_TLS_* "
        "setting or OPENRUNS_TEMPORAL_API_KEY is set, off otherwise.",
    )
    temporal_tls_cert: str | None = Field(
        None, description="Client certificate for mTLS to Temporal: a PEM file path or PEM text."
    )
    temporal_tls_key: SecretStr | None = Field(
        None, description="Private key of the client certificate: a PEM file path or PEM text."
    )
    temporal_tls_ca: str | None = Field(
        None,
        description="CA certificate(s) the Temporal server's certificate must chain to (PEM file "
        "path or PEM text); default: the system's trusted roots.",
    )
    temporal_tls_server_name: str | None = Field(
        None,
        description="Name the server certificate is checked against (and sent as SNI) when it "
        "differs from the host in OPENRUNS_TEMPORAL_ADDRESS.",
    )
    temporal_api_key: SecretStr | None = Field(
        None, description="Temporal Cloud API key, sent as a bearer token (implies TLS)."
    )
    namespace: str = Field("default", description="Temporal namespace for every run.")
    task_queue: str = Field("openruns", description="Temporal task queue the worker polls.")
    api_host: str = Field("127.0.0.1", description="Interface the API binds to.")
    api_port: int = Field(8000, description="Port of the HTTP API and web UI.")
    api_keep_alive_seconds: int = Field(
        75,
        ge=1,
        description="How long the API keeps an idle HTTP connection open. Longer than the idle "
        "expiry of clients and proxies (httpx 5 s, HAProxy/ALB 60 s), so they close it first: a "
        "server closing at the same moment a client reuses the connection fails that request.",
    )
    api_url: str | None = Field(
        None,
        description="Base URL the `openruns schedule`, `runs` and `test` commands call; "
        "default http://<api_host>:<api_port>.",
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
    plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Python modules whose @openruns.plugins.step functions become step types "
        "(comma-separated, e.g. acme.steps,examples.plugins.invoice_tools); plugins of the "
        "openruns.steps entry-point group load too.",
    )
    auto_setup: bool = Field(
        True,
        description="Run database migrations and register Temporal search attributes when a "
        "component starts. Turn off where a one-shot setup job does it.",
    )
    log_level: LogLevel = Field(
        "INFO", description="Log level of every component: DEBUG, INFO, WARNING, ERROR, CRITICAL."
    )
    # ---- web UI (SPEC §10) ----
    session_secret: SecretStr | None = Field(
        None,
        description="Key that signs web UI session cookies. Default: a random key kept in "
        "<data_dir>/session-secret, shared by every API process using that data dir; set it "
        "when API replicas do not share a data dir. Changing it ends every UI session.",
    )
    session_hours: float = Field(
        12, gt=0, le=24 * 30, description="How long a web UI login lasts (hours)."
    )
    session_cookie_secure: bool | None = Field(
        None,
        description="Mark the web UI's cookies Secure (sent over HTTPS only). Unset: when the "
        "request reached the API as https. Set true behind a TLS terminator, where the API "
        "itself sees plain http.",
    )
    # ---- files and email (SPEC §6, §8) ----
    max_file_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="Largest file POST /v2/files accepts (413 above)."
    )
    s3_bucket: str | None = Field(
        None,
        description="Store files (uploads, attachments) in this S3 or S3-compatible bucket "
        "instead of under data_dir/files; every API, worker and gateway must use the same one.",
    )
    s3_prefix: str = Field(
        "openruns/files/", description="Key prefix of stored files in the bucket."
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="Endpoint of an S3-compatible service (MinIO, Cloudflare R2, Ceph, ...); "
        "unset: AWS S3. A custom endpoint is addressed path-style.",
    )
    s3_region: str | None = Field(None, description="The bucket's region (AWS).")
    s3_access_key_id: str | None = Field(
        None,
        description="S3 credentials; unset: boto3's default chain (AWS_* variables, "
        "shared config, instance or task role).",
    )
    s3_secret_access_key: SecretStr | None = Field(
        None, description="The secret of OPENRUNS_S3_ACCESS_KEY_ID."
    )
    email_max_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="Largest message the SMTP gateway accepts (552)."
    )
    email_verify_dkim: bool = Field(
        False,
        description="For members/restricted processes, also require a DKIM signature that "
        "verifies and aligns with the From domain (550 5.7.20 otherwise). Needs DNS.",
    )
    email_member_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Sender domains that count as members for the `members` email permission "
        "(comma-separated).",
    )
    smtp_tls_cert: Path | None = Field(
        None,
        description="PEM certificate (chain): the gateway offers STARTTLS when it and the key "
        "are set. Both are read at start-up; one without the other is refused.",
    )
    smtp_tls_key: Path | None = Field(None, description="PEM private key for smtp_tls_cert.")
    smtp_relay: str | None = Field(
        None, description="host:port of the SMTP relay the `email` step sends through."
    )
    smtp_relay_user: str | None = Field(None, description="User name for the SMTP relay.")
    smtp_relay_password: SecretStr | None = Field(None, description="Password for the relay.")
    smtp_relay_tls: Literal["none", "starttls", "tls"] = Field(
        "none", description="Relay encryption: none, starttls, or tls (implicit TLS, port 465)."
    )
    email_from: str | None = Field(
        None, description="From address of the `email` step; default noreply@<email_domain>."
    )
    log_format: Literal["json", "text"] = Field(
        "json",
        description="json: one JSON object per line (run ids as fields); text: for people "
        "(what `openruns dev` uses unless this is set).",
    )
    max_request_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body the API accepts (413 beyond)."
    )

    _split = field_validator("http_allow", "email_member_domains", "plugins", mode="before")(
        _split_csv
    )

    @field_validator("api_key", mode="after")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # Keys are checked as fast as they come (no lockout), so a guessable one is an open
        # door; the keys OpenRuns makes are 256 random bits.
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < MIN_API_KEY_LENGTH:
            raise ValueError(
                f"an API key must be at least {MIN_API_KEY_LENGTH} characters: make one with "
                "`openssl rand -hex 24`"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_name(cls, value: object) -> object:
        if isinstance(value, str):  # as the logging module reads names: any case, WARN, FATAL
            name = value.strip().upper()
            name = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(name, name)
            if name in get_args(LogLevel):
                return name
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        from sqlalchemy.engine import make_url  # imported when needed: settings load fast
        from sqlalchemy.exc import ArgumentError

        if value is None:
            return None
        try:
            scheme = make_url(value).drivername
        except (ArgumentError, ValueError):
            raise ValueError(
                "not a database URL: use postgresql://user:password@host:port/database"
            ) from None
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"{scheme}:// is not supported: use postgresql://user:password@host:port/database "
                "(PostgreSQL) or sqlite:///path/to/file.db (SQLite)"
            )
        return value

    @model_validator(mode="after")
    def _client_cert_needs_key(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError(
                "OPENRUNS_TEMPORAL_TLS_CERT and OPENRUNS_TEMPORAL_TLS_KEY go together: "
                "set both for mTLS, or neither"
            )
        if (self.smtp_tls_cert is None) != (self.smtp_tls_key is None):
            raise ValueError(
                "OPENRUNS_SMTP_TLS_CERT and OPENRUNS_SMTP_TLS_KEY go together: "
                "set both for STARTTLS, or neither"
            )
        return self

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def email_sender(self) -> str:
        return self.email_from or f"OpenRuns <noreply@{self.email_domain}>"

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


def _may_quote(field: str) -> bool:
    """Whether an error may repeat the value given: not a secret's, nor the database URL's
    (it may hold a password)."""
    info = Settings.model_fields.get(field)
    if info is None or field == "database_url":
        return False
    return SecretStr not in (info.annotation, *get_args(info.annotation))


def setting_errors(error: ValidationError) -> list[str]:
    """One line per refused setting, naming its variable, e.g. ``OPENRUNS_API_PORT: Input
    should be a valid integer, unable to parse string as an integer (got 'abc')``."""
    lines = []
    for detail in error.errors(include_url=False):
        message = detail["msg"].removeprefix("Value error, ")
        if not detail["loc"]:  # a rule about several settings: its message names them
            lines.append(message)
            continue
        field = str(detail["loc"][0])
        line = f"{ENV_PREFIX}{field.upper()}: {message}"
        if _may_quote(field) and isinstance(detail["input"], str):
            line += f" (got {detail['input']!r})"
        lines.append(line)
    return lines
