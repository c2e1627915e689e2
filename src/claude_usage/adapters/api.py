"""The httpx client of the usage endpoint: one GET, its reply or one of our errors.

This module owns the request (URL, headers, timeouts, proxies) and the mapping of every HTTP outcome
to `claude_usage.errors`; it is the only module that imports httpx. It sends exactly one request per
`fetch` and never retries: the service owns the retry policy (`core/budget.py`). Error messages are one
line, name the URL and never contain the token (server text is redacted and truncated, too).

Light at module level, because the one-shot path imports it even when the store answers: httpx, the wire
parser (and with it the model), `email.utils`, `ipaddress` and `urllib.parse` load only when needed.
"""

from __future__ import annotations

import json
import math
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_usage.adapters.paths import home, read_regular
from claude_usage.clock import SystemClock
from claude_usage.errors import (
    AuthError,
    BadReply,
    CommandLineError,
    RateLimited,
    TokenRejected,
    UnavailableError,
)

if TYPE_CHECKING:
    import socket
    import threading
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from types import TracebackType

    import httpx

    from claude_usage.adapters.credentials import Secret
    from claude_usage.clock import Clock

DEFAULT_BASE_URL = "https://api.anthropic.com"
USAGE_PATH = "/api/oauth/usage"
FALLBACK_CLAUDE_CODE_VERSION = "2.1.332"
OAUTH_BETA = "oauth-2025-04-20"
# A usage reply is a few kilobytes; anything this big is not one (and must not eat our memory).
MAX_BODY_BYTES = 1024 * 1024
# How much of a server's error message goes into ours (Claude Code shows up to 200 characters).
MAX_MESSAGE_CHARS = 200
# After a request's deadline, how long to wait for its worker to notice its sockets were shut down.
_SETTLE_S = 0.25
# Retry-After values beyond this are treated as this (the budget caps cooldowns at an hour anyway).
MAX_RETRY_AFTER_S = 7 * 24 * 3600.0
# Where a system-wide `npm install -g` puts packages (user-level prefixes are derived from the env).
SYSTEM_NPM_ROOTS: tuple[Path, ...] = (
    Path("/usr/local/lib/node_modules"),
    Path("/opt/homebrew/lib/node_modules"),
    Path("/usr/lib/node_modules"),
)

_VERSION = re.compile(r"\d{1,6}\.\d{1,6}\.\d{1,6}")
_ENTRYPOINT = re.compile(r"[A-Za-z0-9._/-]{1,64}")
_TOKEN = re.compile(r"[\x21-\x7e]+")
_HEADER_TEXT = re.compile(r"[\x20-\x7e]+")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
_IPV4_CHARS = re.compile(r"[0-9.]+")  # all an IPv4 address (the only kind without a `:`) can be made of


def resolve_base_url(env: Mapping[str, str], override: str | None = None) -> tuple[str, bool]:
    """(base URL without trailing slash, is_loopback) from `override`, $CLAUDE_USAGE_API_URL or the default.

    Refuses (CommandLineError, before anything is sent) a scheme other than http/https, a URL without a
    host, credentials or a query in the URL, and plain http to anything but a loopback host: the token
    must not cross a network in clear text.
    """
    raw = override if override is not None else (env.get("CLAUDE_USAGE_API_URL") or DEFAULT_BASE_URL)
    text = raw.strip()
    if text == DEFAULT_BASE_URL:
        return text, False  # known good: no URL parser (from 3.12 `urllib.parse` loads `ipaddress`, ~5 ms)
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port  # validates the port (raises ValueError)
    except ValueError as exc:
        raise CommandLineError(f"API URL {_redact_userinfo(text)!r} is not a valid URL: {exc}") from exc
    shown = _redact_userinfo(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise CommandLineError(f"API URL {shown!r} must start with https:// (or http:// for a loopback host)")
    if not host:
        raise CommandLineError(f"API URL {shown!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise CommandLineError(f"API URL {shown!r} must not contain credentials: the token is sent in a header")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise CommandLineError(f"API URL {shown!r} must not contain a query or fragment")
    if "%" in host and ":" not in host:
        # `%` only separates an IPv6 zone; elsewhere `127.0.0.1%40evil.com` would pass for loopback.
        raise CommandLineError(f"API URL {shown!r} has a host with a '%' in it, which only an IPv6 address may have")
    loopback = _is_loopback(host)
    if scheme == "http" and not loopback:
        raise CommandLineError(
            f"API URL {shown!r} uses plain http to a host that is not loopback; use https:// "
            "(http:// is allowed only for 127.0.0.1, ::1 and localhost)"
        )
    return text.rstrip("/"), loopback


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    if ":" in host:  # an IPv6 literal, where `%` starts a zone (`::1%25lo0`)
        host = host.split("%", 1)[0]
    elif not _IPV4_CHARS.fullmatch(host):
        return False  # a name: no need to load `ipaddress` (~5 ms) to learn it is not an address
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redact_userinfo(url: str) -> str:
    """The URL with any `user:password@` replaced, so that a message never shows a password."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@", r"\1***@", url)


def user_agent(env: Mapping[str, str], *, system_npm_roots: Sequence[Path] = SYSTEM_NPM_ROOTS) -> str:
    """$CLAUDE_USAGE_USER_AGENT, else Claude Code's own: `claude-cli/<version> (external, <entrypoint>)`.

    The version is that of the installed Claude Code where a file says so cheaply (no subprocess),
    else FALLBACK_CLAUDE_CODE_VERSION.
    """
    override = (env.get("CLAUDE_USAGE_USER_AGENT") or "").strip()
    if override:
        if not _HEADER_TEXT.fullmatch(override):
            raise CommandLineError("CLAUDE_USAGE_USER_AGENT must be printable ASCII (it is sent as a header)")
        return override
    entrypoint = env.get("CLAUDE_CODE_ENTRYPOINT") or "cli"
    if not _ENTRYPOINT.fullmatch(entrypoint):
        entrypoint = "cli"
    version = installed_claude_code_version(env, system_npm_roots=system_npm_roots)
    return f"claude-cli/{version or FALLBACK_CLAUDE_CODE_VERSION} (external, {entrypoint})"


def installed_claude_code_version(
    env: Mapping[str, str], *, system_npm_roots: Sequence[Path] = SYSTEM_NPM_ROOTS
) -> str | None:
    """The installed Claude Code's version from the native installer's files or a global npm install."""
    user_home = Path(home(env))
    data_homes = [user_home / ".local" / "share"]
    if env.get("XDG_DATA_HOME"):
        data_homes.insert(0, Path(env["XDG_DATA_HOME"]))
    for data_home in data_homes:
        versions = data_home / "claude" / "versions"
        version = _launcher_version(user_home / ".local" / "bin" / "claude", versions)
        version = version or _newest_version(versions)
        if version:
            return version
    for root in (*_user_npm_roots(env, user_home), *system_npm_roots):
        version = _package_version(root / "@anthropic-ai" / "claude-code" / "package.json")
        if version:
            return version
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split("."))


def _launcher_version(launcher: Path, versions: Path) -> str | None:
    """The version the native installer's `claude` symlink points at, if it points into `versions`."""
    try:
        target = Path(os.readlink(launcher))
    except (OSError, ValueError):
        return None
    if not target.is_absolute():
        target = launcher.parent / target
    if target.parent != versions or not _VERSION.fullmatch(target.name):
        return None
    return target.name


def _newest_version(versions: Path) -> str | None:
    try:
        names = [entry.name for entry in os.scandir(versions) if _VERSION.fullmatch(entry.name)]
    except OSError:
        return None
    return max(names, key=_version_key) if names else None


def _user_npm_roots(env: Mapping[str, str], user_home: Path) -> Iterator[Path]:
    for name in ("NPM_CONFIG_PREFIX", "npm_config_prefix"):
        if env.get(name):
            prefix = Path(env[name])
            yield prefix / "lib" / "node_modules"
            yield prefix / "node_modules"  # Windows layout
    if env.get("NVM_BIN"):
        yield Path(env["NVM_BIN"]).parent / "lib" / "node_modules"
    yield user_home / ".npm-global" / "lib" / "node_modules"
    if env.get("APPDATA"):
        yield Path(env["APPDATA"]) / "npm" / "node_modules"


def _package_version(package_json: Path) -> str | None:
    try:
        raw, _ = read_regular(str(package_json), 64 * 1024)  # a named pipe is not waited on
        data = json.loads(raw)
    except (OSError, ValueError, RecursionError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) and _VERSION.fullmatch(version) else None


class UsageClient:
    """One keep-alive HTTP client of the usage endpoint; `fetch` sends one GET per call.

    `base_url` (no trailing slash), `url` (the endpoint) and the timeouts (seconds) are public: the
    service names the URL and plans its waits with them.
    """

    def __init__(
        self,
        base_url: str,
        *,
        user_agent: str,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}{USAGE_PATH}"
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.last_reply_date: datetime | None = None  # the server's `Date` of its last reply (clock sanity)
        self._clock: Clock = clock or SystemClock()
        if not _HEADER_TEXT.fullmatch(user_agent):
            raise CommandLineError("the User-Agent must be printable ASCII (it is sent as a header)")
        self._loopback = False
        if self.base_url != DEFAULT_BASE_URL:  # the default needs no URL parser (see resolve_base_url)
            from urllib.parse import urlsplit

            parts = urlsplit(self.url)
            if parts.username is not None or parts.password is not None:
                # httpx would send them as Basic auth instead of the bearer token.
                raise CommandLineError(f"API URL {_redact_userinfo(base_url)!r} must not contain credentials")
            self._loopback = _is_loopback(parts.hostname or "")
        self._user_agent = user_agent
        self._transport = transport
        self._client: httpx.Client | None = None  # built at the first request: a reading from the store needs none
        self._sockets = _Sockets()

    def _http(self) -> httpx.Client:
        """The pooled client, built (and httpx imported, ~70 ms) when the first request is about to go out."""
        if self._client is not None:
            return self._client
        import httpx

        try:
            self._request_url = httpx.URL(self.url)
            self._client = httpx.Client(
                headers={
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                    "User-Agent": self._user_agent,
                    "anthropic-beta": OAUTH_BETA,
                },
                timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s),
                follow_redirects=False,
                # Proxy variables are honoured, except for a loopback stand-in (the demo, the tests),
                # which a corporate proxy could not reach anyway.
                trust_env=not self._loopback,
                transport=self._transport,
            )
        except (httpx.InvalidURL, OSError, ValueError) as exc:
            raise CommandLineError(f"cannot set up an HTTP client for {self.url}: {_one_line(str(exc))}") from exc
        return self._client

    def __enter__(self) -> UsageClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        if self._client is not None:
            self._client.close()

    def fetch(self, token: Secret) -> dict[str, Any]:
        """One GET of the usage endpoint; the raw reply (a JSON object `core.wire.parse_usage` reads) on
        success, else one of our errors.

        The whole request (connect, headers, body) ends within `timeout_s`, however slowly the server talks.
        """
        bearer = token.reveal()
        if not _TOKEN.fullmatch(bearer):
            raise AuthError(
                "the token is empty or has characters an HTTP header cannot carry; run `claude` to log in again"
            )
        from claude_usage.adapters.redact import remember

        remember(bearer)  # whatever the token's source, no traceback or message of this process shows it
        client = self._http()
        import httpx

        try:
            response, body = self._exchange(client, bearer)
        except _Expired as exc:
            raise self._timed_out(self.timeout_s) from exc.__cause__
        except httpx.TimeoutException as exc:
            waited = self.connect_timeout_s if isinstance(exc, httpx.ConnectTimeout) else self.timeout_s
            raise self._timed_out(waited) from exc
        except httpx.DecodingError as exc:
            raise BadReply(f"{self.url} sent a reply that cannot be decoded: {_one_line(str(exc), bearer)}") from exc
        except (httpx.HTTPError, OSError) as exc:
            raise UnavailableError(f"cannot reach {self.url}: {_reason(exc, bearer)}") from exc
        return self._interpret(response, body, bearer)

    def _exchange(self, client: httpx.Client, bearer: str) -> tuple[httpx.Response, bytes]:
        """The response and its body, or `_Expired` once `timeout_s` has passed, whatever the request waits for.

        httpx's timeouts bound each wait for the network, not the request: a server sending one header byte
        every half second never trips them, and a name lookup or a TLS handshake is not bounded by them at
        all. So the request runs in a worker thread, and at the deadline this thread stops waiting for it and
        shuts down the client's sockets, which wakes the worker's blocked read (it ends with an httpx error
        nobody waits for).
        """
        import threading

        done = threading.Event()
        expired = threading.Event()
        outcome: list[tuple[httpx.Response, bytes] | BaseException] = []
        headers = {"Authorization": f"Bearer {bearer}"}
        extensions = {"trace": self._sockets.tracer(expired)}

        def send() -> None:
            try:
                with client.stream("GET", self._request_url, headers=headers, extensions=extensions) as response:
                    outcome.append((response, self._read_capped(response)))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, which raises it
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=send, name="claude-usage-request", daemon=True).start()
        if not done.wait(self.timeout_s):
            expired.set()
            self._sockets.shut_down()
            done.wait(_SETTLE_S)  # for the cause (`--debug`), and so the connection is dropped, not reused
            cause = outcome[0] if outcome else None
            if not isinstance(cause, tuple):
                raise _Expired from cause
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _read_capped(self, response: httpx.Response) -> bytes:
        """The body, refused past MAX_BODY_BYTES (by its Content-Length, or as it arrives)."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise self._too_big(response.status_code)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise self._too_big(response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    def _timed_out(self, waited: float) -> UnavailableError:
        return UnavailableError(f"timed out after {waited:g} s talking to {self.url}")

    def _too_big(self, status: int) -> BadReply:
        return BadReply(f"{self.url} sent a reply over {MAX_BODY_BYTES // 1024} KiB (HTTP {status}); refused")

    def _interpret(self, response: httpx.Response, body: bytes, bearer: str) -> dict[str, Any]:
        self.last_reply_date = _reply_date(response.headers.get("Date"))
        status = response.status_code
        parsed = _json(body)
        message = _error_message(parsed, bearer)
        detail = f": {message}" if message else ""
        if 200 <= status < 300:
            if not isinstance(parsed, dict):
                what = _describe_non_json(parsed, body, response)
                content_type = _content_type(response) or "no content type"
                raise BadReply(f"{self.url} returned {what}, not the usage JSON (HTTP {status}, {content_type})")
            from claude_usage.core.wire import in_band_error, parse_usage  # here: a reading from the store loads none

            error = in_band_error(parsed)
            if error is None:
                try:
                    parse_usage(parsed)  # a few kilobytes: checked here, so that the error names the URL
                except BadReply as exc:
                    raise BadReply(
                        f"{self.url} sent a reply that cannot be read: {_one_line(str(exc), bearer)}"
                    ) from exc
                return parsed
            kind, text = error
            kind, text = _one_line(kind, bearer, limit=60), _one_line(text, bearer)
            if kind == "rate_limit_error":
                raise self._rate_limited(response, f"HTTP {status} carrying a rate_limit_error: {text}")
            raise BadReply(f"{self.url} answered HTTP {status} without any usage fields ({kind}: {text})")
        if status == 401:
            raise TokenRejected(
                f"{self.url} rejected the token (401{detail}); run `claude` to refresh the login", status=401
            )
        if status == 403:
            raise TokenRejected(
                f"{self.url} refused the token (403{detail}); reading usage needs a `claude` login "
                "with the user:profile scope",
                status=403,
            )
        if status == 429:
            raise self._rate_limited(response, f"HTTP 429{detail}")
        if 300 <= status < 400:
            location = _one_line(response.headers.get("Location", ""), bearer, limit=100)
            target = f" to {location}" if location else ""
            raise UnavailableError(f"{self.url} answered HTTP {status}, a redirect{target} (not followed)")
        raise UnavailableError(f"{self.url} answered HTTP {status}{detail}")

    def _rate_limited(self, response: httpx.Response, what: str) -> RateLimited:
        from claude_usage.core.wire import parse_retry_after

        now = self._clock.now()
        retry_after_s = parse_retry_after(response.headers.get("Retry-After"), now)
        if retry_after_s is not None and not retry_after_s <= MAX_RETRY_AFTER_S:
            retry_after_s = MAX_RETRY_AFTER_S  # also catches an infinite value
        if retry_after_s is None:
            retry_at = None
            when = "it did not say when to retry"
        else:
            retry_at = now + timedelta(seconds=retry_after_s)
            when = f"retry after {retry_after_s:.0f} s"
        return RateLimited(
            f"{self.url} is rate limiting usage reads ({what}); {when}",
            retry_at=retry_at,
            retry_after_s=retry_after_s,
        )


class _Expired(Exception):
    """A request outlived its deadline (raised by `UsageClient._exchange`, turned into our timeout error)."""


class _Sockets:
    """The sockets a client's connections run over, as httpcore opens them, so that a deadline can end a request.

    httpcore's `trace` extension hands over each socket it connects and the TLS socket over it; a reused
    keep-alive connection announces nothing, so the sockets of earlier requests are kept too, until closed.
    Shutting a socket down wakes a read blocked on it in another thread (closing it would not, on Linux).
    """

    def __init__(self) -> None:
        import _thread  # built in: a one-shot answered from the store never loads `threading`

        self._lock = _thread.allocate_lock()
        self._open: list[socket.socket] = []

    def tracer(self, expired: threading.Event) -> Callable[[str, dict[str, Any]], None]:
        """A `trace` extension for one request: keeps its sockets, and shuts down one opened after `expired`."""

        def trace(event: str, info: dict[str, Any]) -> None:
            import socket

            get_extra_info = getattr(info.get("return_value"), "get_extra_info", None)
            sock = get_extra_info("socket") if callable(get_extra_info) else None
            if not isinstance(sock, socket.socket):
                return
            with self._lock:
                self._open = [kept for kept in self._open if kept.fileno() != -1]
                self._open.append(sock)
            if expired.is_set():
                _shut_down(sock)

        return trace

    def shut_down(self) -> None:
        """Shut down every socket still open: a request blocked on one of them fails at once."""
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    import socket
    from contextlib import suppress

    with suppress(OSError):  # closed meanwhile, or never connected
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: a TLS socket's own drops its state


_NOT_JSON = object()


def _json(body: bytes) -> object:
    """The decoded JSON body, or `_NOT_JSON` (also for NaN and infinities, which JSON does not have)."""
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _NOT_JSON


def _no_constant(name: str) -> float:
    """Refuses `NaN`, `Infinity` and `-Infinity`, which Python's decoder would accept."""
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    """A JSON number as a float; one too large for a float (`1e999`) is refused, not made infinite."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _content_type(response: httpx.Response) -> str:
    return _one_line(response.headers.get("Content-Type", "").split(";", 1)[0], limit=60)


def _describe_non_json(parsed: object, body: bytes, response: httpx.Response) -> str:
    if parsed is not _NOT_JSON:
        return "JSON that is not an object"
    if not body.strip():
        return "an empty body"
    if "html" in _content_type(response).lower() or body.lstrip()[:1] == b"<":
        return "HTML"
    return "non-JSON"


def _error_message(parsed: object, bearer: str) -> str | None:
    """The human part of an error body (`error.message`, else a top-level `message`), on one line."""
    if not isinstance(parsed, dict):
        return None
    error = parsed.get("error")
    for candidate in (error.get("message") if isinstance(error, dict) else error, parsed.get("message")):
        if isinstance(candidate, str) and candidate.strip():
            return _one_line(candidate, bearer)
    return None


def _reason(exc: BaseException, bearer: str) -> str:
    return _one_line(str(exc), bearer) or type(exc).__name__


def _one_line(text: str, secret: str = "", *, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` safe for a terminal: one line, at most `limit` characters, no control characters, no token.

    Whitespace runs become one space, terminal escape sequences are dropped whole and other control
    characters (BEL) dropped (core/wire.py's `terminal_safe`: server text must not move the cursor or retitle
    the window); then `adapters/redact.py` takes out `secret`, every token this process knows, runs of their
    characters (escaped ones too), bearer credentials and anything shaped like an Anthropic key.
    """
    from claude_usage.adapters.redact import redact
    from claude_usage.core.wire import terminal_safe

    text = " ".join(text.split())  # before dropping controls, so that a newline still parts two words
    text = " ".join(terminal_safe(text).split())
    text = text[: 8 * limit + 2 * len(secret)]  # bounds the work below; the rest would be cut anyway
    text = redact(text, secrets=(secret,) if secret else ())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _reply_date(value: str | None) -> datetime | None:
    """The HTTP `Date` header as an aware UTC datetime; None when absent or unreadable."""
    if not value:
        return None
    from email.utils import parsedate_to_datetime  # only when a reply came: never on the store path

    try:
        found = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return found.astimezone(timezone.utc) if found.tzinfo is not None else found.replace(tzinfo=timezone.utc)
