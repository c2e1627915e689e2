"""Which account a reading belongs to: one key per account, the same in every process.

In order: the login's own account and organization ids (`claudeAiOauth.accountUuid`/`organizationUuid` in the
credentials, or `oauthAccount` in Claude Code's `.claude.json`), remembered per token fingerprint and per
Claude Code profile (config dir) in the store's pointers, so hot paths never parse the large `.claude.json`
twice; else a fingerprint of the token; else the profile. Never the token itself.

Light on purpose (json, os, re; never hashlib, whose OpenSSL set-up costs ~4 ms): the status line imports it.
"""

from __future__ import annotations

import json
import os
import re

from claude_usage.adapters import paths
from claude_usage.errors import UnavailableError

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, Protocol

    from claude_usage.adapters.store import Store

    class _Digest(Protocol):
        def hexdigest(self) -> str: ...


DEMO = "demo"
_SAFE = re.compile(r"[^A-Za-z0-9-]")
_MAX_STATE_BYTES = paths.MAX_CLAUDE_FILE_BYTES
# A credentials file this large (logins of MCP servers) costs a render a millisecond or more to parse.
CACHE_IDS_FROM_BYTES = 256 * 1024


_new_sha256: Callable[[bytes], _Digest] | None = None  # found at the first fingerprint


def fingerprint(secret: str) -> str:
    """The first 16 hex digits of sha256 (of the UTF-8 text): names a token without revealing it."""
    global _new_sha256
    if _new_sha256 is None:
        _new_sha256 = _find_sha256()
    return _new_sha256(secret.encode()).hexdigest()[:16]


def _find_sha256() -> Callable[[bytes], _Digest]:
    """The interpreter's built-in sha256 (`_sha2` from 3.12, `_sha256` before), else hashlib's.

    The built-in module loads in ~0.3 ms; `hashlib` sets up OpenSSL first (~4 ms). The digests are the same.
    """
    for name in ("_sha2", "_sha256"):
        try:
            found: Callable[[bytes], _Digest] = __import__(name).sha256
        except (ImportError, AttributeError):
            continue
        return found
    import hashlib

    return hashlib.sha256


def key_for_ids(account_uuid: str, organization_uuid: str | None = None) -> str:
    """`a-<account>_<organization>` with anything unexpected replaced, so the key is a safe file name."""
    parts = [_SAFE.sub("", account_uuid)[:36]]
    if organization_uuid:
        parts.append(_SAFE.sub("", organization_uuid)[:36])
    return "a-" + "_".join(parts)


def key_for_account_id(account_id: str) -> str:
    """The key of an `account[:organization]` id as the credentials adapter gives it."""
    account, _, organization = account_id.partition(":")
    return key_for_ids(account, organization or None)


def _profile_pointer(env: Mapping[str, str]) -> str:
    return "profile-" + fingerprint(os.path.abspath(paths.config_dir(env)) + "\0" + paths.keychain_service(env))


def _load_json(path: str, limit: int = paths.MAX_CLAUDE_FILE_BYTES) -> Any:
    """The JSON in a regular file of Claude Code's; None when absent, unreadable, too large or not a file."""
    try:
        data, _ = paths.read_regular(path, limit)
    except OSError:  # a named pipe, too, is not waited on: as good as absent
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def ids_from_state(env: Mapping[str, str]) -> tuple[str, str | None] | None:
    """`(accountUuid, organizationUuid)` from Claude Code's `.claude.json` (`oauthAccount`), if it names one."""
    state = _load_json(paths.state_file(env), _MAX_STATE_BYTES)
    account = state.get("oauthAccount") if isinstance(state, dict) else None
    if not isinstance(account, dict) or not isinstance(account.get("accountUuid"), str):
        return None
    organization = account.get("organizationUuid")
    return account["accountUuid"], organization if isinstance(organization, str) and organization else None


def ids_from_credentials(env: Mapping[str, str], store: Store | None = None) -> tuple[str | None, str | None]:
    """`(account id, token fingerprint)` read cheaply for the status line, which never asks the Keychain.

    The environment token first when it can read usage (the `user:profile` scope, as the credentials reader
    decides); then the credentials file, whatever its size (up to paths.MAX_CLAUDE_FILE_BYTES: logins of many
    MCP servers grow it past megabytes). The fingerprint is computed only when there is no account id.

    A file of CACHE_IDS_FROM_BYTES or more is parsed once per version: what it gave is kept in two pointers
    of `store` (by default the one in the data dir) under the file's path, one naming the account's key,
    the other binding that key to the file's size, times and inode, so that a render after it stats the
    file and reads two small files instead of parsing megabytes of JSON. The account id then comes back as
    its key spells it (`key_for_account_id` gives the same key).
    """
    token = env.get("CLAUDE_CODE_OAUTH_TOKEN", "").strip()
    if token and "user:profile" in env.get("CLAUDE_CODE_OAUTH_SCOPES", "").split():
        return None, fingerprint(token)
    path = paths.credentials_file(env)
    try:
        info = os.stat(path)
    except OSError:
        return None, None
    if info.st_size < CACHE_IDS_FROM_BYTES:
        return _ids_in(_load_json(path))
    if store is None:
        from claude_usage.adapters.store import Store

        store = Store(paths.data_dir(env))
    name = "creds-" + fingerprint(os.path.abspath(path))
    key = _pointer(store, name)
    if key is not None and _pointer(store, name + ".check") == _check(info, key):
        return _ids_of_key(key)
    try:
        data, opened = paths.read_regular(path)
    except OSError:
        return None, None
    try:
        ids = _ids_in(json.loads(data))
    except (ValueError, RecursionError):
        return None, None  # mid-rewrite, or not JSON: nothing to keep
    key = _key_of_ids(*ids)
    try:  # the key first: a reader that meets a new key with the old check finds them unbound, and parses
        store.set_pointer(name, key)
        store.set_pointer(name + ".check", _check(opened, key))
    except (UnavailableError, OSError, ValueError):
        pass  # a cache: failing to write it costs the next render a parse
    return ids


def _ids_in(data: Any) -> tuple[str | None, str | None]:
    """`(account id, token fingerprint)` from the parsed credentials file."""
    oauth = data.get("claudeAiOauth") if isinstance(data, dict) else None
    if not isinstance(oauth, dict):
        return None, None
    account = oauth.get("accountUuid")
    organization = oauth.get("organizationUuid")
    if isinstance(account, str) and account:
        return (f"{account}:{organization}" if isinstance(organization, str) and organization else account), None
    stored = oauth.get("accessToken")
    return None, (fingerprint(stored) if isinstance(stored, str) and stored else None)


def _key_of_ids(account_id: str | None, token_fingerprint: str | None) -> str:
    """What `ids_from_credentials` found, as a pointer's value: an account key, `fp-<fingerprint>` or `none`."""
    if account_id:
        return key_for_account_id(account_id)
    return "fp-" + token_fingerprint if token_fingerprint else "none"


def _ids_of_key(key: str) -> tuple[str | None, str | None]:
    """`_key_of_ids` undone (the account id as its key spells it)."""
    if key.startswith("a-"):
        account_uuid, _, organization = key[2:].partition("_")
        return (f"{account_uuid}:{organization}" if organization else account_uuid), None
    if key.startswith("fp-"):
        return None, key[3:]
    return None, None


def _check(info: os.stat_result, key: str) -> str:
    """Binds a pointer's key to one version of the file (size, times, inode): a pointer's value itself."""
    version = f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"
    return "c-" + fingerprint(f"{version}\0{key}")


def env_token_key(env: Mapping[str, str]) -> str | None:
    """The key of a usable CLAUDE_CODE_OAUTH_TOKEN: its own fingerprint (such a token may be any account's)."""
    token = env.get("CLAUDE_CODE_OAUTH_TOKEN", "").strip()
    if token and "user:profile" in env.get("CLAUDE_CODE_OAUTH_SCOPES", "").split():
        return "t-" + fingerprint(token)
    return None


def resolve(
    env: Mapping[str, str],
    store: Store,
    *,
    account_id: str | None,
    token_fingerprint: str | None,
    read_state: bool = True,
    remember: bool = True,
) -> str:
    """The account key for these credentials (either may be None), remembering what it learns."""
    if account_id:
        key = key_for_account_id(account_id)
        if remember:
            _remember(env, store, key, token_fingerprint)
        return key
    if token_fingerprint:
        known = _pointer(store, "fp-" + token_fingerprint)
        if known:
            return known
    if not token_fingerprint:  # no token to key by (a Keychain login seen from the status line)
        known = _pointer(store, _profile_pointer(env))
        if known:
            return known  # remembered: never parse the large .claude.json on every render
    if read_state:
        ids = ids_from_state(env)
        if ids is not None:
            key = key_for_ids(*ids)
            _remember(env, store, key, token_fingerprint)
            return key
    known = _pointer(store, _profile_pointer(env))
    if known:
        return known
    if token_fingerprint:
        return "t-" + token_fingerprint
    return "p-" + _profile_pointer(env).removeprefix("profile-")


def _pointer(store: Store, name: str) -> str | None:
    try:
        return store.pointer(name)
    except UnavailableError:
        return None  # a pointer is a cache: an unreadable store means "not remembered"


def _remember(env: Mapping[str, str], store: Store, key: str, token_fingerprint: str | None) -> None:
    try:
        if token_fingerprint:
            store.set_pointer("fp-" + token_fingerprint, key)
        store.set_pointer(_profile_pointer(env), key)
    except (UnavailableError, OSError, ValueError):
        return  # a pointer is a cache: failing to write one never fails a reading


def current_key(env: Mapping[str, str], store: Store) -> tuple[str, bool]:
    """`(the key this login's readings are filed under, whether a login was found)`, cheaply, writing nothing.

    What the status line and `history` use: the environment's usable token, else the credentials file's ids,
    else what this profile used last (the Keychain is never asked).
    """
    account_id, token_fp = ids_from_credentials(env, store)
    key = env_token_key(env) or resolve(env, store, account_id=account_id, token_fingerprint=token_fp, remember=False)
    return key, bool(account_id or token_fp)
