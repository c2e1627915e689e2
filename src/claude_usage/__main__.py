"""`python -m claude_usage`."""

from __future__ import annotations

from claude_usage.cli import main

raise SystemExit(main())
