"""`claude-usage refresh`: take a reading into the shared store within the budget; print nothing.

Started detached by the status line when what it shows is missing or too old. One attempt, never a burst
of retries; the values the status line left pending are filed in the history in any case. Its exit status
(0 ok, 3 no usable login, 4 unavailable or held back) is for scripts: it prints nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_usage.commands import wiring

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

DESCRIPTION = "Take one reading into the shared store within the machine-wide budget; print nothing."
QUIET = True  # errors are not printed: nobody reads a detached process's stderr


def configure(parser: argparse.ArgumentParser) -> None:
    wiring.add_polling_options(parser, interval=False)
    wiring.add_one_shot_options(parser, max_age=60.0)
    parser.set_defaults(interval=None, once=False, json=False)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from claude_usage.commands import oneshot

    with wiring.session(args, env) as session:
        return oneshot.refresh(session.reader, args)
