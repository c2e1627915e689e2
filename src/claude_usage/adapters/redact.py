"""Tokens out of everything we print: one-line errors, `--debug` tracebacks (chained causes included), logs.

Redacted: every token this process has read or sent (the credentials adapter and the HTTP client call
`remember`), the environment's `CLAUDE_CODE_OAUTH_TOKEN`, `ANTHROPIC_API_KEY` and `ANTHROPIC_AUTH_TOKEN`,
any run of MIN_RUN or more characters of one of them, anything shaped like an Anthropic key or token
(`sk-ant-…`), and whatever follows `Bearer` (a reflected `Authorization` header). A token quoted inside a
bytes repr, a nested repr or a URL, where some of its characters are escaped (`\\x41`, `\\\\`, `%2B`), is
found too: the text is also searched with its escapes decoded, and what matches there is redacted where it
stands in the text. The one implementation: `adapters/api.py` redacts its one-line errors with it.

Light (re only): the status line's path may import it.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

TYPE_CHECKING = False  # not typing's: the status line path may import this module
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

REDACTED = "<redacted>"
MIN_RUN = 12  # a run of this many characters of a known token is redacted wherever it shows up
_MIN_SECRET = 8  # shorter values are not redacted by value (they would blank out ordinary words)
_DECODE_PASSES = 3  # a repr of a repr escapes twice; three passes cover what a traceback can nest
_SHAPED = re.compile(r"sk-ant-[A-Za-z0-9_\-]+")
_BEARER = re.compile(r"(?i)bearer(?:\s+|\\x[0-9a-f]{2}|%20)+([^\s'\",)\]}]+)")
# How a repr escapes a character (\xNN, \uNNNN, \\, \', \", \n, \r, \t), and how a URL does (%NN).
_BACKSLASH = re.compile(r"\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|\\([\\'\"])|\\([nrt])")
_PERCENT = re.compile(r"%([0-9a-fA-F]{2})")
_NAMED = {"n": "\n", "r": "\r", "t": "\t"}
_ENV_SECRETS = ("CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
_known: set[str] = set()


def remember(secret: str) -> None:
    """From now on, `secret` is redacted wherever it shows up in text this process prints."""
    secret = secret.strip()
    if len(secret) >= _MIN_SECRET:
        _known.add(secret)


def redact(text: str, env: Mapping[str, str] | None = None, *, secrets: Iterable[str] = ()) -> str:
    """`text` with every known token (and `secrets`), bearer credential and `sk-ant-…` shape as `<redacted>`."""
    wanted = set(_known)
    for value in (*secrets, *((env or {}).get(name, "") for name in _ENV_SECRETS)):
        value = value.strip()
        if len(value) >= _MIN_SECRET:
            wanted.add(value)
    ordered = sorted(wanted, key=len, reverse=True)
    # The text, then the text with a repr's escapes decoded once, twice...; locals_[k] says where the
    # characters of views[k + 1] start in views[k].
    views, locals_ = [text], []
    for _ in range(_DECODE_PASSES):
        decoded, local = _decode(views[-1], _BACKSLASH)
        if local is None:
            break
        views.append(decoded)
        locals_.append(local)
    # Where the most decoded view's characters start in each view: no span ends inside an escape.
    bounds = [list(range(len(views[-1]) + 1))]
    for local in reversed(locals_):
        bounds.insert(0, [local[i] for i in bounds[0]])
    spans: list[tuple[int, int]] = []
    starts = list(range(len(text) + 1))  # where the characters of views[k] start in the text
    for k, view in enumerate(views):
        if k:
            starts = [starts[i] for i in locals_[k - 1]]
        found = _spans(view, ordered) + _decoded_spans(view, _PERCENT, ordered)
        edge = bounds[k]
        spans += [(starts[edge[bisect_right(edge, a) - 1]], starts[edge[bisect_left(edge, b)]]) for a, b in found]
    return _blank(text, spans)


def _decoded_spans(view: str, escape: re.Pattern[str], secrets: list[str]) -> list[tuple[int, int]]:
    """What `_spans` finds in `view` with `escape` decoded, as spans of `view`."""
    decoded, local = _decode(view, escape)
    if local is None:
        return []
    return [(local[a], local[b]) for a, b in _spans(decoded, secrets)]


def _spans(text: str, secrets: list[str]) -> list[tuple[int, int]]:
    """`(start, end)` of every secret, run of one, `sk-ant-…` shape and bearer credential in `text`."""
    found = [m.span() for m in _SHAPED.finditer(text)]
    found += [m.span(1) for m in _BEARER.finditer(text)]
    for secret in secrets:
        if len(secret) < MIN_RUN:
            at = text.find(secret)
            while at >= 0:
                found.append((at, at + len(secret)))
                at = text.find(secret, at + 1)
        else:
            found += _runs(text, secret)
    return found


def _runs(text: str, secret: str) -> list[tuple[int, int]]:
    """`(start, end)` of every run of at least MIN_RUN characters of `text` that also occurs in `secret`."""
    grams = {secret[i : i + MIN_RUN] for i in range(len(secret) - MIN_RUN + 1)}
    found: list[tuple[int, int]] = []
    i = 0
    while i <= len(text) - MIN_RUN:
        if text[i : i + MIN_RUN] not in grams:
            i += 1
            continue
        end = i + MIN_RUN
        while end < len(text) and text[i : end + 1] in secret:
            end += 1
        found.append((i, end))
        i = end
    return found


def _decode(text: str, escape: re.Pattern[str]) -> tuple[str, list[int] | None]:
    """`text` with its `escape`s decoded, and where each of its characters starts in `text` (plus the end).

    `(text, None)` when it has none.
    """
    matches = list(escape.finditer(text))
    if not matches:
        return text, None
    out: list[str] = []
    starts: list[int] = []
    pos = 0
    for match in matches:
        out.append(text[pos : match.start()])
        starts.extend(range(pos, match.start()))
        groups = match.groups() + (None,) * 3
        code = groups[0] or groups[1]
        out.append(chr(int(code, 16)) if code else groups[2] or _NAMED[groups[3] or ""])
        starts.append(match.start())
        pos = match.end()
    out.append(text[pos:])
    starts.extend(range(pos, len(text) + 1))
    return "".join(out), starts


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span (overlapping ones merged) replaced by `<redacted>`."""
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    start, end = -1, -1
    for a, b in sorted(spans):
        if a >= b:
            continue
        if a <= end:
            end = max(end, b)
            continue
        if end > start:
            out += [text[pos:start], REDACTED]
            pos = end
        start, end = a, b
    if end > start:
        out += [text[pos:start], REDACTED]
        pos = end
    out.append(text[pos:])
    return "".join(out)
