"""Reading Claude Code's files: regular files only, never waiting on a named pipe, never past a size."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters import paths

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


def within(seconds: float, call: Callable[[], Any]) -> tuple[bool, object]:
    """(whether `call()` ended within `seconds`, what it returned or raised); a call still blocked is left behind."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive(), outcome[0] if outcome else None)


def test_reads_a_regular_file(tmp_path: Path) -> None:
    """A regular file's bytes come back whole."""
    path = tmp_path / "data.json"
    path.write_bytes(b"x" * 300_000)
    data, _ = paths.read_regular(str(path))
    assert b"x" * 300_000 == data


def test_follows_a_symlink(tmp_path: Path) -> None:
    """A symlink to a regular file is read (Claude Code's files may be links into dotfiles)."""
    (tmp_path / "real.json").write_bytes(b"{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    assert b"{}" == paths.read_regular(str(tmp_path / "link.json"))[0]


@posix_only
def test_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    """A named pipe raises NotRegularFile without waiting for a writer."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    ended, outcome = within(2, lambda: paths.read_regular(str(fifo)))
    assert (True, "not a regular file (a named pipe)") == (ended, getattr(outcome, "strerror", outcome))


def test_directory_is_refused(tmp_path: Path) -> None:
    """A directory raises NotRegularFile naming what it is."""
    with pytest.raises(paths.NotRegularFile) as info:
        paths.read_regular(str(tmp_path))
    assert "not a regular file (a directory)" == info.value.strerror


def test_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    """A file larger than the limit raises FileTooLarge."""
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 2049)
    with pytest.raises(paths.FileTooLarge):
        paths.read_regular(str(path), limit=2048)


def test_file_at_the_limit_is_read(tmp_path: Path) -> None:
    """A file exactly as large as the limit is read."""
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 2048)
    assert 2048 == len(paths.read_regular(str(path), limit=2048)[0])


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    """A missing file raises FileNotFoundError, as open would."""
    with pytest.raises(FileNotFoundError):
        paths.read_regular(str(tmp_path / "missing.json"))
