"""Several accounts on one screen (widgets.py's `stacked`), and the config file's `[accounts]` table."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import pytest

from claude_usage.adapters.config import Account, ConfigError, load
from claude_usage.core.wire import parse_usage
from claude_usage.ui.widgets import KEY_HINTS, Frame, stacked
from tests.conftest import FIXTURE_NOW, load_fixture

UTC = timezone.utc


def _frame(account: str, fixture: str = "max-typical", **changes: object) -> Frame:
    usage = parse_usage(load_fixture(fixture), observed_at=FIXTURE_NOW)
    fields: dict[str, object] = {"usage": usage, "now": FIXTURE_NOW, "tz": UTC, "updated_at": FIXTURE_NOW}
    return Frame(**{**fields, "account": account, "live": True, **changes})  # type: ignore[arg-type]


def _text(frames: list[Frame], width: int, height: int | None) -> list[str]:
    """The stack's rows as plain text, trailing spaces dropped."""
    return [
        "".join(text for cell in row.cells for text, _ in cell.sized()).rstrip()
        for row in stacked(frames, width, height)
    ]


@pytest.mark.parametrize("width", [40, 100])
def test_every_account_is_titled_in_order(width: int) -> None:
    """With room to spare, each account has a section titled with its name, in order."""
    lines = _text([_frame("work"), _frame("personal")], width, None)
    titled = [name for line in lines for name in ("work", "personal") if f"Claude usage · {name}" in line]
    assert ["work", "personal"] == titled


def test_key_hints_appear_once_under_the_last_section() -> None:
    """The live key hints are drawn once, as the last row."""
    lines = _text([_frame("work"), _frame("personal")], 100, 60)
    assert (1, KEY_HINTS) == (sum(KEY_HINTS in line for line in lines), lines[-1])


@pytest.mark.parametrize("height", [4, 6, 9, 14, 20])
def test_short_heights_fit_and_keep_every_name(height: int) -> None:
    """However short the terminal, the stack fits it and still names both accounts."""
    lines = _text([_frame("work"), _frame("personal", "limits-only")], 60, height)
    assert (True, True, True) == (
        len(lines) <= height,
        any("work" in line for line in lines),
        any("personal" in line for line in lines),
    )


def test_a_shrunk_account_shows_its_fullest_limit_and_problem() -> None:
    """An account shrunk to one line shows its name, its fullest limit and its problem."""
    lines = _text([_frame("work"), _frame("personal", problem="the login expired", problem_kind="auth")], 60, 3)
    assert "personal · Current session 78% · ⚠ the login expired" in lines


def test_config_accounts_keep_the_file_order_and_expand_the_home(home: Path, tmp_path: Path) -> None:
    """`[accounts]` gives the accounts in the file's order, a leading `~` read as the home."""
    path = tmp_path / "config.toml"
    path.write_text('[accounts]\nwork = "~/.claude-work"\npersonal = "/srv/claude"\n')
    expected = (Account("work", str(home / ".claude-work")), Account("personal", "/srv/claude"))
    assert expected == load({"HOME": str(home)}, path).accounts


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[accounts]\n"my work" = "/x"\n', 'accounts."my work": a name may hold only letters, digits, _ and -'),
        ("[accounts]\nwork = 3\n", "accounts.work: expected Claude Code's config dir (text), got 3"),
        ('accounts = "work"\n', "accounts: expected a table ([accounts]), got text"),
    ],
)
def test_config_accounts_errors_name_the_key(tmp_path: Path, text: str, said: str) -> None:
    """A bad `[accounts]` entry is a ConfigError naming the key."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load({}, path)
    assert f"config file {path}: {said}" == str(caught.value)
