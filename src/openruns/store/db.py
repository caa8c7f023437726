"""Engine and sessions of the metadata store."""

from __future__ import annotations

import inspect
import sqlite3
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, Executable, Row, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from openruns.settings import ConfigError, Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API, worker and gateway read while one of them writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")  # never wait for a lock (see ``read``)
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


# The plain-sqlite3 reader of each SQLite file database, by its async engine's sync engine.
_readers: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


async def read(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """The rows of a read-only Core ``statement``, for ``session``'s database.

    Through SQLAlchemy's async engine a SQLite query costs about 0.5 ms of CPU (measured: the
    aiosqlite driver runs every call — checkout, execute, fetch, reset — on a thread of its
    own and hands each result back to the event loop), while the query itself takes 10–20 µs.
    SQLite in WAL mode (as every OpenRuns connection sets it) never makes a reader wait for a
    writer, so for a file database the read runs right here on a plain ``sqlite3`` connection
    that is read-only and never waits for a lock (``busy_timeout=0``): in the rare case the file
    is locked anyway (recovering a WAL after a crash, or a database not in WAL mode), the read
    goes through the session instead of blocking the event loop. So does every read of a
    session that has begun work (its own writes, which another connection would not see).
    """
    bind = session.bind
    reader = _readers.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None
    if reader is not None and not session.in_transaction():
        try:
            with reader.connect() as connection:
                return connection.execute(statement, params or {}).all()
        except OperationalError as exc:
            if not _is_locked(exc):
                raise
    return (await session.execute(statement, params or {})).all()


def _is_locked(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # primary code
    return "locked" in str(exc.orig)


def _file_path(url: str) -> str | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


# Query parameters of a postgresql+asyncpg URL that SQLAlchemy's dialect reads itself.
_DIALECT_PARAMETERS = {"prepared_statement_cache_size", "prepared_statement_name_func"}


def _libpq_parameters_apart(url: URL) -> tuple[URL, dict[str, Any]]:
    """``url`` without the libpq parameters asyncpg takes only in a DSN, and ``connect_args``
    carrying them in one.

    SQLAlchemy passes a URL's query to ``asyncpg.connect`` as keyword arguments, so the
    standard ``?sslmode=require`` (RDS, Heroku, …), ``sslrootcert=…`` or
    ``target_session_attrs=…`` were a TypeError. asyncpg reads them, as libpq does, from a DSN
    (other parameters there, such as ``application_name``, become server settings).
    """
    import asyncpg

    keywords = set(inspect.signature(asyncpg.connect).parameters) - {"dsn"}
    libpq = {
        name: value
        for name, value in url.query.items()
        if name not in keywords and name not in _DIALECT_PARAMETERS
    }
    if not libpq:
        return url, {}
    return url.difference_update_query(libpq), {"dsn": f"postgresql://?{urlencode(libpq, True)}"}


class Database:
    """An async engine and its session factory."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if not self.is_sqlite:
            engine_options.setdefault("pool_pre_ping", True)
            engine_options.setdefault("pool_size", 10)
        else:
            # A SQLite connection is a file handle plus (with aiosqlite) a thread of its own:
            # keep enough of them that a burst of requests never opens and closes overflow
            # connections (a thread start and four PRAGMAs each).
            engine_options.setdefault("pool_size", 20)
        engine_url = make_url(url)
        if engine_url.drivername == "postgresql+asyncpg":
            engine_url, dsn = _libpq_parameters_apart(engine_url)
            engine_options["connect_args"] = dsn | engine_options.get("connect_args", {})
        self.engine: AsyncEngine = create_async_engine(engine_url, **engine_options)
        self._reader: Engine | None = None
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            path = _file_path(url)
            if path is not None:
                self._reader = create_engine(f"sqlite:///{path}", pool_size=2)
                event.listen(self._reader, "connect", _sqlite_reader_pragmas)
                _readers[self.engine.sync_engine] = self._reader
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        if settings.database_url is None:
            try:
                settings.data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                directory = str(settings.data_dir)
                raise ConfigError(
                    f"OPENRUNS_DATA_DIR: cannot make the data directory {directory!r}: "
                    f"{exc.strerror or exc}"
                ) from None
        return cls(settings.sqlalchemy_url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        if self._reader is not None:
            self._reader.dispose()
        await self.engine.dispose()
