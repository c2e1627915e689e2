#!/usr/bin/env python3
"""The old single-script entry point, kept as a thin launcher: `./monitor-usage.py [options]`."""

import sys
from pathlib import Path

if sys.version_info < (3, 10):  # noqa: UP036 - this file may be run by any python3
    sys.exit("claude-usage needs Python 3.10 or newer (this is %d.%d)" % sys.version_info[:2])  # noqa: UP031

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

try:
    from claude_usage.cli import main
except ImportError as exc:  # a dependency is missing: say which, and how to get it
    sys.exit(f"claude-usage: cannot import {exc.name or exc}: run `pip install .` in {Path(__file__).parent}")

raise SystemExit(main())
