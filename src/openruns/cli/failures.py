"""How a command fails: one line on stderr naming what is wrong, and an exit code.

Exit codes: 1, the work failed (an error answer, the metadata store or Temporal out of reach, a
port that cannot be bound); 2, the command cannot start as configured (an ``OPENRUNS_*`` value
that is refused, a file a setting names that cannot be read, a plugin that cannot be loaded, an
API URL that is not one). Anything else is a bug, and keeps its traceback.
"""

from __future__ import annotations

import types

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from openruns.settings import ConfigError, Settings, setting_errors

FAILED = 1
CONFIGURATION = 2
# Where an OSError raised inside these packages comes from: the metadata store's connection.
_STORE_PACKAGES = ("sqlalchemy", "asyncpg", "aiosqlite", "alembic")


def load_settings(exit_code: int = CONFIGURATION) -> Settings:
    """The settings, or a line for each refused variable and ``exit_code``."""
    try:
        return Settings()
    except ValidationError as exc:
        for line in setting_errors(exc):
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(exit_code) from None


def _reason(exc: BaseException) -> str:
    text = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _raised_in_store(exc: BaseException) -> bool:
    tb: types.TracebackType | None = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _STORE_PACKAGES:
            return True
        tb = tb.tb_next
    return False


def _store(settings: Settings) -> str:
    if settings.database_url is None:
        return str((settings.data_dir / "openruns.db").resolve())
    try:
        return make_url(settings.database_url).render_as_string(hide_password=True)
    except Exception:  # the settings accepted it, so this is not expected
        return "OPENRUNS_DATABASE_URL"


def explain(exc: BaseException, settings: Settings) -> tuple[str, int] | None:
    """The line to print for an error a command stopped with, and its exit code; None for a bug.

    The component is named by what raised: the store's driver (SQLAlchemy, asyncpg) for the
    metadata store, Temporal's client for Temporal, never guessed from the error's type alone.
    """
    from asyncpg import PostgresError
    from sqlalchemy.exc import SQLAlchemyError
    from temporalio.service import RPCError

    from openruns.errors import OpenRunsError
    from openruns.temporal import is_unavailable

    if isinstance(exc, ConfigError):
        return str(exc), CONFIGURATION
    if isinstance(exc, OpenRunsError):
        return exc.message, FAILED
    if isinstance(exc, SQLAlchemyError):
        reason = _reason(getattr(exc, "orig", None) or exc)
    elif isinstance(exc, PostgresError) or (isinstance(exc, OSError) and _raised_in_store(exc)):
        reason = _reason(exc)
    elif isinstance(exc, RPCError) and not is_unavailable(exc):
        return f"Temporal at {settings.temporal_target} refused: {_reason(exc)}", FAILED
    elif isinstance(exc, RPCError | RuntimeError) and is_unavailable(exc):
        return f"Temporal cannot be reached at {settings.temporal_target}: {_reason(exc)}", FAILED
    elif isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{_reason(exc)}", FAILED
    else:
        return None
    return f"the metadata store cannot be used ({_store(settings)}): {reason}", FAILED
