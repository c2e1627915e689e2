"""`statusline install`'s refreshInterval, the keys it keeps, and Claude Code rewriting settings.json meanwhile."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters import settings as settings_module
from claude_usage.adapters.settings import install, our_entry, uninstall
from claude_usage.cli import main
from claude_usage.errors import CommandLineError, ExitCode

NOW = datetime(2026, 7, 1, 12, 34, 56, tzinfo=timezone.utc)
EXE = "/home/dev/.local/bin/claude-usage"
CHAINED = "npx -y ccstatusline@latest"
# ccstatusline's entry with the keys users tune (docs/statusline.md §1, §6).
FOREIGN: dict[str, Any] = {"type": "command", "command": CHAINED, "padding": 1, "hideVimModeIndicator": True}
# Keys Claude Code adds to settings.json by itself, e.g. at start-up.
CLAUDE_CODE_KEYS: dict[str, Any] = {"feedbackSurveyState": {"lastShownTime": 1751373296000}, "theme": "dark"}


def write_json(path: Path, value: object) -> bytes:
    """Write `value` the way Claude Code does and return the bytes."""
    data = (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()
    path.write_bytes(data)
    return data


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def backup_name() -> str:
    """The backup's file name for NOW (local wall clock, as the module writes it)."""
    return f"settings.json.bak-{NOW.astimezone():%Y%m%d-%H%M%S}"


@pytest.fixture
def settings(home: Path) -> Path:
    """Where the tests put settings.json: the isolated ~/.claude."""
    return home / ".claude" / "settings.json"


def other_writer(monkeypatch: pytest.MonkeyPatch, *contents: bytes | None) -> list[Path]:
    """Between our temp file and our re-read, write the next of `contents` (None: delete the file)."""
    calls: list[Path] = []

    def write(target: Path) -> None:
        if len(calls) < len(contents):
            content = contents[len(calls)]
            if content is None:
                target.unlink()
            else:
                target.write_bytes(content)
        calls.append(target)

    monkeypatch.setattr(settings_module, "_before_recheck", write)
    return calls


def encoded(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


# -- refreshInterval ---------------------------------------------------------------------------------


def test_install_adds_refresh_interval_30_by_default(settings: Path) -> None:
    """A new entry gets `"refreshInterval": 30` after padding."""
    install(settings, EXE, force=False, now=NOW)
    expected = {"type": "command", "command": f"{EXE} statusline", "padding": 0, "refreshInterval": 30}
    assert expected == read_json(settings)["statusLine"]


def test_install_adds_the_refresh_interval_asked_for(settings: Path) -> None:
    """`refresh_interval=10` writes `"refreshInterval": 10`."""
    install(settings, EXE, force=False, now=NOW, refresh_interval=10)
    assert 10 == read_json(settings)["statusLine"]["refreshInterval"]


def test_install_without_refresh_interval_adds_none(settings: Path) -> None:
    """`refresh_interval=None` writes our entry with no refreshInterval key."""
    install(settings, EXE, force=False, now=NOW, refresh_interval=None)
    assert our_entry(EXE) == read_json(settings)["statusLine"]


def test_install_keeps_the_users_refresh_interval(settings: Path) -> None:
    """A refreshInterval the user set on our entry wins over the one asked for."""
    write_json(settings, {"statusLine": {**our_entry("/old/claude-usage"), "refreshInterval": 60}})
    install(settings, EXE, force=False, now=NOW, refresh_interval=10)
    assert {**our_entry(EXE), "refreshInterval": 60} == read_json(settings)["statusLine"]


def test_install_keeps_an_odd_refresh_interval_as_it_is(settings: Path) -> None:
    """A refreshInterval Claude Code would ignore is still the user's: kept, not corrected."""
    original = write_json(settings, {"statusLine": {**our_entry(EXE), "refreshInterval": None}})
    change = install(settings, EXE, force=False, now=NOW)
    assert (False, original) == (change.changed, settings.read_bytes())


def test_reinstall_adds_a_missing_refresh_interval(settings: Path) -> None:
    """Installing over our own entry that lacks refreshInterval adds it, with a backup."""
    original = write_json(settings, {"statusLine": our_entry(EXE)})
    change = install(settings, EXE, force=False, now=NOW)
    actual = (read_json(settings)["statusLine"], settings.with_name(backup_name()).read_bytes())
    assert ({**our_entry(EXE), "refreshInterval": 30}, original) == actual
    assert f"updated the status line in {settings} (backup: {change.backup})" == change.message


def test_install_reports_the_entry_it_left(settings: Path) -> None:
    """The change carries the statusLine now in the file, also when nothing had to change."""
    install(settings, EXE, force=False, now=NOW)
    change = install(settings, EXE, force=False, now=NOW, refresh_interval=10)
    assert (False, read_json(settings)["statusLine"]) == (change.changed, change.status_line)


# -- the other entry's keys ------------------------------------------------------------------------


def test_chain_keeps_the_chained_entrys_padding(settings: Path) -> None:
    """`install --chain` of the entry already there keeps its padding 1 and its other keys."""
    write_json(settings, {"statusLine": FOREIGN})
    install(settings, EXE, force=False, now=NOW, options=["--chain", CHAINED])
    command = our_entry(EXE, options=["--chain", CHAINED])["command"]
    expected = {
        "type": "command",
        "command": command,
        "padding": 1,
        "hideVimModeIndicator": True,
        "refreshInterval": 30,
    }
    assert expected == read_json(settings)["statusLine"]


def test_force_keeps_the_replaced_entrys_keys(settings: Path) -> None:
    """`--force` sets only type and command, keeping the other entry's padding and refreshInterval."""
    write_json(settings, {"statusLine": {**FOREIGN, "type": "static", "refreshInterval": 10}})
    install(settings, EXE, force=True, now=NOW)
    expected = {**FOREIGN, "command": f"{EXE} statusline", "refreshInterval": 10}
    assert expected == read_json(settings)["statusLine"]


def test_force_over_a_non_object_writes_a_new_entry(settings: Path) -> None:
    """A statusLine that is not an object has no keys to keep: ours gets padding 0 and refreshInterval 30."""
    write_json(settings, {"statusLine": "my-script.sh"})
    install(settings, EXE, force=True, now=NOW)
    assert {**our_entry(EXE), "refreshInterval": 30} == read_json(settings)["statusLine"]


# -- another writer between our read and our replace ---------------------------------------------------


def test_concurrent_rewrite_keeps_the_other_writers_key(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key Claude Code adds while we edit is in the final file, next to our statusLine."""
    write_json(settings, {"model": "opus"})
    other_writer(monkeypatch, encoded({"model": "opus", **CLAUDE_CODE_KEYS}))
    install(settings, EXE, force=False, now=NOW)
    expected = {"model": "opus", **CLAUDE_CODE_KEYS, "statusLine": {**our_entry(EXE), "refreshInterval": 30}}
    assert expected == read_json(settings)


def test_concurrent_rewrite_backs_up_what_we_replaced(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a concurrent rewrite, the one backup holds the other writer's content, which we replaced."""
    write_json(settings, {"model": "opus"})
    theirs = encoded({"model": "opus", **CLAUDE_CODE_KEYS})
    other_writer(monkeypatch, theirs)
    change = install(settings, EXE, force=False, now=NOW)
    backup = settings.with_name(backup_name())
    actual = (change.backup, backup.read_bytes(), listing(settings.parent))
    assert (backup, theirs, sorted(["settings.json", backup_name()])) == actual


def test_concurrent_rewrite_is_re_read_until_it_holds(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rewrites in a row cost two more rounds, and the last one's keys survive."""
    write_json(settings, {"model": "opus"})
    calls = other_writer(monkeypatch, encoded({"theme": "dark"}), encoded({"theme": "light"}))
    install(settings, EXE, force=False, now=NOW)
    expected = {"theme": "light", "statusLine": {**our_entry(EXE), "refreshInterval": 30}}
    assert (expected, 3) == (read_json(settings), len(calls))


def test_file_turned_malformed_meanwhile_is_left_as_it_is(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A settings.json another writer leaves malformed is refused, byte-identical, with no backup or temp file."""
    write_json(settings, {"model": "opus"})
    other_writer(monkeypatch, b'{"model": "opus",')
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    actual = (settings.read_bytes(), listing(settings.parent), caught.value.exit_code)
    assert (b'{"model": "opus",', ["settings.json"], ExitCode.COMMAND_LINE) == actual


def test_foreign_entry_added_meanwhile_is_refused(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If another tool installs its status line while we edit, we decide again: refused, their file kept."""
    write_json(settings, {"model": "opus"})
    theirs = encoded({"model": "opus", "statusLine": FOREIGN})
    other_writer(monkeypatch, theirs)
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    actual = (settings.read_bytes(), listing(settings.parent), str(caught.value).startswith(f"{settings} already"))
    assert (theirs, ["settings.json"], True) == actual


def test_our_entry_written_meanwhile_makes_it_a_no_op(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If our exact entry appears while we edit (a second install), nothing is written and no backup stays."""
    write_json(settings, {"model": "opus"})
    theirs = encoded({"model": "opus", "statusLine": {**our_entry(EXE), "refreshInterval": 30}})
    other_writer(monkeypatch, theirs)
    change = install(settings, EXE, force=False, now=NOW)
    assert (False, None, theirs, ["settings.json"]) == (
        change.changed,
        change.backup,
        settings.read_bytes(),
        listing(settings.parent),
    )


def test_file_removed_meanwhile_is_created_without_backup(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the file disappears while we edit, we create it fresh (mode 0600) and keep no backup."""
    write_json(settings, {"model": "opus"})
    settings.chmod(0o644)
    other_writer(monkeypatch, None)
    change = install(settings, EXE, force=False, now=NOW)
    actual = (read_json(settings), change.backup, listing(settings.parent), stat.S_IMODE(settings.stat().st_mode))
    assert ({"statusLine": {**our_entry(EXE), "refreshInterval": 30}}, None, ["settings.json"], 0o600) == actual


def test_endless_rewrites_give_up_untouched(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file rewritten on every round is given up after 5 rounds, as the other writer left it, nothing beside it."""
    write_json(settings, {"model": "opus"})
    rewrites = [encoded({"round": n}) for n in range(1, 7)]
    calls = other_writer(monkeypatch, *rewrites)
    with pytest.raises(CommandLineError) as caught:
        install(settings, EXE, force=False, now=NOW)
    expected_message = f"{settings} changed while we were editing it; nothing was written, try again"
    actual = (str(caught.value), len(calls), settings.read_bytes(), listing(settings.parent))
    assert (expected_message, 5, rewrites[4], ["settings.json"]) == actual


def test_concurrent_rewrite_keeps_a_symlink_and_its_mode(
    settings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rewrite of a symlinked file's target meanwhile still ends with the link, its target's mode and both keys."""
    target = tmp_path / "dotfiles" / "claude-settings.json"
    target.parent.mkdir()
    write_json(target, {"model": "opus"})
    target.chmod(0o640)
    settings.symlink_to(target)
    other_writer(monkeypatch, encoded({"model": "opus", "theme": "dark"}))
    install(settings, EXE, force=False, now=NOW)
    entry = {**our_entry(EXE), "refreshInterval": 30}
    actual = (settings.is_symlink(), stat.S_IMODE(target.stat().st_mode), read_json(target))
    assert (True, 0o640, {"model": "opus", "theme": "dark", "statusLine": entry}) == actual


def test_uninstall_keeps_a_key_added_meanwhile(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uninstall re-reads too: the other writer's key stays, our entry goes, the backup holds their content."""
    entry = {**our_entry(EXE), "refreshInterval": 30}
    write_json(settings, {"model": "opus", "statusLine": entry})
    theirs = encoded({"model": "opus", "statusLine": entry, "theme": "dark"})
    other_writer(monkeypatch, theirs)
    change = uninstall(settings, now=NOW)
    actual = (read_json(settings), settings.with_name(backup_name()).read_bytes(), change.backup)
    assert ({"model": "opus", "theme": "dark"}, theirs, settings.with_name(backup_name())) == actual


def test_uninstall_after_our_entry_was_removed_meanwhile(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If our entry is gone by the re-read, uninstall writes nothing and keeps no backup."""
    write_json(settings, {"model": "opus", "statusLine": our_entry(EXE)})
    theirs = encoded({"model": "opus"})
    other_writer(monkeypatch, theirs)
    change = uninstall(settings, now=NOW)
    actual = (change.changed, change.message, settings.read_bytes(), listing(settings.parent))
    assert (False, f"no status line to remove in {settings}", theirs, ["settings.json"]) == actual


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed-looking `claude-usage` first on PATH; returns its path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "claude-usage"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    return str(exe)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`claude-usage statusline ARGV` in this process: exit code, stdout, stderr."""
    code = main(["statusline", *argv])
    out, err = capsys.readouterr()
    return code, out, err


needs_posix = pytest.mark.skipif(os.name != "posix", reason="a shell-script stand-in for the console script")


@needs_posix
def test_cli_install_adds_refresh_interval_30(settings: Path, on_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`install` writes refreshInterval 30 and says so on its last line."""
    code, out, _ = run(capsys, "install")
    actual = (code, read_json(settings)["statusLine"]["refreshInterval"], out.splitlines()[-1])
    assert (0, 30, "refreshInterval: 30 seconds, so countdowns move while Claude Code idles") == actual


@needs_posix
def test_cli_refresh_interval_10(settings: Path, on_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`install --refresh-interval 10` writes refreshInterval 10."""
    code, out, _ = run(capsys, "install", "--refresh-interval", "10")
    actual = (code, read_json(settings)["statusLine"]["refreshInterval"], out.splitlines()[-1])
    assert (0, 10, "refreshInterval: 10 seconds, so countdowns move while Claude Code idles") == actual


@needs_posix
def test_cli_refresh_interval_0_adds_none(settings: Path, on_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`install --refresh-interval 0` writes no refreshInterval and says there is none."""
    code, out, _ = run(capsys, "install", "--refresh-interval", "0")
    expected_line = (
        "refreshInterval: none; Claude Code re-runs the line only on its own updates (--refresh-interval adds one)"
    )
    actual = (code, "refreshInterval" in read_json(settings)["statusLine"], out.splitlines()[-1])
    assert (0, False, expected_line) == actual


@needs_posix
def test_cli_keeps_the_users_refresh_interval(settings: Path, on_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A refreshInterval the user set is kept over `--refresh-interval 10`, and the line says it was kept."""
    write_json(settings, {"statusLine": {**our_entry(on_path), "refreshInterval": 60}})
    code, out, _ = run(capsys, "install", "--refresh-interval", "10")
    expected_line = "refreshInterval: 60 seconds, kept from the existing entry (edit settings.json to change it)"
    actual = (code, read_json(settings)["statusLine"]["refreshInterval"], out.splitlines()[-1])
    assert (0, 60, expected_line) == actual


@needs_posix
@pytest.mark.parametrize("value", ["-1", "abc", "2.5"])
def test_cli_refuses_a_bad_refresh_interval(
    settings: Path, on_path: str, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """A refresh interval that is not whole seconds >= 0 exits 2 and writes nothing."""
    code, _, err = run(capsys, "install", "--refresh-interval", value)
    actual = (code, "--refresh-interval" in err, listing(settings.parent))
    assert (2, True, []) == actual


@needs_posix
def test_cli_chain_keeps_padding_1(settings: Path, on_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`install --chain` of the entry already there keeps its `"padding": 1`."""
    write_json(settings, {"statusLine": FOREIGN})
    code, _, _ = run(capsys, "install", "--chain", CHAINED)
    assert (0, 1) == (code, read_json(settings)["statusLine"]["padding"])


@needs_posix
def test_cli_file_turned_malformed_meanwhile_exits_2(
    settings: Path, on_path: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When another writer leaves settings.json malformed mid-way, install exits 2 and leaves their bytes."""
    write_json(settings, {"model": "opus"})
    other_writer(monkeypatch, b"{")
    code, out, err = run(capsys, "install")
    expected_err = f"claude-usage: {settings} is not valid JSON (line 1 column 2); fix or move it, then try again\n"
    assert (2, "", expected_err, b"{", ["settings.json"]) == (
        code,
        out,
        err,
        settings.read_bytes(),
        listing(settings.parent),
    )


def test_cli_help_documents_refresh_interval(capsys: pytest.CaptureFixture[str]) -> None:
    """`install --help` lists --refresh-interval with its default and what 0 means."""
    code, out, _ = run(capsys, "install", "--help")
    text = " ".join(out.split())
    actual = (code, "--refresh-interval SECONDS" in text, "(default: 30; 0: add none)" in text)
    assert (0, True, True) == actual
