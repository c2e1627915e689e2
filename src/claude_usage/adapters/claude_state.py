"""Claude Code's own cached usage reply (`cachedUsageUtilization` in `.claude.json`): a free, possibly old source.

Claude Code writes it after its own successful `/usage` fetch, with `fetchedAtMs` and `accountUuid`; it is
never refreshed in the background, so it can be days old. Used only when its `accountUuid` is the account's,
and always with its age. The file is large and rewritten often: it is parsed again only when its size or
modification time changes. Read-only, like every Claude Code file.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from claude_usage.adapters import paths

if TYPE_CHECKING:
    from collections.abc import Mapping

_MAX_BYTES = paths.MAX_CLAUDE_FILE_BYTES


class ClaudeState:
    """One `.claude.json`, re-parsed only when it changes."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.path = paths.state_file(env)
        self._stamp: tuple[int, int] | None = None
        self._data: dict[str, Any] = {}

    def _load(self) -> dict[str, Any]:
        try:
            stat = os.stat(self.path)
        except OSError:
            self._stamp, self._data = None, {}
            return self._data
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return self._data
        self._stamp = stamp
        self._data = {}
        try:
            raw, _ = paths.read_regular(self.path, _MAX_BYTES)
        except (paths.NotRegularFile, paths.FileTooLarge):
            return self._data  # never waited on (a named pipe) nor parsed (runaway): as good as absent
        except OSError:
            self._stamp = None  # unreadable: try again next time
            return self._data
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            self._stamp = None  # mid-rewrite: try again next time
            return self._data
        if isinstance(data, dict):
            self._data = data
        return self._data

    def cached_usage(self, account_uuid: str | None) -> tuple[dict[str, Any], datetime] | None:
        """`(reply, fetched at)` when Claude Code's cached reply belongs to `account_uuid`."""
        if not account_uuid:
            return None
        cached = self._load().get("cachedUsageUtilization")
        if not isinstance(cached, dict) or cached.get("accountUuid") != account_uuid:
            return None
        fetched_ms = cached.get("fetchedAtMs")
        reply = cached.get("utilization")
        if isinstance(fetched_ms, bool) or not isinstance(fetched_ms, (int, float)) or not isinstance(reply, dict):
            return None
        try:
            fetched_at = datetime.fromtimestamp(fetched_ms / 1000, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
        return reply, fetched_at
