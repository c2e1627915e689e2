"""Shared fixtures: an isolated home, a guard on the real one, a clean environment, the stand-in, fixture replies."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
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


def _real_homes() -> frozenset[str]:
    """The real home directories, as this process had them before any test ran: $HOME and the password file's."""
    found = {os.environ.get("HOME"), os.environ.get("USERPROFILE")}
    try:
        import pwd

        found.add(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError):  # Windows; a uid without a passwd entry
        pass
    return frozenset(os.path.normpath(home) for home in found if home)


# Recorded at import, before the autouse `home` fixture points HOME at a temp dir: nothing under test may see these.
REAL_HOMES = _real_homes()
REAL_HOME = os.environ.get("HOME") or os.path.expanduser("~")
_HOME_VAR = "USERPROFILE" if os.name == "nt" else "HOME"


class RealHomeTouched(AssertionError):
    """Something under test resolved the real home directory instead of the `home` fixture's."""


class HomeGuard:
    """Raises RealHomeTouched where the real home is resolved, and remembers it in case the error was swallowed."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self._expanduser = os.path.expanduser
        self._home = pathlib.Path.home
        self._path_expanduser = pathlib.Path.expanduser
        self._popen_init = subprocess.Popen.__init__

    def check(self, what: str, home: str | None) -> None:
        """Raise (and remember) when `what` resolved to the real home; None stands for "no home given"."""
        if home is None or os.path.normpath(home) in REAL_HOMES:
            self.hits.append(f"{what} -> {home}")
            raise RealHomeTouched(
                f"{what} resolved the real home directory ({home}); tests must use the `home` fixture's"
            )

    def check_untouched(self) -> None:
        """After a test: raise RealHomeTouched if the code under test caught the error (the hits are cleared)."""
        hits = list(self.hits)
        self.hits.clear()
        if hits:
            raise RealHomeTouched("the real home was resolved (and the error caught) by: " + "; ".join(hits))

    def install(self, mp: pytest.MonkeyPatch) -> None:
        """Wrap os.path.expanduser, Path.home, Path.expanduser and subprocess.Popen for the session."""
        guard = self

        def expanduser(path: Any) -> Any:
            text = os.fsdecode(os.fspath(path))
            if text.startswith("~"):
                head = text.replace(os.altsep or os.sep, os.sep).split(os.sep, 1)[0]  # "~" or "~user"
                guard.check(f"os.path.expanduser({text!r})", guard._expanduser(head))
            return guard._expanduser(path)

        def home(cls: type[pathlib.Path]) -> pathlib.Path:
            guard.check("Path.home()", guard._expanduser("~"))
            return cls(guard._home())

        def path_expanduser(self: pathlib.Path) -> pathlib.Path:
            if self.parts and self.parts[0].startswith("~"):
                guard.check(f"Path({str(self)!r}).expanduser()", guard._expanduser(self.parts[0]))
            return guard._path_expanduser(self)

        def popen_init(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
            env = kwargs.get("env")
            guard.check("a subprocess's " + _HOME_VAR, (os.environ if env is None else env).get(_HOME_VAR))
            guard._popen_init(self, *args, **kwargs)

        mp.setattr(os.path, "expanduser", expanduser)
        mp.setattr(pathlib.Path, "home", classmethod(home))
        mp.setattr(pathlib.Path, "expanduser", path_expanduser)
        mp.setattr(subprocess.Popen, "__init__", popen_init)


@pytest.fixture(autouse=True, scope="session")
def home_guard() -> Iterator[HomeGuard]:
    """For the whole session, resolving the real home fails with RealHomeTouched (after pre-commit's
    `dont_write_to_home_directory`): a test that forgot the `home` fixture never reads or writes a user's files.

    Subprocesses get HOME from the environment, which `home` isolates; one started without HOME, or with
    the real one, is refused before it runs.
    """
    guard = HomeGuard()
    with pytest.MonkeyPatch.context() as mp:
        guard.install(mp)
        yield guard


@pytest.fixture(autouse=True)
def _real_home_untouched(home_guard: HomeGuard) -> Iterator[None]:
    """Fail the test (at teardown) when the code under test swallowed a RealHomeTouched."""
    yield
    home_guard.check_untouched()


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
