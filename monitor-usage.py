#!/usr/bin/env python3
"""The old single-script entry point, kept as a thin launcher: `./monitor-usage.py [options]`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from claude_usage.cli import main  # noqa: E402 - after the path is set

raise SystemExit(main())
