"""A small stand-in for the usage API on 127.0.0.1, served over real HTTP.

`--demo` serves a simulated account with it (see `demo.py`); the tests and benchmarks serve scripted
replies with it. It only ever binds a loopback address. Standard library only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE_PATH = "/api/oauth/usage"


@dataclass(frozen=True, slots=True)
class Request:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer: status, body (a JSON-able value, str or bytes), headers, and a delay in seconds."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


Responder = Callable[[Request], Reply]


class Script:
    """Replies in order; the last one repeats once the script runs out."""

    def __init__(self, *replies: Reply) -> None:
        if not replies:
            raise ValueError("a script needs at least one reply")
        self._replies = list(replies)
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    def then(self, *replies: Reply) -> None:
        """Replace what is still to come (the live tests change the weather mid-run)."""
        with self._lock:
            self._replies = list(replies)


class StandIn:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread; `with StandIn(responder) as api: api.url`."""

    def __init__(self, responder: Responder, *, port: int = 0) -> None:
        self.responder = responder
        self.requests: list[Request] = []
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="usage-standin", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def usage_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.split("?")[0] == USAGE_PATH]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                request = Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                standin.requests.append(request)
                if request.path.split("?")[0] != USAGE_PATH:
                    reply = Reply(404, {"error": {"type": "not_found_error", "message": "Not found"}})
                else:
                    reply = standin.responder(request)
                if reply.delay and standin._closing.wait(reply.delay):
                    return
                body, content_type = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the dashboard owns the terminal

        return Handler
