"""The HTTP server behind `claude-usage serve`: the socket rules, with the routes given by the face.

Owns: `HOST:PORT` parsing and the loopback test; a bearer token on every path (401 without it: `Bearer TOKEN`,
or HTTP Basic with the token as the password, so a browser can ask for it); GET and HEAD only (405); a socket
timeout per connection (a slow client is dropped, never waited for); caps on the headers (431) and on the
connections served at once (503). A route that raises answers 500 and the server goes on: no request can stop
it. Standard library only; imports no service and no prometheus_client: routes are plain callables.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import ipaddress
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.errors import CommandLineError, UnavailableError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

DEFAULT_LISTEN = "127.0.0.1:9464"  # 9464: the port Prometheus's list of exporters gives OpenTelemetry's
REQUEST_TIMEOUT_S = 10.0  # a connection silent for this long (mid-request or idle between requests) is closed
MAX_HEADER_BYTES = 32 * 1024  # all header names and values together; more is 431
MAX_CONNECTIONS = 32  # served at once; one more is answered 503 and closed
MAX_TOKEN_BYTES = 4096


class Request(NamedTuple):
    """A request that passed the checks: its path (no query), its query string, its headers (lower-case names)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]


class Response(NamedTuple):
    """What a route answers."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


Route = Callable[[Request], Response]


class Listen(NamedTuple):
    """Where to listen: the host as given ("" for every interface) and the port (0: any free one)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (every interface); CommandLineError otherwise."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise CommandLineError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise CommandLineError(f"--listen {text!r}: write an IPv6 address in brackets, e.g. [::1]:9464")
    return Listen(host, int(port_text))


def _resolve(listen: Listen) -> tuple[socket.AddressFamily, str]:
    """The address family and the numeric address the socket would bind to."""
    try:
        found = socket.getaddrinfo(
            listen.host or None, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE | socket.AI_ADDRCONFIG
        )
    except (OSError, UnicodeError) as exc:
        raise CommandLineError(f"--listen {listen}: cannot resolve {listen.host!r} ({exc})") from exc
    family, _, _, _, sockaddr = found[0]
    return family, str(sockaddr[0])


def is_loopback(listen: Listen) -> bool:
    """Whether only this machine can reach the address (127.0.0.0/8, ::1, or a name resolving there)."""
    try:
        return ipaddress.ip_address(_resolve(listen)[1].partition("%")[0]).is_loopback
    except (CommandLineError, ValueError):
        return False


class BearerToken:
    """The token scrapes must present; `repr` and `str` never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "BearerToken(***)"

    __str__ = __repr__

    def accepts(self, authorization: str | None) -> bool:
        """Whether an Authorization header carries the token (Bearer, or Basic with any user name)."""
        if not authorization:
            return False
        scheme, _, credentials = authorization.strip().partition(" ")
        presented = credentials.strip().encode("utf-8", "surrogateescape")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(presented, validate=True)
            except (binascii.Error, ValueError):
                return False
            presented = decoded.partition(b":")[2]
        elif scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented, self._value)


def read_token(path: Path) -> BearerToken:
    """The first line of `path`, stripped (as Prometheus's `credentials_file` sends it); exit 2 when unusable."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_TOKEN_BYTES + 1)
    except OSError as exc:
        raise CommandLineError(f"--token-file {path}: cannot read it ({exc.strerror or exc})") from exc
    token = data.split(b"\n", 1)[0].strip()
    if len(data) > MAX_TOKEN_BYTES:
        raise CommandLineError(f"--token-file {path}: longer than {MAX_TOKEN_BYTES} bytes; expected one token")
    if not token or any(byte < 0x21 or byte > 0x7E for byte in token):
        raise CommandLineError(f"--token-file {path}: expected one token of printable ASCII on its first line")
    return BearerToken(token)


class Server:
    """A ThreadingHTTPServer serving `routes` (path -> Route) in a daemon thread; a context manager."""

    def __init__(
        self,
        listen: Listen,
        routes: Mapping[str, Route],
        *,
        token: BearerToken | None = None,
        timeout_s: float = REQUEST_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        family, address = _resolve(listen)
        handler = _handler_class(routes, token, timeout_s)

        class _Bound(_CappedServer):
            address_family = family

        try:
            self._server = _Bound((address, listen.port), handler, max_connections=max_connections)
        except OSError as exc:
            raise UnavailableError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.2,), name="http", daemon=True)

    @property
    def address(self) -> Listen:
        """The address bound (the port filled in when 0 was asked for)."""
        host, port = self._server.server_address[:2]
        return Listen(str(host), int(port))

    @property
    def url(self) -> str:
        host = self.address.host
        return f"http://[{host}]:{self.address.port}" if ":" in host else f"http://{host}:{self.address.port}"

    def start(self) -> Server:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, let the requests being answered finish, close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _CappedServer(ThreadingHTTPServer):
    """At most `max_connections` handled at once; daemon threads, so a stuck client never holds up exit."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], *, max_connections: int):
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-answer is nothing to report; anything else, one line on stderr."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            print(f"claude-usage: serve: request failed ({type(error).__name__})", file=sys.stderr)


def _handler_class(
    routes: Mapping[str, Route], token: BearerToken | None, timeout_s: float
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = timeout_s

        def version_string(self) -> str:
            return "claude-usage"

        def do_GET(self) -> None:
            self._answer(head=False)

        def do_HEAD(self) -> None:
            self._answer(head=True)

        def _not_allowed(self) -> None:
            self._send(Response(405, b"method not allowed\n", headers=(("Allow", "GET, HEAD"),)), head=False)

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

        def _answer(self, *, head: bool) -> None:
            size = sum(len(name) + len(value) for name, value in self.headers.items())
            if size > MAX_HEADER_BYTES:
                self.close_connection = True
                self._send(Response(431, b"request header fields too large\n"), head=head)
                return
            if token is not None and not token.accepts(self.headers.get("Authorization")):
                challenge = (
                    ("WWW-Authenticate", 'Bearer realm="claude-usage"'),
                    ("WWW-Authenticate", 'Basic realm="claude-usage", charset="UTF-8"'),
                )
                self._send(Response(401, b"unauthorized: send the token of --token-file\n", headers=challenge), head)
                return
            path, _, query = self.path.partition("?")
            route = routes.get(path)
            if route is None:
                self._send(Response(404, b"not found\n"), head=head)
                return
            request = Request(self.command, path, query, {k.lower(): v for k, v in self.headers.items()})
            try:
                response = route(request)
            except Exception as exc:  # noqa: BLE001 - one failing page never stops the server
                print(f"claude-usage: serve: {path} failed ({type(exc).__name__}: {exc})", file=sys.stderr)
                response = Response(500, b"internal error\n")
            self._send(response, head=head)

        def _send(self, response: Response, head: bool) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in response.headers:
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not head:
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every few seconds would fill a journal; errors go through handle_error

    return Handler
