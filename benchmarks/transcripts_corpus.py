"""A deterministic generator of a realistic Claude config dir, with its own exact oracle.

`generate(root, size, seed)` writes `<root>/projects/…` (session files and subagent files under
`<session>/subagents/`) until about `size` bytes are written, and returns the `Oracle`: what an exact
reader must report (the dedupe rule of docs/transcripts.md applied to the entries as generated, never by
reading the files back). The line mix follows the shared doc:

- user lines with tool results (file contents, command output) and their `toolUseResult` copies, pasted
  base64 images and `file-history-snapshot` lines carry most of the bytes and no usage;
- a response is 1 to 3 assistant lines (one per content block) sharing `message.id` and `requestId`;
  some are streamed: earlier copies carry a partial `output_tokens`, the last one the final count;
- resumed sessions start with verbatim copies of an earlier session's lines (the same response in two
  files: the copy in the file first in path order counts, by the tie rule);
- old-version responses without `requestId`; `<synthetic>` error lines; a model missing from the price
  table (priced by its family); long prompts above 200,000 tokens; the 5-minute / 1-hour cache split;
- subagent files (`isSidechain: true`) and sidechain replays of a parent message under a new
  `requestId` (dropped); Task tool results with a decoy `usage` object on a user line;
- malformed lines (an assistant line cut short mid-file: bad), non-JSON noise without usage, and a
  line half-written at the end of some files (no newline yet: not counted yet).

Imports the package's pricing only (the oracle prices entries one by one, in integers).
"""

from __future__ import annotations

import base64
import os
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from claude_usage.core.pricing import PriceTable, cost_units, is_long_context

MODELS = (
    ("claude-opus-4-6", 36),
    ("claude-sonnet-4-6", 26),
    ("claude-sonnet-4-5-20250929", 10),
    ("claude-haiku-4-5-20251001", 18),
    ("claude-opus-4-1-20250805", 4),
    ("claude-opus-4-5-20251101", 4),
    ("claude-sonnet-5-preview", 2),  # not in the table: priced as its family's model, flagged
)
GENERATOR_VERSION = 2  # in the name of a kept corpus: a changed generator makes a new one
START = datetime(2026, 9, 1, tzinfo=timezone.utc)
DAYS = 75
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# What a file or a command prints, a line at a time: Python, TypeScript, JSON, test and log output (their
# braces, quotes and backslashes are what the scan's byte search meets in real tool results).
_CODE_LINES = (
    "def {f}({a}, {b}=None):",
    '    """Return the {a} of {b}, or {{}} when there is none."""',
    "    if {a} is None:",
    "        return {{}}",
    '    {b} = {{"{a}": {n}, "{f}": [{m}, {n}]}}',
    "    for {a} in sorted({b}.items(), key=lambda kv: kv[1]):",
    '        print(f"{{{a}!r}}: {{{b}[{a}]}}")',
    "    return {f}_{a}({b}, strict=True)",
    "class {F}({G}):",
    "",
    "export function {f}({a}: string, {b}: number): Promise<{F}> {{",
    "  const {a} = await fetch(`/api/{f}/${{{b}}}`);",
    '  if (!{a}.ok) {{ throw new Error("{f} failed: " + {a}.status); }}',
    "  return {{ ...{a}, {b}: {n} }};",
    "}}",
    '  "{a}": {{ "{b}": {n}, "{f}": "{F}" }},',
    '  "{f}": [{n}, {m}, "{a}\\{b}"],',
    "$ pytest -q tests/test_{f}.py",
    "....F...s.. [ 70%]",
    "FAILED tests/test_{f}.py::test_{a} - AssertionError: {n} != {m}",
    "2026-07-02 09:14:{n:02d},{m:03d} INFO {f}: processed {m} rows in {n} ms",
    "The {a} is read once, then {b} is filled from it; {f} keeps the first {n} and drops the rest.",
)
# Lines without braces. How often a line above is drawn instead (`code_share`) sets how many braces the
# text has, which is what the scan's brace-to-brace search (adapters/transcripts/lines.py) meets: 0.07
# gives ~0.6 braces per KB of JSON, as in real code (CPython's own sources: 0.57 per KB; the JavaScript
# of ccusage's node_modules: 0.37); 0.25 (`benchmarks/scan.py --brace-heavy`) gives ~2.2 per KB.
CODE_SHARE = 0.07
BRACE_HEAVY_CODE_SHARE = 0.25
_PLAIN_LINES = (
    "import os",
    "from {a} import {b}, {f}",
    "    # {a} before {b}: the {f} depends on it",
    "    {a} = {b}.{f}({n}, {m})",
    "    if not {a}:",
    "        raise ValueError(f'no {a} in ' + str({b}))",
    "    return [{a} for {a} in {b} if {a}.{f} > {n}]",
    "  const {a} = {b}.map(({f}) => {f}.{a} * {n});",
    "  return {a}.filter(Boolean).length > {m};",
    "drwxr-xr-x  {n} ana ana  4096 Jul  2 09:{n:02d} {a}",
    "-rw-r--r--  1 ana ana {m:6d} Jul  2 09:{n:02d} {f}.py",
    "tests/test_{f}.py::test_{a}_{b} PASSED",
    "{m} passed, {n} skipped in {n}.{m}s",
    "Traceback (most recent call last):",
    '  File "/home/ana/src/{a}/{f}.py", line {m}, in {b}',
)
_NAMES = ("rows", "path", "total", "usage", "cost", "window", "reply", "token", "entry", "block", "model", "index")


def _code_pool(rng: random.Random, size: int, code_share: float = CODE_SHARE) -> str:
    """About `size` characters of numbered source lines and output, as Claude Code's Read tool shows them."""
    out: list[str] = []
    length = 0
    number = 1
    while length < size:
        a, b, f = rng.sample(_NAMES, 3)
        line = rng.choice(_CODE_LINES if rng.random() < code_share else _PLAIN_LINES).format(
            a=a, b=b, f=f, F=f.title(), G=a.title(), n=rng.randint(0, 59), m=rng.randint(0, 999)
        )
        out.append(f"{number:6d}\u2192{line}")
        length += len(out[-1]) + 1
        number = 1 if rng.random() < 0.01 else number + 1
    return "\n".join(out)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _us(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1)


@dataclass
class Sums:
    """Token sums and cost units."""

    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    cost: int = 0
    entries: int = 0

    def add(self, tokens: tuple[int, int, int, int, int], cost: int) -> None:
        self.input += tokens[0]
        self.output += tokens[1]
        self.cache_write += tokens[2]
        self.cache_read += tokens[4]
        self.cost += cost
        self.entries += 1

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.input, self.output, self.cache_write, self.cache_read, self.cost)


@dataclass
class Oracle:
    """What an exact reader reports: sums per UTC day and model, per project, per model, per session."""

    by_day_model: dict[tuple[str, str], Sums] = field(default_factory=lambda: defaultdict(Sums))
    by_project: dict[str, Sums] = field(default_factory=lambda: defaultdict(Sums))
    by_model: dict[str, Sums] = field(default_factory=lambda: defaultdict(Sums))
    by_session: dict[tuple[str, str], Sums] = field(default_factory=lambda: defaultdict(Sums))
    total: Sums = field(default_factory=Sums)
    bad_lines: int = 0
    lines: int = 0
    usage_lines: int = 0
    bytes: int = 0
    files: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "by_day_model": {f"{d}|{m}": s.as_tuple() for (d, m), s in sorted(self.by_day_model.items())},
            "by_project": {p: s.as_tuple() for p, s in sorted(self.by_project.items())},
            "by_model": {m: s.as_tuple() for m, s in sorted(self.by_model.items())},
            "by_session": {f"{p}|{s}": v.as_tuple() for (p, s), v in sorted(self.by_session.items())},
            "total": self.total.as_tuple(),
            "bad_lines": self.bad_lines,
            "lines": self.lines,
            "usage_lines": self.usage_lines,
            "bytes": self.bytes,
            "files": self.files,
        }


@dataclass
class _Candidate:
    """One usage copy as written: where (for the tie rule), what, and its attribution."""

    order: tuple[str, int]  # (path under projects/, line)
    total: int
    side: bool
    msg_id: str
    req_id: str | None
    ts_us: int
    day: str
    model: str
    project: str
    session: str
    tokens: tuple[int, int, int, int, int]  # input, output, cache write, cache write 1h, cache read


class _Writer:
    """Writes one transcript and records its usage candidates."""

    def __init__(
        self, gen: Generator, relpath: str, project: str, session: str, side: bool, *, append: bool = False
    ) -> None:
        self.gen, self.relpath, self.project, self.session, self.side = gen, relpath, project, session, side
        path = os.path.join(gen.root, "projects", relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.line = 0
        if append:
            with open(path, "rb") as f:
                self.line = f.read().count(b"\n")
        self.file = open(path, "ab" if append else "wb")  # noqa: SIM115 - closed by close()
        self.written: list[bytes] = []  # assistant lines, for resumed sessions to copy

    def raw(self, data: bytes, *, newline: bool = True) -> None:
        self.file.write(data + (b"\n" if newline else b""))
        self.gen.oracle.bytes += len(data) + newline
        if newline:
            self.line += 1
            self.gen.oracle.lines += 1

    def obj(self, doc: dict[str, Any]) -> bytes:
        data = orjson.dumps(doc)
        self.raw(data)
        return data

    def usage(self, doc: dict[str, Any], counted: bool = True) -> None:
        """Write an assistant line; record it as a candidate (unless it is not to count, e.g. cut short)."""
        data = self.obj(doc)
        self.written.append(data)
        self.gen.oracle.usage_lines += 1
        if counted:
            self.gen.record(doc, self.relpath, self.line - 1, self.project, self.session)

    def close(self) -> None:
        self.file.close()
        self.gen.oracle.files += 1


class Generator:
    """The corpus writer: a seeded random source, the content pool, the candidates and the oracle."""

    def __init__(self, root: str, size: int, seed: int, table: PriceTable, code_share: float = CODE_SHARE) -> None:
        self.root, self.size, self.table = root, size, table
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
        self.oracle = Oracle()
        self.candidates: dict[tuple[str, bool, str | None], list[_Candidate]] = defaultdict(list)
        self.loose: list[_Candidate] = []
        self.main_ids: set[str] = set()
        self.base64 = base64.b64encode(self.rng.randbytes(3 * 1024 * 1024)).decode()
        self.pool = _code_pool(self.rng, 3 * 1024 * 1024, code_share)
        self.models = [name for name, weight in MODELS for _ in range(weight)]

    def text(self, n: int) -> str:
        """n characters of file contents, command output or prose (what tool results and replies hold)."""
        start = self.rng.randrange(0, len(self.pool) - n - 1)
        return self.pool[start : start + n]

    def image(self, n: int) -> str:
        """n characters of base64 (a pasted screenshot)."""
        start = self.rng.randrange(0, len(self.base64) - n - 1)
        return self.base64[start : start + n]

    def record(self, doc: dict[str, Any], relpath: str, line: int, project: str, session: str) -> None:
        usage = doc["message"]["usage"]
        split = usage.get("cache_creation") or {}
        tokens = (
            usage["input_tokens"],
            usage["output_tokens"],
            usage["cache_creation_input_tokens"],
            split.get("ephemeral_1h_input_tokens", 0),
            usage["cache_read_input_tokens"],
        )
        when = datetime.strptime(doc["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        side = bool(doc.get("isSidechain"))
        msg_id = doc["message"].get("id")
        req_id = doc.get("requestId")
        cand = _Candidate(
            (relpath, line),
            tokens[0] + tokens[1] + tokens[2] + tokens[4],
            side,
            msg_id,
            req_id,
            _us(when),
            when.date().isoformat(),
            doc["message"]["model"],
            project,
            session,
            tokens,
        )
        if msg_id is None:
            self.loose.append(cand)
            return
        if not side:
            self.main_ids.add(msg_id)
        self.candidates[(msg_id, side, None if side else req_id)].append(cand)

    def finish(self) -> Oracle:
        """Apply the dedupe rule to the candidates and sum the kept ones."""
        kept = list(self.loose)
        for (msg_id, side, _), copies in self.candidates.items():
            if side and msg_id in self.main_ids:
                continue  # a sidechain replay of a main-chain message
            kept.append(min(copies, key=lambda c: (-c.total, c.order)))
        for cand in kept:
            pricing = self.table.lookup(cand.model)
            i, o, cw, c1h, cr = cand.tokens
            cost = cost_units(
                pricing,
                input_tokens=i,
                output_tokens=o,
                cache_write_5m=cw - c1h,
                cache_write_1h=c1h,
                cache_read=cr,
                long_context=is_long_context(i, cw, cr, self.table.long_context_threshold),
            )
            for sums in (
                self.oracle.by_day_model[(cand.day, cand.model)],
                self.oracle.by_project[cand.project],
                self.oracle.by_model[cand.model],
                self.oracle.by_session[(cand.project, cand.session)],
                self.oracle.total,
            ):
                sums.add(cand.tokens, cost)
        return self.oracle

    # --- one session ---------------------------------------------------------------------------------

    def session(self, project: str, cwd: str, resume_from: _Writer | None, big: bool) -> _Writer:
        rng = self.rng
        session = str(uuid.UUID(int=rng.getrandbits(128)))
        w = _Writer(self, f"{project}/{session}.jsonl", project, session, False)
        when = START + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        base = {"isSidechain": False, "userType": "external", "cwd": cwd, "sessionId": session}
        old = rng.random() < 0.08  # an old Claude Code: no requestId
        base["version"] = "1.0.24" if old else "2.1.37"
        w.obj({"type": "queue-operation", "operation": "dequeue", "timestamp": _iso(when), "sessionId": session})
        if rng.random() < 0.3:
            w.obj({"type": "summary", "summary": "Refactor the export", "leafUuid": str(uuid.uuid4())})
        if resume_from is not None:  # a resumed session: verbatim copies of the earlier lines first
            for data in resume_from.written[: rng.randint(3, 40)]:
                doc = orjson.loads(data)
                w.usage(doc)
        target = rng.randint(5, 150) * (30 if big else 1)
        parent = None
        for _ in range(target):
            when += timedelta(seconds=rng.expovariate(1 / 40))
            if rng.random() < 0.004:
                when += timedelta(hours=rng.uniform(5.2, 30))  # a pause: new blocks, new days
            parent = self.turn(w, base, when, parent, old)
            if rng.random() < 0.03:
                self.subagent(w, base, when, project, session)
            if self.oracle.bytes >= self.size:
                break
        if rng.random() < 0.05:  # Claude Code is writing the last line right now
            doc = self.assistant(base, when + timedelta(seconds=3), None, old, self.pick_model())
            w.raw(orjson.dumps(doc)[: rng.randint(50, 400)], newline=False)
            self.oracle.usage_lines += 1
        w.close()
        return w

    def pick_model(self) -> str:
        return self.rng.choice(self.models)

    def assistant(
        self, base: dict[str, Any], when: datetime, parent: str | None, old: bool, model: str
    ) -> dict[str, Any]:
        rng = self.rng
        cache_read = rng.randint(8_000, 180_000)
        if model.startswith("claude-sonnet-4-5") and rng.random() < 0.15:
            cache_read = rng.randint(200_001, 600_000)  # a long-context prompt
        cache_write = rng.choice((0, 0, rng.randint(100, 4000), rng.randint(1000, 30000)))
        usage: dict[str, Any] = {
            "input_tokens": rng.randint(1, 60),
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
            "output_tokens": int(rng.lognormvariate(5, 1.1)) + 1,
            "service_tier": "standard",
        }
        if not old:
            one_hour = cache_write if rng.random() < 0.5 else 0
            usage["cache_creation"] = {
                "ephemeral_5m_input_tokens": cache_write - one_hour,
                "ephemeral_1h_input_tokens": one_hour,
            }
        content = [{"type": "text", "text": self.text(rng.randint(40, 1200))}]
        if rng.random() < 0.5:
            content.insert(0, {"type": "thinking", "thinking": self.text(rng.randint(100, 2500)), "signature": "x"})
        doc: dict[str, Any] = {
            "parentUuid": parent,
            **base,
            "message": {
                "id": f"msg_01{rng.getrandbits(80):020x}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": "tool_use",
                "stop_sequence": None,
                "usage": usage,
            },
            "type": "assistant",
            "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
            "timestamp": _iso(when),
        }
        if not old:
            doc["requestId"] = f"req_011C{rng.getrandbits(80):020x}"
        return doc

    def turn(self, w: _Writer, base: dict[str, Any], when: datetime, parent: str | None, old: bool) -> str:
        rng = self.rng
        model = self.pick_model()
        doc = self.assistant(base, when, parent, old, model)
        copies = rng.choice((1, 1, 2, 2, 3))
        streamed = not old and rng.random() < 0.3
        for n in range(copies):
            copy = orjson.loads(orjson.dumps(doc))
            copy["timestamp"] = _iso(when + timedelta(milliseconds=40 * n))
            if streamed and n < copies - 1:
                copy["message"]["usage"]["output_tokens"] = rng.randint(1, 10)
                copy["message"]["stop_reason"] = None
            if n == copies - 1 and copies > 1 and rng.random() < 0.002:  # cut short mid-file: bad
                data = orjson.dumps(copy)
                cut = data.index(b'"usage":{') + rng.randint(12, 40)
                w.raw(data[:cut])
                self.oracle.bad_lines += 1
                self.oracle.usage_lines += 1
                w.written.append(data)
                continue
            w.usage(copy)
        if rng.random() < 0.02:  # an API error line
            syn = self.assistant(base, when + timedelta(seconds=1), doc["uuid"], True, "<synthetic>")
            syn["message"]["id"] = str(uuid.UUID(int=rng.getrandbits(128)))
            syn["message"]["usage"] = {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "server_tool_use": {"web_search_requests": 0},
                "service_tier": None,
            }
            syn["isApiErrorMessage"] = True
            w.usage(syn)
        self.tool_result(w, base, when + timedelta(seconds=2), doc["uuid"])
        if rng.random() < 0.002:
            w.raw(b"\x00\x00 not json at all {" + self.text(30).encode())
        return str(doc["uuid"])

    def tool_result(self, w: _Writer, base: dict[str, Any], when: datetime, parent: str) -> None:
        rng = self.rng
        kind = rng.random()
        if kind < 0.03:  # a pasted screenshot
            data = self.image(rng.randint(60_000, 400_000))
            content: Any = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}]
            extra: dict[str, Any] = {}
        elif kind < 0.05:  # a Task tool's result: a decoy usage object on a user line
            text = self.text(rng.randint(500, 4000))
            content = [{"tool_use_id": "toolu_01", "type": "tool_result", "content": text}]
            extra = {"toolUseResult": {"content": text, "usage": {"input_tokens": 99, "output_tokens": 999}}}
        else:
            text = self.text(int(rng.lognormvariate(8.8, 1.0)) + 200)[: 3 * 1024 * 1024 - 2]
            content = [{"tool_use_id": "toolu_01", "type": "tool_result", "content": text}]
            extra = {"toolUseResult": {"type": "text", "file": {"filePath": "/x.py", "content": text}}}
        w.obj(
            {
                "parentUuid": parent,
                **base,
                "type": "user",
                "message": {"role": "user", "content": content},
                "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                "timestamp": _iso(when),
                **extra,
            }
        )
        if rng.random() < 0.01:
            snapshot = {"messageId": parent, "trackedFileBackups": {"/x.py": self.text(rng.randint(20_000, 300_000))}}
            w.obj(
                {"type": "file-history-snapshot", "messageId": parent, "snapshot": snapshot, "isSnapshotUpdate": False}
            )

    def subagent(self, parent: _Writer, base: dict[str, Any], when: datetime, project: str, session: str) -> None:
        rng = self.rng
        agent = f"agent-{rng.getrandbits(32):08x}"
        w = _Writer(self, f"{project}/{session}/subagents/{agent}.jsonl", project, session, True)
        side_base = {**base, "isSidechain": True, "agentId": agent}
        if parent.written and rng.random() < 0.5:  # a /btw replay of a parent message under a new requestId
            doc = orjson.loads(parent.written[-1])
            doc.update(isSidechain=True, agentId=agent, requestId=f"req_011C{rng.getrandbits(80):020x}")
            w.usage(doc)
        for _ in range(rng.randint(3, 30)):
            when += timedelta(seconds=rng.expovariate(1 / 15))
            doc = self.assistant(side_base, when, None, False, "claude-haiku-4-5-20251001")
            w.usage(doc)
            self.tool_result(w, side_base, when + timedelta(seconds=1), doc["uuid"])
        w.close()


def extend(root: str, relpath: str, size: int, seed: int, table: PriceTable, code_share: float = CODE_SHARE) -> Oracle:
    """Append about `size` bytes of new turns (new responses only) to the session file at `relpath` (a
    complete file: its last line ended); the oracle of what was appended, to be added to the corpus's."""
    gen = Generator(root, size, seed, table, code_share)
    project, session = relpath.split("/")[0], relpath.split("/")[-1].removesuffix(".jsonl")
    w = _Writer(gen, relpath, project, session, False, append=True)
    base = {"isSidechain": False, "userType": "external", "cwd": "/x", "sessionId": session, "version": "2.1.37"}
    when = START + timedelta(days=DAYS, seconds=seed * 3600)
    parent = None
    while gen.oracle.bytes < size:
        when += timedelta(seconds=gen.rng.expovariate(1 / 40))
        parent = gen.turn(w, base, when, parent, False)
    w.close()
    gen.oracle.files = 0
    return gen.finish()


def merge(into: dict[str, Any], more: Oracle) -> dict[str, Any]:
    """An oracle's JSON form with another oracle's sums added (the extra entries are all new responses)."""
    out = dict(into)
    extra = more.to_json()
    for key in ("by_day_model", "by_project", "by_model", "by_session"):
        merged = {k: list(v) for k, v in into[key].items()}
        for k, v in extra[key].items():
            merged[k] = [a + b for a, b in zip(merged.get(k, [0] * len(v)), v, strict=True)]
        out[key] = merged
    out["total"] = [a + b for a, b in zip(into["total"], extra["total"], strict=True)]
    for key in ("bad_lines", "lines", "usage_lines", "bytes"):
        out[key] = into[key] + extra[key]
    return out


def generate(root: str, size: int, seed: int, table: PriceTable, code_share: float = CODE_SHARE) -> Oracle:
    """Write a config dir of about `size` bytes under `root` (which must not hold one yet); its oracle."""
    gen = Generator(root, size, seed, table, code_share)
    rng = gen.rng
    projects = [f"-home-ana-src-{name}" for name in ("shop", "api-server", "docs", "infra", "ml_pipeline", "site")]
    projects += [f"-home-ana-work-proj{i}" for i in range(max(0, size // (80 * 1024 * 1024)))]
    earlier: dict[str, list[_Writer]] = defaultdict(list)
    while gen.oracle.bytes < size:
        project = rng.choice(projects)
        cwd = "/" + project.strip("-").replace("-", "/")
        resume = rng.choice(earlier[project]) if earlier[project] and rng.random() < 0.15 else None
        big = rng.random() < 0.02
        w = gen.session(project, cwd, resume, big)
        earlier[project].append(w)
        if len(earlier[project]) > 3:
            earlier[project].pop(0)
        for writer in earlier[project][:-1]:
            writer.written = writer.written[:40]
    return gen.finish()
