"""``openruns healthcheck``: each check passes against the real thing and fails otherwise.
(The api check against a running ``openruns api`` is in tests/e2e/test_replicas.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from temporalio.worker import Worker

from openruns.healthcheck import Unhealthy, check_api, check_smtp, check_worker
from openruns.settings import Settings
from tests.helpers import assert_eventually, free_port
from tests.helpers.http_server import LocalHttpServer


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    controller = Controller(_Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def test_smtp_check_passes_on_a_greeting_server(smtp_port: int) -> None:
    assert check_smtp(Settings(smtp_host="0.0.0.0", smtp_port=smtp_port)).startswith("smtp OK")


def test_smtp_check_fails_when_nothing_listens() -> None:
    with pytest.raises(Unhealthy, match="smtp 127.0.0.1"):
        check_smtp(Settings(smtp_port=free_port()), timeout=2)


def test_api_check_fails_when_nothing_listens() -> None:
    with pytest.raises(Unhealthy, match="/v2/health"):
        check_api(Settings(api_port=free_port()), timeout=2)


def test_api_check_wants_the_openruns_health_answer(http_server: LocalHttpServer) -> None:
    port = int(http_server.url.rsplit(":", 1)[1])
    with pytest.raises(Unhealthy, match="answered"):
        check_api(Settings(api_port=port))


async def _verdict(settings: Settings, hostname: str | None = None) -> str:
    try:
        return await check_worker(settings, hostname)
    except Unhealthy as exc:
        return f"unhealthy: {exc}"


async def test_worker_check_finds_this_hosts_poller(settings: Settings, worker: Worker) -> None:
    # Healthy as soon as the worker's first poll reaches Temporal.
    verdict = await assert_eventually(lambda: _verdict(settings), lambda v: "polls" in v)
    assert verdict.startswith("worker OK")


async def test_worker_check_fails_for_another_host(settings: Settings, worker: Worker) -> None:
    await assert_eventually(lambda: _verdict(settings), lambda v: "polls" in v)
    with pytest.raises(Unhealthy, match="no worker@elsewhere has polled"):
        await check_worker(settings, hostname="elsewhere")


async def test_worker_check_fails_when_no_worker_polls(settings: Settings) -> None:
    with pytest.raises(Unhealthy, match="pollers: none"):
        await check_worker(settings)
