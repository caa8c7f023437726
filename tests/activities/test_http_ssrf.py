"""The ``http`` step refuses loopback, link-local and cloud-metadata destinations unless they
are allow-listed in ``OPENRUNS_HTTP_ALLOW``; allow-listed ones go through. The check holds at
connect time too: a name that changes its answer after the first check (DNS rebinding) is
refused, and the socket goes to the address that was checked."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.http import HttpActivities
from activities.http_guard import Destinations, Resolver, guarded_client, system_resolver
from openruns.models import StepActivityInput
from tests.helpers.http_server import LocalHttpServer
from tests.helpers.tls import Pki


@pytest.fixture
def v6_server() -> Iterator[str]:
    with LocalHttpServer("::1") as server:
        yield server.url


async def _call(
    allow: list[str],
    url: str,
    resolver: Resolver = system_resolver,
    verify: ssl.SSLContext | bool = True,
) -> dict[str, Any]:
    """One ``http`` step through the worker's client, as worker.py builds it."""
    destinations = Destinations(allow, resolver)
    async with guarded_client(destinations, verify) as client:
        activities = HttpActivities(client, destinations)
        call = StepActivityInput(run_id="run-ssrf", step_id="call", args={"url": url, "timeout": 2})
        return await ActivityEnvironment().run(activities.http_request, call)


class FakeDns:
    """A resolver answering from a table; a name with several answers gives them in turn (the
    last one from then on), as a rebinding DNS server does."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        turns = self.answers[host]
        return turns[min(self.lookups.count(host), len(turns)) - 1]


def _refused_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/",
        f"http://localhost:{port}/",
        f"http://127.1:{port}/",  # short form of 127.0.0.1
        f"http://2130706433:{port}/",  # 127.0.0.1 as one integer
        f"http://0.0.0.0:{port}/",
        f"http://[::1]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped loopback
        "http://169.254.169.254/latest/meta-data/",  # AWS/GCP/Azure metadata
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",  # ECS task credentials
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/latest/meta-data/",  # AWS metadata over IPv6
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/",
        "http://metadata.goog/",
        "https://user:pw@127.0.0.1/",
    ]


async def test_refused_without_an_allow_list(
    http_server: LocalHttpServer,
) -> None:
    port = http_server.server_address[1]
    for url in _refused_urls(port):
        with pytest.raises(ApplicationError) as refused:
            await _call([], url)
        assert refused.value.non_retryable, url
        assert "refusing to call" in refused.value.message, (url, refused.value.message)
    assert http_server.requests == []  # not one request left the worker


async def test_not_http_is_refused() -> None:
    for url in ("file:///etc/passwd", "gopher://127.0.0.1/", "ftp://example.com/"):
        with pytest.raises(ApplicationError, match="not an http"):
            await _call([], url)


async def test_an_allow_listed_host_or_network_goes_through(
    http_server: LocalHttpServer, v6_server: str
) -> None:
    port = http_server.server_address[1]
    for allow, url in (
        (["127.0.0.1"], f"http://127.0.0.1:{port}/ok"),
        (["127.0.0.0/8"], f"http://127.0.0.1:{port}/ok"),
        (["localhost"], f"http://localhost:{port}/ok"),
        (["::1"], f"{v6_server}/ok"),
    ):
        result = await _call(allow, url)
        assert result["status"] == 200 and result["json"]["ok"] is True, (allow, url)
    assert len(http_server.requests) == 3


async def test_the_allow_list_opens_only_what_it_names(
    http_server: LocalHttpServer,
) -> None:
    port = http_server.server_address[1]
    allow = ["127.0.0.1"]
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/",
        f"http://[::1]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",  # the mapped form is a different address
    ):
        with pytest.raises(ApplicationError, match="refusing to call"):
            await _call(allow, url)
    # Allow-listing the metadata name skips the check: then only DNS decides (not resolvable
    # here, so the step fails for that reason, retryably, and not because it was refused).
    with pytest.raises(ApplicationError) as failed:
        await _call(["metadata.google.internal"], "http://metadata.google.internal/")
    assert "refusing" not in failed.value.message


async def test_a_name_that_rebinds_after_the_check_is_refused_at_connect(
    http_server: LocalHttpServer,
) -> None:
    port = http_server.server_address[1]
    # A public (documentation-range) address for the check, loopback for the connection.
    dns = FakeDns({"rebind.example": [["203.0.113.7"], ["127.0.0.1"]]})
    with pytest.raises(ApplicationError) as refused:
        await _call([], f"http://rebind.example:{port}/", dns)
    assert refused.value.non_retryable
    assert "refusing to call rebind.example (127.0.0.1)" in refused.value.message
    assert dns.lookups == ["rebind.example", "rebind.example"]  # checked, then connected
    assert http_server.requests == []


async def test_the_socket_goes_to_the_address_that_was_checked(
    http_server: LocalHttpServer,
) -> None:
    port = http_server.server_address[1]
    # Names only this resolver knows: the request reaches the local server only if the
    # connection was made to the address the guard resolved and checked. 127.0.0.2 is
    # loopback too, but nothing listens there: the next address is tried.
    dns = FakeDns({"svc.example": [["127.0.0.2", "127.0.0.1"]]})
    result = await _call(["127.0.0.0/8"], f"http://svc.example:{port}/ok", dns)
    assert result["status"] == 200 and result["json"]["path"] == "/ok"
    assert http_server.requests[0]["headers"]["Host"] == f"svc.example:{port}"
    # Allow-listing the name itself skips the check, not the guard's own resolution.
    dns = FakeDns({"internal.example": [["127.0.0.1"]]})
    result = await _call(["internal.example"], f"http://internal.example:{port}/ok", dns)
    assert result["status"] == 200
    assert dns.lookups == ["internal.example", "internal.example"]


async def test_https_to_a_checked_address_verifies_the_host_name(tmp_path: Path) -> None:
    paths = Pki.create("svc.example").write(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(paths["server.pem"], paths["server.key"])
    server = LocalHttpServer()
    server.socket = server_tls.wrap_socket(server.socket, server_side=True)
    trust_ca = ssl.create_default_context(cafile=str(paths["ca.pem"]))
    dns = FakeDns({"svc.example": [["127.0.0.1"]], "other.example": [["127.0.0.1"]]})
    with server:
        port = server.server_address[1]
        result = await _call(["127.0.0.0/8"], f"https://svc.example:{port}/ok", dns, trust_ca)
        assert result["status"] == 200 and result["json"]["path"] == "/ok"
        # The same address under a name the certificate does not carry: the handshake checks
        # the URL's name, not the address the socket went to.
        with pytest.raises(ApplicationError, match="certificate verify failed"):
            await _call(["127.0.0.0/8"], f"https://other.example:{port}/ok", dns, trust_ca)
    assert len(server.requests) == 1
