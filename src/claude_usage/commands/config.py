"""`claude-usage config path | init`: where the config file is, and a commented default one.

`config path` prints the file `watch` and the dashboard read (and exits 2, saying why in one line, when that
file is malformed); `config init` writes the commented defaults there, never over an existing file without
`--force`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

DESCRIPTION = "The config file of the alerts: `config path` prints where it is, `config init` writes the defaults."


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="{path,init}", required=True, parser_class=type(parser))
    where = actions.add_parser(
        "path",
        help="print the config file's path (exit 2 when that file is malformed)",
        description="Print the config file's path.",
    )
    init = actions.add_parser(
        "init", help="write a commented default config file", description="Write a commented default config file."
    )
    for sub in (where, init):
        sub.add_argument(
            "--config", type=Path, metavar="FILE", help="this file instead of $CLAUDE_USAGE_CONFIG or the default"
        )
    init.add_argument("--force", action="store_true", help="replace an existing file")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from claude_usage.adapters import config

    path: Path = args.config if args.config is not None else config.config_path(env)
    if args.action == "init":
        config.write_default(path, force=args.force)
        print(f"wrote {path}")
        return 0
    print(path, flush=True)
    config.load(env, path)  # a malformed file: one line on stderr, exit 2
    return 0
