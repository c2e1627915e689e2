"""`claude-usage doctor`'s checks of the login: `credentials`, `token_expiry` and `scopes`.

Reads the login as the reading faces do (adapters/credentials.py), read-only, and judges it: where it comes
from and whether it parses, when its token expires, whether it has the `user:profile` scope that reading usage
needs. An environment token without that scope is judged here and set aside, as the reading faces set it aside
for the stored login. Of the token only its kind (`sk-ant-oat01`) is ever named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from claude_usage.adapters.credentials import ENV_TOKEN, PROFILE_SCOPE, CredentialReader
from claude_usage.core.fmt import duration
from claude_usage.errors import AuthError, NotLoggedIn, TokenExpired
from claude_usage.service.doctor import FAIL, LOGIN_FIX, OK, RENEW_FIX, WARN, Check, quote, said

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from claude_usage.adapters.credentials import Credentials
    from claude_usage.clock import Clock

SCOPES_VAR = "CLAUDE_CODE_OAUTH_SCOPES"
DEFAULT_ENV_SCOPES = ("user:inference",)  # what Claude Code (and adapters/credentials.py) assume without SCOPES_VAR

_KINDS = {"oat": "an OAuth access token", "ort": "a refresh token", "api": "an API key", "admin": "an admin key"}
_NOT_OAUTH = frozenset({"ort", "api", "admin"})


def _family(kind: str | None) -> str | None:
    """`oat` of `sk-ant-oat01`."""
    return kind.split("-")[2].rstrip("0123456789") if kind else None


def _kind_text(kind: str | None) -> str:
    """`sk-ant-oat01, an OAuth access token`: never a character after the kind."""
    if kind is None:
        return "a token of an unknown kind"
    return f"{kind}, {_KINDS.get(_family(kind) or '', 'a token')}"


def _wrong_kind(kind: str | None) -> str | None:
    """What the token is when it is plainly not an OAuth access token (an API key, a refresh token)."""
    family = _family(kind)
    return _KINDS[family] if family in _NOT_OAUTH else None


class Login(NamedTuple):
    """The checks `credentials`, `token_expiry` and `scopes`, and the login a request may use.

    Without one (`creds` None), `blocked` says why, in a few words, and `fix` what to do: the checks that
    depend on a login repeat them.
    """

    checks: tuple[Check, Check, Check]
    creds: Credentials | None
    blocked: str = ""
    fix: str = LOGIN_FIX


def login_reader(env: Mapping[str, str], *, clock: Clock, use_keychain: bool) -> CredentialReader:
    """The credentials reader the doctor asks: without an environment token that cannot read usage.

    Such a token is judged by the `scopes` check itself, and the stored login (which the reading faces fall
    back to) is then what the other checks look at.
    """
    token = env.get(ENV_TOKEN, "").strip()
    if token and not _env_token_usable(env):
        env = {name: value for name, value in env.items() if name != ENV_TOKEN}
    return CredentialReader(env, clock=clock, use_keychain=use_keychain)


def _env_scopes(env: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(env.get(SCOPES_VAR, "").split()) or DEFAULT_ENV_SCOPES


def _env_token_usable(env: Mapping[str, str]) -> bool:
    return PROFILE_SCOPE in _env_scopes(env)


def check_login(env: Mapping[str, str], reader: CredentialReader, now: datetime) -> Login:
    """Where the login comes from and whether it parses; its expiry; its scopes."""
    unusable_env = bool(env.get(ENV_TOKEN, "").strip()) and not _env_token_usable(env)
    try:
        creds = reader.read()
    except TokenExpired as exc:
        blocked = "the login's token has expired (see token_expiry)"
        found = Check("credentials", OK, f"a login is stored, but {blocked}")
        expiry = Check("token_expiry", FAIL, said(exc, env), RENEW_FIX, auth=True)
        instead = "the stored login's token has expired (see token_expiry)"
        scopes = _env_scopes_check(env, None, instead) if unusable_env else _unchecked("scopes", blocked, RENEW_FIX)
        return Login((found, expiry, scopes), None, blocked, RENEW_FIX)
    except NotLoggedIn as exc:
        message = said(exc, env)
        if unusable_env:
            message += f"; {ENV_TOKEN} is set but cannot read usage (see scopes)"
        blocked = "there is no stored login"
        found = Check("credentials", FAIL, message, LOGIN_FIX, auth=True)
        instead = "there is no stored login to use instead"
        scopes = _env_scopes_check(env, None, instead) if unusable_env else _unchecked("scopes", blocked)
        return Login((found, _unchecked("token_expiry", blocked), scopes), None, blocked)
    except AuthError as exc:
        message = said(exc, env)
        fix = LOGIN_FIX
        if "Keychain" in message:
            fix = "unlock the login keychain (security unlock-keychain), or run with --no-keychain"
        blocked = "the login cannot be read (see credentials)"
        found = Check("credentials", FAIL, message, fix, auth=True)
        return Login(
            (found, _unchecked("token_expiry", blocked, fix), _unchecked("scopes", blocked, fix)), None, blocked, fix
        )
    return _judge(env, creds, now, unusable_env)


def _judge(env: Mapping[str, str], creds: Credentials, now: datetime, unusable_env: bool) -> Login:
    kind = creds.token.kind  # only its kind is shown (the part before the secret), never more
    where = ENV_TOKEN if creds.from_env else f"a login in {creds.source}"
    plan = f"; {creds.plan}" if creds.plan else ""
    wrong = _wrong_kind(kind)
    if wrong is not None:
        fix = f"unset {ENV_TOKEN}" if creds.from_env else LOGIN_FIX
        blocked = f"the token is {wrong} (see credentials)"
        found = Check(
            "credentials",
            FAIL,
            f"{where} holds {wrong} ({kind}), not an OAuth access token: it cannot read usage",
            fix,
            auth=True,
        )
        checks = (found, _unchecked("token_expiry", blocked, fix), _unchecked("scopes", blocked, fix))
        return Login(checks, None, blocked, fix)
    found = _credentials_check(creds, f"{where} ({_kind_text(kind)}{plan})")
    expiry = _expiry_check(creds, now)
    scopes = _env_scopes_check(env, creds, "") if unusable_env else _scopes_check(creds)
    if scopes.state == FAIL:
        return Login((found, expiry, scopes), None, f"the login lacks {PROFILE_SCOPE} (see scopes)", scopes.fix or "")
    return Login((found, expiry, scopes), creds)


def _credentials_check(creds: Credentials, message: str) -> Check:
    """Ok, or a warning when the credentials file is readable by other users."""
    notes = [note for note in creds.notes if "readable by other users" not in note]
    if notes:
        message += "; note: " + "; ".join(notes)
    if creds.from_env or not creds.source.endswith(".credentials.json"):
        return Check("credentials", OK, message)
    from claude_usage.service.health import loose_mode

    mode = loose_mode(creds.source)
    if mode is None:
        return Check("credentials", OK, message)
    return Check(
        "credentials",
        WARN,
        f"{message}; the file is readable by other users (mode {mode:04o}; Claude Code keeps it 0600)",
        f"chmod 600 {quote(creds.source)}",
    )


def _expiry_check(creds: Credentials, now: datetime) -> Check:
    if creds.from_env:
        return Check("token_expiry", OK, f"{ENV_TOKEN}: an environment token has no expiry we know of")
    if creds.expires_at is None:
        return Check("token_expiry", OK, "the login gives no expiry time")
    local = creds.expires_at.astimezone()
    left = (creds.expires_at - now).total_seconds()
    when = f"{local:%H:%M}" if left < 86_400 else f"{local:%Y-%m-%d %H:%M}"
    return Check("token_expiry", OK, f"expires at {when} (in {duration(left)}); Claude Code renews it whenever it runs")


def _scopes_check(creds: Credentials) -> Check:
    if creds.from_env:
        return Check("scopes", OK, f"{SCOPES_VAR} gives {ENV_TOKEN} {PROFILE_SCOPE}")
    if creds.scopes is None:
        return Check("scopes", OK, "the login does not list its scopes (an older login file): the endpoint decides")
    listed = " ".join(creds.scopes) or "none"
    if PROFILE_SCOPE in creds.scopes:
        return Check("scopes", OK, f"{PROFILE_SCOPE} is among the login's scopes ({listed})")
    return Check(
        "scopes",
        FAIL,
        f"the login in {creds.source} has the scopes {listed}, without {PROFILE_SCOPE}: it cannot read usage",
        f"{LOGIN_FIX} (a claude.ai login has {PROFILE_SCOPE})",
        auth=True,
    )


def _env_scopes_check(env: Mapping[str, str], stored: Credentials | None, instead: str) -> Check:
    """An environment token without `user:profile`: a warning with a stored login to fall back on, else a failure."""
    listed = " ".join(_env_scopes(env))
    if env.get(SCOPES_VAR, "").strip():
        has = f"{SCOPES_VAR} gives {ENV_TOKEN} the scopes {listed}"
    else:
        has = f"{ENV_TOKEN} has the default scope {listed} (no {SCOPES_VAR})"
    lacks = f"{has}, not {PROFILE_SCOPE}: a `claude setup-token` token cannot read usage"
    if stored is not None:
        return Check(
            "scopes", WARN, f"{lacks}; using the stored login in {stored.source} instead", f"unset {ENV_TOKEN}"
        )
    return Check("scopes", FAIL, f"{lacks}, and {instead}", LOGIN_FIX, auth=True)


def _unchecked(name: str, blocked: str, fix: str = LOGIN_FIX) -> Check:
    return Check(name, WARN, f"not checked: {blocked}", fix)
