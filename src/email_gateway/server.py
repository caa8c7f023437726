"""The gateway's SMTP server on the running event loop (``openruns smtp``, ``openruns dev``)."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from types import TracebackType
from typing import AnyStr

from aiosmtpd.smtp import SMTP
from temporalio.client import Client

from email_gateway import replies
from email_gateway.dkim_check import DnsFunc
from email_gateway.handler import GatewayHandler
from openruns.settings import ConfigError, Settings
from openruns.setup import ensure_ready
from openruns.store import Database
from openruns.store.blobs import BlobStore
from openruns.temporal import connect

log = logging.getLogger("openruns.smtp")


class GatewaySMTP(SMTP):
    """aiosmtpd's SMTP with the gateway's size reply and Postfix-like leniency."""

    # RFC 5321 says 1000, but real mail has longer header lines and the MTA in front of us
    # has already accepted them: take them rather than bounce the message.
    line_length_limit = 64 * 1024

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith("552 Error"):
            await super().push(replies.TOO_BIG)  # aiosmtpd's own size-limit replies
        else:
            await super().push(status)


def _no_passphrase() -> bytes:
    return b""  # an encrypted key fails to load instead of prompting on the terminal


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server context for STARTTLS when a certificate and key are configured; a file that
    cannot be read or loaded is a ``ConfigError`` naming it (the gateway does not start)."""
    cert, key = settings.smtp_tls_cert, settings.smtp_tls_key
    if cert is None or key is None:
        return None
    for variable, path in (("OPENRUNS_SMTP_TLS_CERT", cert), ("OPENRUNS_SMTP_TLS_KEY", key)):
        try:
            path.open("rb").close()
        except OSError as exc:
            raise ConfigError(f"{variable}: cannot read {str(path)!r}: {exc.strerror}") from None
    try:
        ssl.create_default_context().load_verify_locations(cafile=cert)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"OPENRUNS_SMTP_TLS_CERT: {str(cert)!r} holds no PEM certificate ({exc.reason or exc})"
        ) from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key, password=_no_passphrase)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"OPENRUNS_SMTP_TLS_KEY: {str(key)!r} is not the unencrypted PEM private key of "
            f"{str(cert)!r} ({exc.reason or exc})"
        ) from None
    return context


class Gateway:
    """The SMTP server with its handler; an async context manager."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        client: Client,
        *,
        host: str | None = None,
        port: int | None = None,
        dkim_dnsfunc: DnsFunc | None = None,
    ) -> None:
        self.settings = settings
        self.host = host or settings.smtp_host
        self.port = settings.smtp_port if port is None else port
        self.handler = GatewayHandler(
            settings, database, client, BlobStore.from_settings(settings), dkim_dnsfunc
        )
        self.tls = tls_context(settings)  # loaded once: a bad file stops the start-up
        self._server: asyncio.Server | None = None

    def _protocol(self) -> GatewaySMTP:
        return GatewaySMTP(
            self.handler,
            data_size_limit=self.settings.email_max_bytes,
            enable_SMTPUTF8=True,
            hostname=self.settings.email_domain,
            ident="OpenRuns SMTP gateway",
            tls_context=self.tls,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._protocol, self.host, self.port)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"the SMTP gateway cannot listen on {self.host}:{self.port} "
                f"(OPENRUNS_SMTP_HOST, OPENRUNS_SMTP_PORT): {exc.strerror or exc}",
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("SMTP gateway listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def run_gateway(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM. Starts even while Temporal is down (and answers 451)."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
    database = Database.from_settings(settings)
    try:
        client = await connect(settings, lazy=True)
        gateway = Gateway(settings, database, client)  # its TLS files are checked here
        if settings.auto_setup:
            await ensure_ready(settings, database, client, strict=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with gateway:
            await stop.wait()
    finally:
        await database.dispose()
