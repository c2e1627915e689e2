"""`claude-usage doctor`: the report, and the checks of the endpoint, the budget and the clock.

Each check gives one `Check`: a name from `NAMES`, a state (`ok`, `warn`, `fail`), one line saying what was
found and, when not ok, the fix to copy. The login's checks live in service/login.py, those of our own files
(store, history) in service/health.py, those of what we are wired into (status line, transcripts, config,
alerts) in service/integration.py; `examine` runs them all in the order that keeps the findings honest: the
store is inspected before the doctor takes a reading of its own, and that reading is at most one request,
sent through the account's `Reader`, so it counts in the machine-wide budget and is not sent at all while
the budget holds requests back. A failed login check (missing, expired, malformed, rejected or under-scoped)
makes the exit status 3, any other failure 1; warnings leave it 0.

Never shows a token: of one it names only its kind (`sk-ant-oat01`), never a character after that. Every text
that comes from elsewhere (an error, a foreign status line) goes through adapters/redact.py first.

Must not import rich; the face (commands/doctor.py) formats the report.
"""

from __future__ import annotations

import shlex
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.core.fmt import SOURCE_NAMES, age, duration
from claude_usage.core.shared import SharedBudget
from claude_usage.errors import AuthError, ExitCode, RateLimited, UnavailableError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from claude_usage.adapters.credentials import CredentialReader
    from claude_usage.clock import Clock
    from claude_usage.service.fetch import UsageFetcher
    from claude_usage.service.login import Login
    from claude_usage.service.reader import Reader

OK, WARN, FAIL = "ok", "warn", "fail"
NAMES = (
    "credentials",
    "token_expiry",
    "scopes",
    "endpoint",
    "budget",
    "statusline",
    "transcripts",
    "clock",
    "store",
    "history",
    "config",
    "alerts",
)
LOGIN_FIX = "run `claude`, then type /login"
RENEW_FIX = "run `claude` (it renews the login's token whenever it runs)"
RECENT_REPLY_S = 600.0  # a reply this young shows the endpoint answering when the budget holds our request back
CLOCK_WARN_S = 60.0  # the Date header has whole seconds, and the reply took some time
CLOCK_FAIL_S = 300.0  # as much as the expiry margin: beyond it we would misjudge a token's expiry
LOCK_WAIT_S = 5.0  # how long the endpoint check waits for another process that is asking right now


class Check(NamedTuple):
    """One finding: `state` is OK, WARN or FAIL; `fix` (what to run or do) is None when ok."""

    name: str
    state: str
    message: str
    fix: str | None = None
    auth: bool = False  # a failure of the login: exit 3

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "message": self.message, "fix": self.fix}


class Report(NamedTuple):
    """Every check, in the order of `NAMES`."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Nothing failed (warnings allowed)."""
        return not any(check.state == FAIL for check in self.checks)

    @property
    def exit_code(self) -> int:
        """3 when the login failed a check (it wins), 1 for any other failure, else 0."""
        failed = [check for check in self.checks if check.state == FAIL]
        if any(check.auth for check in failed):
            return ExitCode.AUTH
        return ExitCode.UNEXPECTED if failed else ExitCode.OK

    def as_json(self) -> dict[str, Any]:
        """`{"ok": bool, "checks": [{"name", "state", "message", "fix"}]}`."""
        return {"ok": self.ok, "checks": [check.as_json() for check in self.checks]}


class Endpoint(NamedTuple):
    """How the face wired the endpoint: the client (None when the URL was refused) and the spacing it keeps."""

    client: UsageFetcher | None
    url_problem: str | None
    spacing_s: float
    floor_s: float
    spacing_problem: str | None = None


def said(exc: BaseException, env: Mapping[str, str]) -> str:
    """An error's one line, with every token (and anything shaped like one) redacted."""
    from claude_usage.adapters.redact import redact

    return redact(str(exc), env)


def quote(path: object) -> str:
    """A path as the shell needs it in a fix to copy."""
    return shlex.quote(str(path))


# -- the budget, the endpoint, the clock ------------------------------------------------------------------


def check_budget(doc: dict[str, Any], now: datetime, wiring: Endpoint) -> Check:
    """The account's shared budget as the store had it before this run asked anything."""
    if wiring.spacing_problem is not None:
        return Check(
            "budget",
            FAIL,
            wiring.spacing_problem,
            f"unset CLAUDE_USAGE_MIN_SPACING (or set it to at least {wiring.floor_s:g} seconds)",
        )
    budget = SharedBudget(doc)
    if budget.cooling_down(now):
        assert budget.cooldown_until is not None  # noqa: S101 - cooling_down() says so
        until = budget.cooldown_until
        left = (until - now).total_seconds()
        repeats = budget.rate_limited_repeats
        after = "a 429" if repeats <= 1 else f"the {_nth(repeats)} 429 in a row"
        return Check(
            "budget",
            WARN,
            f"cooling down after {after} until {until.astimezone():%H:%M:%S} (in {duration(left)}): "
            "no claude-usage process asks the endpoint before then",
            f"wait until {until.astimezone():%H:%M:%S}; if it keeps happening, close other usage monitors "
            "and keep --interval at 60 s or more",
        )
    parts = [f"at most one request per {wiring.spacing_s:g} s for this account, from all processes"]
    if budget.last_request_at is not None:
        parts.append(f"the last one {age((now - budget.last_request_at).total_seconds())}")
    allowed = budget.next_allowed(now, wiring.spacing_s)
    parts.append("the next allowed now" if allowed is None else f"the next allowed at {allowed.astimezone():%H:%M:%S}")
    if budget.poller_alive(now):
        parts.append(f"a live dashboard polls every {budget.poller_interval_s:g} s")
    return Check("budget", OK, "; ".join(parts))


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def check_endpoint(reader: Reader, login: Login, url: str, env: Mapping[str, str]) -> Check:
    """One request through the reader, only if the budget allows; else when it may ask."""
    if login.creds is None:
        return Check("endpoint", WARN, f"not asked: {login.blocked}", login.fix)
    clock = reader.clock
    start = clock.monotonic()
    try:
        snapshot = reader.read(0.0, lock_wait_s=LOCK_WAIT_S)
    except AuthError as exc:
        return Check("endpoint", FAIL, said(exc, env), f"{RENEW_FIX}; if it persists, type /login", True)
    except RateLimited as exc:
        until = exc.retry_at
        wait = f"wait until {until.astimezone():%H:%M:%S}" if until is not None else "wait a few minutes"
        return Check("endpoint", WARN, said(exc, env), f"{wait}, then run claude-usage doctor again")
    except UnavailableError as exc:
        fix = "check the network or proxy (HTTPS_PROXY, SSL_CERT_FILE), then run claude-usage doctor again"
        return Check("endpoint", FAIL, said(exc, env), fix)
    took_ms = round((clock.monotonic() - start) * 1000)
    now = clock.now()
    if snapshot.requested:
        return Check("endpoint", OK, f"{url} answered with a usage reply in {took_ms} ms")
    last, fresh = "", False
    if snapshot.whole_at is not None:
        reply_age = (now - snapshot.whole_at).total_seconds()
        source = SOURCE_NAMES.get(snapshot.source or "", snapshot.source)
        last = f"; the last reply ({source}) came {age(reply_age)}"
        fresh = reply_age <= RECENT_REPLY_S
    allowed = reader.next_allowed(snapshot)
    if snapshot.budget.cooling_down(now) or (snapshot.held_back and allowed is not None):
        allowed = allowed or now
        wait_s = max(1, round((allowed - now).total_seconds()))
        cooling = snapshot.budget.cooling_down(now)
        why = "cooling down after a 429" if cooling else "the shared budget holds requests back"
        message = f"not asked: {why} until {allowed.astimezone():%H:%M:%S} (in {duration(wait_s)}){last}"
        if fresh and not cooling:
            return Check("endpoint", OK, message)
        return Check("endpoint", WARN, message, f"sleep {wait_s} && claude-usage doctor")
    if snapshot.whole_at is None:  # another process was asking at that moment, and got nothing
        return Check(
            "endpoint",
            WARN,
            "not asked: another process asked at the same moment and got no reply",
            "claude-usage doctor",
        )
    return Check("endpoint", OK, f"not asked: the stored reading is fresh enough{last}")


def check_clock(server_date: datetime | None, now: datetime, *, asked: bool, platform: str) -> Check:
    """Our clock against the server's `Date` header of this run's reply (`asked`: this run sent a request)."""
    if server_date is None:
        why = "the reply's Date header is not available" if asked else "this run sent no request"
        return Check(
            "clock",
            WARN,
            f"no reply to compare our clock with ({why})",
            "run claude-usage doctor again once the budget allows a request",
        )
    skew = (now - server_date).total_seconds()
    direction = "ahead of" if skew > 0 else "behind"
    if abs(skew) <= CLOCK_WARN_S:
        return Check("clock", OK, f"within {abs(skew):.0f} s of the server's clock (its Date header)")
    message = f"our clock is {duration(abs(skew))} {direction} the server's (its Date header)"
    if platform == "darwin":
        fix = "sudo sntp -sS time.apple.com"
    elif platform == "win32":
        fix = "w32tm /resync"
    else:
        fix = "sudo timedatectl set-ntp true"
    if abs(skew) <= CLOCK_FAIL_S:
        return Check("clock", WARN, f"{message}: reset times and ages are off by as much", fix)
    return Check("clock", FAIL, f"{message}: token expiry and reset times cannot be judged", fix)


def server_date(client: object) -> datetime | None:
    """The `Date` of the client's last reply, when the client keeps it (`last_reply_date`)."""
    found = getattr(client, "last_reply_date", None)
    return found if isinstance(found, datetime) and found.tzinfo is not None else None


# -- all of it ------------------------------------------------------------------------------------------


def examine(
    env: Mapping[str, str],
    wiring: Endpoint,
    *,
    clock: Clock,
    use_keychain: bool = True,
    platform: str | None = None,
) -> Report:
    """Every check of `NAMES`; the store is inspected before this run takes a reading of its own."""
    import sys

    from claude_usage.adapters import account, paths
    from claude_usage.adapters.store import Store
    from claude_usage.service import health, integration
    from claude_usage.service.login import check_login, login_reader

    platform = platform or sys.platform
    store = Store(paths.data_dir(env))
    found: dict[str, Check] = {}
    stored = health.inspect_store(paths.data_dir(env))  # first: before any reading of ours
    credentials = login_reader(env, clock=clock, use_keychain=use_keychain)
    login = check_login(env, credentials, clock.now())
    found.update((check.name, check) for check in login.checks)
    reader = _reader(env, wiring, credentials, store, clock)
    if reader is not None and login.creds is not None:
        key = reader.key(login.creds)
    else:
        key = account.current_key(env, store)[0]
    doc = health.read_document(store.path(key))
    found["budget"] = check_budget(doc, clock.now(), wiring)
    found["statusline"] = integration.check_statusline(env, doc, clock.now())
    if reader is None:
        assert wiring.url_problem is not None  # noqa: S101 - _reader() gives None only then
        found["endpoint"] = Check(
            "endpoint", FAIL, wiring.url_problem, "unset CLAUDE_USAGE_API_URL (or give it an https:// URL)"
        )
    else:
        from claude_usage.adapters.api import USAGE_PATH

        url = f"{reader.service.client.base_url}{USAGE_PATH}"
        found["endpoint"] = check_endpoint(reader, login, url, env)
    asked = SharedBudget(health.read_document(store.path(key))).last_request_at != SharedBudget(doc).last_request_at
    found["clock"] = check_clock(server_date(wiring.client), clock.now(), asked=asked, platform=platform)
    found["store"] = health.store_check(stored)
    found["history"] = health.check_history(env)
    found["transcripts"] = integration.check_transcripts(env)
    found["config"], alerts = integration.check_config(env)
    found["alerts"] = integration.check_alerts(env, alerts, platform)
    return Report(tuple(found[name] for name in NAMES))


def _reader(
    env: Mapping[str, str], wiring: Endpoint, credentials: CredentialReader, store: Any, clock: Clock
) -> Reader | None:
    """The account's reader, without a history (the doctor files nothing and never moves a history aside)."""
    if wiring.client is None:
        return None
    from claude_usage.adapters.claude_state import ClaudeState
    from claude_usage.service.fetch import UsageService
    from claude_usage.service.reader import Reader

    service = UsageService(client=wiring.client, credentials=credentials, clock=clock)
    return Reader(
        service,
        store,
        env=env,
        spacing_s=wiring.spacing_s,
        spacing_floor_s=wiring.floor_s,
        claude_state=ClaudeState(env),
    )
