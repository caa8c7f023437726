"""The ``http`` step: one HTTP request through a shared httpx client.

Requests to loopback, link-local and cloud-metadata addresses are refused unless the host is
allow-listed in ``OPENRUNS_HTTP_ALLOW``: a process definition must not be a way into the
machine the worker runs on (``activities.http_guard``: checked before the request and again on
the addresses each connection is made to). Every request carries ``Idempotency-Key: <run
id>/<step id>`` so receivers can deduplicate the retries that at-least-once delivery implies.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.http_guard import Destinations
from openruns.definition.steps import HttpArgs
from openruns.models import StepActivityInput

MAX_RESPONSE_BYTES = 1024 * 1024
# What ran out, by httpx's timeout: each gets ``with.timeout`` seconds.
_TIMED_OUT = {
    httpx.ConnectTimeout: "could not connect to {host}",
    httpx.WriteTimeout: "could not send the request to {host}",
    httpx.PoolTimeout: "no free connection to {host}",
}


def _loggable(url: str) -> str:
    """The URL without credentials, query or fragment (they may hold secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _timed_out(exc: httpx.TimeoutException, args: HttpArgs) -> str:
    """A timeout in the user's terms (httpx's own message is often empty)."""
    host = urlsplit(args.url).netloc.rpartition("@")[2]  # no credentials
    what = _TIMED_OUT.get(type(exc), "no response from {host}").format(host=host)
    whose = "its with.timeout" if "timeout" in args.model_fields_set else "the default with.timeout"
    return f"{args.method} {args.url}: {what} within {args.timeout:g} s ({whose})"


class HttpActivities:
    """Holds the worker's shared HTTP client (``guarded_client``) and its destination rules."""

    def __init__(self, client: httpx.AsyncClient, destinations: Destinations) -> None:
        self._client = client
        self._destinations = destinations

    @activity.defn(name="openruns.http")
    async def http_request(self, call: StepActivityInput) -> dict[str, Any]:
        """Send the request; non-2xx fails (4xx for good, 5xx retryable) unless in ok_status."""
        args = HttpArgs.model_validate(call.args)
        try:
            await self._destinations.check(args.url)
        except ValueError as exc:  # e.g. a port over 65535: retrying will not help
            raise ApplicationError(
                f"{args.method} {args.url}: not a usable URL: {exc}", non_retryable=True
            ) from None
        # One Idempotency-Key: the definition's own (any spelling of the name), else ours.
        headers = dict(args.headers)
        if not any(name.lower() == "idempotency-key" for name in headers):
            headers["Idempotency-Key"] = f"{call.run_id}/{call.step_id}"
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
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            raise ApplicationError(  # the request cannot be made: retrying will not help
                f"{args.method} {args.url}: {type(exc).__name__}: {exc}", non_retryable=True
            ) from None
        except UnicodeEncodeError as exc:
            raise ApplicationError(
                f"{args.method} {args.url}: a header has characters HTTP headers cannot carry "
                f"(ASCII only): {exc.object[exc.start : exc.end]!r}",
                non_retryable=True,
            ) from None
        except httpx.TimeoutException as exc:  # retried, like any failure to get an answer
            raise ApplicationError(_timed_out(exc, args)) from None
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
            except (ValueError, RecursionError):  # not JSON, or nested too deep: as text
                pass
        result["text"] = text
        return result
