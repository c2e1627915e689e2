"""Claude Code Usage Monitor: how much of your Claude subscription's usage limits you have used."""

__version__ = "0.1.0"
