"""The config file: where it lives, what it holds, how a malformed one is refused; `config path` and `config init`."""

from __future__ import annotations

import os
import sys
from datetime import time
from pathlib import Path

import platformdirs
import pytest

from claude_usage.adapters.config import (
    DEFAULT_FILE,
    AlertsConfig,
    Config,
    ConfigError,
    config_path,
    load,
    write_default,
)
from tests.support.cli import run_cli


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load(dict(os.environ), path)
    return str(caught.value)


def test_the_config_lives_in_platformdirs_user_config_dir() -> None:
    """Without CLAUDE_USAGE_CONFIG, the file is config.toml in platformdirs' user_config_dir."""
    expected = Path(platformdirs.user_config_dir("claude-usage", appauthor=False), "config.toml")
    assert expected == config_path(dict(os.environ))


def test_claude_usage_config_names_another_file(tmp_path: Path) -> None:
    """CLAUDE_USAGE_CONFIG names the file to read."""
    assert tmp_path / "mine.toml" == config_path({"CLAUDE_USAGE_CONFIG": str(tmp_path / "mine.toml")})


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    """No file: the default alerts (80 and 95 %, desktop, bell, 1 hour, 10 s) and no source."""
    assert Config(AlertsConfig((80.0, 95.0)), None) == load({}, tmp_path / "none.toml")


def test_the_default_file_reads_as_the_defaults(tmp_path: Path) -> None:
    """What `config init` writes is the defaults, commented."""
    path = _write(tmp_path / "config.toml", DEFAULT_FILE)
    assert AlertsConfig() == load({}, path).alerts


def test_every_key_is_read(tmp_path: Path) -> None:
    """Each key of [alerts] and its tables lands in AlertsConfig."""
    path = _write(
        tmp_path / "config.toml",
        """
[alerts]
thresholds = [95, 50.5, 80]
command = "ntfy publish 'my topic'"
desktop = false
bell = false
quiet = "22:30-07:15"
lose_it_hours = 2.5
command_timeout = 3

[alerts.thresholds_by_key]
five_hour = [90]
"limits.weekly_all" = []

[alerts.channels]
reset = ["desktop", "command"]
lose_it = []
""",
    )
    alerts = load({}, path).alerts
    assert (
        (50.5, 80.0, 95.0),
        {"five_hour": (90.0,), "limits.weekly_all": ()},
        ("ntfy", "publish", "my topic"),
        (False, False),
        (time(22, 30), time(7, 15)),
        (2.5, 3.0),
        {"reset": ("desktop", "command"), "lose_it": ()},
    ) == (
        alerts.thresholds,
        dict(alerts.thresholds_by_key),
        alerts.command,
        (alerts.desktop, alerts.bell),
        alerts.quiet,
        (alerts.lose_it_hours, alerts.command_timeout),
        dict(alerts.channels),
    )


def test_a_command_may_be_a_list_of_words(tmp_path: Path) -> None:
    """`command = ["notify", "--urgent"]` is the argv as written."""
    path = _write(tmp_path / "c.toml", '[alerts]\ncommand = ["notify", "--urgent"]\n')
    assert ("notify", "--urgent") == load({}, path).alerts.command


def test_a_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    """A file that is not TOML: one line with the file, the line and the column."""
    path = _write(tmp_path / "config.toml", "[alerts]\nthresholds = [80,\n  x\n")
    assert f"config file {path}, line 3, column 3: invalid value" == _error(path)


def test_a_file_cut_short_names_its_last_line(tmp_path: Path) -> None:
    """A file that ends inside a value: the line is the end of the file."""
    path = _write(tmp_path / "config.toml", "[alerts]\nthresholds = [80,\n")
    assert f"config file {path}, line 3 (the end of the file): invalid value" == _error(path)


def test_a_wrong_type_names_the_key(tmp_path: Path) -> None:
    """A value of the wrong type: one line with the file, the key and what was expected."""
    path = _write(tmp_path / "config.toml", '[alerts]\ndesktop = "yes"\n')
    assert f'config file {path}: alerts.desktop: expected true or false, got "yes"' == _error(path)


def test_a_threshold_over_100_names_the_key(tmp_path: Path) -> None:
    """Thresholds are percentages above 0 and at most 100."""
    path = _write(tmp_path / "config.toml", "[alerts.thresholds_by_key]\nfive_hour = [150]\n")
    assert "alerts.thresholds_by_key.five_hour: expected a list of percentages" in _error(path)


def test_an_unknown_key_in_alerts_is_refused(tmp_path: Path) -> None:
    """A typo in [alerts] (tresholds) is an error, not an alert silently off."""
    path = _write(tmp_path / "config.toml", "[alerts]\ntresholds = [80]\n")
    assert _error(path).startswith(f"config file {path}: alerts.tresholds: unknown key")


def test_an_unknown_table_is_left_alone(tmp_path: Path) -> None:
    """Tables of later versions ([doctor], [ui]) do not stop this one."""
    path = _write(tmp_path / "config.toml", "[future]\nanything = 1\n")
    assert AlertsConfig() == load({}, path).alerts


def test_quiet_hours_must_be_a_span(tmp_path: Path) -> None:
    """`quiet = "22:00"` is refused with the expected form."""
    path = _write(tmp_path / "config.toml", '[alerts]\nquiet = "22:00"\n')
    assert 'alerts.quiet: expected quiet hours as "HH:MM-HH:MM"' in _error(path)


def test_an_unsplittable_command_names_the_key(tmp_path: Path) -> None:
    """An unclosed quote in the command is refused, naming alerts.command."""
    path = _write(tmp_path / "config.toml", '[alerts]\ncommand = "ntfy \'oops"\n')
    assert f"config file {path}: alerts.command: cannot split" in _error(path)


def test_an_unknown_rule_in_channels_is_refused(tmp_path: Path) -> None:
    """[alerts.channels] names rules; another name is an error."""
    path = _write(tmp_path / "config.toml", '[alerts.channels]\nsoon = ["desktop"]\n')
    assert "alerts.channels.soon: unknown rule" in _error(path)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    """Bytes that are not UTF-8: the file and the line."""
    path = tmp_path / "config.toml"
    path.write_bytes(b"[alerts]\nbell = true\n# caf\xe9\n")
    assert f"config file {path}, line 3: not UTF-8 text" == _error(path)


def test_a_directory_cannot_be_read(tmp_path: Path) -> None:
    """A directory where the file should be is an error naming it."""
    (tmp_path / "config.toml").mkdir()
    assert _error(tmp_path / "config.toml").startswith(f"cannot read the config file {tmp_path / 'config.toml'}")


def test_write_default_never_replaces_a_file(tmp_path: Path) -> None:
    """Without force, an existing file stays as it was."""
    path = _write(tmp_path / "config.toml", "# mine\n")
    with pytest.raises(ConfigError):
        write_default(path)
    assert "# mine\n" == path.read_text()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_the_default_file_is_private(tmp_path: Path) -> None:
    """The file may come to hold a webhook's secret URL: 0600."""
    write_default(tmp_path / "config.toml")
    assert 0o600 == (tmp_path / "config.toml").stat().st_mode & 0o777


# -- the command -----------------------------------------------------------------------------------------


def test_config_path_prints_the_path(home: Path) -> None:
    """`claude-usage config path` prints where the file is read from, exit 0."""
    result = run_cli("config", "path")
    assert (0, f"{home / '.config' / 'claude-usage' / 'config.toml'}\n") == (result.code, result.stdout)


def test_config_path_follows_the_environment(tmp_path: Path) -> None:
    """With CLAUDE_USAGE_CONFIG set, `config path` prints that file."""
    result = run_cli("config", "path", env={"CLAUDE_USAGE_CONFIG": str(tmp_path / "other.toml")})
    assert f"{tmp_path / 'other.toml'}\n" == result.stdout


def test_config_init_writes_the_commented_defaults(home: Path) -> None:
    """`config init` writes the default file where `config path` says."""
    result = run_cli("config", "init")
    path = home / ".config" / "claude-usage" / "config.toml"
    assert (0, f"wrote {path}\n", DEFAULT_FILE) == (result.code, result.stdout, path.read_text())


def test_config_init_refuses_to_overwrite(home: Path) -> None:
    """A second `config init` exits 2 and leaves the file alone."""
    path = _write(home / ".config" / "claude-usage" / "config.toml", "[alerts]\nbell = false\n")
    result = run_cli("config", "init")
    assert (2, f"claude-usage: {path} exists already; use --force to replace it with the defaults\n") == (
        result.code,
        result.stderr,
    )


def test_config_init_force_replaces(home: Path) -> None:
    """`config init --force` replaces an existing file with the defaults."""
    path = _write(home / ".config" / "claude-usage" / "config.toml", "[alerts]\nbell = false\n")
    result = run_cli("config", "init", "--force")
    assert (0, DEFAULT_FILE) == (result.code, path.read_text())


def test_config_path_exits_2_on_a_malformed_file(home: Path) -> None:
    """`config path` still prints the path, then the one-line reason on stderr, exit 2."""
    path = _write(home / ".config" / "claude-usage" / "config.toml", "[alerts\n")
    result = run_cli("config", "path")
    assert (2, f"{path}\n", 1) == (result.code, result.stdout, len(result.stderr.splitlines()))
