"""Hand-written Claude Code transcript lines and a config dir to put them in."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def assistant(
    msg_id: str | None = "msg_1",
    request_id: str | None = "req_1",
    *,
    when: str = "2026-07-02T09:14:09.871Z",
    model: str = "claude-sonnet-4-6",
    input_tokens: int = 3,
    output_tokens: int = 96,
    cache_write: int = 0,
    cache_1h: int | None = None,
    cache_read: int = 0,
    sidechain: bool = False,
    **usage_extra: Any,
) -> dict[str, Any]:
    """An assistant line as Claude Code writes it (shortened): `message.usage` and the ids that dedupe it."""
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": output_tokens,
        **usage_extra,
    }
    if cache_1h is not None:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": cache_write - cache_1h,
            "ephemeral_1h_input_tokens": cache_1h,
        }
    message: dict[str, Any] = {"type": "message", "role": "assistant", "model": model, "content": [], "usage": usage}
    if msg_id is not None:
        message["id"] = msg_id
    line: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": sidechain,
        "cwd": "/home/ana/shop",
        "sessionId": "s1",
        "version": "2.1.37",
        "message": message,
        "type": "assistant",
        "uuid": "u1",
        "timestamp": when,
    }
    if request_id is not None:
        line["requestId"] = request_id
    return line


def user(text: str = "x" * 2000, *, decoy_usage: bool = False) -> dict[str, Any]:
    """A user line with a tool result (and, like a Task tool's result, a usage object that is not billing)."""
    line: dict[str, Any] = {
        "type": "user",
        "message": {"role": "user", "content": [{"type": "tool_result", "content": text}]},
        "timestamp": "2026-07-02T09:14:10.000Z",
    }
    if decoy_usage:
        line["toolUseResult"] = {"usage": {"input_tokens": 999, "output_tokens": 999}}
    return line


def encode(*lines: dict[str, Any] | str) -> bytes:
    """JSONL bytes: compact JSON (as Claude Code writes it), or raw text for a str; each line ended."""
    out = [line if isinstance(line, str) else json.dumps(line, separators=(",", ":")) for line in lines]
    return "".join(text + "\n" for text in out).encode()


def write(config_dir: Path, relpath: str, *lines: dict[str, Any] | str, append: bool = False) -> Path:
    """Write (or append) lines to `<config_dir>/projects/<relpath>`; the file's path."""
    path = config_dir / "projects" / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab" if append else "wb") as f:
        f.write(encode(*lines))
    return path


def env_for(*config_dirs: Path) -> dict[str, str]:
    """os.environ with CLAUDE_CONFIG_DIR listing these dirs (comma-separated)."""
    return {**os.environ, "CLAUDE_CONFIG_DIR": ",".join(str(d) for d in config_dirs)}
