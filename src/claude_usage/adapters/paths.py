"""Where things live, computed from an environment mapping (never the process's own, implicitly).

Light on purpose: the status line imports it, so the functions work on strings with `os.path` and
`ClaudePaths` builds `pathlib` paths only when asked. Claude Code's files are read-only for us.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

APP = "claude-usage"
# Claude Code's files grow (a login per MCP server, a history per project); past this one is runaway.
MAX_CLAUDE_FILE_BYTES = 64 * 1024 * 1024
_O_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(OSError):
    """The path names a named pipe, a directory, a device or a socket: never read (it could block or never end)."""


class FileTooLarge(OSError):
    """The file is larger than the caller's limit: never read."""


def read_regular(path: str, limit: int = MAX_CLAUDE_FILE_BYTES) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at `path` (symlinks followed) and its `fstat`, without ever blocking.

    Anything else raises NotRegularFile before it is opened (a named pipe's writer is left alone), and, should
    it be swapped in meanwhile, the open does not block (O_NONBLOCK) and `fstat` refuses it. A file over
    `limit` bytes raises FileTooLarge. Other OSErrors (FileNotFoundError, PermissionError) pass through.
    """
    info = os.stat(path)
    _check_regular(path, info)
    if info.st_size > limit:
        raise FileTooLarge(errno.EFBIG, f"larger than {_megabytes(limit)}", path)
    fd = os.open(path, _O_READ)
    try:
        info = os.fstat(fd)
        _check_regular(path, info)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            # The whole file in one read as a rule; more, should it have grown; never past the limit.
            chunk = os.read(fd, min(max(info.st_size - size, 0) + 64 * 1024, limit + 1 - size))
            if not chunk:
                return b"".join(chunks), info
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    raise FileTooLarge(errno.EFBIG, f"larger than {_megabytes(limit)}", path)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _check_regular(path: str, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
        raise NotRegularFile(errno.EINVAL, f"not a regular file ({kind})", path)


def _nonempty(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


def home(env: Mapping[str, str]) -> str:
    """The user's home: $HOME (%USERPROFILE% first on Windows, as Claude Code), else what the OS says."""
    for name in ("USERPROFILE", "HOME") if os.name == "nt" else ("HOME", "USERPROFILE"):
        value = _nonempty(env, name)
        if value:
            return value
    return os.path.expanduser("~")


def config_dir(env: Mapping[str, str]) -> str:
    """Claude Code's config dir: $CLAUDE_CONFIG_DIR taken verbatim (empty counts as unset), else ~/.claude."""
    return _nonempty(env, "CLAUDE_CONFIG_DIR") or os.path.join(home(env), ".claude")


def secure_dir(env: Mapping[str, str]) -> str:
    """Where `.credentials.json` lives: $CLAUDE_SECURESTORAGE_CONFIG_DIR (empty: ~/.claude), else the config dir."""
    value = env.get("CLAUDE_SECURESTORAGE_CONFIG_DIR")
    if value is None:
        return config_dir(env)
    return value or os.path.join(home(env), ".claude")


def credentials_file(env: Mapping[str, str]) -> str:
    return os.path.join(secure_dir(env), ".credentials.json")


def _oauth_suffix(env: Mapping[str, str]) -> str:
    return "-custom-oauth" if _nonempty(env, "CLAUDE_CODE_CUSTOM_OAUTH_URL") else ""


def state_file(env: Mapping[str, str]) -> str:
    """Claude Code's global state (`.claude.json`), where its cached usage reply and account live."""
    legacy = os.path.join(config_dir(env), ".config.json")
    try:
        if os.path.isfile(legacy) and os.path.getsize(legacy) > 0:
            return legacy
    except OSError:
        pass
    name = f".claude{_oauth_suffix(env)}.json"
    explicit = _nonempty(env, "CLAUDE_CONFIG_DIR")
    return os.path.join(explicit, name) if explicit else os.path.join(home(env), name)


def keychain_service(env: Mapping[str, str]) -> str:
    """The macOS Keychain item Claude Code keeps its login in (suffixed per config dir)."""
    secure = env.get("CLAUDE_SECURESTORAGE_CONFIG_DIR")
    hashed = secure if secure else _nonempty(env, "CLAUDE_CONFIG_DIR")
    dir_suffix = ""
    if hashed:
        import unicodedata

        from claude_usage.adapters.account import fingerprint  # sha256 without hashlib; account imports us

        dir_suffix = "-" + fingerprint(unicodedata.normalize("NFC", hashed))[:8]
    return f"Claude Code{_oauth_suffix(env)}-credentials{dir_suffix}"


def data_dir(env: Mapping[str, str]) -> str:
    """Our own store's directory: $CLAUDE_USAGE_DATA_DIR, else the user cache dir.

    The same directory platformdirs' `user_cache_dir("claude-usage", appauthor=False)` gives (a test checks
    it), computed here without importing platformdirs, which costs the status line ~15 ms.
    """
    override = _nonempty(env, "CLAUDE_USAGE_DATA_DIR")
    if override:
        return override
    if sys.platform == "win32":
        base = _nonempty(env, "LOCALAPPDATA") or os.path.join(home(env), "AppData", "Local")
        return os.path.join(base, APP, "Cache")
    if sys.platform == "darwin":
        return os.path.join(home(env), "Library", "Caches", APP)
    xdg = env.get("XDG_CACHE_HOME") or ""
    return os.path.join(xdg if xdg.strip() else os.path.join(home(env), ".cache"), APP)


def user_data_dir(env: Mapping[str, str]) -> str:
    """platformdirs' `user_data_dir("claude-usage", appauthor=False)`, computed from `env` without it."""
    if sys.platform == "win32":
        return os.path.join(_nonempty(env, "LOCALAPPDATA") or os.path.join(home(env), "AppData", "Local"), APP)
    if sys.platform == "darwin":
        return os.path.join(home(env), "Library", "Application Support", APP)
    xdg = env.get("XDG_DATA_HOME") or ""
    return os.path.join(xdg if xdg.strip() else os.path.join(home(env), ".local", "share"), APP)


class ClaudePaths:
    """Claude Code's files as `pathlib` paths, for the modules that can afford pathlib."""

    __slots__ = ("config_dir", "credentials_file", "keychain_service", "secure_dir", "state_file")

    def __init__(
        self, *, config_dir: Path, secure_dir: Path, credentials_file: Path, state_file: Path, keychain_service: str
    ) -> None:
        self.config_dir = config_dir
        self.secure_dir = secure_dir
        self.credentials_file = credentials_file
        self.state_file = state_file
        self.keychain_service = keychain_service

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ClaudePaths:
        from pathlib import Path

        return cls(
            config_dir=Path(config_dir(env)),
            secure_dir=Path(secure_dir(env)),
            credentials_file=Path(credentials_file(env)),
            state_file=Path(state_file(env)),
            keychain_service=keychain_service(env),
        )


CONFIG_ENV_VAR = "CLAUDE_USAGE_CONFIG"
CONFIG_FILE_NAME = "config.toml"


def user_config_dir(env: Mapping[str, str]) -> str:
    """Our config dir: platformdirs' `user_config_dir("claude-usage", appauthor=False)`, computed from `env`."""
    if sys.platform in ("win32", "darwin"):
        return user_data_dir(env)  # platformdirs puts config and data in one place there
    xdg = env.get("XDG_CONFIG_HOME") or ""
    return os.path.join(xdg if xdg.strip() else os.path.join(home(env), ".config"), APP)


def config_file(env: Mapping[str, str]) -> Path:
    """Our config file: $CLAUDE_USAGE_CONFIG when set (and not empty), else config.toml in the user config dir.

    Here, not in adapters/config.py, so that a face can see there is none without loading the TOML machinery.
    """
    from pathlib import Path

    named = env.get(CONFIG_ENV_VAR)
    if named:
        return Path(named)
    return Path(user_config_dir(env), CONFIG_FILE_NAME)
