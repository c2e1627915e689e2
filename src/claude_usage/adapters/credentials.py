"""Claude Code's subscription login, read-only: the env token, the macOS Keychain, the credentials file.

Owns where the OAuth access token comes from, in Claude Code's own order (shared/docs/credentials.md
§1-§4), the `Secret` that carries it, and the translation of every foreign failure (OSError, JSON,
UnicodeDecodeError, subprocess) into `AuthError`s that name the file but never show the token or the
file's content. Never writes, refreshes or creates anything in Claude Code's directories or keychain
item, never scans the keychain, never reads or sends an API key (it only notes that one is set).

Must not import rich, httpx or sqlite3.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from _operator import _compare_digest  # hmac.compare_digest itself; `import hmac` loads hashlib (~4 ms)
from _thread import allocate_lock  # threading.Lock itself, without importing threading (~1.5 ms)
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.adapters.account import fingerprint
from claude_usage.adapters.paths import ClaudePaths, FileTooLarge, NotRegularFile, read_regular
from claude_usage.adapters.redact import remember
from claude_usage.clock import SystemClock
from claude_usage.core.fmt import plan_label
from claude_usage.errors import AuthError, NotLoggedIn, TokenExpired

if TYPE_CHECKING:
    from collections.abc import Mapping

    from claude_usage.clock import Clock

ENV_TOKEN = "CLAUDE_CODE_OAUTH_TOKEN"  # noqa: S105  (the variable's name, not a secret)
PROFILE_SCOPE = "user:profile"
EXPIRY_MARGIN = timedelta(minutes=5)  # Claude Code refreshes inside this margin; we send nothing then
KEYCHAIN_TIMEOUT_S = 5.0
KEYCHAIN_COOLDOWN_S = 600.0  # after a refused/locked/slow keychain read, don't ask again for this long
KEYCHAIN_NO_ITEM = 44  # `security` exit status: no such item
KEYCHAIN_LOCKED = 36  # `security` exit status: keychain locked / user interaction not allowed
KEYCHAIN_RECHECK_S = 60.0  # while the kept keychain token is rejected, ask for a new one at most this often
# Expiry times we can show in any local time zone (datetime's range is years 1 to 9999).
_EARLIEST_EXPIRY = datetime(1, 1, 2, tzinfo=timezone.utc)
_LATEST_EXPIRY = datetime(9999, 12, 30, tzinfo=timezone.utc)

_DEFAULT_ENV_SCOPES = ("user:inference",)
_ACCOUNT_RE = re.compile(r"[A-Za-z0-9._-]+")
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})+")
_API_KEY_VARS = ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY")
_PROVIDER_VARS = (
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_CODE_USE_ANTHROPIC_AWS",
    "CLAUDE_CODE_USE_MANTLE",
)
_FALSY = frozenset({"", "0", "false", "no", "off"})

# One keychain read at a time in this process, so macOS never stacks identical prompts.
_KEYCHAIN_LOCK = allocate_lock()


_KIND = re.compile(r"sk-ant-[a-z]{2,8}\d{2}(?=-)")


def token_kind(token: str) -> str | None:
    """`sk-ant-oat01` for an `sk-ant-oat01-…` token: the part before its secret; None for any other shape."""
    found = _KIND.match(token)
    return found.group(0) if found else None


class Secret:
    """An access token that never shows itself: `repr` and `str` give a fingerprint prefix only.

    A plain slotted class, not a dataclass or a tuple, so that `dataclasses.asdict`, `_asdict`, unpacking
    and `vars` cannot reach the token; immutable, equal and hashable by value.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)

    @property
    def kind(self) -> str | None:
        """`sk-ant-oat01` for an `sk-ant-oat01-…` token (the part before its secret); None for any other shape."""
        return token_kind(self._value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # copy/deepcopy would otherwise set the slot, which __setattr__ refuses.
        return (Secret, (self._value,))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return _compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    @property
    def fingerprint(self) -> str:
        """sha256 of the token, first 16 hex digits: safe to show, compare and key caches by."""
        return fingerprint(self._value)

    def reveal(self) -> str:
        """The token itself; only the HTTP adapter calls this."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret(fp={self.fingerprint[:8]}\N{HORIZONTAL ELLIPSIS})"

    def __str__(self) -> str:
        return self.__repr__()


class Credentials(NamedTuple):
    """One usable login: the token, what we know about it, and notices for the user."""

    token: Secret
    expires_at: datetime | None  # aware UTC; None for env tokens
    scopes: tuple[str, ...] | None
    plan: str | None  # e.g. "Max 5x"
    source: str  # "CLAUDE_CODE_OAUTH_TOKEN", the file path, or "macOS Keychain (<service>)"
    account_id: str | None  # accountUuid[:organizationUuid]
    notes: tuple[str, ...] = ()  # one-line notices: fallback reasons, API-key billing, file mode
    from_env: bool = False


class _Missing(NamedTuple):
    """No stored login: `what` says where we looked; `keychain_problem` why the keychain gave nothing."""

    what: str
    keychain_problem: str | None = None


class CredentialReader:
    """Finds the login to read usage with; cheap to call at every poll (keychain reads are cached)."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        clock: Clock | None = None,
        platform: str = sys.platform,
        use_keychain: bool = True,
        keychain_timeout_s: float = KEYCHAIN_TIMEOUT_S,
    ) -> None:
        self._env = dict(env)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._paths = ClaudePaths.from_env(self._env)
        self._keychain_on = use_keychain and platform == "darwin"
        self._keychain_timeout_s = keychain_timeout_s
        # Guarded by _KEYCHAIN_LOCK:
        self._keychain_cached: Credentials | None = None
        self._keychain_blocked_until = float("-inf")  # monotonic seconds
        self._keychain_problem: str | None = None
        self._keychain_read_at = float("-inf")  # monotonic seconds of the last `security` run
        self._rejected: set[str] = set()  # fingerprints of tokens the endpoint rejected

    @property
    def keychain_source(self) -> str:
        """How a login read from the macOS Keychain is named in `Credentials.source`."""
        return f"macOS Keychain ({self._paths.keychain_service})"

    def invalidate(self) -> None:
        """Forget the in-memory copy of the keychain item (after a 401); the failure cooldown stays."""
        with _KEYCHAIN_LOCK:
            self._keychain_cached = None

    def reject(self, fingerprint: str) -> None:
        """Note that the endpoint rejected the token with this fingerprint (a 401).

        A kept keychain copy of that token is no longer trusted: while it is the one kept, each read asks
        the keychain again, at most once every KEYCHAIN_RECHECK_S seconds, and takes Claude Code's
        refreshed token as soon as the item holds one. Between those asks the rejected copy is returned
        as is, so the caller, which knows it was rejected, can say that it waits for a refresh.
        """
        with _KEYCHAIN_LOCK:
            self._rejected.add(fingerprint)

    def read(self, *, skip_env_token: bool = False, skip_reason: str | None = None) -> Credentials:
        """The login to use now; raises NotLoggedIn, TokenExpired or AuthError (one line, no token)."""
        notes: list[str] = [skip_reason] if skip_env_token and skip_reason else []
        token = self._env.get(ENV_TOKEN, "").strip()
        if token:
            remember(token)  # from now on no message or --debug traceback of this process shows it
        if token and not skip_env_token:
            scopes = tuple(self._env.get("CLAUDE_CODE_OAUTH_SCOPES", "").split()) or _DEFAULT_ENV_SCOPES
            if PROFILE_SCOPE in scopes:
                return self._finish(self._env_credentials(token, scopes), notes)
            why = f"{ENV_TOKEN} lacks the {PROFILE_SCOPE} scope (setup-token tokens can't read usage)"
            found = self._stored(notes)
            if isinstance(found, _Missing):
                raise AuthError(
                    f"{why}, and there is no stored login to use instead ({found.what}); "
                    f"run `claude` then /login, or give the token {PROFILE_SCOPE}"
                )
            notes.insert(0, f"{why}; using the stored login in {found.source}")
            return self._finish(found, notes)
        found = self._stored(notes)
        if isinstance(found, _Missing):
            if skip_env_token and token:
                lead = skip_reason or f"{ENV_TOKEN} cannot read usage"
                raise AuthError(f"{lead}, and there is no stored login to use instead ({found.what})")
            raise self._not_logged_in(found)
        return self._finish(found, notes)

    # -- choosing ------------------------------------------------------------------------------------

    def _env_credentials(self, token: str, scopes: tuple[str, ...]) -> Credentials:
        plan = plan_label(self._env.get("CLAUDE_CODE_SUBSCRIPTION_TYPE"), self._env.get("CLAUDE_CODE_RATE_LIMIT_TIER"))
        return Credentials(
            token=Secret(token),
            expires_at=None,
            scopes=scopes,
            plan=plan,
            source=ENV_TOKEN,
            account_id=None,
            from_env=True,
        )

    def _stored(self, notes: list[str]) -> Credentials | _Missing:
        """The stored login (keychain first on macOS, then the file), checked for expiry."""
        keychain_problem = None
        where: list[str] = []
        if self._keychain_on:
            found = self._from_keychain()
            if isinstance(found, Credentials):
                self._check_alive(found)
                return found
            keychain_problem = found.keychain_problem
            if found.what:
                where.append(found.what)
        file_found = self._from_file(notes)
        if isinstance(file_found, _Missing):
            return _Missing(", ".join([*where, file_found.what]), keychain_problem)
        if keychain_problem:
            notes.append(f"Could not read {self.keychain_source} ({keychain_problem}); using {file_found.source}")
        self._check_alive(file_found)
        return file_found

    def _finish(self, creds: Credentials, notes: list[str]) -> Credentials:
        billing = self._billing_var()
        if billing:
            whose = f"those of {ENV_TOKEN}" if creds.from_env else f"the stored login's ({creds.source})"
            notes.insert(
                0,
                f"{billing} is set, so Claude Code in this shell bills the API key or provider, "
                f"not your subscription; the numbers shown are {whose}",
            )
        return creds._replace(notes=tuple(notes))

    def _not_logged_in(self, missing: _Missing) -> AuthError:
        if missing.keychain_problem:
            return AuthError(
                f"Could not read {self.keychain_source} ({missing.keychain_problem}) and found no other "
                f"login ({missing.what}); unlock the keychain, then try again"
            )
        billing = self._billing_var()
        if billing:
            return NotLoggedIn(
                f"{billing} is set: that is API billing, not a subscription; usage limits belong to a "
                f"claude.ai login and none was found ({missing.what}); run `claude` then /login "
                "(or try `claude-usage --demo`)"
            )
        return NotLoggedIn(
            f"Not logged in to Claude Code with a subscription ({missing.what}); run `claude` then /login "
            "(or try `claude-usage --demo` to see the monitor without a login)"
        )

    def _billing_var(self) -> str | None:
        """The first variable that makes Claude Code bill an API key or cloud provider; never its value."""
        for name in _API_KEY_VARS:
            if self._env.get(name):
                return name
        for name in _PROVIDER_VARS:
            if self._env.get(name, "").strip().lower() not in _FALSY:
                return name
        return None

    def _check_alive(self, creds: Credentials) -> None:
        if creds.expires_at is None:
            return
        now = self._clock.now()
        if creds.expires_at - now > EXPIRY_MARGIN:
            return
        local = creds.expires_at.astimezone()
        when = f"{local:%H:%M}" if abs(creds.expires_at - now) < timedelta(days=1) else f"{local:%Y-%m-%d %H:%M}"
        verb = "expired" if creds.expires_at <= now else "expires"
        raise TokenExpired(
            f"The Claude Code login token in {creds.source} {verb} at {when}; run `claude` to refresh it"
        )

    # -- the credentials file ------------------------------------------------------------------------

    def _from_file(self, notes: list[str]) -> Credentials | _Missing:
        path = self._paths.credentials_file
        try:
            raw, info = read_regular(str(path))
        except FileNotFoundError:
            return _Missing(f"no {path}")
        except NotRegularFile as exc:
            raise AuthError(f"{path} is {exc.strerror}; Claude Code keeps its login in a file: run /login") from exc
        except FileTooLarge as exc:
            raise AuthError(f"{path} is {exc.strerror}, too large to be a login; run /login in Claude Code") from exc
        except OSError as exc:
            raise AuthError(f"Cannot read {path}: {exc.strerror or type(exc).__name__}") from exc
        mode = info.st_mode
        found = _parse_store(raw, str(path))
        if found is None:
            return _Missing(f"{path} holds no claudeAiOauth login")
        if os.name == "posix" and stat.S_IMODE(mode) & 0o044:
            notes.append(
                f"{path} is readable by other users (mode {stat.S_IMODE(mode):04o}); "
                "Claude Code keeps it 0600: chmod 600 it"
            )
        return found

    # -- the macOS Keychain --------------------------------------------------------------------------

    def _from_keychain(self) -> Credentials | _Missing:
        """At most one `security` run per call; none while a good copy is cached or after a failure."""
        service = self._paths.keychain_service
        with _KEYCHAIN_LOCK:
            cached = self._keychain_cached
            now = self._clock.monotonic()
            if cached is not None and not self._expiring(cached):
                if cached.token.fingerprint not in self._rejected:
                    return cached
                if now < self._keychain_read_at + KEYCHAIN_RECHECK_S:
                    return cached
            if now < self._keychain_blocked_until:
                if cached is not None:
                    return cached
                return _Missing("", self._keychain_problem)
            self._keychain_read_at = now
            raw, problem = self._run_security(service)
            if problem is not None:
                self._keychain_blocked_until = self._clock.monotonic() + KEYCHAIN_COOLDOWN_S
                self._keychain_problem = f"{problem}; not asking again for 10 minutes"
                return _Missing("", self._keychain_problem)
            self._keychain_cached = None
            found = _parse_store(raw, self.keychain_source) if raw is not None else None
            if found is None:
                return _Missing(f"no macOS Keychain item {service!r}")
            self._keychain_cached = found
            return found

    def _expiring(self, creds: Credentials) -> bool:
        return creds.expires_at is None or creds.expires_at - self._clock.now() <= EXPIRY_MARGIN

    def _run_security(self, service: str) -> tuple[bytes | None, str | None]:
        """(item bytes or None when there is no item, problem or None); read-only, never `security -i`."""
        import shutil
        import subprocess  # here, not at the top: only macOS runs it, and it costs every start ~5 ms

        exe = shutil.which("security", path=self._env.get("PATH"))
        if exe is None:
            return None, "the `security` tool is not on PATH"
        argv = [exe, "find-generic-password", "-a", self._keychain_account(), "-w", "-s", service]
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self._keychain_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, f"no answer within {self._keychain_timeout_s:g} s"
        except OSError as exc:
            return None, f"cannot run security: {exc.strerror or type(exc).__name__}"
        if done.returncode == KEYCHAIN_NO_ITEM:
            return None, None
        if done.returncode == KEYCHAIN_LOCKED:
            return None, "keychain locked or access not allowed"
        if done.returncode != 0:
            return None, f"security exited with status {done.returncode}"
        raw = done.stdout.strip()
        if _HEX_RE.fullmatch(raw.decode("ascii", "replace")):
            raw = bytes.fromhex(raw.decode("ascii"))  # `security -w` prints non-printable data as hex
        return raw, None

    def _keychain_account(self) -> str:
        """Claude Code's keychain account: $USER, else the OS user name, if it is a safe name."""
        user = self._env.get("USER") or _os_user()
        return user if user and _ACCOUNT_RE.fullmatch(user) else "claude-code-user"


def _os_user() -> str | None:
    try:
        import pwd  # POSIX only; the keychain is only read on macOS

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return None


def _parse_store(raw: bytes, source: str) -> Credentials | None:
    """The `claudeAiOauth` login in a store's bytes; None when there is none. Never echoes content."""
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise AuthError(f"{source} is not UTF-8 text; run /login in Claude Code") from exc
    except json.JSONDecodeError as exc:
        raise AuthError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}); run /login in Claude Code"
        ) from exc
    except RecursionError as exc:
        raise AuthError(f"{source} is nested too deeply to read; run /login in Claude Code") from exc
    except ValueError as exc:  # a number with more digits than Python will convert
        raise AuthError(f"{source} holds a number too large to read; run /login in Claude Code") from exc
    if not isinstance(data, dict):
        raise AuthError(f"{source} is not a JSON object; run /login in Claude Code")
    oauth = data.get("claudeAiOauth")
    if oauth is None:
        return None
    if not isinstance(oauth, dict):
        raise AuthError(f"{source}: claudeAiOauth is not an object; run /login in Claude Code")

    def wrong(key: str) -> AuthError:
        kind = type(oauth[key]).__name__
        return AuthError(f"{source}: claudeAiOauth.{key} has the wrong type ({kind}); run /login in Claude Code")

    token = oauth.get("accessToken")
    expires_ms = oauth.get("expiresAt")
    if token is not None and not isinstance(token, str):
        raise wrong("accessToken")
    if expires_ms is not None and (isinstance(expires_ms, bool) or not isinstance(expires_ms, (int, float))):
        raise wrong("expiresAt")
    if token:
        remember(token)  # from now on no message or --debug traceback of this process shows it
    if not token or expires_ms == 0 or oauth.get("loginEnded"):
        ended = oauth.get("loginEnded")
        why = f" ({ended})" if isinstance(ended, str) and _ACCOUNT_RE.fullmatch(ended) else ""
        raise AuthError(f"{source}: login expired{why}, run /login in Claude Code")
    scopes = oauth.get("scopes")
    if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
        raise wrong("scopes")
    expires_at = None
    if expires_ms is not None:
        try:
            expires_at = datetime.fromtimestamp(expires_ms / 1000, tz=timezone.utc)
        except (OverflowError, ValueError, OSError) as exc:
            raise AuthError(f"{source}: claudeAiOauth.expiresAt is out of range; run /login") from exc
        if not _EARLIEST_EXPIRY <= expires_at <= _LATEST_EXPIRY:
            # Within a day of datetime's limits, showing it in local time would overflow.
            raise AuthError(f"{source}: claudeAiOauth.expiresAt is out of range; run /login")
    account = _text(oauth, "accountUuid")
    org = _text(oauth, "organizationUuid")
    return Credentials(
        token=Secret(token),
        expires_at=expires_at,
        scopes=tuple(scopes) if scopes is not None else None,
        plan=plan_label(_text(oauth, "subscriptionType"), _text(oauth, "rateLimitTier")),
        source=source,
        account_id=f"{account}:{org}" if account and org else account,
    )


def _text(obj: dict[str, Any], key: str) -> str | None:
    """A descriptive string field; anything else (null, missing, wrong type) counts as unknown."""
    value = obj.get(key)
    return value if isinstance(value, str) and value else None
