"""Shared fixtures: an isolated home, a clean environment, the usage-API stand-in, fixture replies."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from claude_usage.standin import Reply, Script, StandIn

settings.register_profile("ci", max_examples=300, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# A copy of shared/fixtures/usage, so the tests run from any clone.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "usage"

# Variables from a developer's shell that would change what the program does.
LEAKY_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "NO_COLOR",
    "FORCE_COLOR",
    "COLUMNS",
    "LINES",
    "TMUX",
    "TERM_PROGRAM",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_SECURESTORAGE_CONFIG_DIR",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_SCOPES",
    "CLAUDE_CODE_CUSTOM_OAUTH_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_USAGE_API_URL",
    "CLAUDE_USAGE_DATA_DIR",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_CODE_USE_ANTHROPIC_AWS",
    "CLAUDE_CODE_USE_MANTLE",
    "CLAUDE_CODE_SUBSCRIPTION_TYPE",
    "CLAUDE_CODE_RATE_LIMIT_TIER",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_USAGE_USER_AGENT",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
)


def load_fixture(name: str) -> dict[str, Any]:
    """One sample reply from shared/fixtures/usage, by file stem."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


# The fixtures' replies were taken at this instant ("Resets in 2h 11m" for the session).
FIXTURE_NOW = datetime(2026, 11, 24, 12, 49, tzinfo=timezone.utc)


def fresh_fixture(name: str, now: datetime | None = None) -> dict[str, Any]:
    """A fixture with every reset moved so that it lies as far ahead of `now` as of FIXTURE_NOW."""
    shift = (now or datetime.now(timezone.utc)) - FIXTURE_NOW

    def move(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: move(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v, key) for v in value]
        if key == "resets_at" and isinstance(value, str):
            return (datetime.fromisoformat(value.replace("Z", "+00:00")) + shift).isoformat()
        if key == "resets_at" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value + shift.total_seconds())
        return value

    moved: dict[str, Any] = move(load_fixture(name))
    return moved


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME, config dir and XDG dirs under tmp_path, and none of the shell's leaky variables."""
    for name in LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for name, sub in (
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CONFIG_HOME", ".config"),
    ):
        monkeypatch.setenv(name, str(home / sub))
    monkeypatch.setenv("CLAUDE_USAGE_DATA_DIR", str(tmp_path / "data"))
    return home


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """The usage-API stand-in on 127.0.0.1, answering the max-typical fixture (resets ahead) until told otherwise."""
    with StandIn(Script(Reply(200, fresh_fixture("max-typical")))) as api:
        yield api
