"""The README documents every option and every exit code the program has."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_usage.cli import COMMANDS, build_parser
from claude_usage.errors import ExitCode

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _options() -> list[str]:
    """Every long option of every command in the table (subcommands' own parsers included)."""
    found: set[str] = set()
    parsers = [build_parser(name) for name in COMMANDS]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            found.update(s for s in action.option_strings if s.startswith("--"))
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                parsers.extend(choices.values())
    return sorted(found)


@pytest.mark.parametrize("name", [name for name in COMMANDS if name])
def test_every_command_is_in_the_readme(name: str) -> None:
    """Each command of the table appears in the README."""
    assert f"`claude-usage {name}" in README


@pytest.mark.parametrize("option", _options())
def test_every_option_is_in_the_readme(option: str) -> None:
    """Each long option appears in the README."""
    assert f"`{option}" in README


@pytest.mark.parametrize("code", [value for name, value in vars(ExitCode).items() if name.isupper()])
def test_every_exit_code_is_in_the_readme(code: int) -> None:
    """Each exit code has a row in the README's table."""
    assert f"| {code} |" in README


@pytest.mark.parametrize("option", ["--format", "--max-age", "--chain", "--no-refresh", "--force"])
def test_status_line_options_are_in_the_readme(option: str) -> None:
    """The status line's own options appear in the README."""
    assert f"`{option}" in README


@pytest.mark.parametrize("placeholder", ["{5h}", "{5h_reset}", "{7d}", "{sonnet}", "{opus}", "{age}"])
def test_status_line_placeholders_are_in_the_readme(placeholder: str) -> None:
    """Every --format placeholder the status line knows is documented."""
    assert f"`{placeholder}`" in README


def _readme_variables() -> list[str]:
    rows = [line for line in README.splitlines() if line.startswith("| `") and line[3:4].isupper()]
    names = [name for row in rows for name in row.split("|")[1].replace("`", "").replace(",", " ").split()]
    return [name for name in names if name.isupper()]


@pytest.mark.parametrize("variable", _readme_variables())
def test_every_environment_variable_is_in_the_help(variable: str) -> None:
    """The top-level --help names each environment variable the README's table documents."""
    assert variable in build_parser().format_help()


@pytest.mark.parametrize("name", [name for name in COMMANDS if name])
def test_every_command_describes_itself(name: str) -> None:
    """`claude-usage NAME --help` is that command's own help, not the top-level one."""
    text = build_parser(name).format_help()
    assert (f"usage: claude-usage {name}", False) == (text.splitlines()[0][: len(name) + 20], "commands:" in text)
