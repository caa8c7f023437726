"""The CLI's HTTP client: talks to the OpenRuns API like any other client would."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from openruns.cli.failures import CONFIGURATION, load_settings
from openruns.settings import Settings

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="OPENRUNS_API_URL",
        help="Base URL of the API. Default: http://OPENRUNS_API_HOST:OPENRUNS_API_PORT.",
        show_default=False,
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="OPENRUNS_API_KEY",
        help="API key. Default: the dev key `make dev` writes to the data directory.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]


def local_api_url(settings: Settings) -> str:
    """The API this host serves: a wildcard bind address is reached on loopback, and an IPv6
    address goes in brackets."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(
        settings.api_host, settings.api_host
    )
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.api_port}"


class ApiClient:
    """A small synchronous client; any error answer ends the command with its message."""

    def __init__(self, url: str | None, key: str | None) -> None:
        settings = load_settings()
        base = (url or local_api_url(settings)).rstrip("/")
        if not key:
            key_file = settings.data_dir / "dev-api-key"
            key = key_file.read_text().strip() if key_file.exists() else None
        if not key:
            raise typer.BadParameter(
                "give --api-key or set OPENRUNS_API_KEY", param_hint="--api-key"
            )
        try:
            self._http = httpx.Client(base_url=f"{base}/v2", headers={"x-api-key": key}, timeout=30)
        except httpx.InvalidURL as exc:
            source = "--url or OPENRUNS_API_URL" if url else "OPENRUNS_API_HOST, OPENRUNS_API_PORT"
            typer.echo(f"error: {base!r} ({source}) is not a URL: {exc}", err=True)
            raise typer.Exit(CONFIGURATION) from None

    def process_id(self, ref: str) -> str:
        """A process id, given its id or its name."""
        if self.call("GET", f"/processes/{ref}", missing_ok=True) is not None:
            return ref
        token = None
        while True:
            page = self.call(
                "GET", "/processes", params={"limit": 100, "continuation_token": token}
            )
            for process in page["items"]:
                if process["name"] == ref:
                    return str(process["id"])
            token = page["continuation_token"]
            if not token:
                typer.echo(f"error: no process with id or name {ref!r}", err=True)
                raise typer.Exit(1)

    def call(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            typer.echo(f"error: cannot reach the API at {self._http.base_url}: {exc}", err=True)
            raise typer.Exit(2) from None
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text}
            details = "; ".join(
                f"{d.get('path')}: {d.get('message')}" for d in body.get("details") or []
            )
            typer.echo(f"error ({response.status_code}): {body.get('message')}", err=True)
            if details:
                typer.echo(f"  {details}", err=True)
            raise typer.Exit(1)
        return response.json() if response.content else None
