"""Two logins (two Claude Code config dirs) and the usage endpoint as each one's token sees it.

The endpoint is one URL for every account, as the real one is: the stand-in on 127.0.0.1 answers each request
from the script of the account whose token it carries, and counts each account's requests.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_usage.standin import Reply, Request, Script, StandIn
from tests.support.cli import TEST_TOKEN, write_credentials

if TYPE_CHECKING:
    from collections.abc import Iterator

OTHER_TOKEN = "sk-ant-oat01-OTHER-SECRET-do-not-print-9876543210"


def usage(session: float, week: float) -> dict[str, Any]:
    """A reply with a session and a week resetting ahead of now."""
    now = datetime.now(timezone.utc)
    return {
        "five_hour": {"utilization": session, "resets_at": (now + timedelta(hours=2, minutes=11)).isoformat()},
        "seven_day": {"utilization": week, "resets_at": (now + timedelta(days=3)).isoformat()},
    }


REJECTED = Reply(401, {"type": "error", "error": {"type": "authentication_error", "message": "Invalid token"}})
LIMITED = Reply(
    429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}, {"Retry-After": "600"}
)


class Accounts:
    """`work` (TEST_TOKEN) and `personal` (OTHER_TOKEN): their config dirs, scripts, and the shared endpoint."""

    def __init__(self, home: Path, work: Reply, personal: Reply) -> None:
        self.work_dir = home / ".claude-work"
        self.personal_dir = home / ".claude-personal"
        write_credentials(self.work_dir, token=TEST_TOKEN)
        write_credentials(self.personal_dir, token=OTHER_TOKEN)
        self.work = Script(work)
        self.personal = Script(personal)
        self.requests: dict[str, int] = {"work": 0, "personal": 0}
        self.router = StandIn(self._route)

    def _route(self, request: Request) -> Reply:
        name = "personal" if OTHER_TOKEN in request.headers.get("authorization", "") else "work"
        self.requests[name] += 1
        return (self.personal if name == "personal" else self.work)(request)

    @property
    def url(self) -> str:
        return self.router.url

    def flags(self) -> list[str]:
        """`--account work=… --account personal=…`."""
        return ["--account", f"work={self.work_dir}", "--account", f"personal={self.personal_dir}"]

    def env(self, **extra: str) -> dict[str, str]:
        return {"CLAUDE_USAGE_API_URL": self.url, "NO_COLOR": "1", **extra}

    def __enter__(self) -> Accounts:
        self.router.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.router.close()


def no_secret(text: str) -> bool:
    """Neither account's token appears in `text`."""
    return TEST_TOKEN not in text and OTHER_TOKEN not in text


def accounts_of(stdout: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, document) of each entry of a several-accounts `--json` document."""
    for entry in json.loads(stdout)["accounts"]:
        yield entry["name"], entry
