"""The ``http`` step: one HTTP request through a shared httpx client.

Requests to loopback, link-local and cloud-metadata addresses are refused unless the host is
allow-listed in ``OPENRUNS_HTTP_ALLOW``: a process definition must not be a way into the
machine the worker runs on. Every request carries ``Idempotency-Key: <run id>/<step id>`` so
receivers can deduplicate the retries that at-least-once delivery implies.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from openruns.definition.steps import HttpArgs
from openruns.models import StepActivityInput

MAX_RESPONSE_BYTES = 1024 * 1024
_METADATA_HOSTS = {"metadata.google.internal", "metadata.goog", "metadata.azure.internal"}
# Cloud metadata services outside the link-local range: AWS over IPv6, Alibaba Cloud.
_METADATA_ADDRESSES = {
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_allow(entries: list[str]) -> tuple[set[str], list[Network]]:
    hosts, networks = set(), []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower())
    return hosts, networks


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address in _METADATA_ADDRESSES
    )


def _loggable(url: str) -> str:
    """The URL without credentials, query or fragment (they may hold secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


class HttpActivities:
    """Holds the worker's shared HTTP client and the allow-list."""

    def __init__(self, client: httpx.AsyncClient, allow: list[str]) -> None:
        self._client = client
        self._allow_hosts, self._allow_networks = _parse_allow(allow)

    def _allowed(self, host: str, address: Any) -> bool:
        return host in self._allow_hosts or any(address in n for n in self._allow_networks)

    async def _check_destination(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApplicationError(f"not an http(s) URL: {url!r}", non_retryable=True)
        host = parts.hostname.lower().rstrip(".")  # "metadata.google.internal." is the same host
        if host in self._allow_hosts:
            return
        if host in _METADATA_HOSTS:
            raise ApplicationError(f"refusing to call {host} (cloud metadata)", non_retryable=True)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443)
        except socket.gaierror as exc:
            raise ApplicationError(f"cannot resolve {host}: {exc.strerror}") from None
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if _forbidden(address) and not self._allowed(host, address):
                raise ApplicationError(
                    f"refusing to call {host} ({address}): loopback, link-local and metadata "
                    "addresses need OPENRUNS_HTTP_ALLOW",
                    non_retryable=True,
                )

    @activity.defn(name="openruns.http")
    async def http_request(self, call: StepActivityInput) -> dict[str, Any]:
        """Send the request; non-2xx fails (4xx for good, 5xx retryable) unless in ok_status."""
        args = HttpArgs.model_validate(call.args)
        await self._check_destination(args.url)
        headers = {"Idempotency-Key": f"{call.run_id}/{call.step_id}", **args.headers}
        try:
            async with self._client.stream(
                args.method,
                args.url,
                headers=headers,
                json=args.json_,
                content=args.body,
                timeout=args.timeout,
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise ApplicationError(
                            f"response from {args.url} is larger than {MAX_RESPONSE_BYTES} bytes",
                            non_retryable=True,
                        )
        except httpx.HTTPError as exc:
            raise ApplicationError(
                f"{args.method} {args.url}: {type(exc).__name__}: {exc}"
            ) from None

        status = response.status_code
        activity.logger.info(
            "%s %s -> %s",
            args.method,
            _loggable(args.url),
            status,
            extra={"step_id": call.step_id, "status": status, "attempt": activity.info().attempt},
        )
        if not (200 <= status < 300) and status not in args.ok_status:
            snippet = body[:200].decode(errors="replace")
            raise ApplicationError(
                f"HTTP {status} from {args.method} {args.url}: {snippet}",
                {"status": status},
                type="HttpStatus",
                non_retryable=status < 500 and status not in (408, 429),
            )
        result: dict[str, Any] = {"status": status, "headers": dict(response.headers)}
        text = body.decode(response.encoding or "utf-8", errors="replace")
        if "json" in response.headers.get("content-type", ""):
            try:
                result["json"] = json.loads(body) if body else None
                return result
            except ValueError:
                pass
        result["text"] = text
        return result
