"""The ``http`` step refuses loopback, link-local and cloud-metadata destinations unless they
are allow-listed in ``OPENRUNS_HTTP_ALLOW``; allow-listed ones go through."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.http import HttpActivities
from openruns.models import StepActivityInput
from tests.helpers.http_server import LocalHttpServer


@pytest.fixture
def v6_server() -> Iterator[str]:
    with LocalHttpServer("::1") as server:
        yield server.url


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        yield client


async def _call(client: httpx.AsyncClient, allow: list[str], url: str) -> dict[str, Any]:
    activities = HttpActivities(client, allow)
    call = StepActivityInput(run_id="run-ssrf", step_id="call", args={"url": url, "timeout": 2})
    return await ActivityEnvironment().run(activities.http_request, call)


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
    http_client: httpx.AsyncClient, http_server: LocalHttpServer
) -> None:
    port = http_server.server_address[1]
    for url in _refused_urls(port):
        with pytest.raises(ApplicationError) as refused:
            await _call(http_client, [], url)
        assert refused.value.non_retryable, url
        assert "refusing to call" in refused.value.message, (url, refused.value.message)
    assert http_server.requests == []  # not one request left the worker


async def test_not_http_is_refused(http_client: httpx.AsyncClient) -> None:
    for url in ("file:///etc/passwd", "gopher://127.0.0.1/", "ftp://example.com/"):
        with pytest.raises(ApplicationError, match="not an http"):
            await _call(http_client, [], url)


async def test_an_allow_listed_host_or_network_goes_through(
    http_client: httpx.AsyncClient, http_server: LocalHttpServer, v6_server: str
) -> None:
    port = http_server.server_address[1]
    for allow, url in (
        (["127.0.0.1"], f"http://127.0.0.1:{port}/ok"),
        (["127.0.0.0/8"], f"http://127.0.0.1:{port}/ok"),
        (["localhost"], f"http://localhost:{port}/ok"),
        (["::1"], f"{v6_server}/ok"),
    ):
        result = await _call(http_client, allow, url)
        assert result["status"] == 200 and result["json"]["ok"] is True, (allow, url)
    assert len(http_server.requests) == 3


async def test_the_allow_list_opens_only_what_it_names(
    http_client: httpx.AsyncClient, http_server: LocalHttpServer
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
            await _call(http_client, allow, url)
    # Allow-listing the metadata name skips the check: then only DNS decides (not resolvable
    # here, so the step fails for that reason, retryably, and not because it was refused).
    with pytest.raises(ApplicationError) as failed:
        await _call(http_client, ["metadata.google.internal"], "http://metadata.google.internal/")
    assert "refusing" not in failed.value.message
