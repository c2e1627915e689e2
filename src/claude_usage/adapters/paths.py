"""Where things live, computed from an environment mapping (never the process's own, implicitly)."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


def _nonempty(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


def home(env: Mapping[str, str]) -> Path:
    """The user's home: $HOME (or %USERPROFILE%), else what the OS says."""
    for name in ("HOME", "USERPROFILE"):
        value = _nonempty(env, name)
        if value:
            return Path(value)
    return Path.home()


@dataclass(frozen=True, slots=True)
class ClaudePaths:
    """Claude Code's files, read-only for us."""

    config_dir: Path
    secure_dir: Path
    credentials_file: Path
    state_file: Path
    keychain_service: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ClaudePaths:
        raw_config = _nonempty(env, "CLAUDE_CONFIG_DIR")
        config_dir = Path(raw_config) if raw_config else home(env) / ".claude"
        secure_raw = env.get("CLAUDE_SECURESTORAGE_CONFIG_DIR")
        if secure_raw is None:
            secure_dir = config_dir
        else:
            secure_dir = Path(secure_raw) if secure_raw else home(env) / ".claude"
        custom = bool(_nonempty(env, "CLAUDE_CODE_CUSTOM_OAUTH_URL"))
        oauth_suffix = "-custom-oauth" if custom else ""
        legacy = config_dir / ".config.json"
        if legacy.is_file() and legacy.stat().st_size > 0:
            state_file = legacy
        else:
            name = f".claude{oauth_suffix}.json"
            state_file = config_dir / name if raw_config else home(env) / name
        hashed = secure_raw if secure_raw else raw_config
        dir_suffix = ""
        if hashed:
            digest = hashlib.sha256(unicodedata.normalize("NFC", hashed).encode()).hexdigest()
            dir_suffix = "-" + digest[:8]
        return cls(
            config_dir=config_dir,
            secure_dir=secure_dir,
            credentials_file=secure_dir / ".credentials.json",
            state_file=state_file,
            keychain_service=f"Claude Code{oauth_suffix}-credentials{dir_suffix}",
        )


def data_dir(env: Mapping[str, str]) -> Path:
    """Our own store's directory: $CLAUDE_USAGE_DATA_DIR, else the user cache dir (platformdirs)."""
    override = _nonempty(env, "CLAUDE_USAGE_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs  # lazily: not needed on most paths

    return Path(platformdirs.user_cache_dir("claude-usage", appauthor=False))
