"""Installing and removing our status line in Claude Code's settings.json, on real files."""

from __future__ import annotations

import json
import os
import shlex
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters.settings import (
    SettingsChange,
    install,
    is_ours,
    our_entry,
    settings_path,
    uninstall,
)
from claude_usage.errors import CommandLineError, ExitCode

NOW = datetime(2026, 7, 1, 12, 34, 56, tzinfo=timezone.utc)
EXE = "/home/dev/.local/bin/claude-usage"
OTHER_EXE = "/opt/venv/bin/claude-usage"
FOREIGN: dict[str, Any] = {
    "type": "command",
    "command": "npx -y ccstatusline@latest",
    "padding": 0,
    "refreshInterval": 10,
}
# What a default install writes: our entry plus the default refreshInterval.
ENTRY: dict[str, Any] = {**our_entry(EXE), "refreshInterval": 30}

# A user settings file as people really have them: hooks, permissions, env, model, unicode, odd key order.
REALISTIC: dict[str, Any] = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "model": "opus",
    "env": {"CLAUDE_CODE_ENABLE_TELEMETRY": "0", "GREETING": "grüß dich — ✓ 日本語 🚀"},
    "permissions": {
        "allow": ["Bash(npm run test:*)", "Read(~/.zshrc)", "WebFetch(domain:docs.anthropic.com)"],
        "deny": ["Read(./.env)", "Read(./secrets/**)"],
        "defaultMode": "acceptEdits",
    },
    "hooks": {
        "PostToolUse": [
            {
                "matcher": "Edit|Write",
                "hooks": [{"type": "command", "command": 'prettier --write "$CLAUDE_FILE_PATHS"', "timeout": 30}],
            }
        ],
        "Stop": [],
    },
    "zebra": {},
    "includeCoAuthoredBy": False,
    "cleanupPeriodDays": 30,
    "feedbackSurveyRate": 0.05,
    "bigNumber": 12345678901234567890,
    "nothing": None,
    "alpha": "last but not least",
}


def backup_name(n: int = 1) -> str:
    """The backup's file name for NOW (local wall clock, as the module writes it)."""
    stem = f"settings.json.bak-{NOW.astimezone():%Y%m%d-%H%M%S}"
    return stem if n == 1 else f"{stem}-{n}"


def write_json(path: Path, value: object) -> bytes:
    """Write `value` the way Claude Code does and return the bytes."""
    data = (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()
    path.write_bytes(data)
    return data


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def settings(home: Path) -> Path:
    """Where the tests put settings.json: the isolated ~/.claude."""
    return home / ".claude" / "settings.json"


# -- where and what ----------------------------------------------------------------------------------


def test_settings_path_uses_claude_config_dir(tmp_path: Path) -> None:
    """With CLAUDE_CONFIG_DIR set, settings.json lives in that directory."""
    assert tmp_path / "cfg" / "settings.json" == settings_path({"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")})


def test_settings_path_defaults_to_home_dot_claude(tmp_path: Path) -> None:
    """Without CLAUDE_CONFIG_DIR, settings.json lives in ~/.claude."""
    assert tmp_path / ".claude" / "settings.json" == settings_path({"HOME": str(tmp_path)})


def test_our_entry_quotes_a_path_with_spaces() -> None:
    """Our entry runs the executable's quoted path with the statusline subcommand, no padding."""
    expected = {"type": "command", "command": "'/Users/Jo Doe/bin/claude-usage' statusline", "padding": 0}
    assert expected == our_entry("/Users/Jo Doe/bin/claude-usage")


def test_our_entry_appends_options() -> None:
    """Options for the status line come after the subcommand, each quoted."""
    entry = our_entry(EXE, options=["--chain", "npx -y ccstatusline@latest"])
    assert f"{EXE} statusline --chain 'npx -y ccstatusline@latest'" == entry["command"]


@pytest.mark.parametrize(
    "command",
    [
        "/home/dev/.local/bin/claude-usage statusline",
        "claude-usage statusline",
        "'/Users/Jo Doe/Library/Python/3.12/bin/claude-usage' statusline",
        '"/Users/Jo Doe/bin/claude-usage" statusline --max-age 30',
        "python -m claude_usage statusline --format x",
        "/opt/venv/bin/python3.12 -X importtime -m claude_usage statusline",
        "claude-usage statusline --chain 'ccstatusline'",
        "claude-usage statusline --chain 'a | b'",
        "NO_COLOR=1 claude-usage statusline",
        "C:\\Users\\jo\\Scripts\\claude-usage.exe statusline",
        "C:/Users/jo/Scripts/claude-usage.exe statusline",
    ],
)
def test_is_ours_recognises_our_command(command: str) -> None:
    """Any path to claude-usage, or python -m claude_usage, followed by statusline, is ours."""
    assert True is is_ours({"type": "command", "command": command})


@pytest.mark.parametrize(
    "command",
    [
        "npx -y ccstatusline@latest",
        "bunx ccusage statusline",
        "ccusage statusline",
        "claude-usage",
        "claude-usage --json",
        "claude-usage statusline-extra",
        "/usr/local/bin/not-claude-usage statusline",
        "python statusline.py",
        "python -m other_module statusline",
        "python -c 'import claude_usage' statusline",
        "claude-usage statusline | head -1",
        "claude-usage statusline; echo done",
        "'unbalanced quote claude-usage statusline",
        "",
    ],
)
def test_is_ours_rejects_other_commands(command: str) -> None:
    """Other tools, our other subcommands and shell pipelines around ours are not ours."""
    assert False is is_ours({"type": "command", "command": command})


@pytest.mark.parametrize("value", [None, "claude-usage statusline", ["claude-usage", "statusline"], {}, {"command": 3}])
def test_is_ours_rejects_odd_values(value: object) -> None:
    """A statusLine that is not an object with a command string is not ours."""
    assert False is is_ours(value)


# -- install -----------------------------------------------------------------------------------------


def test_install_creates_directory_and_file(tmp_path: Path) -> None:
    """A missing config directory and settings.json are created, holding only our entry."""
    path = tmp_path / "new-config" / "settings.json"
    change = install(path, EXE, force=False, now=NOW)
    assert {"statusLine": ENTRY} == read_json(path)
    assert (True, None) == (change.changed, change.backup)


def test_install_new_file_is_private(tmp_path: Path) -> None:
    """A settings.json we create gets mode 0600."""
    path = tmp_path / "settings.json"
    install(path, EXE, force=False, now=NOW)
    assert 0o600 == stat.S_IMODE(path.stat().st_mode)


def test_install_preserves_other_keys_order_and_values(settings: Path) -> None:
    """Every other key keeps its value and its place; statusLine is added last."""
    write_json(settings, REALISTIC)
    install(settings, EXE, force=False, now=NOW)
    after = read_json(settings)
    assert [*REALISTIC, "statusLine"] == list(after)
    assert {**REALISTIC, "statusLine": ENTRY} == after


def test_install_writes_claude_codes_format(settings: Path) -> None:
    """The new file is two-space indented JSON with raw unicode and a trailing newline."""
    write_json(settings, REALISTIC)
    install(settings, EXE, force=False, now=NOW)
    expected = json.dumps({**REALISTIC, "statusLine": ENTRY}, indent=2, ensure_ascii=False) + "\n"
    assert expected.encode() == settings.read_bytes()


def test_install_keeps_position_of_existing_status_line(settings: Path) -> None:
    """Replacing a statusLine in the middle of the file keeps it in the middle."""
    write_json(settings, {"model": "opus", "statusLine": FOREIGN, "env": {}})
    install(settings, EXE, force=True, now=NOW)
    assert ["model", "statusLine", "env"] == list(read_json(settings))


def test_install_writes_byte_identical_timestamped_backup(settings: Path) -> None:
    """Before changing a file, a byte-identical copy named after `now` is written beside it."""
    original = write_json(settings, REALISTIC)
    change = install(settings, EXE, force=False, now=NOW)
    assert settings.with_name(backup_name()) == change.backup
    assert original == settings.with_name(backup_name()).read_bytes()


def test_install_reports_the_backup(settings: Path) -> None:
    """The message names the file and the backup."""
    write_json(settings, REALISTIC)
    change = install(settings, EXE, force=False, now=NOW)
    expected = f"installed the status line in {settings} (backup: {settings.with_name(backup_name())})"
    assert expected == change.message


def test_install_numbers_a_backup_whose_name_is_taken(settings: Path) -> None:
    """When a backup of the same second exists, the next one gets -2 and the first is untouched."""
    write_json(settings, {"statusLine": FOREIGN})
    settings.with_name(backup_name()).write_bytes(b"older backup")
    change = install(settings, EXE, force=True, now=NOW)
    assert settings.with_name(backup_name(2)) == change.backup
    assert b"older backup" == settings.with_name(backup_name()).read_bytes()


def test_second_install_changes_nothing(settings: Path) -> None:
    """Installing again is a no-op: no write, no second backup, same bytes and mtime."""
    write_json(settings, REALISTIC)
    install(settings, EXE, force=False, now=NOW)
    before = (settings.read_bytes(), settings.stat().st_mtime_ns, listing(settings.parent))
    change = install(settings, EXE, force=False, now=NOW + timedelta(minutes=1))
    assert before == (settings.read_bytes(), settings.stat().st_mtime_ns, listing(settings.parent))
    assert SettingsChange(settings, False, None, f"the status line is already installed in {settings}") == change


def test_install_updates_our_entry_with_another_path(settings: Path) -> None:
    """Our entry with an old path is updated in place, with a backup."""
    write_json(settings, {"statusLine": our_entry(OTHER_EXE), "model": "opus"})
    change = install(settings, EXE, force=False, now=NOW)
    assert {"statusLine": ENTRY, "model": "opus"} == read_json(settings)
    assert (True, settings.with_name(backup_name())) == (change.changed, change.backup)


def test_install_keeps_users_tuning_of_our_entry(settings: Path) -> None:
    """Re-installing keeps refreshInterval and padding the user set on our entry."""
    tuned = {**our_entry(OTHER_EXE), "padding": 2, "refreshInterval": 30}
    write_json(settings, {"statusLine": tuned})
    install(settings, EXE, force=False, now=NOW)
    assert {"statusLine": {**tuned, "command": our_entry(EXE)["command"]}} == read_json(settings)


def test_install_over_tuned_entry_with_same_command_is_a_no_op(settings: Path) -> None:
    """Our own command with extra user keys counts as already installed."""
    original = write_json(settings, {"statusLine": {**our_entry(EXE), "refreshInterval": 30}})
    change = install(settings, EXE, force=False, now=NOW)
    assert (False, original) == (change.changed, settings.read_bytes())


def test_install_refuses_foreign_status_line(settings: Path) -> None:
    """Another tool's statusLine is refused with exit 2 and a one-line hint to --force or chain."""
    write_json(settings, {"statusLine": FOREIGN})
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    expected = (
        f"{settings} already has a status line from another command (npx -y ccstatusline@latest); "
        "re-run with --force to replace it (the backup keeps the old one), "
        f"or keep it above ours: claude-usage statusline install --chain {shlex.quote(FOREIGN['command'])}"
    )
    assert (expected, ExitCode.COMMAND_LINE) == (str(caught.value), caught.value.exit_code)


def test_install_chaining_the_existing_command_needs_no_force(settings: Path) -> None:
    """Chaining exactly the status line already there replaces it without --force (nothing is lost)."""
    write_json(settings, {"statusLine": FOREIGN})
    change = install(settings, EXE, force=False, now=NOW, options=["--chain", FOREIGN["command"]])
    assert change.changed
    command = json.loads(settings.read_text())["statusLine"]["command"]
    assert f"{EXE} statusline --chain {shlex.quote(FOREIGN['command'])}" == command


def test_refused_install_leaves_file_untouched(settings: Path) -> None:
    """After a refusal the file has its bytes and mtime, and no backup or temp file exists."""
    original = write_json(settings, {"statusLine": FOREIGN, "model": "opus"})
    before = (original, settings.stat().st_mtime_ns, listing(settings.parent))
    with pytest.raises(CommandLineError):
        install(settings, EXE, force=False, now=NOW)
    assert before == (settings.read_bytes(), settings.stat().st_mtime_ns, listing(settings.parent))


def test_refusal_of_multiline_command_stays_one_line(settings: Path) -> None:
    """A foreign command with newlines is shown escaped, so the error stays on one line."""
    write_json(settings, {"statusLine": {"type": "command", "command": "echo a\necho b"}})
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    assert 1 == len(str(caught.value).splitlines())


def test_install_refuses_status_line_of_odd_type(settings: Path) -> None:
    """A statusLine that is not an object counts as foreign: refused without --force."""
    write_json(settings, {"statusLine": "my-script.sh"})
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    expected = (
        f'{settings} already has a status line from another command ("my-script.sh"); '
        "re-run with --force to replace it (the backup keeps the old one)"
    )
    assert expected == str(caught.value)


def test_force_replaces_foreign_status_line(settings: Path) -> None:
    """With force, another tool's statusLine gets our command and keeps its own refreshInterval."""
    write_json(settings, {"model": "opus", "statusLine": FOREIGN})
    install(settings, EXE, force=True, now=NOW)
    assert {"model": "opus", "statusLine": {**our_entry(EXE), "refreshInterval": 10}} == read_json(settings)


def test_force_keeps_the_old_entry_in_the_backup(settings: Path) -> None:
    """With force, the backup holds the replaced statusLine and the message names the old command."""
    original = write_json(settings, {"statusLine": FOREIGN})
    change = install(settings, EXE, force=True, now=NOW)
    backup = settings.with_name(backup_name())
    expected_message = (
        f"replaced the status line of another command (npx -y ccstatusline@latest) in {settings} (backup: {backup})"
    )
    assert (original, expected_message) == (backup.read_bytes(), change.message)


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n"])
def test_install_treats_empty_file_as_empty_object(settings: Path, content: bytes) -> None:
    """An empty or whitespace-only settings.json counts as {} and is backed up before the rewrite."""
    settings.write_bytes(content)
    change = install(settings, EXE, force=False, now=NOW)
    assert {"statusLine": ENTRY} == read_json(settings)
    assert content == settings.with_name(backup_name()).read_bytes()
    assert True is change.changed


def test_install_keeps_mode_of_existing_file(settings: Path) -> None:
    """An existing 0644 settings.json is still 0644 after the rewrite."""
    write_json(settings, REALISTIC)
    settings.chmod(0o644)
    install(settings, EXE, force=False, now=NOW)
    assert 0o644 == stat.S_IMODE(settings.stat().st_mode)


def test_install_keeps_a_symlinked_settings_file_a_symlink(settings: Path, tmp_path: Path) -> None:
    """A settings.json symlinked from a dotfiles repo stays a link, and its target gets our entry."""
    target = tmp_path / "dotfiles" / "claude-settings.json"
    target.parent.mkdir()
    write_json(target, {"model": "opus"})
    settings.symlink_to(target)
    install(settings, EXE, force=False, now=NOW)
    assert (True, {"model": "opus", "statusLine": ENTRY}) == (settings.is_symlink(), read_json(target))


def test_install_handles_lone_surrogates(settings: Path) -> None:
    """A string UTF-8 cannot carry raw (a lone surrogate escape) survives as an escape."""
    settings.write_text('{"odd": "\\ud800"}\n', encoding="utf-8")
    install(settings, EXE, force=False, now=NOW)
    assert {"odd": "\ud800", "statusLine": ENTRY} == read_json(settings)


def test_failed_replace_leaves_original_and_no_temp_file(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the final rename fails, the file is byte-identical and no temp or backup file is left."""
    original = write_json(settings, REALISTIC)
    before = listing(settings.parent)

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    monkeypatch.undo()
    assert (original, before) == (settings.read_bytes(), listing(settings.parent))
    expected = f"cannot write {settings}: No space left on device; it was left as it was"
    assert expected == str(caught.value)


def test_failed_temp_write_leaves_no_temp_file(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If fsync of the temp file fails, the original stays and the temp file is removed."""
    original = write_json(settings, {"statusLine": FOREIGN})
    before = listing(settings.parent)
    real_fsync = os.fsync
    calls: list[int] = []

    def fsync_fails_second_time(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the first is the backup, the second the temp file
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_fails_second_time)
    with pytest.raises(CommandLineError):
        install(settings, EXE, force=True, now=NOW)
    monkeypatch.undo()
    assert (original, before) == (settings.read_bytes(), listing(settings.parent))


# -- malformed and unreadable files ----------------------------------------------------------------

MALFORMED = [
    pytest.param(b"{", id="truncated"),
    pytest.param(b'{"model": "opus",}', id="trailing-comma"),
    pytest.param(b'// my settings\n{"model": "opus"}', id="comment"),
    pytest.param(b"{'model': 'opus'}", id="single-quotes"),
    pytest.param(b'{"a": NaN}', id="nan"),
    pytest.param(b'{"a": 1, "a": 2}', id="duplicate-key"),
    pytest.param(b'{"hooks": {"Stop": [], "Stop": []}}', id="nested-duplicate-key"),
    pytest.param(b'\xef\xbb\xbf{"model": "opus"}', id="utf8-bom"),
    pytest.param(b'{"model": "\xff"}', id="not-utf8"),
    pytest.param(b'[{"statusLine": {}}]', id="array"),
    pytest.param(b"null", id="null"),
    pytest.param(b'"settings"', id="string"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
    pytest.param(b'{"model": "opus"} {"statusLine": {}}', id="two-documents"),
]


@pytest.mark.parametrize("content", MALFORMED)
def test_install_leaves_malformed_file_byte_identical(settings: Path, content: bytes) -> None:
    """A malformed settings.json is refused on one line, with its bytes, mtime and directory untouched."""
    settings.write_bytes(content)
    before = (settings.stat().st_mtime_ns, listing(settings.parent))
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=True, now=NOW)
    message = str(caught.value)
    assert (content, before) == (settings.read_bytes(), (settings.stat().st_mtime_ns, listing(settings.parent)))
    assert (True, 1) == (str(settings) in message, len(message.splitlines()))


@pytest.mark.parametrize("content", MALFORMED)
def test_uninstall_leaves_malformed_file_byte_identical(settings: Path, content: bytes) -> None:
    """Uninstall refuses a malformed settings.json too, leaving bytes, mtime and directory untouched."""
    settings.write_bytes(content)
    before = (settings.stat().st_mtime_ns, listing(settings.parent))
    with pytest.raises(CommandLineError):
        uninstall(settings, now=NOW)
    assert (content, before) == (settings.read_bytes(), (settings.stat().st_mtime_ns, listing(settings.parent)))


def test_invalid_json_error_gives_line_and_column(settings: Path) -> None:
    """The error for invalid JSON names the file and the line and column of the fault."""
    # A missing comma: reported at the same place by 3.10 to 3.13 (3.13 moved where a trailing comma is reported).
    settings.write_bytes(b'{\n  "model": "opus"\n  "effort": "high"\n}\n')
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    expected = f"{settings} is not valid JSON (line 3 column 3); fix or move it, then try again"
    assert expected == str(caught.value)


def test_top_level_array_error_says_what_it_holds(settings: Path) -> None:
    """A JSON array at the top level is refused as not being an object."""
    settings.write_bytes(b"[]\n")
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    expected = f"{settings} is not a JSON object (it holds an array); fix or move it, then try again"
    assert expected == str(caught.value)


def test_duplicate_key_error_names_the_key(settings: Path) -> None:
    """A key repeated in one object is refused, naming the key, since a rewrite would drop one."""
    settings.write_bytes(b'{"statusLine": {}, "statusLine": {}}')
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    expected = (
        f'{settings} is not valid JSON (the key "statusLine" appears twice in one object); '
        "fix or move it, then try again"
    )
    assert expected == str(caught.value)


def test_byte_order_mark_error_says_so(settings: Path) -> None:
    """A UTF-8 byte-order mark is refused with a message that says so."""
    settings.write_bytes(b"\xef\xbb\xbf{}")
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    expected = f"{settings} starts with a UTF-8 byte-order mark; save it without one, then try again"
    assert expected == str(caught.value)


def test_settings_path_that_is_a_directory_is_refused(settings: Path) -> None:
    """A settings.json that is a directory cannot be read, and the error names it."""
    settings.mkdir()
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    assert f"cannot read {settings}: Is a directory" == str(caught.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_unreadable_settings_file_is_refused(settings: Path) -> None:
    """A settings.json we may not read is refused, naming it."""
    write_json(settings, REALISTIC)
    settings.chmod(0)
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    assert f"cannot read {settings}: Permission denied" == str(caught.value)


# -- uninstall ---------------------------------------------------------------------------------------


def test_uninstall_removes_our_entry_and_keeps_the_rest(settings: Path) -> None:
    """Uninstall drops our statusLine and leaves every other key in order."""
    write_json(settings, {**REALISTIC, "statusLine": our_entry(EXE)})
    uninstall(settings, now=NOW)
    after = read_json(settings)
    assert (REALISTIC, list(REALISTIC)) == (after, list(after))


def test_uninstall_writes_a_backup(settings: Path) -> None:
    """Uninstall backs up the file byte for byte and names the backup."""
    original = write_json(settings, {"model": "opus", "statusLine": our_entry(EXE)})
    change = uninstall(settings, now=NOW)
    backup = settings.with_name(backup_name())
    expected = SettingsChange(settings, True, backup, f"removed the status line from {settings} (backup: {backup})")
    assert (expected, original) == (change, backup.read_bytes())


def test_uninstall_removes_our_python_m_entry(settings: Path) -> None:
    """An entry running python -m claude_usage statusline with options is ours to remove."""
    write_json(settings, {"statusLine": {"type": "command", "command": "python3 -m claude_usage statusline -f x"}})
    uninstall(settings, now=NOW)
    assert {} == read_json(settings)


def test_uninstall_leaves_foreign_status_line_alone(settings: Path) -> None:
    """Another tool's statusLine is not removed; the file keeps its bytes and mtime, and says so."""
    original = write_json(settings, {"statusLine": FOREIGN})
    before = (original, settings.stat().st_mtime_ns, listing(settings.parent))
    change = uninstall(settings, now=NOW)
    expected_message = (
        f"the status line in {settings} belongs to another command (npx -y ccstatusline@latest); left it alone"
    )
    assert SettingsChange(settings, False, None, expected_message) == change
    assert before == (settings.read_bytes(), settings.stat().st_mtime_ns, listing(settings.parent))


def test_uninstall_with_nothing_installed(settings: Path) -> None:
    """Without a statusLine, uninstall changes nothing and says there is nothing to remove."""
    original = write_json(settings, REALISTIC)
    change = uninstall(settings, now=NOW)
    expected = SettingsChange(settings, False, None, f"no status line to remove in {settings}")
    assert (expected, original) == (change, settings.read_bytes())


def test_uninstall_without_a_file_creates_nothing(tmp_path: Path) -> None:
    """Uninstall with no settings.json (or directory) creates neither."""
    path = tmp_path / "absent" / "settings.json"
    change = uninstall(path, now=NOW)
    assert (False, False) == (change.changed, path.parent.exists())


def test_install_then_uninstall_round_trips_the_content(settings: Path) -> None:
    """Installing then uninstalling gives back the same settings, byte for byte."""
    original = write_json(settings, REALISTIC)
    install(settings, EXE, force=False, now=NOW)
    uninstall(settings, now=NOW + timedelta(seconds=1))
    assert original == settings.read_bytes()
