"""Which Claude config dirs hold transcripts: `CLAUDE_CONFIG_DIR` (comma-separated) or the default two.

The rule is ccusage's (docs/transcripts.md, "Where transcripts live"), computed from an env mapping:

- `CLAUDE_CONFIG_DIR` set (non-empty): split on `,`; each part trimmed, empty parts skipped, a leading `~`
  expanded to the home dir; a part naming a `projects` folder stands for its parent; a part is kept only
  when `<part>/projects` is a directory; kept parts are de-duplicated (by real path), order kept. The
  defaults are not added. A part that is not kept is named in `Roots.skipped` (one line each).
- unset: `$XDG_CONFIG_HOME/claude` (else `~/.config/claude`) and `~/.claude`, those with a `projects` dir.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

from claude_usage.adapters.paths import home

if TYPE_CHECKING:
    from collections.abc import Mapping


class Roots(NamedTuple):
    """The config dirs to read (real, absolute paths, in order) and why others listed were left out."""

    dirs: tuple[str, ...]
    skipped: tuple[str, ...] = ()


def config_roots(env: Mapping[str, str]) -> Roots:
    """The config dirs whose `projects/` folders hold transcripts (see the module's rule)."""
    listed = env.get("CLAUDE_CONFIG_DIR", "")
    if listed.strip():
        candidates = [part.strip() for part in listed.split(",")]
        explicit = True
    else:
        xdg = env.get("XDG_CONFIG_HOME", "").strip()
        candidates = [
            os.path.join(xdg or os.path.join(home(env), ".config"), "claude"),
            os.path.join(home(env), ".claude"),
        ]
        explicit = False
    dirs: list[str] = []
    skipped: list[str] = []
    for part in candidates:
        if not part:
            continue
        path = _expand(part, env)
        if os.path.basename(os.path.normpath(path)) == "projects":
            path = os.path.dirname(os.path.normpath(path))
        if not os.path.isdir(os.path.join(path, "projects")):
            if explicit:
                skipped.append(f"{part}: no projects/ folder there; not read")
            continue
        real = os.path.realpath(path)
        if real not in dirs:
            dirs.append(real)
    return Roots(tuple(dirs), tuple(skipped))


def _expand(part: str, env: Mapping[str, str]) -> str:
    """`~` and `~/…` from the env's home (never the process's), then absolute."""
    if part == "~" or part.startswith(("~/", "~" + os.sep)):
        part = home(env) + part[1:]
    return os.path.abspath(part)
