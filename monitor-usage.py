#!/usr/bin/env python3
"""The old single-script entry point, kept as a thin launcher: `./monitor-usage.py [options]`."""

import sys
from importlib.util import find_spec
from pathlib import Path

if sys.version_info < (3, 10):  # noqa: UP036 - this file may be run by any python3
    sys.exit("claude-usage needs Python 3.10 or newer (this is %d.%d)" % sys.version_info[:2])  # noqa: UP031

missing = [name for name in ("rich", "httpx", "platformdirs") if find_spec(name) is None]
if missing:
    here = Path(__file__).resolve().parent
    sys.exit(f"claude-usage: {', '.join(missing)} not installed for {sys.executable}: run `pip install {here}`")

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from claude_usage.cli import main  # noqa: E402 - after the path is set

raise SystemExit(main())
