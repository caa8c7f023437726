"""``openruns healthcheck api|worker|smtp``: container health checks that need nothing but the
OpenRuns image (no curl), each asking the component the way its clients would.

- api: ``GET /v2/health`` on this host answers 200 (the API, its store and Temporal are up).
- smtp: the gateway on this host greets and answers ``NOOP`` with 250.
- worker: Temporal lists a poller from this host on the task queue, seen recently. That is the
  health that matters for a worker (it is connected and taking tasks), and it is what Temporal
  itself uses to hand out work.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from openruns.settings import Settings

# A polling worker renews its long poll at least once a minute; a worker whose task slots
# are all busy stops polling until one frees up, so allow a few minutes before calling it dead.
POLLER_FRESHNESS = timedelta(minutes=3)


class Component(StrEnum):
    API = "api"
    WORKER = "worker"
    SMTP = "smtp"


class Unhealthy(Exception):
    """The component did not answer as a healthy one does; the message says what was seen."""


def _local(host: str) -> str:
    """Where to reach a server bound to ``host`` from the same machine."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def check_api(settings: Settings, timeout: float = 5.0) -> str:
    url = f"http://{_local(settings.api_host)}:{settings.api_port}/v2/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise Unhealthy(f"{url} answered {exc.code}: {exc.read()[:300].decode()}") from None
    except (OSError, ValueError) as exc:
        raise Unhealthy(f"{url}: {exc}") from None
    if body != {"status": "OK"}:
        raise Unhealthy(f"{url} answered {body!r}")
    return f"api OK ({url})"


def check_smtp(settings: Settings, timeout: float = 5.0) -> str:
    host, port = _local(settings.smtp_host), settings.smtp_port
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            code, message = smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        raise Unhealthy(f"smtp {host}:{port}: {exc}") from None
    if code != 250:
        raise Unhealthy(f"smtp {host}:{port} answered NOOP with {code} {message!r}")
    return f"smtp OK ({host}:{port})"


async def check_worker(settings: Settings, hostname: str | None = None) -> str:
    # Imported here: the api and smtp checks run every few seconds and need no Temporal SDK.
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from openruns.temporal import connect

    suffix = f"@{hostname or socket.gethostname()}"
    try:
        client = await connect(settings)
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.namespace,
                task_queue=TaskQueue(name=settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            timeout=timedelta(seconds=5),
        )
    except Exception as exc:
        raise Unhealthy(
            f"cannot ask Temporal about task queue {settings.task_queue!r}: {exc}"
        ) from None
    now = datetime.now(UTC)
    for poller in described.pollers:
        seen = poller.last_access_time.ToDatetime(tzinfo=UTC)
        if poller.identity.endswith(suffix) and now - seen < POLLER_FRESHNESS:
            return f"worker OK ({poller.identity} polls {settings.task_queue!r})"
    others = sorted(p.identity for p in described.pollers)
    raise Unhealthy(
        f"no worker{suffix} has polled task queue {settings.task_queue!r} recently "
        f"(pollers: {', '.join(others) or 'none'})"
    )


def check(settings: Settings, component: Component) -> str:
    """A line saying the component is healthy; raises ``Unhealthy`` otherwise."""
    if component == Component.API:
        return check_api(settings)
    if component == Component.SMTP:
        return check_smtp(settings)
    return asyncio.run(check_worker(settings))
