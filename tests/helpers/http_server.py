"""A small real HTTP server on localhost for ``http`` step tests; it counts requests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: LocalHttpServer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _reply(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # The sender died mid-request (a SIGKILLed worker): nothing was delivered, so it
            # is not counted as a request — the retry is the delivery.
            self.close_connection = True
            return
        self.server.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        self.server.counts[self.path.split("?")[0]] += 1
        path = self.path.split("?")[0]
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, {"error": f"status {code}"})
        elif path == "/slow":  # a slow receiver: requests are in flight when a worker dies
            time.sleep(0.3)
            payload = json.loads(body) if body else None
            self._send(200, {"method": self.command, "json": payload})
        elif path == "/echo":
            payload = json.loads(body) if body else None
            self._send(200, {"method": self.command, "json": payload})
        elif path == "/cookie":  # a session cookie that must stay with this request's run
            self._send(200, {"ok": True}, [("Set-Cookie", "session=secret; Path=/")])
        elif path == "/deep":  # valid JSON, nested deeper than Python's json can decode
            self._send_raw(200, b"[" * 5000 + b"]" * 5000)
        else:
            self._send(200, {"ok": True, "path": path})

    def _send(self, code: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        self._send_raw(code, json.dumps(payload).encode(), headers)

    def _send_raw(self, code: int, data: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _reply


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1") -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that died mid-request (a killed worker) is what fault tests do

    @property
    def url(self) -> str:
        host = self.server_address[0]
        assert isinstance(host, str)  # a bound AF_INET/AF_INET6 socket's name has a str host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.server_address[1]}"

    def __enter__(self) -> LocalHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
