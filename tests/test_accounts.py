"""Several accounts in the one-shots: `--account NAME=CONFIG_DIR` and `[accounts]`, `--json` and `--once`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from claude_usage.standin import Reply
from tests.support.accounts import LIMITED, REJECTED, Accounts, accounts_of, no_secret, usage
from tests.support.cli import Result, run_cli


def _run(*args: str, env: dict[str, str]) -> Result:
    result = run_cli(*args, env=env)
    assert no_secret(result.stdout + result.stderr)
    return result


def _config(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text)
    return path


def test_json_lists_each_account_in_the_order_given(home: Path) -> None:
    """With two accounts, --json prints one entry per account, named, in the order of the flags."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        result = _run("--json", *accounts.flags(), env=accounts.env())
    shown = [(name, [w["utilization"] for w in doc["windows"]]) for name, doc in accounts_of(result.stdout)]
    assert (0, [("work", [23.0, 41.0]), ("personal", [64.0, 12.0])]) == (result.code, shown)


def test_json_entry_is_the_single_account_document_with_a_name(home: Path) -> None:
    """Each entry holds every key of the one-account document, plus its name."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        several = _run("--json", *accounts.flags(), env=accounts.env())
        single = _run("--json", "--max-age", "3600", env=accounts.env(CLAUDE_CONFIG_DIR=str(accounts.work_dir)))
    entry = json.loads(several.stdout)["accounts"][0]
    assert ["name", *json.loads(single.stdout)] == list(entry)


def test_json_failing_account_carries_its_error(home: Path) -> None:
    """A rejected login shows as that account's error; the other account's numbers are still there; exit 0."""
    with Accounts(home, REJECTED, Reply(200, usage(64.0, 12.0))) as accounts:
        result = _run("--json", *accounts.flags(), env=accounts.env())
    work, personal = (doc for _, doc in accounts_of(result.stdout))
    error = work["error"]
    assert (0, {"name", "error"}, "TokenRejected", 3) == (result.code, set(work), error["type"], error["exit_code"])
    assert [64.0, 12.0] == [w["utilization"] for w in personal["windows"]]


def test_json_every_account_failing_exits_3_when_one_failed_on_its_login(home: Path) -> None:
    """One account rejected and one rate limited: exit 3, the more severe."""
    with Accounts(home, LIMITED, REJECTED) as accounts:
        result = _run("--json", *accounts.flags(), env=accounts.env())
    types = [doc["error"]["type"] for _, doc in accounts_of(result.stdout)]
    assert (3, ["RateLimited", "TokenRejected"]) == (result.code, types)


def test_json_every_account_unavailable_exits_4(home: Path) -> None:
    """Both accounts rate limited: exit 4, each with its error."""
    with Accounts(home, LIMITED, LIMITED) as accounts:
        result = _run("--json", *accounts.flags(), env=accounts.env())
    codes = [doc["error"]["exit_code"] for _, doc in accounts_of(result.stdout)]
    assert (4, [4, 4]) == (result.code, codes)


def test_json_failing_account_is_said_on_stderr(home: Path) -> None:
    """Each failing account gets one line on stderr, naming it."""
    with Accounts(home, REJECTED, Reply(200, usage(64.0, 12.0))) as accounts:
        result = _run("--json", *accounts.flags(), env=accounts.env())
    assert ["claude-usage: work: "] == [line[:20] for line in result.stderr.splitlines()]


def test_one_account_keeps_the_single_document(home: Path) -> None:
    """With one --account, --json prints the one-account document as before, without `accounts`."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        result = _run("--json", "--account", f"personal={accounts.personal_dir}", env=accounts.env())
    document = json.loads(result.stdout)
    assert (0, False, [64.0, 12.0]) == (
        result.code,
        "accounts" in document,
        [w["utilization"] for w in document["windows"]],
    )


def test_each_account_reads_its_own_config_dir(home: Path) -> None:
    """Each account's request carries the token of its own config dir: one request each."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        _run("--json", *accounts.flags(), env=accounts.env())
    assert {"work": 1, "personal": 1} == accounts.requests


def test_each_account_has_its_own_store_document(home: Path) -> None:
    """Two accounts file their readings under two account keys."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        result = _run("--json", *accounts.flags(), env=accounts.env())
    keys = [doc["account"] for _, doc in accounts_of(result.stdout)]
    stored = {path.stem for path in Path(os.environ["CLAUDE_USAGE_DATA_DIR"]).glob("*.json")}
    assert (2, True) == (len(set(keys)), set(keys) <= stored)


def test_each_account_has_its_own_history_rows(home: Path) -> None:
    """The history holds each account's session under its own key, with its own number."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        result = _run("--json", *accounts.flags(), env=accounts.env())
        exported = _run("history", "export", "--json", "--account", "all", env=accounts.env())
    keys = {name: doc["account"] for name, doc in accounts_of(result.stdout)}
    rows = json.loads(exported.stdout)
    sessions = {(row["account"], row["utilization"]) for row in rows if row["key"] == "five_hour"}
    assert {(keys["work"], 23.0), (keys["personal"], 64.0)} == sessions


def test_each_status_line_shows_its_own_account(home: Path) -> None:
    """After a reading of both, a status line run with each config dir shows that account's numbers."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        _run("--json", *accounts.flags(), env=accounts.env())
        lines = []
        for config_dir in (accounts.work_dir, accounts.personal_dir):
            env = {**os.environ, **accounts.env(CLAUDE_CONFIG_DIR=str(config_dir))}
            proc = subprocess.run(
                [sys.executable, "-m", "claude_usage", "statusline", "--no-refresh"],
                input="{}",
                capture_output=True,
                text=True,
                env=env,
                timeout=30,
                check=False,
            )
            lines.append(proc.stdout.split(" ↻")[0])
    assert ["5h 23%", "5h 64%"] == lines


def test_once_draws_a_titled_section_per_account(home: Path) -> None:
    """--once draws each account under its name, in order, the failing one with its problem."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), REJECTED) as accounts:
        result = _run("--once", *accounts.flags(), env=accounts.env(COLUMNS="100"))
    text = result.stdout
    work, personal = text.index("Claude usage · work"), text.index("Claude usage · personal")
    assert (0, True, True, True) == (
        result.code,
        work < text.index("23%") < personal,
        "Invalid token" in text[personal:],
        "23%" not in text[personal:],
    )


def test_once_every_account_failing_exits_3(home: Path) -> None:
    """--once with every account failing, one on its login, exits 3 after drawing both."""
    with Accounts(home, REJECTED, LIMITED) as accounts:
        result = _run("--once", *accounts.flags(), env=accounts.env(COLUMNS="100"))
    assert (3, 1, 1) == (
        result.code,
        result.stdout.count("Claude usage · work"),
        result.stdout.count("Claude usage · personal"),
    )


def test_config_accounts_table_is_used_in_its_order(home: Path) -> None:
    """Without --account, the config file's [accounts] are the accounts shown, in the file's order."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        config = _config(home, '[accounts]\npersonal = "~/.claude-personal"\nwork = "~/.claude-work"\n')
        result = _run("--json", "--config", str(config), env=accounts.env())
    shown = [(name, doc["windows"][0]["utilization"]) for name, doc in accounts_of(result.stdout)]
    assert [("personal", 64.0), ("work", 23.0)] == shown


def test_account_flags_replace_the_config_table(home: Path) -> None:
    """--account replaces the config file's [accounts] rather than adding to it."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        config = _config(home, '[accounts]\npersonal = "~/.claude-personal"\nwork = "~/.claude-work"\n')
        args = ("--json", "--config", str(config), "--account", f"w={accounts.work_dir}")
        result = _run(*args, env=accounts.env())
    assert [23.0, 41.0] == [w["utilization"] for w in json.loads(result.stdout)["windows"]]


def test_bad_account_value_exits_2_with_one_line(home: Path) -> None:
    """An --account without NAME= is refused with exit 2 and one line."""
    result = _run("--json", "--account", "just-a-dir", env={})
    assert (2, 1, "") == (result.code, len(result.stderr.splitlines()), result.stdout)


def test_bad_account_name_exits_2_with_one_line(home: Path) -> None:
    """An account name with a space in it is refused with exit 2 and one line naming it."""
    result = _run("--json", "--account", "my work=/tmp/x", env={})
    assert (2, True) == (result.code, "'my work'" in result.stderr.strip())


def test_account_named_twice_exits_2(home: Path) -> None:
    """Two accounts under one name are refused with exit 2."""
    result = _run("--json", "--account", "a=/tmp/x", "--account", "a=/tmp/y", env={})
    assert (2, "claude-usage: account 'a' is named twice; each account needs its own name\n") == (
        result.code,
        result.stderr,
    )


def test_every_account_failing_unexpectedly_exits_4() -> None:
    """When no account answered and none failed on its login, the exit status is 4, whatever the errors were."""
    from claude_usage.commands.oneshot import Outcome, exit_status

    failed = [Outcome(session=object(), error=ValueError("boom")) for _ in range(2)]  # type: ignore[arg-type]
    assert 4 == exit_status(failed)
