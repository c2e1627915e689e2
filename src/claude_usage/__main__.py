"""`python -m claude_usage`."""

from __future__ import annotations

from claude_usage import cli

raise SystemExit(cli.main())
