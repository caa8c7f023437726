"""No one is let in without a valid key: every route is enumerated from the app itself, so a
route added later is covered without editing this test. Keys are created and revoked with the
real CLI and stored only as hashes."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.routing import BaseRoute, Mount, Route

from api import create_app
from openruns.settings import Settings
from openruns.store import Database
from tests.helpers import assert_eventually
from tests.helpers.apps import api_client

# Reachable without a key, and why.
PUBLIC = {
    ("GET", "/v2/health"): "load balancers and `make dev` probe it (SPEC §4)",
    ("GET", "/openapi.json"): "the API description (SPEC §4)",
    ("GET", "/docs"): "renders /openapi.json",
    ("GET", "/docs/oauth2-redirect"): "part of /docs",
    ("GET", "/redoc"): "renders /openapi.json",
    ("GET", "/docs/assets/"): "the scripts, styles and icon of /docs and /redoc",
    ("GET", "/"): "redirects a browser to the web UI, which asks for a login itself",
    ("GET", "/ui/login"): "the web UI's login page",
    ("POST", "/ui/login"): "exchanges a key for a session; wrong keys are refused (tests/ui)",
    ("GET", "/ui/static/"): "the web UI's CSS and JavaScript",
}
OPENRUNS = str(Path(sys.executable).parent / "openruns")


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI ≥ 0.120 includes lazily
        if included is not None:
            context_prefix = getattr(getattr(route, "include_context", None), "prefix", "")
            yield from _walk(included.routes, prefix + context_prefix)
        elif isinstance(route, APIRoute | Route):
            for method in sorted(route.methods or {"GET"}):
                yield method, prefix + route.path
        elif isinstance(route, Mount):
            yield "GET", prefix + route.path.rstrip("/") + "/"


def _routes(settings: Settings) -> list[tuple[str, str]]:
    """Every (method, path) the app serves; checked against its OpenAPI document."""
    app = create_app(settings)
    found = sorted(set(_walk(app.routes)))
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= set(found), documented - set(found)
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: f"x-{uuid.uuid4().hex[:8]}", path)


def _refused(response: httpx.Response, path: str) -> bool:
    if response.status_code == 401:
        return response.request.method == "HEAD" or response.json()["message"].startswith(
            ("an API key is required", "the API key")
        )
    # Web UI pages send a browser without a session to the login page instead.
    location = response.headers.get("location", "")
    return path.startswith("/ui") and response.is_redirect and "/ui/login" in location


async def test_every_route_but_the_public_ones_needs_a_valid_key(settings: Settings) -> None:
    routes = _routes(settings)
    assert len(routes) >= 15  # the enumeration found the app's routes
    credentials = [
        {},
        {"x-api-key": "ork_not-a-real-key"},
        {"authorization": "Bearer ork_not-a-real-key"},
        {
            "authorization": f"Basic {settings.api_key.get_secret_value() if settings.api_key else ''}"
        },
        {"x-api-key": ""},
    ]
    async with api_client(settings, key="") as api:
        for method, path in routes:
            if ("GET" if method == "HEAD" else method, path) in PUBLIC:
                continue
            for headers in credentials:
                response = await api.request(
                    method, _concrete(path), headers=headers, json={} if method != "GET" else None
                )
                assert _refused(response, path), (method, path, headers, response.status_code)
        assert (await api.get("/v2/health")).status_code in (200, 503)
        # The key is not accepted from the query string (it would end up in access logs).
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        assert (await api.get("/v2/processes", params={"api_key": key})).status_code == 401
        # And a valid key opens the same routes, by either header.
        ok = await api.get("/v2/processes", headers={"x-api-key": key})
        assert ok.status_code == 200
        bearer = await api.get("/v2/processes", headers={"authorization": f"Bearer {key}"})
        assert bearer.status_code == 200


def _cli(settings: Settings, *args: str) -> str:
    env = {
        **os.environ,
        "OPENRUNS_DATA_DIR": str(settings.data_dir),
        "OPENRUNS_DATABASE_URL": settings.database_url or "",
        "OPENRUNS_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [OPENRUNS, "apikey", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _stored_bytes(settings: Settings, database: Database) -> bytes:
    """Everything the store holds about keys: the SQLite files, or the PostgreSQL rows."""
    if database.is_sqlite:
        # Read in another process: closing a descriptor of the file in this one would drop the
        # POSIX locks SQLite holds for this process's connections.
        files = sorted(Path(database.url.split("///", 1)[1]).parent.glob("*.db*"))
        return subprocess.run(["cat", *map(str, files)], capture_output=True, check=True).stdout
    async with database.sessions() as session:
        rows = await session.execute(text("SELECT CAST(api_keys AS text) FROM api_keys"))
        return "\n".join(row[0] for row in rows).encode()


@pytest.mark.parametrize("ttl", [0.0, 2.0])
async def test_cli_created_key_is_hashed_and_revoking_it_locks_it_out(
    settings: Settings, database: Database, ttl: float
) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    key = _cli(settings, "create", "--name", name).strip()
    assert key.startswith("ork_") and len(key) > 40

    stored = await _stored_bytes(settings, database)
    assert key.encode() not in stored  # never the plain key …
    assert hashlib.sha256(key.encode()).hexdigest().encode() in stored  # … only its SHA-256

    [line] = [row for row in _cli(settings, "list").splitlines() if f"\t{name}\t" in row]
    key_id = line.split("\t")[0]
    assert key not in line and "active" in line

    settings = settings.model_copy(update={"api_key_cache_seconds": ttl})
    async with api_client(settings, key=key) as api:
        assert (await api.get("/v2/processes")).status_code == 200
        assert f"revoked {key_id}" in _cli(settings, "revoke", key_id)
        revoked_at = time.monotonic()
        await assert_eventually(
            lambda: api.get("/v2/processes"),
            lambda response: response.status_code == 401,
            timeout=ttl + 5,
            message="a revoked key is refused",
        )
        assert time.monotonic() - revoked_at <= ttl + 5
        refused = await api.get("/v2/processes")
        assert refused.json()["message"] == "the API key is not valid"
    assert "revoked" in next(r for r in _cli(settings, "list").splitlines() if key_id in r)
