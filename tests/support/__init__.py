"""Test helpers: the CLI runner, credentials writers, the tmux driver."""
