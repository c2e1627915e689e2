"""Which account a reading belongs to: the same key in every process, from real files, never the token."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_usage.adapters import account, paths
from claude_usage.adapters.store import Store
from tests.support.cli import TEST_TOKEN, write_credentials

ACCOUNT = "6f0b3c2e-9d41-4a8e-b7c5-2e1f0a9d8c7b"
ORG = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
KEY = f"a-{ACCOUNT}_{ORG}"
OTHER_ACCOUNT = "00000000-1111-4222-8333-444444444444"
TOKEN_FP = hashlib.sha256(TEST_TOKEN.encode()).hexdigest()[:16]


@pytest.fixture
def env() -> dict[str, str]:
    """The test's environment (tmp HOME, tmp data dir) as a plain mapping."""
    return dict(os.environ)


@pytest.fixture
def store(env: dict[str, str]) -> Store:
    return Store(paths.data_dir(env))


def write_state(home: Path, account_uuid: str, organization_uuid: str | None = ORG) -> None:
    """Claude Code's `~/.claude.json` naming the logged-in account, with the bulk such files carry."""
    oauth: dict[str, object] = {"accountUuid": account_uuid, "emailAddress": "dev@example.com"}
    if organization_uuid is not None:
        oauth["organizationUuid"] = organization_uuid
    state = {"numStartups": 412, "projects": {f"/home/dev/p{i}": {"history": []} for i in range(50)}}
    (home / ".claude.json").write_text(json.dumps({**state, "oauthAccount": oauth}))


def write_account_credentials(home: Path, account_uuid: str | None, organization_uuid: str | None) -> None:
    """A credentials file as Claude Code writes it, with the account's ids when given."""
    path = write_credentials(home / ".claude")
    data = json.loads(path.read_text())
    if account_uuid is not None:
        data["claudeAiOauth"]["accountUuid"] = account_uuid
    if organization_uuid is not None:
        data["claudeAiOauth"]["organizationUuid"] = organization_uuid
    path.write_text(json.dumps(data))


# -- keys -------------------------------------------------------------------------------------------


def test_key_for_account_and_organization() -> None:
    """An account and its organization key as `a-<account>_<organization>`."""
    assert KEY == account.key_for_ids(ACCOUNT, ORG)


@pytest.mark.parametrize("organization", [None, ""])
def test_key_for_account_alone(organization: str | None) -> None:
    """An account without an organization keys as `a-<account>`."""
    assert f"a-{ACCOUNT}" == account.key_for_ids(ACCOUNT, organization)


@pytest.mark.parametrize(
    ("account_uuid", "organization", "expected"),
    [
        ("../../etc/passwd", None, "a-etcpasswd"),
        ("abc def", "x/y\\z", "a-abcdef_xyz"),
        ("acc\n.json", "org\x00", "a-accjson_org"),
        ("ü-ñ-✓", "日本", "a---_"),
        ("a" * 50, "b" * 50, "a-" + "a" * 36 + "_" + "b" * 36),
    ],
)
def test_key_is_sanitised(account_uuid: str, organization: str | None, expected: str) -> None:
    """Anything but ASCII letters, digits and dashes is removed and each id is cut at 36 characters."""
    assert expected == account.key_for_ids(account_uuid, organization)


def test_sanitised_key_is_a_valid_store_key(store: Store) -> None:
    """Even a hostile id yields a key the store accepts as a file name inside its root."""
    key = account.key_for_ids("../" * 30 + "x" * 40, "..\\org")
    assert os.path.join(str(store.root), key + ".json") == store.path(key)


def test_key_for_account_id_splits_at_the_colon() -> None:
    """The credentials adapter's `account:organization` id keys like the two ids."""
    assert KEY == account.key_for_account_id(f"{ACCOUNT}:{ORG}")


def test_fingerprint_is_16_hex_digits_of_sha256() -> None:
    """A token's fingerprint is the first 16 hex digits of its sha256."""
    assert TOKEN_FP == account.fingerprint(TEST_TOKEN)


@given(st.text())
def test_fingerprint_matches_hashlib(text: str) -> None:
    """The built-in sha256 gives byte for byte hashlib's digest, for any text."""
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == account.fingerprint(text)


def test_fingerprint_does_not_use_hashlib() -> None:
    """The sha256 is the interpreter's built-in one, which loads without hashlib's OpenSSL set-up."""
    assert hashlib.sha256 is not account._find_sha256()


def test_fingerprint_falls_back_to_hashlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a built-in sha256 module the fingerprint comes from hashlib, unchanged."""
    monkeypatch.setitem(sys.modules, "_sha2", None)  # None in sys.modules makes the import fail
    monkeypatch.setitem(sys.modules, "_sha256", None)
    monkeypatch.setattr(account, "_new_sha256", None)
    assert (TOKEN_FP, hashlib.sha256) == (account.fingerprint(TEST_TOKEN), account._find_sha256())


# -- ids from Claude Code's files ---------------------------------------------------------------------


def test_ids_from_credentials_with_account(home: Path, env: dict[str, str]) -> None:
    """A credentials file naming the account gives its `account:organization` id and no fingerprint."""
    write_account_credentials(home, ACCOUNT, ORG)
    assert (f"{ACCOUNT}:{ORG}", None) == account.ids_from_credentials(env)


def test_ids_from_credentials_without_account(home: Path, env: dict[str, str]) -> None:
    """A credentials file without ids gives the token's fingerprint."""
    write_account_credentials(home, None, None)
    assert (None, TOKEN_FP) == account.ids_from_credentials(env)


def test_ids_from_environment_token(home: Path, env: dict[str, str]) -> None:
    """A CLAUDE_CODE_OAUTH_TOKEN that can read usage wins over the file and gives its fingerprint only."""
    write_account_credentials(home, ACCOUNT, ORG)
    other = "sk-ant-oat01-ANOTHER-token"
    expected = (None, hashlib.sha256(other.encode()).hexdigest()[:16])
    token_env = {**env, "CLAUDE_CODE_OAUTH_TOKEN": other, "CLAUDE_CODE_OAUTH_SCOPES": "user:inference user:profile"}
    assert expected == account.ids_from_credentials(token_env)
    assert "t-" + expected[1] == account.env_token_key(token_env)


def test_a_scopeless_environment_token_falls_back_to_the_file(home: Path, env: dict[str, str]) -> None:
    """A setup-token without user:profile is not used (as the credentials reader decides): the login's ids are."""
    write_account_credentials(home, ACCOUNT, ORG)
    token_env = {**env, "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-SETUP-token"}
    assert (f"{ACCOUNT}:{ORG}", None) == account.ids_from_credentials(token_env)
    assert account.env_token_key(token_env) is None


@pytest.mark.parametrize("content", [None, b"", b"not json", b"[]", b'{"claudeAiOauth": "x"}'])
def test_ids_from_missing_or_unreadable_credentials(home: Path, env: dict[str, str], content: bytes | None) -> None:
    """No or unreadable credentials give neither id nor fingerprint."""
    if content is not None:
        (home / ".claude" / ".credentials.json").write_bytes(content)
    assert (None, None) == account.ids_from_credentials(env)


def test_ids_from_state_file(home: Path, env: dict[str, str]) -> None:
    """Claude Code's `.claude.json` names the logged-in account under `oauthAccount`."""
    write_state(home, ACCOUNT)
    assert (ACCOUNT, ORG) == account.ids_from_state(env)


posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


def within(seconds: float, call: Callable[[], Any]) -> tuple[bool, object]:
    """(whether `call()` returned within `seconds`, what it returned); a call still blocked is left behind."""
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive(), outcome[0] if outcome else None)


@posix_only
def test_named_pipe_for_credentials_counts_as_absent(home: Path, env: dict[str, str]) -> None:
    """A named pipe at the credentials path gives neither id nor fingerprint, without waiting for a writer."""
    os.mkfifo(home / ".claude" / ".credentials.json")
    assert (True, (None, None)) == within(2, lambda: account.ids_from_credentials(env))


@posix_only
def test_named_pipe_for_the_state_file_counts_as_absent(home: Path, env: dict[str, str]) -> None:
    """A named pipe at `.claude.json` names no account, without waiting for a writer."""
    os.mkfifo(home / ".claude.json")
    assert (True, None) == within(2, lambda: account.ids_from_state(env))


def grow_credentials(home: Path, megabytes: float) -> None:
    """Claude Code's credentials file with MCP server logins added until it is about `megabytes` large."""
    path = home / ".claude" / ".credentials.json"
    data = json.loads(path.read_text())
    entry = {"serverName": "docs", "accessToken": "m" * 900, "refreshToken": "r" * 400, "expiresAt": 1}
    count = int(megabytes * 1024 * 1024 / len(json.dumps(entry))) + 1
    data["mcpOAuth"] = {f"server-{i}|{i:016x}": entry for i in range(count)}
    path.write_text(json.dumps(data))


class Unparsable:
    """Stands in for the json module where a test must see that nothing is parsed."""

    @staticmethod
    def loads(data: object) -> object:
        raise AssertionError("parsed")


def test_ids_from_a_large_credentials_file(home: Path, env: dict[str, str]) -> None:
    """A credentials file of 2 MB (many MCP server logins) still gives the account's id."""
    write_account_credentials(home, ACCOUNT, ORG)
    grow_credentials(home, 2)
    assert (f"{ACCOUNT}:{ORG}", None) == account.ids_from_credentials(env)


def test_large_credentials_file_is_parsed_once(
    home: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large credentials file that has not changed is not parsed again: its ids come from the store."""
    write_account_credentials(home, ACCOUNT, ORG)
    grow_credentials(home, 1)
    account.ids_from_credentials(env)
    monkeypatch.setattr(account, "json", Unparsable)
    assert (f"{ACCOUNT}:{ORG}", None) == account.ids_from_credentials(env)


def test_large_credentials_file_fingerprint_is_kept_too(
    home: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large credentials file without account ids gives its token's fingerprint, kept like an id."""
    write_account_credentials(home, None, None)
    grow_credentials(home, 1)
    account.ids_from_credentials(env)
    monkeypatch.setattr(account, "json", Unparsable)
    assert (None, TOKEN_FP) == account.ids_from_credentials(env)


def test_changed_large_credentials_file_is_parsed_again(home: Path, env: dict[str, str]) -> None:
    """Once the large credentials file changes (another login), its new ids are read, not the kept ones."""
    write_account_credentials(home, ACCOUNT, ORG)
    grow_credentials(home, 1)
    account.ids_from_credentials(env)
    write_account_credentials(home, OTHER_ACCOUNT, None)
    grow_credentials(home, 1)
    assert (OTHER_ACCOUNT, None) == account.ids_from_credentials(env)


def test_small_credentials_file_leaves_no_pointer(home: Path, env: dict[str, str], store: Store) -> None:
    """A credentials file of the usual few kilobytes is parsed each time, and nothing is written for it."""
    write_account_credentials(home, ACCOUNT, ORG)
    account.ids_from_credentials(env, store)
    assert False is os.path.exists(os.path.join(str(store.root), "pointers"))


# -- resolve, in order --------------------------------------------------------------------------------


def test_account_id_comes_first(home: Path, env: dict[str, str], store: Store) -> None:
    """The login's own ids decide, whatever the pointers and the state file say."""
    write_state(home, OTHER_ACCOUNT)
    store.set_pointer("fp-" + TOKEN_FP, "a-somebody-else")
    actual = account.resolve(env, store, account_id=f"{ACCOUNT}:{ORG}", token_fingerprint=TOKEN_FP)
    assert KEY == actual


def test_account_id_is_remembered_per_fingerprint(env: dict[str, str], store: Store) -> None:
    """Resolving with an account id remembers it under the token's fingerprint."""
    account.resolve(env, store, account_id=f"{ACCOUNT}:{ORG}", token_fingerprint=TOKEN_FP)
    assert KEY == store.pointer("fp-" + TOKEN_FP)


def test_nothing_is_remembered_when_asked_not_to(env: dict[str, str], store: Store) -> None:
    """With remember=False (the status line), no pointer file is written."""
    account.resolve(env, store, account_id=f"{ACCOUNT}:{ORG}", token_fingerprint=TOKEN_FP, remember=False)
    assert not os.path.exists(os.path.join(str(store.root), "pointers"))


def test_fingerprint_pointer_comes_second(home: Path, env: dict[str, str], store: Store) -> None:
    """A token seen before with its account keys to that account, without reading the state file."""
    account.resolve(env, store, account_id=f"{ACCOUNT}:{ORG}", token_fingerprint=TOKEN_FP)
    write_state(home, OTHER_ACCOUNT)
    assert KEY == account.resolve(env, store, account_id=None, token_fingerprint=TOKEN_FP)


def test_state_file_comes_third(home: Path, env: dict[str, str], store: Store) -> None:
    """A token never seen keys to the account Claude Code's `.claude.json` names."""
    write_state(home, ACCOUNT)
    assert KEY == account.resolve(env, store, account_id=None, token_fingerprint=TOKEN_FP)


def test_state_file_account_is_remembered_per_fingerprint(home: Path, env: dict[str, str], store: Store) -> None:
    """The account found in the state file is remembered under the token's fingerprint."""
    write_state(home, ACCOUNT)
    account.resolve(env, store, account_id=None, token_fingerprint=TOKEN_FP)
    assert KEY == store.pointer("fp-" + TOKEN_FP)


def test_profile_pointer_comes_fourth(home: Path, env: dict[str, str], store: Store) -> None:
    """Without credentials, a process keys to the account this Claude Code profile used last."""
    account.resolve(env, store, account_id=f"{ACCOUNT}:{ORG}", token_fingerprint=TOKEN_FP)
    assert KEY == account.resolve(env, store, account_id=None, token_fingerprint=None, read_state=False)


def test_without_a_token_the_profile_pointer_spares_the_state_file(
    home: Path, env: dict[str, str], store: Store
) -> None:
    """With no token to key by, the profile's remembered account is used before parsing the large state file."""
    account.resolve(env, store, account_id=f"{ACCOUNT}:{ORG}", token_fingerprint=None)
    write_state(home, OTHER_ACCOUNT)
    assert KEY == account.resolve(env, store, account_id=None, token_fingerprint=None)


def test_with_a_token_the_state_file_beats_the_profile_pointer(home: Path, env: dict[str, str], store: Store) -> None:
    """After a re-login to another account (a new token), the state file's account wins over the profile's."""
    account.resolve(env, store, account_id=f"{ACCOUNT}:{ORG}", token_fingerprint=None)
    write_state(home, OTHER_ACCOUNT)
    assert f"a-{OTHER_ACCOUNT}_{ORG}" == account.resolve(env, store, account_id=None, token_fingerprint="f" * 16)


def test_profile_pointer_is_per_config_dir(home: Path, env: dict[str, str], store: Store) -> None:
    """Another Claude Code profile (CLAUDE_CONFIG_DIR) does not inherit this profile's account."""
    account.resolve(env, store, account_id=f"{ACCOUNT}:{ORG}", token_fingerprint=None)
    other = {**env, "CLAUDE_CONFIG_DIR": str(home / "work-profile")}
    assert KEY != account.resolve(other, store, account_id=None, token_fingerprint=None)


def test_unknown_token_falls_back_to_its_fingerprint(env: dict[str, str], store: Store) -> None:
    """A token with no account known anywhere keys as `t-<fingerprint>`."""
    assert "t-" + TOKEN_FP == account.resolve(env, store, account_id=None, token_fingerprint=TOKEN_FP)


def test_nothing_known_falls_back_to_the_profile(env: dict[str, str], store: Store) -> None:
    """With no credentials and nothing remembered, the key is `p-` and 16 hex digits of the profile."""
    key = account.resolve(env, store, account_id=None, token_fingerprint=None)
    assert re.fullmatch(r"p-[0-9a-f]{16}", key), key


def test_profile_fallback_is_stable(env: dict[str, str], store: Store) -> None:
    """Two processes with nothing known agree on the profile key."""
    first = account.resolve(env, store, account_id=None, token_fingerprint=None)
    assert first == account.resolve(dict(env), Store(paths.data_dir(env)), account_id=None, token_fingerprint=None)


def test_token_never_reaches_a_key_or_a_pointer(home: Path, env: dict[str, str], store: Store) -> None:
    """No key, pointer name or pointer file holds the token, whichever way the account was found."""
    write_account_credentials(home, None, None)
    write_state(home, ACCOUNT)
    keys = []
    for token_env in ({}, {"CLAUDE_CODE_OAUTH_TOKEN": TEST_TOKEN}):
        full = {**env, **token_env}
        account_id, fingerprint = account.ids_from_credentials(full)
        keys.append(account.resolve(full, store, account_id=account_id, token_fingerprint=fingerprint))
        keys.append(account.resolve(full, store, account_id=None, token_fingerprint=fingerprint, read_state=False))
    written = [(str(p), p.read_bytes()) for p in Path(str(store.root)).rglob("*") if p.is_file()]
    assert written, "no pointer was written at all"
    leaks = [k for k in keys if TEST_TOKEN in k] + [n for n, data in written if TEST_TOKEN.encode() in data]
    assert [] == leaks + [n for n, _ in written if TEST_TOKEN in n]


# -- where the store lives ----------------------------------------------------------------------------


def test_data_dir_override(env: dict[str, str]) -> None:
    """CLAUDE_USAGE_DATA_DIR names the store's directory verbatim."""
    assert "/somewhere/else" == paths.data_dir({**env, "CLAUDE_USAGE_DATA_DIR": "/somewhere/else"})


@pytest.mark.parametrize("xdg", ["set", "unset", "", "   "])
def test_data_dir_is_platformdirs_user_cache_dir(monkeypatch: pytest.MonkeyPatch, home: Path, xdg: str) -> None:
    """Without the override, the store lives where platformdirs' user_cache_dir says."""
    monkeypatch.delenv("CLAUDE_USAGE_DATA_DIR")
    if xdg == "unset":
        monkeypatch.delenv("XDG_CACHE_HOME")
    elif xdg != "set":
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    expected = platformdirs.user_cache_dir("claude-usage", appauthor=False)
    assert expected == paths.data_dir(os.environ)
