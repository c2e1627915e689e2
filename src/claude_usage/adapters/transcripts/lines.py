"""Reading usage entries out of a byte range of one transcript: the prefilter, the parse, the checks.

Runs in worker processes (`read_range` takes and returns plain, picklable values). A range starts at a
line start; only complete lines (ended by `\\n`) before its end are consumed, so a line Claude Code is
still writing is left for the next scan. Lines are read in blocks of BLOCK bytes; a byte search for
`"usage":{` (Claude Code writes compact JSON, so a usage object always looks like that; a string cannot
contain it, its quotes would be escaped) picks the few lines worth parsing, and only those are parsed
with orjson: tool results, images and snapshots, most of the bytes, are never decoded. Where braces are
rare (base64 images, prose) the search jumps from brace to brace (see `_markers`).

A parsed line counts when it is `"type":"assistant"` with `message.usage`; other lines carrying a usage
object (a Task tool's result, `progress`) are not billing entries and are passed over. A line that
carries a usage object but is not JSON, or an assistant line with a missing or absurd field (a count that
is not an integer from 0 to 10^9, a cache-write split above its total, no timestamp or model) is bad:
skipped and reported with its place. A line longer than MAX_LINE_BYTES is never held in memory;
if it carried a usage object it is bad too.

Within one range, copies of a response are reduced to the one the dedupe rule would keep (largest token
total, the first on a tie), since the rest can never win: the index applies the rule across files.
"""

from __future__ import annotations

import functools
import json
import mmap
import os
import sys
from datetime import date, datetime, timezone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import BinaryIO

MARKER = b'"usage":{'
_KEY = MARKER[:-1]  # the 8 bytes before the marker's brace
_BURST = 32  # braces looked at before judging how dense they are
# Bytes per brace (at least, on average) for jumping from brace to brace to pay, a brace costing ~0.3 µs:
_SPARSE = 512  # against bytes.find (~1.6 GB/s)
_SPARSE_MEMMEM = 4096  # against memmem (~3.3 GB/s): base64 images, not code
_SPAN = 64 * 1024  # where braces come denser, the whole marker is searched for over this many bytes,
_MAX_SPAN = 4 * 1024 * 1024  # doubling up to this while they stay dense
BLOCK = 4 * 1024 * 1024
WINDOW = 8 * 1024 * 1024  # a memory-mapped window (its pages count in RSS while mapped); longer lines: buffered
MAX_LINE_BYTES = 64 * 1024 * 1024
HEAD_BYTES = 4096
MAX_COUNT = 10**9
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_DAY_US = 86_400_000_000
_DAYS: dict[str, int] = {}
_MINUTES: dict[str, int] = {}  # "2026-07-02T09:14:" -> its first microsecond since the epoch
_US = datetime.resolution
_FADVISE = getattr(os, "posix_fadvise", None)
_SEQUENTIAL = getattr(mmap, "MADV_SEQUENTIAL", None)
_MAPPED = sys.version_info >= (3, 11)  # before 3.11, mmap.find is a byte-by-byte loop (~0.8 GB/s)

# One usage entry as a worker returns it:
# (line offset, ts_us, model, msg_id, request_id, sidechain, input, output, cache_write, cache_write_1h, cache_read)
Entry = tuple[int, int, str, "str | None", "str | None", int, int, int, int, int, int]
# How `_markers` searches a buffer: see `_searcher`
Searcher = tuple["Callable[[int, int], int]", int]
# What a worker returns: (entries, bad [(offset, reason)], end offset, first bytes or None, error)
Chunk = tuple[list[Entry], list[tuple[int, str]], int, "bytes | None", "str | None"]


class _Bad(Exception):
    """A line that carries usage but cannot be used; the message says why."""


def head_digest(data: bytes) -> bytes:
    """A digest of a file's first bytes (up to HEAD_BYTES): tells a replaced file from a grown one."""
    try:  # the built-in module: hashlib would load OpenSSL's too (~4 ms)
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - a build without it
        from hashlib import blake2b

    return blake2b(data[:HEAD_BYTES], digest_size=16).digest()


def preload() -> None:
    """Load what `fast` reading uses (orjson; ctypes and the C library's memmem): called before forking
    the workers, so that each inherits them instead of loading them again (~30 ms each)."""
    _orjson_loads()
    _memmem()


def read_range(path: str, start: int, end: int, fast: bool = False) -> Chunk:
    """The usage entries of the complete lines in [start, end) of `path`, each at its line's byte offset.

    `fast` (the workers of a big scan): parse with orjson (several times faster, but its import costs
    ~30 ms) and, from Python 3.11 (whose mmap.find is as fast as bytes.find), look at the file through a
    memory map, window by window (no copy into our memory: a cold 1 GB scan spends ~20% less); else read
    it in blocks and parse with the standard library's json, which accepts the same lines but for
    NaN/Infinity (refused by both) and integers beyond 64 bits (orjson refuses the line). Lines are
    placed by byte offset, not counted: counting every newline would cost as much as the search itself.
    """
    loads = _orjson_loads() if fast else _json_loads
    found: dict[tuple[str, int, str | None], Entry] = {}
    loose: list[Entry] = []  # entries without a message id: never de-duplicated
    bad: list[tuple[int, str]] = []
    head: bytes | None = None
    try:
        with open(path, "rb") as f:
            if _FADVISE is not None:  # ask the kernel to read ahead further: a cold scan waits less
                _FADVISE(f.fileno(), start, end - start, 2)  # POSIX_FADV_SEQUENTIAL
            pos = start
            if fast and _MAPPED:
                pos, head = _mapped(f, start, end, found, loose, bad, loads)
            if pos < end:
                pos, more = _buffered(f, pos, end, found, loose, bad, loads, fast)
                head = head or more
    except OSError as exc:
        return [], [], start, None, f"{path}: {exc.strerror or exc}"
    entries = sorted([*found.values(), *loose])
    return entries, bad, pos, head if start == 0 else None, None


def _mapped(
    f: BinaryIO,
    start: int,
    end: int,
    found: dict[tuple[str, int, str | None], Entry],
    loose: list[Entry],
    bad: list[tuple[int, str]],
    loads: Callable[[bytes], object],
) -> tuple[int, bytes | None]:
    """Scan [start, end) through memory-mapped windows; (where it stopped, the first bytes when start is
    0). It stops early, for `_buffered` to go on, at a line longer than a window or one not ended yet.

    Only the bytes of the file as it was stat'ed are mapped (Claude Code appends; it never truncates a
    transcript, which would make a mapped page fault). Mapped copy-on-write (we never write: the pages are
    the page cache's), which lets libc's memmem look at them."""
    head = None
    pos = start
    size = min(end, os.fstat(f.fileno()).st_size)
    while pos < size:
        offset = pos - pos % mmap.ALLOCATIONGRANULARITY
        length = min(WINDOW, size - offset)
        with mmap.mmap(f.fileno(), length, access=mmap.ACCESS_COPY, offset=offset) as view:
            if _SEQUENTIAL is not None:
                view.madvise(_SEQUENTIAL)
            if offset == 0 and head is None:
                head = view[:HEAD_BYTES]
            last = view.rfind(b"\n", pos - offset)
            if last < 0:
                break  # a line longer than a window, or the unfinished last one: read on the usual way
            search = _searcher(view, True)  # type: ignore[arg-type]
            _scan(view, last + 1, offset, found, loose, bad, loads, search, pos - offset)  # type: ignore[arg-type]
            del search  # holds the map's address: gone before the map is closed
            pos = offset + last + 1
    return pos, head


def _buffered(
    f: BinaryIO,
    start: int,
    end: int,
    found: dict[tuple[str, int, str | None], Entry],
    loose: list[Entry],
    bad: list[tuple[int, str]],
    loads: Callable[[bytes], object],
    fast: bool,
) -> tuple[int, bytes | None]:
    """Scan [start, end) read in blocks of BLOCK bytes; (where it stopped, the first bytes when start is 0)."""
    consumed = start  # the offset of the first byte not yet handled (buf[0] below)
    head: bytes | None = None
    f.seek(start)
    carry = b""
    skipping = False  # inside a line longer than MAX_LINE_BYTES
    skipped_marker = False
    skip_start = start  # where the overlong line began
    remaining = end - start
    while remaining > 0:
        block = f.read(min(BLOCK, remaining))
        if not block:
            break
        remaining -= len(block)
        if start == 0 and head is None:
            head = block[:HEAD_BYTES]
        if skipping:
            newline = block.find(b"\n")
            if newline < 0:
                skipped_marker = skipped_marker or MARKER in carry + block
                carry = block[-len(MARKER) :]
                consumed += len(block)
                continue
            if skipped_marker or MARKER in carry + block[:newline]:
                bad.append((skip_start, f"line longer than {MAX_LINE_BYTES} bytes"))
            consumed += newline + 1
            block = block[newline + 1 :]
            carry, skipping, skipped_marker = b"", False, False
        buf = carry + block if carry else block
        last = buf.rfind(b"\n")
        if last < 0:
            carry = buf
            if len(carry) > MAX_LINE_BYTES:
                skipping, skipped_marker, skip_start = True, MARKER in carry, consumed
                consumed += len(carry)
                carry = carry[-len(MARKER) :]
            continue
        _scan(buf, last + 1, consumed, found, loose, bad, loads, _searcher(buf, fast))
        consumed += last + 1
        carry = buf[last + 1 :]
    if skipping:  # the overlong line has no end yet: read it again next time
        consumed = skip_start
    return consumed, head


def _scan(
    buf: bytes,
    hi: int,
    base: int,
    found: dict[tuple[str, int, str | None], Entry],
    loose: list[Entry],
    bad: list[tuple[int, str]],
    loads: Callable[[bytes], object],
    search: Searcher,
    lo: int = 0,
) -> None:
    """Parse the marked lines of buf[lo:hi] (whole lines; buf[0] is at file offset `base`)."""
    line_end = lo - 1
    for hit in _markers(buf, lo, hi, search):
        if hit <= line_end:
            continue  # a second usage object on a line already looked at
        line_start = max(buf.rfind(b"\n", lo, hit) + 1, lo)
        line_end = buf.find(b"\n", hit, hi)
        try:
            entry = _entry(loads(buf[line_start:line_end]), base + line_start)
        except _Bad as exc:
            bad.append((base + line_start, str(exc)))
            entry = None
        if entry is not None:
            msg_id = entry[3]
            if msg_id is None:
                loose.append(entry)
            else:
                key = (msg_id, entry[5], None if entry[5] else entry[4])
                kept = found.get(key)
                if kept is None or _total(entry) > _total(kept):
                    found[key] = entry


def _markers(buf: bytes, lo: int, hi: int, search: Searcher) -> Iterator[int]:
    """Where each MARKER in buf[lo:hi] starts, in order (`search`: see `_searcher`).

    Where braces are rare (base64 images, prose) it jumps from `{` to `{` (a one-byte search
    is memchr, ~10 GB/s; a nine-byte one runs at ~1.6 GB/s) and looks at the bytes before each. Where
    they come denser than one per _SPARSE bytes (JSON in a tool result, brace-heavy code), looking at each
    would cost more than it saves: there it searches for the whole marker over a span, doubling the span
    (up to _MAX_SPAN) while the braces stay dense."""
    find = buf.find
    span_search, sparse = search
    pos = lo  # every marker starting before pos has been yielded
    span = _SPAN
    while True:
        start = pos
        for _ in range(_BURST):
            brace = find(b"{", pos + 8, hi)  # a marker at pos or later has its brace at pos + 8 or later
            if brace < 0:
                return
            if buf[brace - 1] == 58 and buf[brace - 8 : brace] == _KEY:  # 58: ":"
                yield brace - 8
            pos = brace - 7  # no other marker starts at or before brace - 8
        if pos - start >= _BURST * sparse:
            span = _SPAN
            continue
        stop = min(pos + span, hi)  # markers starting in [pos, stop) end by stop + 8
        end = min(stop + 8, hi)
        hit = span_search(pos, end)
        while hit >= 0:
            yield hit
            hit = span_search(hit + 1, end)
        if stop == hi:
            return
        pos = stop
        span = min(2 * span, _MAX_SPAN)


def _searcher(buf: bytes, fast: bool) -> Searcher:
    """(`search(start, end)`: where the first MARKER in buf[start:end] starts, -1 when none; the bytes per
    brace above which `_markers` jumps from brace to brace instead).

    `fast`, where the C library has memmem (glibc's runs at ~3.3 GB/s, twice bytes.find): that, on the
    buffer's address (bytes, or a writable map; valid while `buf` is, so drop the searcher before closing
    a map); else bytes.find."""
    memmem = _memmem() if fast else None
    if memmem is None:
        return functools.partial(buf.find, MARKER), _SPARSE
    import ctypes

    if type(buf) is bytes:
        address = ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value or 0
    else:
        anchor = ctypes.c_char.from_buffer(buf)
        address = ctypes.addressof(anchor)
        del anchor  # no export left: the map can be closed

    def search(start: int, end: int) -> int:
        if end - start < len(MARKER):
            return -1
        at: int | None = memmem(address + start, end - start, MARKER, len(MARKER))
        return at - address if at else -1

    return search, _SPARSE_MEMMEM


@functools.cache
def _memmem() -> Callable[[int, int, bytes, int], int | None] | None:
    """The C library's memmem (glibc, musl, macOS), or None (Windows, or no ctypes)."""
    try:
        import ctypes

        memmem = ctypes.CDLL(None).memmem
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    return memmem


def _total(entry: Entry) -> int:
    return entry[6] + entry[7] + entry[8] + entry[10]


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_decode = json.JSONDecoder(parse_constant=_refuse_constant).decode


def _json_loads(line: bytes) -> object:
    try:
        return _decode(line.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _Bad("not JSON (cut short?)") from None


def _orjson_loads() -> Callable[[bytes], object]:
    import orjson

    def loads(line: bytes) -> object:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            raise _Bad("not JSON (cut short?)") from None

    return loads


def _entry(data: object, number: int) -> Entry | None:
    """The entry of one marked line's JSON; None for a line that is not an assistant message; _Bad if unusable."""
    if type(data) is not dict:
        raise _Bad("not a JSON object")
    if data.get("type") != "assistant":
        return None
    message = data.get("message")
    if type(message) is not dict:
        raise _Bad("assistant line without a message object")
    usage = message.get("usage")
    if type(usage) is not dict:
        raise _Bad("message.usage is not an object")
    get = usage.get
    input_tokens = get("input_tokens", 0)
    output_tokens = get("output_tokens", 0)
    cache_write = get("cache_creation_input_tokens", 0)
    cache_read = get("cache_read_input_tokens", 0)
    if not (
        type(input_tokens) is int
        and type(output_tokens) is int
        and type(cache_write) is int
        and type(cache_read) is int
        and 0 <= input_tokens <= MAX_COUNT
        and 0 <= output_tokens <= MAX_COUNT
        and 0 <= cache_write <= MAX_COUNT
        and 0 <= cache_read <= MAX_COUNT
    ):
        for name in _COUNTS:
            _count(usage, name)  # raises, naming the field
    split = get("cache_creation")
    cache_1h = 0
    if split is not None:
        if type(split) is not dict:
            raise _Bad("usage.cache_creation is not an object")
        cache_5m = split.get("ephemeral_5m_input_tokens", 0)
        cache_1h = split.get("ephemeral_1h_input_tokens", 0)
        if not (type(cache_5m) is int and type(cache_1h) is int and cache_5m >= 0 and cache_1h >= 0):
            cache_5m = _count(split, "ephemeral_5m_input_tokens")  # raises, naming the field
            cache_1h = _count(split, "ephemeral_1h_input_tokens")
        if cache_5m + cache_1h > cache_write:  # so each is at most MAX_COUNT too
            raise _Bad(f"cache_creation split {cache_5m}+{cache_1h} above its total {cache_write}")
    stamp = data.get("timestamp")
    if type(stamp) is not str:
        raise _Bad("no timestamp")
    minute = _MINUTES.get(stamp[:17]) if len(stamp) == 24 and stamp[19] == "." and stamp[23] == "Z" else None
    if minute is not None and (stamp[17:19] + stamp[20:23]).isdigit() and stamp[17] < "6":
        ts_us = minute + int(stamp[17:19]) * 1_000_000 + int(stamp[20:23]) * 1000
    else:
        ts_us = _timestamp_us(stamp)
    model = message.get("model")
    if type(model) is not str or not model:
        raise _Bad("no model")
    msg_id = message.get("id")
    request_id = data.get("requestId")
    return (
        number,
        ts_us,
        model,
        msg_id if type(msg_id) is str and msg_id else None,
        request_id if type(request_id) is str and request_id else None,
        1 if data.get("isSidechain") is True else 0,
        input_tokens,
        output_tokens,
        cache_write,
        cache_1h,
        cache_read,
    )


_COUNTS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _count(usage: dict[str, object], name: str) -> int:
    value = usage.get(name, 0)
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise _Bad(f"{name} is {str(value)[:20]!r}, not a whole number from 0 to 10^9")
    return value


def _timestamp_us(text: str) -> int:
    """Microseconds since the epoch (UTC) of an ISO-8601 time with an offset or `Z`; _Bad otherwise."""
    if len(text) == 24 and text[23] == "Z" and text[10] == "T" and text[19] == ".":  # Claude Code's own shape
        day = _DAYS.get(text[:10])
        try:
            if day is None:
                day = (date.fromisoformat(text[:10]).toordinal() - _EPOCH_DAY) * _DAY_US
                _DAYS[text[:10]] = day
            hour, minute, second, milli = int(text[11:13]), int(text[14:16]), int(text[17:19]), int(text[20:23])
        except ValueError:
            raise _Bad(f"timestamp {text[:40]!r} is not ISO-8601") from None
        if hour < 24 and minute < 60 and second < 60 and 1970 <= int(text[:4]) <= 9000 and text[11:23].isascii():
            start = day + (hour * 60 + minute) * 60_000_000
            if len(_MINUTES) < 200_000 and text[11:13].isdigit() and text[14:16].isdigit():
                _MINUTES[text[:17]] = start  # the next line of this minute is two slices and a lookup
            return start + second * 1_000_000 + milli * 1000
        raise _Bad(f"timestamp {text[:40]!r} is out of range")
    from claude_usage.core.times import parse_time
    from claude_usage.errors import BadReply

    try:
        parsed = parse_time(text, "timestamp")
    except BadReply:
        raise _Bad(f"timestamp {text[:40]!r} is not ISO-8601 with an offset") from None
    if parsed is None:  # pragma: no cover - parse_time returns None only for null
        raise _Bad("no timestamp")
    return (parsed - datetime(1970, 1, 1, tzinfo=timezone.utc)) // _US
