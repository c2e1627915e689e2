"""The serve command's HTTP server on 127.0.0.1: routes, the token, and bad requests that never stop it."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_usage.adapters.httpserver import (
    BearerToken,
    Listen,
    Request,
    Response,
    Server,
    is_loopback,
    parse_listen,
    read_token,
)
from claude_usage.errors import CommandLineError, UnavailableError
from tests.support.serve import get

TOKEN = "s3cret-scrape-token"


def _hello(request: Request) -> Response:
    return Response(200, b"hello\n")


def _boom(request: Request) -> Response:
    raise RuntimeError("a bug in a route")


ROUTES = {"/hello": _hello, "/boom": _boom}


@pytest.fixture
def server() -> Iterator[Server]:
    with Server(Listen("127.0.0.1", 0), ROUTES, timeout_s=1.0, max_connections=4) as running:
        yield running


@pytest.fixture
def guarded() -> Iterator[Server]:
    with Server(Listen("127.0.0.1", 0), ROUTES, token=BearerToken(TOKEN.encode())) as running:
        yield running


def _raw(server: Server, data: bytes, *, read_timeout: float = 5.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes (or the timeout)."""
    with socket.create_connection(("127.0.0.1", server.address.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def test_a_route_answers(server: Server) -> None:
    """A known path gets its route's answer."""
    assert (200, b"hello\n") == get(server.url + "/hello")[::2]


def test_an_unknown_path_is_404(server: Server) -> None:
    """Any other path is 404."""
    assert 404 == get(server.url + "/etc/passwd")[0]


def test_the_query_string_does_not_change_the_route(server: Server) -> None:
    """`/hello?x=1` is `/hello`."""
    assert 200 == get(server.url + "/hello?x=1")[0]


def test_other_methods_are_405(server: Server) -> None:
    """POST gets 405 with an Allow header."""
    answer = _raw(server, b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert (True, True) == (answer.startswith(b"HTTP/1.1 405"), b"Allow: GET, HEAD" in answer)


def test_head_has_no_body(server: Server) -> None:
    """HEAD answers the headers of GET, no body."""
    answer = _raw(server, b"HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (True, True) == (answer.startswith(b"HTTP/1.1 200"), answer.endswith(b"\r\n\r\n"))


def test_a_failing_route_is_500_and_the_server_goes_on(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    """A route that raises answers 500, says so on stderr, and the next request is served."""
    assert (500, 200) == (get(server.url + "/boom")[0], get(server.url + "/hello")[0])
    assert "/boom failed (RuntimeError" in capsys.readouterr().err


def test_huge_headers_are_431(server: Server) -> None:
    """Headers past 32 KiB in all get 431; the server goes on."""
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 8000) for i in range(5))
    answer = _raw(server, b"GET /hello HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert (True, 200) == (answer.startswith(b"HTTP/1.1 431"), get(server.url + "/hello")[0])


def test_one_enormous_header_line_is_431(server: Server) -> None:
    """A single header line past 64 KiB gets 431 from the parser itself."""
    answer = _raw(server, b"GET /hello HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431")


def test_a_malformed_request_line_is_400(server: Server) -> None:
    """A request line with too many words gets 400."""
    assert _raw(server, b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_garbage_never_stops_the_server(server: Server) -> None:
    """Bytes that are not HTTP at all (a TLS hello) get an error page; the next request is served."""
    assert b"400" in _raw(server, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 junk\r\n\r\n")
    assert 200 == get(server.url + "/hello")[0]


def test_a_slow_client_is_dropped_and_others_are_served(server: Server) -> None:
    """A client that sends half a request and stops is closed after the timeout; meanwhile others get answers."""
    with socket.create_connection(("127.0.0.1", server.address.port), timeout=5) as slow:
        slow.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        assert 200 == get(server.url + "/hello")[0]
        started = time.monotonic()
        assert b"" == slow.recv(1024)  # closed by the server
        assert time.monotonic() - started < 4.0


def test_too_many_connections_get_503(server: Server) -> None:
    """Past the cap of connections served at once, one more is answered 503; the server recovers after."""
    idle = [socket.create_connection(("127.0.0.1", server.address.port), timeout=5) for _ in range(4)]
    try:
        time.sleep(0.2)  # let the server accept them all
        answer = _raw(server, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    finally:
        for sock in idle:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503")
    deadline = time.monotonic() + 5
    while get(server.url + "/hello")[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_without_the_token_every_path_is_401(guarded: Server) -> None:
    """No Authorization header: 401 on known and unknown paths alike, with both challenges."""
    status, headers, _ = get(guarded.url + "/hello")
    assert (401, 401) == (status, get(guarded.url + "/nope")[0])
    assert "Bearer" in headers["www-authenticate"]


def test_a_wrong_token_is_401(guarded: Server) -> None:
    """The wrong bearer token gets 401."""
    assert 401 == get(guarded.url + "/hello", {"Authorization": "Bearer not-it"})[0]


def test_the_right_bearer_token_is_served(guarded: Server) -> None:
    """`Authorization: Bearer TOKEN` gets the route's answer."""
    assert 200 == get(guarded.url + "/hello", {"Authorization": f"Bearer {TOKEN}"})[0]


def test_basic_auth_with_the_token_as_password_is_served(guarded: Server) -> None:
    """HTTP Basic with any user name and the token as password is accepted (a browser can ask for it)."""
    basic = base64.b64encode(f"me:{TOKEN}".encode()).decode()
    wrong = base64.b64encode(b"me:nope").decode()
    assert (200, 401) == (
        get(guarded.url + "/hello", {"Authorization": f"Basic {basic}"})[0],
        get(guarded.url + "/hello", {"Authorization": f"Basic {wrong}"})[0],
    )


def test_the_token_never_shows_in_its_repr() -> None:
    """repr and str of the token hide it."""
    token = BearerToken(TOKEN.encode())
    assert (False, False) == (TOKEN in repr(token), TOKEN in str(token))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9464", Listen("127.0.0.1", 9464)),
        ("localhost:80", Listen("localhost", 80)),
        ("[::1]:9464", Listen("::1", 9464)),
        (":9464", Listen("", 9464)),
        ("0.0.0.0:0", Listen("0.0.0.0", 0)),  # noqa: S104 - parsed, not bound
    ],
)
def test_listen_addresses_parse(text: str, expected: Listen) -> None:
    """HOST:PORT, [IPv6]:PORT and :PORT parse."""
    assert expected == parse_listen(text)


@pytest.mark.parametrize("text", ["9464", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "::1:9464", ""])
def test_bad_listen_addresses_are_command_line_errors(text: str) -> None:
    """Anything else is a command-line error (exit 2)."""
    with pytest.raises(CommandLineError):
        parse_listen(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:1", True), ("127.8.9.10:1", True), ("localhost:1", True), ("0.0.0.0:1", False), (":1", False)],
)
def test_loopback_is_only_this_machine(text: str, expected: bool) -> None:
    """127.0.0.0/8 and localhost are loopback; every interface is not."""
    assert expected == is_loopback(parse_listen(text))


def test_a_port_in_use_is_unavailable(server: Server) -> None:
    """Listening where another server listens fails with a sentence naming the address."""
    with pytest.raises(UnavailableError, match=rf"cannot listen on 127\.0\.0\.1:{server.address.port}"):
        Server(Listen("127.0.0.1", server.address.port), ROUTES)


def test_the_token_file_gives_its_first_line(tmp_path: Path) -> None:
    """The token is the first line, stripped, as Prometheus's credentials_file sends it."""
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n# a comment line\n")
    assert read_token(path).accepts(f"Bearer {TOKEN}")


@pytest.mark.parametrize("content", ["", "\n\n", "two words\n", "x" * 5000])
def test_an_unusable_token_file_is_a_command_line_error(tmp_path: Path, content: str) -> None:
    """An empty, spaced or huge token file is refused (exit 2), and so is a missing one."""
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(CommandLineError, match="--token-file"):
        read_token(path)


def test_a_missing_token_file_is_a_command_line_error(tmp_path: Path) -> None:
    """A token file that is not there is refused with its name."""
    with pytest.raises(CommandLineError, match="cannot read it"):
        read_token(tmp_path / "absent")
