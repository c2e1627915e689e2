"""Reading Claude Code's login: env token, credentials file, macOS Keychain; read-only, never leaking."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters.credentials import CredentialReader, Credentials, Secret
from claude_usage.adapters.redact import redact
from claude_usage.errors import AuthError, NotLoggedIn, TokenExpired
from tests.support.fake_security import FakeSecurity, install_fake_security

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)
TOKEN = "sk-ant-oat01-FILE-do-not-leak-0123456789"
KEYCHAIN_TOKEN = "sk-ant-oat01-KEYCHAIN-do-not-leak-0123456789"
ENV_TOKEN = "sk-ant-oat01-ENV-do-not-leak-0123456789"
API_KEY = "sk-ant-api03-APIKEY-do-not-leak-0123456789"
ACCOUNT = "6a1e0c2e-0000-4000-8000-000000000001"
ORG = "b7d4a9f0-0000-4000-8000-000000000002"
SCOPES = ["user:inference", "user:profile", "user:sessions:claude_code"]
SECRETS = (TOKEN, KEYCHAIN_TOKEN, ENV_TOKEN, API_KEY, "REFRESH")


class FakeClock:
    """Wall and monotonic time that move only when told."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._monotonic = 1_000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def login(token: str = TOKEN, **overrides: Any) -> dict[str, Any]:
    """A store as Claude Code writes it, with a token valid for three more hours."""
    oauth: dict[str, Any] = {
        "accessToken": token,
        "refreshToken": "sk-ant-ort01-REFRESH",
        "expiresAt": ms(NOW + timedelta(hours=3)),
        "scopes": SCOPES,
        "subscriptionType": "max",
        "rateLimitTier": "default_claude_max_5x",
        "accountUuid": ACCOUNT,
        "organizationUuid": ORG,
    }
    oauth.update(overrides)
    return {"claudeAiOauth": oauth, "mcpOAuth": {"docs|1": {"accessToken": "MCP"}}}


def write_store(path: Path, data: dict[str, Any] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    path.chmod(0o600)
    return path


def local_hhmm(when: datetime) -> str:
    return f"{when.astimezone():%H:%M}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(home: Path) -> Path:
    """Where the credentials file goes by default (not written yet)."""
    return home / ".claude" / ".credentials.json"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """A clean environment mapping with just HOME."""
    return {"HOME": str(home)}


def reader(env: dict[str, str], clock: FakeClock, **kwargs: Any) -> CredentialReader:
    return CredentialReader(env, clock=clock, **{"platform": "linux", **kwargs})


def error_of(env: dict[str, str], clock: FakeClock, **kwargs: Any) -> AuthError:
    with pytest.raises(AuthError) as info:
        reader(env, clock, **kwargs).read()
    return info.value


# -- the credentials file -------------------------------------------------------------------------


def test_file_token(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """The file's accessToken is the token."""
    write_store(store, login())
    assert TOKEN == reader(env, clock).read().token.reveal()


def test_file_plan(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """The plan label comes from subscriptionType and rateLimitTier."""
    write_store(store, login())
    assert "Max 5x" == reader(env, clock).read().plan


def test_file_account_id(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """The account id is accountUuid:organizationUuid."""
    write_store(store, login())
    assert f"{ACCOUNT}:{ORG}" == reader(env, clock).read().account_id


def test_file_account_id_without_organization(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """Without an organizationUuid the account id is the accountUuid alone."""
    write_store(store, login(organizationUuid=None))
    assert ACCOUNT == reader(env, clock).read().account_id


def test_file_without_account(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """Older files without accountUuid give no account id."""
    data = login()
    del data["claudeAiOauth"]["accountUuid"]
    write_store(store, data)
    assert None is reader(env, clock).read().account_id


def test_file_expiry_is_epoch_milliseconds(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """expiresAt is read as epoch milliseconds, aware UTC."""
    write_store(store, login())
    assert NOW + timedelta(hours=3) == reader(env, clock).read().expires_at


def test_file_scopes(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """The file's scopes are kept, in order."""
    write_store(store, login())
    assert tuple(SCOPES) == reader(env, clock).read().scopes


def test_file_source_and_no_notes(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A 0600 file login names the file as its source and carries no notes."""
    write_store(store, login())
    creds = reader(env, clock).read()
    assert (str(store), (), False) == (creds.source, creds.notes, creds.from_env)


def test_config_dir(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """CLAUDE_CONFIG_DIR moves the credentials file."""
    work = write_store(tmp_path / "work" / ".credentials.json", login())
    creds = reader({**env, "CLAUDE_CONFIG_DIR": str(work.parent)}, clock).read()
    assert str(work) == creds.source


def test_token_with_six_minutes_left_is_used(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A token with more than five minutes left is used."""
    write_store(store, login(expiresAt=ms(NOW + timedelta(minutes=6))))
    assert TOKEN == reader(env, clock).read().token.reveal()


def test_expired_token(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """An expired token raises TokenExpired naming the file, the local time and `claude`."""
    expired = NOW - timedelta(hours=1)
    write_store(store, login(expiresAt=ms(expired)))
    with pytest.raises(TokenExpired) as info:
        reader(env, clock).read()
    expected = f"The Claude Code login token in {store} expired at {local_hhmm(expired)}; run `claude` to refresh it"
    assert expected == str(info.value)


def test_token_expiring_in_four_minutes(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A token with four minutes left counts as expired."""
    soon = NOW + timedelta(minutes=4)
    write_store(store, login(expiresAt=ms(soon)))
    with pytest.raises(TokenExpired) as info:
        reader(env, clock).read()
    assert f"{store} expires at {local_hhmm(soon)};" in str(info.value)


def test_missing_file(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """No credentials file raises NotLoggedIn naming it."""
    error = error_of(env, clock)
    expected = (
        f"Not logged in to Claude Code with a subscription (no {store}); run `claude` then /login "
        "(or try `claude-usage --demo` to see the monitor without a login)"
    )
    assert (NotLoggedIn, expected) == (type(error), str(error))


def test_malformed_json(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A truncated file raises AuthError naming it, without its content."""
    write_store(store, json.dumps(login())[:60])
    error = error_of(env, clock)
    assert (AuthError, True) == (type(error), str(error).startswith(f"{store} is not valid JSON"))


def test_not_utf8(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A file that is not UTF-8 raises AuthError naming it."""
    store.write_bytes(b'{"claudeAiOauth": "\xff\xfe"}')
    assert f"{store} is not UTF-8 text; run /login in Claude Code" == str(error_of(env, clock))


def test_not_an_object(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A JSON list raises AuthError naming the file."""
    write_store(store, "[]")
    assert f"{store} is not a JSON object; run /login in Claude Code" == str(error_of(env, clock))


def test_only_mcp_oauth(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A store holding only mcpOAuth is not a login."""
    write_store(store, {"mcpOAuth": {"docs|1": {"accessToken": "MCP"}}})
    error = error_of(env, clock)
    expected = (
        f"Not logged in to Claude Code with a subscription ({store} holds no claudeAiOauth login); "
        "run `claude` then /login (or try `claude-usage --demo` to see the monitor without a login)"
    )
    assert (NotLoggedIn, expected) == (type(error), str(error))


def test_oauth_not_an_object(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A claudeAiOauth that is not an object raises AuthError naming the file."""
    write_store(store, {"claudeAiOauth": [TOKEN]})
    assert f"{store}: claudeAiOauth is not an object; run /login in Claude Code" == str(error_of(env, clock))


def test_access_token_wrong_type(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A non-string accessToken raises AuthError naming the key and the file."""
    write_store(store, login(token=12345))  # type: ignore[arg-type]
    expected = f"{store}: claudeAiOauth.accessToken has the wrong type (int); run /login in Claude Code"
    assert expected == str(error_of(env, clock))


def test_expiry_wrong_type(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A string expiresAt raises AuthError naming the key."""
    write_store(store, login(expiresAt="tomorrow"))
    assert "claudeAiOauth.expiresAt has the wrong type (str)" in str(error_of(env, clock))


def test_scopes_wrong_type(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A scopes value that is not a list of strings raises AuthError naming the key."""
    write_store(store, login(scopes="user:profile"))
    assert "claudeAiOauth.scopes has the wrong type (str)" in str(error_of(env, clock))


def test_deeply_nested_file(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """JSON nested too deep to decode raises AuthError naming the file, not a RecursionError."""
    write_store(store, '{"claudeAiOauth": ' + "[" * 100_000 + "]" * 100_000 + "}")
    error = error_of(env, clock)
    assert (AuthError, f"{store} is nested too deeply to read; run /login in Claude Code") == (type(error), str(error))


def test_huge_expiry_number(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A 5000-digit expiresAt raises one AuthError line naming the file, without echoing the number."""
    write_store(store, json.dumps(login(expiresAt=12345)).replace("12345", "7" * 5000))
    message = str(error_of(env, clock))
    assert (True, False, False) == (message.startswith(str(store)), "7777777" in message, "\n" in message)


@pytest.fixture
def new_york() -> Iterator[None]:
    """The process's local time zone is America/New_York for the test."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.usefixtures("new_york")
@pytest.mark.parametrize("expires_ms", [-62_135_596_800_000, 253_402_300_799_000], ids=["year-1", "year-9999"])
def test_expiry_at_the_edge_of_time(env: dict[str, str], clock: FakeClock, store: Path, expires_ms: int) -> None:
    """An expiresAt at datetime's limits, which local time cannot show, raises AuthError naming the file."""
    write_store(store, login(expiresAt=expires_ms))
    error = error_of(env, clock)
    expected = f"{store}: claudeAiOauth.expiresAt is out of range; run /login"
    assert (AuthError, expected) == (type(error), str(error))


def test_dead_login(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """An emptied login (accessToken "" and expiresAt 0) says to run /login."""
    write_store(store, login(token="", refreshToken="", expiresAt=0))
    assert f"{store}: login expired, run /login in Claude Code" == str(error_of(env, clock))


def test_login_ended(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A loginEnded marker is a dead login, with the reason shown."""
    write_store(store, login(token="", expiresAt=0, loginEnded="time_limit"))
    assert f"{store}: login expired (time_limit), run /login in Claude Code" == str(error_of(env, clock))


def test_unreadable_path(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """A credentials path that cannot be read raises AuthError naming it."""
    (tmp_path / "not-a-dir").write_text("")
    error = error_of({**env, "CLAUDE_CONFIG_DIR": str(tmp_path / "not-a-dir")}, clock)
    store = tmp_path / "not-a-dir" / ".credentials.json"
    assert (AuthError, f"Cannot read {store}: Not a directory") == (type(error), str(error))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads mode-000 files anyway")
def test_permission_denied(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A file we may not read raises AuthError naming it."""
    write_store(store, login()).chmod(0)
    assert f"Cannot read {store}: Permission denied" == str(error_of(env, clock))


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_group_readable_file_note(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A group/world readable file is used, with a note saying so."""
    write_store(store, login()).chmod(0o644)
    expected = (f"{store} is readable by other users (mode 0644); Claude Code keeps it 0600: chmod 600 it",)
    assert expected == reader(env, clock).read().notes


def test_store_untouched_by_reads(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """Reading leaves the file byte-identical, its mtime unchanged and nothing new in the directory."""
    write_store(store, login())
    before = (store.read_bytes(), store.stat().st_mtime_ns, sorted(store.parent.iterdir()))
    for _ in range(3):
        reader(env, clock).read()
    assert before == (store.read_bytes(), store.stat().st_mtime_ns, sorted(store.parent.iterdir()))


# -- CLAUDE_CODE_OAUTH_TOKEN ----------------------------------------------------------------------


def test_env_token_with_profile_scope(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """An env token with user:profile wins over the file, with no expiry and its plan from env."""
    write_store(store, login())
    creds = reader(
        {
            **env,
            "CLAUDE_CODE_OAUTH_TOKEN": ENV_TOKEN,
            "CLAUDE_CODE_OAUTH_SCOPES": "user:inference user:profile",
            "CLAUDE_CODE_SUBSCRIPTION_TYPE": "pro",
        },
        clock,
    ).read()
    expected = Credentials(
        token=Secret(ENV_TOKEN),
        expires_at=None,
        scopes=("user:inference", "user:profile"),
        plan="Pro",
        source="CLAUDE_CODE_OAUTH_TOKEN",
        account_id=None,
        from_env=True,
    )
    assert expected == creds


def test_env_token_without_profile_scope_uses_stored_login(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """An env token with the default scopes falls back to the stored login and says why."""
    write_store(store, login())
    creds = reader({**env, "CLAUDE_CODE_OAUTH_TOKEN": ENV_TOKEN}, clock).read()
    note = (
        "CLAUDE_CODE_OAUTH_TOKEN lacks the user:profile scope (setup-token tokens can't read usage); "
        f"using the stored login in {store}"
    )
    assert (TOKEN, (note,)) == (creds.token.reveal(), creds.notes)


def test_env_token_without_profile_scope_and_no_login(env: dict[str, str], clock: FakeClock) -> None:
    """An env token that cannot read usage and no stored login raise AuthError saying so."""
    error = error_of({**env, "CLAUDE_CODE_OAUTH_TOKEN": ENV_TOKEN}, clock)
    assert str(error).startswith("CLAUDE_CODE_OAUTH_TOKEN lacks the user:profile scope")


def test_skip_env_token_uses_stored_login(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """skip_env_token reads the stored login and adds the given reason to the notes."""
    write_store(store, login())
    full = {**env, "CLAUDE_CODE_OAUTH_TOKEN": ENV_TOKEN, "CLAUDE_CODE_OAUTH_SCOPES": "user:profile"}
    creds = reader(full, clock).read(skip_env_token=True, skip_reason="env token got 403")
    assert (TOKEN, ("env token got 403",)) == (creds.token.reveal(), creds.notes)


def test_skip_env_token_without_stored_login(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """skip_env_token with no stored login raises AuthError carrying the reason."""
    full = {**env, "CLAUDE_CODE_OAUTH_TOKEN": ENV_TOKEN, "CLAUDE_CODE_OAUTH_SCOPES": "user:profile"}
    with pytest.raises(AuthError) as info:
        reader(full, clock).read(skip_env_token=True, skip_reason="env token got 403")
    expected = f"env token got 403, and there is no stored login to use instead (no {store})"
    assert expected == str(info.value)


# -- API billing ----------------------------------------------------------------------------------


def test_api_key_alone(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """ANTHROPIC_API_KEY without a login raises NotLoggedIn explaining API billing."""
    error = error_of({**env, "ANTHROPIC_API_KEY": API_KEY}, clock)
    expected = (
        "ANTHROPIC_API_KEY is set: that is API billing, not a subscription; usage limits belong to a "
        f"claude.ai login and none was found (no {store}); run `claude` then /login "
        "(or try `claude-usage --demo`)"
    )
    assert (NotLoggedIn, expected) == (type(error), str(error))


def test_api_key_with_login(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """ANTHROPIC_API_KEY with a login reads the login, with a billing note."""
    write_store(store, login())
    creds = reader({**env, "ANTHROPIC_API_KEY": API_KEY}, clock).read()
    note = (
        "ANTHROPIC_API_KEY is set, so Claude Code in this shell bills the API key or provider, "
        f"not your subscription; the numbers shown are the stored login's ({store})"
    )
    assert (TOKEN, (note,)) == (creds.token.reveal(), creds.notes)


def test_provider_flag_alone(env: dict[str, str], clock: FakeClock) -> None:
    """CLAUDE_CODE_USE_BEDROCK=1 without a login is explained as API billing."""
    error = error_of({**env, "CLAUDE_CODE_USE_BEDROCK": "1"}, clock)
    assert str(error).startswith("CLAUDE_CODE_USE_BEDROCK is set: that is API billing")


def test_provider_flag_off(env: dict[str, str], clock: FakeClock) -> None:
    """CLAUDE_CODE_USE_BEDROCK=0 is not API billing."""
    error = error_of({**env, "CLAUDE_CODE_USE_BEDROCK": "0"}, clock)
    assert str(error).startswith("Not logged in to Claude Code with a subscription")


# -- secrets --------------------------------------------------------------------------------------


def test_secret_repr_hides_token() -> None:
    """repr, str and format of a Secret show only a fingerprint prefix."""
    secret = Secret(TOKEN)
    fp = hashlib.sha256(TOKEN.encode()).hexdigest()[:8]
    assert [f"Secret(fp={fp}…)"] * 3 == [repr(secret), str(secret), f"{secret}"]


def test_secret_is_not_a_dataclass() -> None:
    """A Secret is no dataclass, so dataclasses.asdict/astuple/replace cannot take it apart."""
    assert False is dataclasses.is_dataclass(Secret(TOKEN))


def test_secret_has_no_dict() -> None:
    """vars() and __dict__ give nothing of a Secret."""
    secret = Secret(TOKEN)
    with pytest.raises(TypeError):
        vars(secret)
    assert False is hasattr(secret, "__dict__")


def test_secret_text_forms_hide_token() -> None:
    """No text form of a Secret (repr, str, format, a container's repr) shows the token."""
    secret = Secret(TOKEN)
    shown = [repr(secret), str(secret), format(secret), f"{secret!r}", repr([secret])]
    assert [] == [text for text in shown if TOKEN in text]


def test_credentials_asdict_hides_token(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """Credentials as a dict (`_asdict`) keep the Secret whole, so its repr shows no token."""
    write_store(store, login())
    assert TOKEN not in repr(reader(env, clock).read()._asdict())


def test_secret_equal_and_hashable_by_value() -> None:
    """Secrets with the same token are equal and hash alike; a different token is not equal."""
    assert (True, 1, False) == (
        Secret(TOKEN) == Secret(TOKEN),
        len({Secret(TOKEN), Secret(TOKEN)}),
        Secret(TOKEN) == Secret("x"),
    )


def test_secret_is_immutable() -> None:
    """A Secret's token cannot be replaced."""
    secret = Secret(TOKEN)
    with pytest.raises(AttributeError):
        secret._value = "other"
    assert TOKEN == secret.reveal()


def test_secret_copies_are_equal() -> None:
    """copy and deepcopy give an equal Secret."""
    secret = Secret(TOKEN)
    assert [secret, secret] == [copy.copy(secret), copy.deepcopy(secret)]


def test_secret_fingerprint() -> None:
    """The fingerprint is the first 16 hex digits of the token's sha256."""
    assert hashlib.sha256(TOKEN.encode()).hexdigest()[:16] == Secret(TOKEN).fingerprint


def test_credentials_repr_hides_token(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """The repr of Credentials read from a file contains no token."""
    write_store(store, login())
    shown = repr(reader(env, clock).read())
    assert [] == [secret for secret in SECRETS if secret in shown]


@pytest.mark.parametrize(
    "data",
    [
        login(expiresAt=ms(NOW)),
        login(token=TOKEN, expiresAt=0),
        login(scopes=TOKEN),
        login(expiresAt=TOKEN),
        json.dumps(login())[:70],
        {"claudeAiOauth": TOKEN},
    ],
    ids=["expired", "dead", "bad-scopes", "bad-expiry", "truncated", "oauth-is-string"],
)
def test_errors_never_show_secrets(
    env: dict[str, str], clock: FakeClock, store: Path, data: dict[str, Any] | str
) -> None:
    """No error message contains a token or key, whatever is wrong with the store."""
    write_store(store, data)
    full = {**env, "ANTHROPIC_API_KEY": API_KEY, "CLAUDE_CODE_OAUTH_TOKEN": ENV_TOKEN}
    message = str(error_of(full, clock))
    assert [] == [secret for secret in SECRETS if secret in message]


# -- macOS Keychain -------------------------------------------------------------------------------


def keychain_env(env: dict[str, str], fake: FakeSecurity, **extra: str) -> dict[str, str]:
    return {**env, "PATH": fake.path, "USER": "tester", **extra}


def mac(env: dict[str, str], clock: FakeClock, **kwargs: Any) -> CredentialReader:
    return CredentialReader(env, clock=clock, platform="darwin", **kwargs)


def test_keychain_login(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """On macOS the keychain item's login is used, named by its service."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)) + "\n")
    creds = mac(keychain_env(env, fake), clock).read()
    expected = (KEYCHAIN_TOKEN, "macOS Keychain (Claude Code-credentials)", "Max 5x")
    assert expected == (creds.token.reveal(), creds.source, creds.plan)


def test_keychain_command(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """The keychain is asked once, read-only, for the user's item by account and service."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    mac(keychain_env(env, fake), clock).read()
    expected = [["find-generic-password", "-a", "tester", "-w", "-s", "Claude Code-credentials"]]
    assert expected == fake.calls()


def test_keychain_before_file(env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path) -> None:
    """On macOS the keychain is read before the credentials file."""
    write_store(store, login())
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    assert KEYCHAIN_TOKEN == mac(keychain_env(env, fake), clock).read().token.reveal()


def test_keychain_service_with_config_dir(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """CLAUDE_CONFIG_DIR adds sha256(dir)[:8] to the keychain service name."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    config_dir = str(tmp_path / "claude-work")
    mac(keychain_env(env, fake, CLAUDE_CONFIG_DIR=config_dir), clock).read()
    service = "Claude Code-credentials-" + hashlib.sha256(config_dir.encode()).hexdigest()[:8]
    assert service == fake.calls()[0][-1]


def test_keychain_account_fallback(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """A USER with unsafe characters gives the account claude-code-user."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    mac(keychain_env(env, fake, USER="Jane Doe"), clock).read()
    assert "claude-code-user" == fake.calls()[0][2]


def test_keychain_hex_output(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """An item printed as hex (how `security -w` shows non-printable data) is decoded."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)).encode().hex())
    assert KEYCHAIN_TOKEN == mac(keychain_env(env, fake), clock).read().token.reveal()


def test_keychain_copy_kept_in_memory(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """A good keychain login is not asked for again while it is valid."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    creds = mac(keychain_env(env, fake), clock)
    creds.read()
    clock.advance(3600)
    creds.read()
    assert 1 == len(fake.calls())


def test_keychain_one_read_at_a_time(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """Reads racing from two threads run `security` once; the second uses the first's result."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)), delay_s=0.3)
    creds = mac(keychain_env(env, fake), clock)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(creds.read().token.reveal())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert ([KEYCHAIN_TOKEN] * 2, 1) == (tokens, len(fake.calls()))


def test_keychain_invalidate(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """invalidate() makes the next read ask the keychain again."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    creds = mac(keychain_env(env, fake), clock)
    creds.read()
    creds.invalidate()
    creds.read()
    assert 2 == len(fake.calls())


def test_keychain_rejected_token_replaced_by_refresh(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """After reject(), the keychain is asked again a minute after the last ask, and its new token is used."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    creds = mac(keychain_env(env, fake), clock)
    creds.reject(creds.read().token.fingerprint)
    (tmp_path / "security-stdout").write_text(json.dumps(login(TOKEN)))
    clock.advance(59)
    creds.read()
    calls_within_a_minute = len(fake.calls())
    clock.advance(2)
    assert (1, TOKEN, 2) == (calls_within_a_minute, creds.read().token.reveal(), len(fake.calls()))


def test_keychain_rejected_token_asked_once_a_minute(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """While the keychain still holds the rejected token, it is asked at most once a minute."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    creds = mac(keychain_env(env, fake), clock)
    creds.reject(creds.read().token.fingerprint)
    counts = []
    for step in (30, 31, 1, 58, 2):
        clock.advance(step)
        creds.read()
        counts.append(len(fake.calls()))
    assert [1, 2, 2, 2, 3] == counts


def test_keychain_other_rejection_keeps_copy(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """Rejecting some other token leaves the kept keychain copy alone."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    creds = mac(keychain_env(env, fake), clock)
    creds.read()
    creds.reject(Secret(TOKEN).fingerprint)
    clock.advance(3600)
    creds.read()
    assert 1 == len(fake.calls())


def test_keychain_reread_when_expiring(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """Once the kept keychain token is about to expire, the next read asks the keychain again."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    creds = mac(keychain_env(env, fake), clock)
    creds.read()
    clock.advance(3 * 3600 - 60)
    with pytest.raises(TokenExpired):
        creds.read()
    assert 2 == len(fake.calls())


def test_keychain_no_item_falls_back_to_file(
    env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path
) -> None:
    """Exit 44 (no item) falls back to the credentials file without a note."""
    write_store(store, login())
    fake = install_fake_security(tmp_path, exit_code=44)
    creds = mac(keychain_env(env, fake), clock).read()
    assert (TOKEN, str(store), ()) == (creds.token.reveal(), creds.source, creds.notes)


def test_keychain_no_item_and_no_file(env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path) -> None:
    """Exit 44 and no file raise NotLoggedIn naming both places."""
    fake = install_fake_security(tmp_path, exit_code=44)
    error = error_of(keychain_env(env, fake), clock, platform="darwin")
    expected = (
        "Not logged in to Claude Code with a subscription (no macOS Keychain item "
        f"'Claude Code-credentials', no {store}); run `claude` then /login "
        "(or try `claude-usage --demo` to see the monitor without a login)"
    )
    assert (NotLoggedIn, expected) == (type(error), str(error))


def test_keychain_locked_falls_back_to_file(env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path) -> None:
    """Exit 36 (locked) falls back to the file, with a note."""
    write_store(store, login())
    fake = install_fake_security(tmp_path, exit_code=36)
    creds = mac(keychain_env(env, fake), clock).read()
    note = (
        "Could not read macOS Keychain (Claude Code-credentials) (keychain locked or access not allowed; "
        f"not asking again for 10 minutes); using {store}"
    )
    assert (TOKEN, (note,)) == (creds.token.reveal(), creds.notes)


def test_keychain_locked_not_asked_again_for_ten_minutes(
    env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path
) -> None:
    """After exit 36 the keychain is left alone for 10 minutes, then asked once more."""
    write_store(store, login())
    fake = install_fake_security(tmp_path, exit_code=36)
    creds = mac(keychain_env(env, fake), clock)
    counts = []
    for step in (0, 60, 9 * 60 - 1, 2):
        clock.advance(step)
        creds.read()
        counts.append(len(fake.calls()))
    assert [1, 1, 1, 2] == counts


def test_keychain_locked_and_no_file(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """Exit 36 and no file raise AuthError about the keychain, not NotLoggedIn."""
    fake = install_fake_security(tmp_path, exit_code=36)
    error = error_of(keychain_env(env, fake), clock, platform="darwin")
    assert (AuthError, True) == (type(error), "keychain locked" in str(error))


def test_keychain_timeout_falls_back_and_is_remembered(
    env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path
) -> None:
    """A keychain read that hangs is cut off, the file used, and the keychain not asked again."""
    write_store(store, login())
    fake = install_fake_security(tmp_path, hang=True)
    creds = mac(keychain_env(env, fake), clock, keychain_timeout_s=0.3)
    tokens = [creds.read().token.reveal(), creds.read().token.reveal()]
    assert ([TOKEN, TOKEN], 1) == (tokens, len(fake.calls()))


def test_keychain_dead_login(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """A dead login in the keychain says to run /login, naming the keychain item."""
    fake = install_fake_security(tmp_path, stdout=json.dumps(login("", expiresAt=0)))
    error = error_of(keychain_env(env, fake), clock, platform="darwin")
    assert "macOS Keychain (Claude Code-credentials): login expired, run /login in Claude Code" == str(error)


def test_no_keychain_option(env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path) -> None:
    """use_keychain=False never runs `security` and reads the file."""
    write_store(store, login())
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    creds = mac(keychain_env(env, fake), clock, use_keychain=False).read()
    assert (TOKEN, []) == (creds.token.reveal(), fake.calls())


def test_no_keychain_off_macos(env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path) -> None:
    """Outside macOS `security` is never run."""
    write_store(store, login())
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(KEYCHAIN_TOKEN)))
    reader(keychain_env(env, fake), clock).read()
    assert [] == fake.calls()


def test_keychain_read_leaves_file_untouched(
    env: dict[str, str], clock: FakeClock, tmp_path: Path, store: Path
) -> None:
    """Falling back from the keychain leaves the file and its directory as they were."""
    write_store(store, login())
    fake = install_fake_security(tmp_path, exit_code=44)
    before = (store.read_bytes(), store.stat().st_mtime_ns, sorted(store.parent.iterdir()))
    for _ in range(3):
        mac(keychain_env(env, fake), clock).read()
    assert before == (store.read_bytes(), store.stat().st_mtime_ns, sorted(store.parent.iterdir()))


# -- every token read is redacted from then on ----------------------------------------------------


def unshaped(name: str) -> str:
    """A token nothing like sk-ant, unique to the test (redaction remembers tokens for the whole process)."""
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:32]}"


def test_file_token_is_remembered_for_redaction(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """Once read from the file, the token is redacted from any text the process prints."""
    token = unshaped("file")
    write_store(store, login(token))
    reader(env, clock).read()
    assert "got <redacted>" == redact(f"got {token}")


def test_env_token_is_remembered_for_redaction(env: dict[str, str], clock: FakeClock) -> None:
    """Once read from the environment, the token is redacted even where that environment is not passed."""
    token = unshaped("env")
    reader({**env, "CLAUDE_CODE_OAUTH_TOKEN": token, "CLAUDE_CODE_OAUTH_SCOPES": "user:profile"}, clock).read()
    assert "got <redacted>" == redact(f"got {token}")


def test_keychain_token_is_remembered_for_redaction(env: dict[str, str], clock: FakeClock, tmp_path: Path) -> None:
    """Once read from the Keychain, the token is redacted from any text the process prints."""
    token = unshaped("keychain")
    fake = install_fake_security(tmp_path, stdout=json.dumps(login(token)))
    mac(keychain_env(env, fake), clock).read()
    assert "got <redacted>" == redact(f"got {token}")


# -- what is not a regular file -------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipe_is_refused_at_once(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A named pipe at the credentials path raises AuthError saying so, without waiting for a writer."""
    os.mkfifo(store)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            reader(env, clock).read()
        except AuthError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(2)
    expected = f"{store} is not a regular file (a named pipe); Claude Code keeps its login in a file: run /login"
    assert [expected] == [str(exc) for exc in outcome]


def test_directory_is_refused(env: dict[str, str], clock: FakeClock, store: Path) -> None:
    """A directory at the credentials path raises AuthError saying what it is."""
    store.mkdir()
    assert str(error_of(env, clock)).startswith(f"{store} is not a regular file (a directory);")
