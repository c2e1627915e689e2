"""The usage client alone, through httpx.MockTransport: URL rules, User-Agent, headers, reply mapping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_usage.adapters.api import (
    FALLBACK_CLAUDE_CODE_VERSION,
    MAX_BODY_BYTES,
    UsageClient,
    resolve_base_url,
    user_agent,
)
from claude_usage.adapters.credentials import Secret
from claude_usage.errors import (
    AuthError,
    BadReply,
    ClaudeUsageError,
    CommandLineError,
    RateLimited,
    TokenRejected,
    UnavailableError,
)
from tests.conftest import load_fixture

TOKEN = "sk-ant-oat01-mock-transport-token-0123456789"
BASE = "https://usage.example.test"
URL = f"{BASE}/api/oauth/usage"
UA = "claude-cli/9.9.9 (external, cli)"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)

Handler = Callable[[httpx.Request], httpx.Response]


class FixedClock:
    """A clock stopped at NOW."""

    def now(self) -> datetime:
        return NOW

    def monotonic(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        pass


class Recorder:
    """A MockTransport handler that records each request and answers with one reply."""

    def __init__(self, reply: Callable[[], httpx.Response]) -> None:
        self.reply = reply
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply()


def replying(
    status: int = 200,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Recorder:
    """A recorder answering `status` with a JSON `body` (or raw `content`) and `headers`."""
    if content is None:
        return Recorder(lambda: httpx.Response(status, json=body, headers=headers))
    return Recorder(lambda: httpx.Response(status, content=content, headers=headers))


def raising(exc: Exception) -> Recorder:
    """A recorder whose transport fails with `exc`."""

    def fail() -> httpx.Response:
        raise exc

    return Recorder(fail)


def client(handler: Handler, **kwargs: Any) -> UsageClient:
    return UsageClient(BASE, user_agent=UA, transport=httpx.MockTransport(handler), clock=FixedClock(), **kwargs)


def fetch(handler: Handler, token: str = TOKEN, **kwargs: Any) -> dict[str, Any]:
    with client(handler, **kwargs) as usage_client:
        return usage_client.fetch(Secret(token))


def failure(handler: Handler, expected: type[ClaudeUsageError] = ClaudeUsageError) -> ClaudeUsageError:
    """The error `fetch` raises against `handler`."""
    with pytest.raises(expected) as info:
        fetch(handler)
    return info.value


def sent(header: str) -> str | None:
    recorder = replying(200, load_fixture("max-typical"))
    fetch(recorder)
    value: str | None = recorder.requests[0].headers.get(header)
    return value


# --- the request -------------------------------------------------------------------------------------


def test_sends_bearer_token() -> None:
    """The token goes in the Authorization header as a bearer token."""
    assert f"Bearer {TOKEN}" == sent("Authorization")


def test_sends_oauth_beta_header() -> None:
    """The OAuth beta header Claude Code sends is sent."""
    assert "oauth-2025-04-20" == sent("anthropic-beta")


def test_sends_json_content_type() -> None:
    """Content-Type is application/json, as Claude Code sends it."""
    assert "application/json" == sent("Content-Type")


def test_sends_given_user_agent() -> None:
    """The User-Agent is the one the client was built with."""
    assert UA == sent("User-Agent")


def test_gets_plain_usage_path() -> None:
    """One GET of the plain usage path, without a query."""
    recorder = replying(200, load_fixture("max-typical"))
    fetch(recorder)
    assert [("GET", URL)] == [(r.method, str(r.url)) for r in recorder.requests]


def test_token_with_newline_is_never_sent() -> None:
    """A token a header cannot carry raises AuthError before any request."""
    recorder = replying(200, load_fixture("max-typical"))
    with pytest.raises(AuthError):
        fetch(recorder, token=TOKEN + "\r\nX-Evil: 1")
    assert [] == recorder.requests


def test_user_agent_must_be_ascii() -> None:
    """A User-Agent a header cannot carry is refused when the client is built."""
    with pytest.raises(CommandLineError):
        UsageClient(BASE, user_agent="claude-cli/1 (é)")


def test_close_closes_transport() -> None:
    """Leaving the context manager closes the transport a request used."""
    closed: list[bool] = []

    class Transport(httpx.MockTransport):
        def close(self) -> None:
            closed.append(True)

    with UsageClient(BASE, user_agent=UA, transport=Transport(replying(200, load_fixture("max-typical")))) as client:
        client.fetch(Secret(TOKEN))
    assert [True] == closed


def test_no_request_means_no_http_client() -> None:
    """A client that never sends builds nothing: readings from the store never pay for httpx."""
    probe = (
        "import sys; from claude_usage.adapters.api import UsageClient; "
        "UsageClient('https://api.anthropic.com', user_agent='x').close(); print('httpx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "False" == out.stdout.strip()


# --- 200 ---------------------------------------------------------------------------------------------


def test_returns_usage_reply() -> None:
    """A 200 usage reply comes back as the decoded JSON object."""
    reply = load_fixture("max-typical")
    assert reply == fetch(replying(200, reply))


def test_in_band_rate_limit_is_rate_limited() -> None:
    """A 200 whose body is a rate_limit_error raises RateLimited."""
    failure(replying(200, load_fixture("error-429")), RateLimited)


def test_in_band_rate_limit_reads_retry_after() -> None:
    """An in-band rate limit takes its wait from the Retry-After header."""
    error = failure(replying(200, load_fixture("error-429"), headers={"Retry-After": "90"}), RateLimited)
    assert isinstance(error, RateLimited)
    assert 90.0 == error.retry_after_s


def test_fieldless_reply_is_bad_reply() -> None:
    """A 200 object without any usage field raises BadReply naming the error."""
    error = failure(replying(200, {"error": {"type": "overloaded_error", "message": "busy"}}), BadReply)
    assert f"{URL} answered HTTP 200 without any usage fields (overloaded_error: busy)" == str(error)


def test_html_reply_is_bad_reply() -> None:
    """A 200 HTML page (a captive portal) raises BadReply saying so."""
    html = b"<!doctype html><html><body>Sign in to the Wi-Fi</body></html>"
    recorder = replying(200, content=html, headers={"Content-Type": "text/html; charset=utf-8"})
    error = failure(recorder, BadReply)
    assert f"{URL} returned HTML, not the usage JSON (HTTP 200, text/html)" == str(error)


def test_json_array_is_bad_reply() -> None:
    """A 200 JSON value that is not an object raises BadReply."""
    error = failure(replying(200, [1, 2]), BadReply)
    assert f"{URL} returned JSON that is not an object, not the usage JSON (HTTP 200, application/json)" == str(error)


def test_empty_reply_is_bad_reply() -> None:
    """An empty 200 raises BadReply saying it was empty."""
    error = failure(replying(200, content=b""), BadReply)
    assert f"{URL} returned an empty body, not the usage JSON (HTTP 200, no content type)" == str(error)


def test_unreadable_reply_names_the_url() -> None:
    """A 200 reply the parser refuses raises BadReply naming the URL and the JSON path."""
    error = failure(replying(200, {"five_hour": {"utilization": 10**400, "resets_at": None}}), BadReply)
    assert f"{URL} sent a reply that cannot be read: five_hour.utilization: number out of range" == str(error)


def test_deeply_nested_json_is_bad_reply() -> None:
    """JSON nested too deep to decode is a BadReply, not a RecursionError."""
    failure(replying(200, content=b"[" * 200_000), BadReply)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_number_is_bad_reply(constant: str) -> None:
    """A reply carrying NaN or an infinity (which JSON does not have) is a BadReply, not passed on."""
    body = json.dumps(load_fixture("max-typical")).replace('"utilization": ', f'"utilization": {constant}, "x": ', 1)
    error = failure(replying(200, content=body.encode(), headers={"Content-Type": "application/json"}), BadReply)
    assert f"{URL} returned non-JSON, not the usage JSON (HTTP 200, application/json)" == str(error)


def test_declared_oversized_body_is_refused() -> None:
    """A reply declaring more than the cap is refused as BadReply."""
    headers = {"Content-Length": str(MAX_BODY_BYTES + 1)}
    failure(replying(200, content=b"{}", headers=headers), BadReply)


def test_streamed_oversized_body_is_refused() -> None:
    """A chunked reply that grows past the cap is refused as BadReply."""

    def chunks() -> Iterator[bytes]:
        while True:
            yield b" " * 65536

    failure(Recorder(lambda: httpx.Response(200, content=chunks())), BadReply)


# --- 4xx and 5xx -------------------------------------------------------------------------------------


def test_401_is_token_rejected() -> None:
    """A 401 raises TokenRejected with status 401."""
    error = failure(replying(401, load_fixture("error-401-expired")), TokenRejected)
    assert isinstance(error, TokenRejected)
    assert 401 == error.status


def test_401_message_quotes_server() -> None:
    """A 401's message quotes the server's reason and says how to fix it."""
    error = failure(replying(401, load_fixture("error-401-expired")))
    expected = (
        f"{URL} rejected the token (401: OAuth access token has expired. Re-authenticate to continue.); "
        "run `claude` to refresh the login"
    )
    assert expected == str(error)


def test_403_is_token_rejected() -> None:
    """A 403 raises TokenRejected with status 403."""
    error = failure(replying(403, load_fixture("error-403-scope")), TokenRejected)
    assert isinstance(error, TokenRejected)
    assert 403 == error.status


def test_403_message_quotes_scope() -> None:
    """A 403's message carries the server's scope requirement."""
    error = failure(replying(403, load_fixture("error-403-scope")))
    assert "(403: OAuth token does not meet scope requirement user:profile)" in str(error)


def test_server_message_is_truncated_to_one_line() -> None:
    """A long multi-line server message becomes one line of at most 200 characters."""
    body = {"error": {"type": "authentication_error", "message": "line\n" * 100}}
    message = str(failure(replying(401, body)))
    quoted = message.split("(401: ", 1)[1].split(")", 1)[0]
    assert (False, 200) == ("\n" in message, len(quoted))


def test_server_echo_of_token_is_redacted() -> None:
    """A server message that echoes the token does not carry it into ours."""
    body = {"error": {"type": "authentication_error", "message": f"bad bearer {TOKEN}"}}
    assert "(401: bad bearer <redacted>)" in str(failure(replying(401, body)))


def control_characters(text: str) -> list[str]:
    return [char for char in text if ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F]


def test_server_message_loses_terminal_escapes() -> None:
    """Escape sequences in a server message are dropped whole, and BEL too; plain spaces stay."""
    body = {"error": {"type": "authentication_error", "message": "\x1b]0;pwned\x07 \x1b[2J\x9b2J ok"}}
    message = str(failure(replying(401, body)))
    expected = f"{URL} rejected the token (401: ok); run `claude` to refresh the login"
    assert (expected, []) == (message, control_characters(message))


def test_in_band_error_type_loses_terminal_escapes() -> None:
    """The error type of a fieldless 200 reaches the message without escape sequences or control characters."""
    body = {"error": {"type": "overloaded\x1b[2J_error", "message": "busy\x07"}}
    error = failure(replying(200, body), BadReply)
    assert f"{URL} answered HTTP 200 without any usage fields (overloaded_error: busy)" == str(error)


def test_partial_token_echo_is_redacted() -> None:
    """A server quoting the token's first 30 characters does not get them into our message."""
    body = {"error": {"type": "api_error", "message": f"token {TOKEN[:30]} is odd"}}
    message = str(failure(replying(500, body), UnavailableError))
    assert f"{URL} answered HTTP 500: token <redacted> is odd" == message


def test_token_middle_echo_is_redacted() -> None:
    """Twelve or more characters from inside the token are redacted too."""
    body = {"error": {"type": "api_error", "message": f"token ...{TOKEN[10:32]}... is odd"}}
    message = str(failure(replying(500, body), UnavailableError))
    assert f"{URL} answered HTTP 500: token ...<redacted>... is odd" == message


def test_other_anthropic_token_is_redacted() -> None:
    """Anything shaped like an Anthropic key or token is redacted, even if it is not ours."""
    body = {"error": {"type": "api_error", "message": "key sk-ant-api03-Someone_else-99 leaked"}}
    message = str(failure(replying(500, body), UnavailableError))
    assert f"{URL} answered HTTP 500: key <redacted> leaked" == message


def test_429_reads_retry_after_seconds() -> None:
    """A 429's Retry-After in seconds sets retry_after_s and retry_at."""
    error = failure(replying(429, load_fixture("error-429"), headers={"Retry-After": "120"}), RateLimited)
    assert isinstance(error, RateLimited)
    assert (120.0, NOW + timedelta(seconds=120)) == (error.retry_after_s, error.retry_at)


def test_429_reads_retry_after_http_date() -> None:
    """A 429's Retry-After as an HTTP date is turned into seconds from now."""
    headers = {"Retry-After": "Fri, 01 May 2026 12:10:00 GMT"}
    error = failure(replying(429, load_fixture("error-429"), headers=headers), RateLimited)
    assert isinstance(error, RateLimited)
    assert (600.0, NOW + timedelta(minutes=10)) == (error.retry_after_s, error.retry_at)


def test_429_without_retry_after() -> None:
    """A 429 without Retry-After leaves both retry fields None."""
    error = failure(replying(429, load_fixture("error-429")), RateLimited)
    assert isinstance(error, RateLimited)
    assert (None, None) == (error.retry_after_s, error.retry_at)


def test_429_infinite_retry_after_counts_as_none() -> None:
    """An infinite Retry-After counts as none (the default cooldown applies) instead of overflowing."""
    error = failure(replying(429, load_fixture("error-429"), headers={"Retry-After": "1e400"}), RateLimited)
    assert isinstance(error, RateLimited)
    assert error.retry_after_s is None


def test_429_message() -> None:
    """A 429's message names the URL, the server's reason and the wait."""
    error = failure(replying(429, load_fixture("error-429"), headers={"Retry-After": "30"}))
    expected = f"{URL} is rate limiting usage reads (HTTP 429: Rate limited. Please try again later.); retry after 30 s"
    assert expected == str(error)


def test_503_is_unavailable() -> None:
    """A 5xx raises UnavailableError naming the status."""
    error = failure(replying(503, content=b"<html>down</html>"), UnavailableError)
    assert (UnavailableError, f"{URL} answered HTTP 503") == (type(error), str(error))


def test_404_is_unavailable_with_message() -> None:
    """Another 4xx raises UnavailableError with the status and the server's message."""
    body = {"error": {"type": "not_found_error", "message": "Not found"}}
    error = failure(replying(404, body), UnavailableError)
    assert (UnavailableError, f"{URL} answered HTTP 404: Not found") == (type(error), str(error))


def test_redirect_is_not_followed() -> None:
    """A redirect is reported, never followed (the token must not travel to another host)."""
    recorder = replying(302, content=b"", headers={"Location": "https://elsewhere.test/login"})
    error = failure(recorder, UnavailableError)
    expected = f"{URL} answered HTTP 302, a redirect to https://elsewhere.test/login (not followed)"
    assert (expected, 1) == (str(error), len(recorder.requests))


def test_no_retry_on_5xx() -> None:
    """A failing fetch sends exactly one request."""
    recorder = replying(500, content=b"")
    failure(recorder)
    assert 1 == len(recorder.requests)


# --- transport failures ------------------------------------------------------------------------------


def test_read_timeout_is_unavailable() -> None:
    """A read timeout says how long it waited and where."""
    error = failure(raising(httpx.ReadTimeout("timed out")), UnavailableError)
    assert f"timed out after 5 s talking to {URL}" == str(error)


def test_connect_timeout_names_connect_timeout() -> None:
    """A connect timeout reports the connect timeout."""
    with pytest.raises(UnavailableError) as info:
        fetch(raising(httpx.ConnectTimeout("timed out")), connect_timeout_s=1.5)
    assert f"timed out after 1.5 s talking to {URL}" == str(info.value)


def test_connect_error_is_unavailable() -> None:
    """A refused connection says it cannot reach the URL, and why."""
    error = failure(raising(httpx.ConnectError("[Errno 111] Connection refused")), UnavailableError)
    assert f"cannot reach {URL}: [Errno 111] Connection refused" == str(error)


def test_transport_error_is_chained() -> None:
    """The httpx error is kept as the cause."""
    cause = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    assert cause is failure(raising(cause)).__cause__


def test_os_error_is_unavailable() -> None:
    """An OSError from below httpx is an UnavailableError too."""
    error = failure(raising(OSError("network is down")), UnavailableError)
    assert f"cannot reach {URL}: network is down" == str(error)


def test_transport_error_text_never_shows_token() -> None:
    """An error text quoting the token is redacted."""
    error = failure(raising(httpx.LocalProtocolError(f"Illegal header value b'Bearer {TOKEN}'")))
    assert f"cannot reach {URL}: Illegal header value b'Bearer <redacted>'" == str(error)


# --- resolve_base_url --------------------------------------------------------------------------------


def test_default_base_url() -> None:
    """Without override or environment, the Anthropic API is used."""
    assert ("https://api.anthropic.com", False) == resolve_base_url({})


def test_base_url_from_environment() -> None:
    """CLAUDE_USAGE_API_URL sets the base URL."""
    assert ("https://proxy.example.test", False) == resolve_base_url(
        {"CLAUDE_USAGE_API_URL": "https://proxy.example.test"}
    )


def test_override_beats_environment() -> None:
    """An explicit override wins over the environment."""
    env = {"CLAUDE_USAGE_API_URL": "https://env.example.test"}
    assert ("https://flag.example.test", False) == resolve_base_url(env, "https://flag.example.test")


def test_trailing_slash_is_stripped() -> None:
    """Trailing slashes are removed from the base URL."""
    assert ("https://api.example.test/prefix", False) == resolve_base_url({}, "https://api.example.test/prefix/")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://localhost:1234",
        "http://LOCALHOST",
        "http://[::1]:9000",
        "http://[::1%25lo0]:9000",
        "https://127.0.0.1:8443",
    ],
)
def test_loopback_urls_are_allowed(url: str) -> None:
    """Loopback hosts are accepted, over http too, and reported as loopback."""
    assert (url, True) == resolve_base_url({}, url)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://10.0.0.1:8080",
        "http://localhost.example.com",
        "ftp://127.0.0.1",
        "file:///etc/passwd",
        "api.anthropic.com",
        "https://",
        "https://api.example.test:99999",
        "https://api.example.test/?x=1",
        "http://127.0.0.1%40evil.com",
        "https://127.0.0.1%40evil.com",
        "http://localhost%2eevil.com",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    """Non-http(s) schemes, missing hosts, bad ports, queries and remote plain http are refused."""
    with pytest.raises(CommandLineError):
        resolve_base_url({}, url)


def test_refusal_names_url() -> None:
    """The refusal of remote plain http names the URL."""
    with pytest.raises(CommandLineError) as info:
        resolve_base_url({"CLAUDE_USAGE_API_URL": "http://example.com"})
    assert "'http://example.com'" in str(info.value)


def test_credentials_in_url_are_refused_unshown() -> None:
    """A URL with a password is refused without showing the password."""
    with pytest.raises(CommandLineError) as info:
        resolve_base_url({}, "https://user:hunter2@api.example.test")
    assert "hunter2" not in str(info.value)


# --- user_agent --------------------------------------------------------------------------------------


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), **extra}


def test_user_agent_override() -> None:
    """CLAUDE_USAGE_USER_AGENT is used as it is."""
    assert "my-agent/1.0" == user_agent({"CLAUDE_USAGE_USER_AGENT": "my-agent/1.0"}, system_npm_roots=())


def test_user_agent_override_must_be_ascii() -> None:
    """A CLAUDE_USAGE_USER_AGENT a header cannot carry is refused."""
    with pytest.raises(CommandLineError):
        user_agent({"CLAUDE_USAGE_USER_AGENT": "agent\nX-Evil: 1"})


def test_user_agent_fallback_version(home: Path) -> None:
    """Without an installed Claude Code, the fallback version is claimed."""
    expected = f"claude-cli/{FALLBACK_CLAUDE_CODE_VERSION} (external, cli)"
    assert expected == user_agent(env_for(home), system_npm_roots=())


def test_user_agent_entrypoint(home: Path) -> None:
    """CLAUDE_CODE_ENTRYPOINT names the entrypoint."""
    env = env_for(home, CLAUDE_CODE_ENTRYPOINT="sdk-ts")
    assert f"claude-cli/{FALLBACK_CLAUDE_CODE_VERSION} (external, sdk-ts)" == user_agent(env, system_npm_roots=())


def test_user_agent_odd_entrypoint_is_cli(home: Path) -> None:
    """An entrypoint that would garble the header falls back to cli."""
    env = env_for(home, CLAUDE_CODE_ENTRYPOINT="x) evil (")
    assert f"claude-cli/{FALLBACK_CLAUDE_CODE_VERSION} (external, cli)" == user_agent(env, system_npm_roots=())


def versions_dir(home: Path, *names: str) -> Path:
    versions = home / ".local" / "share" / "claude" / "versions"
    versions.mkdir(parents=True)
    for name in names:
        (versions / name).write_bytes(b"")
    return versions


def test_user_agent_newest_native_version(home: Path) -> None:
    """The newest version-named entry of the native installer's versions directory is claimed."""
    versions_dir(home, "2.1.9", "2.1.10", "2.0.400", "2.1.11.tmp", "latest")
    assert "claude-cli/2.1.10 (external, cli)" == user_agent(env_for(home), system_npm_roots=())


def test_user_agent_launcher_version(home: Path) -> None:
    """The version the native `claude` launcher points at wins over newer downloads."""
    versions = versions_dir(home, "2.1.9", "2.1.10")
    launcher = home / ".local" / "bin" / "claude"
    launcher.parent.mkdir(parents=True)
    os.symlink(versions / "2.1.9", launcher)
    assert "claude-cli/2.1.9 (external, cli)" == user_agent(env_for(home), system_npm_roots=())


def npm_package(root: Path, version: object) -> None:
    package = root / "@anthropic-ai" / "claude-code"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@anthropic-ai/claude-code", "version": version}))


def test_user_agent_npm_global_version(home: Path) -> None:
    """A user-level global npm install's package.json gives the version."""
    npm_package(home / ".npm-global" / "lib" / "node_modules", "2.1.300")
    assert "claude-cli/2.1.300 (external, cli)" == user_agent(env_for(home), system_npm_roots=())


def test_user_agent_system_npm_version(home: Path, tmp_path: Path) -> None:
    """A system-wide npm install's package.json gives the version."""
    npm_package(tmp_path / "usr-lib", "2.1.301")
    assert "claude-cli/2.1.301 (external, cli)" == user_agent(env_for(home), system_npm_roots=(tmp_path / "usr-lib",))


def test_user_agent_ignores_odd_npm_version(home: Path) -> None:
    """A package.json version that is not a plain version number is ignored."""
    npm_package(home / ".npm-global" / "lib" / "node_modules", "2.1.1\r\nX-Evil: 1")
    expected = f"claude-cli/{FALLBACK_CLAUDE_CODE_VERSION} (external, cli)"
    assert expected == user_agent(env_for(home), system_npm_roots=())
