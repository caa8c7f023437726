"""``openruns api``: the start-up a failure of which is one line (see ``failures``), then
uvicorn on sockets bound beforehand."""

from __future__ import annotations

import logging
import socket

from openruns.settings import Settings

log = logging.getLogger("openruns.api")
BACKLOG = 2048  # uvicorn's own, when it binds: a burst of new connections is queued, not refused


async def prepare(settings: Settings) -> list[socket.socket]:
    """What the app's lifespan would do, then the listening sockets: done before uvicorn runs,
    which logs a traceback and exits 3 when its start-up fails. Temporal may still be coming
    up (the API answers 503 meanwhile); the lazy client only reads its TLS files."""
    from openruns.setup import ensure_ready
    from openruns.store import Database
    from openruns.temporal import connect

    database = Database.from_settings(settings)
    try:
        client = await connect(settings, lazy=True)
        if settings.auto_setup:
            await ensure_ready(settings, database, client, strict=False)
    finally:
        await database.dispose()
    return listen(settings.api_host, settings.api_port, "OPENRUNS_API_HOST, OPENRUNS_API_PORT")


def serve(settings: Settings, sockets: list[socket.socket]) -> bool:
    """Serve the API on ``sockets`` until SIGINT/SIGTERM; False if it did not start."""
    import uvicorn

    from api import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings.model_copy(update={"auto_setup": False})),  # prepare() did it
            timeout_keep_alive=settings.api_keep_alive_seconds,
            log_level=settings.log_level.lower(),
            log_config=None,  # keep configure_logging's handler: JSON lines, secrets redacted
            access_log=False,  # RequestLog writes one structured line per request instead
        )
    )
    log.info("API listening on %s", ", ".join(_http_address(s) for s in sockets))
    server.run(sockets=sockets)
    return server.started


def listen(host: str, port: int, variables: str) -> list[socket.socket]:
    """Sockets listening on every address of ``host`` (as asyncio binds a host name); a port in
    use or an address not on this host is an OSError naming ``variables``."""
    bound: list[socket.socket] = []
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, address in dict.fromkeys((info[0], info[4]) for info in found):
            bound.append(socket.create_server(address, family=family, backlog=BACKLOG))
    except OSError as exc:
        for sock in bound:
            sock.close()
        raise OSError(
            exc.errno, f"cannot listen on {host}:{port} ({variables}): {exc.strerror or exc}"
        ) from None
    return bound


def _http_address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"
