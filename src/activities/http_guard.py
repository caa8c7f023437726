"""Where the ``http`` step may connect: loopback, link-local and cloud-metadata destinations are
refused unless allow-listed (``OPENRUNS_HTTP_ALLOW``).

The check runs twice. ``Destinations.check`` runs before a request, for a clear refusal before
anything is opened. ``guarded_client`` then checks again as each connection is made: its network
backend resolves the host itself, checks those addresses and connects the socket to one of them,
so a DNS name that answers a public address to the first lookup and a private one to the next
(DNS rebinding) is still refused. For the same reason the client connects directly and takes
no proxy from the environment (``HTTP_PROXY``/``HTTPS_PROXY``): a proxy would make the
connection where no check can see it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

import httpcore
import httpx
from temporalio.exceptions import ApplicationError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses to connect to, as getaddrinfo gives them ("fe80::1%eth0" included).
Resolver = Callable[[str, int], Awaitable[list[str]]]

_METADATA_HOSTS = {"metadata.google.internal", "metadata.goog", "metadata.azure.internal"}
# Cloud metadata services outside the link-local range: AWS over IPv6, Alibaba Cloud.
_METADATA_ADDRESSES = {
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for ``host`` (the worker's DNS)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ApplicationError(f"cannot resolve {host}: {exc.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _forbidden(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address in _METADATA_ADDRESSES
    )


def _normal(host: str) -> str:
    return host.lower().rstrip(".")  # "metadata.google.internal." is the same host


class Destinations:
    """The allow-list and the rules; ``resolver`` answers DNS (the system's unless a test's)."""

    def __init__(self, allow: Iterable[str], resolver: Resolver = system_resolver) -> None:
        self._hosts: set[str] = set()
        self._networks: list[Network] = []
        for entry in allow:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._hosts.add(_normal(entry))
        self._resolve = resolver

    async def check(self, url: str) -> None:
        """Refuse ``url`` unless it is http(s) to a destination the step may reach."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApplicationError(f"not an http(s) URL: {url!r}", non_retryable=True)
        default_port = 443 if parts.scheme == "https" else 80
        await self.addresses(parts.hostname, parts.port or default_port)

    async def addresses(self, host: str, port: int) -> list[str]:
        """``host``'s addresses, each one checked; an allow-listed name is not checked."""
        host = _normal(host)
        if host in self._hosts:
            return await self._resolve(host, port)
        if host in _METADATA_HOSTS:
            raise ApplicationError(f"refusing to call {host} (cloud metadata)", non_retryable=True)
        found = await self._resolve(host, port)
        for text in found:
            address = ipaddress.ip_address(text.split("%")[0])
            if _forbidden(address) and not any(address in n for n in self._networks):
                raise ApplicationError(
                    f"refusing to call {host} ({address}): loopback, link-local and metadata "
                    "addresses need OPENRUNS_HTTP_ALLOW",
                    non_retryable=True,
                )
        return found


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, connecting only to addresses ``Destinations`` has checked."""

    def __init__(self, destinations: Destinations) -> None:
        self._destinations = destinations
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in await self._destinations.addresses(host, port):
            try:
                return await self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:  # the next address, as getaddrinfo's order
                failure = exc
        raise failure or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the http step does not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, destinations: Destinations, verify: ssl.SSLContext | bool) -> None:
        super().__init__()
        # httpx takes no network backend, so the pool it built is replaced by the same pool
        # (httpx's defaults) on the guarded backend; tests/activities/test_http_ssrf.py fails
        # if a newer httpx stops sending requests through it.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.AsyncConnectionPool(
            # TLS still verifies the URL's host name: httpcore hands the origin's name to the
            # handshake, whatever address the socket connected to.
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(destinations),
        )


def guarded_client(
    destinations: Destinations, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """The worker's HTTP client: no redirects followed, every connection checked, and no
    cookies kept (the client is shared by every run on the worker: a cookie one run's request
    received must not go out with another's). ``verify`` is httpx's (the system's CA bundle
    by default; a context for tests' own CA)."""
    transport = _GuardedTransport(destinations, verify)
    client = httpx.AsyncClient(transport=transport, follow_redirects=False)
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # accepts none
    return client
