"""The transcript index: which dirs, the dedupe rule line by line, bad lines, and incremental scans."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_usage.adapters.transcripts import TranscriptIndex, config_roots, index_path, lines
from claude_usage.adapters.transcripts.scan import ScanStats
from tests.support.transcripts import assistant, encode, env_for, user, write


def _index() -> TranscriptIndex:
    return TranscriptIndex(index_path(os.environ))


def _scan(*dirs: Path, workers: int = 1) -> ScanStats:
    with _index() as index:
        return index.update(config_roots(env_for(*dirs)), workers=workers)


def _sums(*dirs: Path) -> tuple[int, int, int, int, int]:
    """(entries, input, output, cache write, cache read) the index counts for these dirs, after a scan."""
    _scan(*dirs)
    with _index() as index:
        groups = index.groups(config_roots(env_for(*dirs)))
    return (
        sum(g.entries for g in groups),
        sum(g.input_tokens for g in groups),
        sum(g.output_tokens for g in groups),
        sum(g.cache_write_5m + g.cache_write_1h for g in groups),
        sum(g.cache_read for g in groups),
    )


def _us(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


@pytest.fixture
def claude(home: Path) -> Path:
    """An empty config dir with its projects/ folder."""
    (home / ".claude" / "projects").mkdir(parents=True, exist_ok=True)
    return home / ".claude"


# --- which config dirs -----------------------------------------------------------------------------------


def test_config_dir_list_is_split_trimmed_and_expanded(home: Path) -> None:
    """CLAUDE_CONFIG_DIR's comma-separated parts are trimmed, `~` expanded and `…/projects` taken as its parent."""
    for name in ("a", "b", "c"):
        (home / name / "projects").mkdir(parents=True)
    env = {"HOME": str(home), "CLAUDE_CONFIG_DIR": f" {home}/a , ,~/b,{home}/c/projects,{home}/a"}
    assert (str(home / "a"), str(home / "b"), str(home / "c")) == config_roots(env).dirs


def test_a_listed_dir_without_projects_is_named_and_skipped(home: Path) -> None:
    """A listed dir without a projects/ folder is left out and said so in one line."""
    roots = config_roots({"HOME": str(home), "CLAUDE_CONFIG_DIR": f"{home}/nothing"})
    assert ((), 1) == (roots.dirs, len(roots.skipped))


def test_defaults_are_the_xdg_config_dir_and_dot_claude(home: Path) -> None:
    """Unset, the roots are $XDG_CONFIG_HOME/claude and ~/.claude, those with a projects/ folder."""
    (home / ".config" / "claude" / "projects").mkdir(parents=True)
    (home / ".claude" / "projects").mkdir(parents=True)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    assert (str(home / ".config" / "claude"), str(home / ".claude")) == config_roots(env).dirs


# --- the dedupe rule -----------------------------------------------------------------------------------


def test_streamed_copies_count_once_with_the_final_output(claude: Path) -> None:
    """Streamed copies of one response count once, with the largest total (the final output count)."""
    write(claude, "p/s.jsonl", assistant(output_tokens=3), assistant(output_tokens=7), assistant(output_tokens=412))
    assert (1, 3, 412, 0, 0) == _sums(claude)


def test_equal_copies_keep_the_first_lines_time(claude: Path) -> None:
    """Of copies with equal totals, the first line's copy is kept (its timestamp places it)."""
    write(
        claude,
        "p/s.jsonl",
        assistant(when="2026-07-02T23:59:59.900Z"),
        assistant(when="2026-07-03T00:00:00.100Z"),
    )
    _scan(claude)
    with _index() as index:
        groups = index.groups(config_roots(env_for(claude)))
    assert [_us(datetime(2026, 7, 2, 23, 59, 59, 900_000, tzinfo=timezone.utc))] == [g.first_us for g in groups]


def test_verbatim_copies_in_two_files_count_once(claude: Path) -> None:
    """A resumed session's verbatim copy of a response in another file counts once."""
    write(claude, "p/a.jsonl", assistant(cache_read=100))
    write(claude, "p/b.jsonl", assistant(cache_read=100))
    assert (1, 3, 96, 0, 100) == _sums(claude)


def test_copies_without_request_id_are_one_response(claude: Path) -> None:
    """Copies without requestId share the key (message.id, none) and count once."""
    write(claude, "p/s.jsonl", assistant(request_id=None), assistant(request_id=None))
    assert (1, 3, 96, 0, 0) == _sums(claude)


def test_a_missing_request_id_is_its_own_value(claude: Path) -> None:
    """A copy without requestId is not the same response as one with a requestId."""
    write(claude, "p/s.jsonl", assistant(request_id=None), assistant(request_id="req_1"))
    assert (2, 6, 192, 0, 0) == _sums(claude)


def test_lines_without_message_id_all_count(claude: Path) -> None:
    """Lines without message.id are never de-duplicated."""
    write(claude, "p/s.jsonl", assistant(msg_id=None), assistant(msg_id=None))
    assert (2, 6, 192, 0, 0) == _sums(claude)


def test_a_sidechain_replay_of_a_main_message_is_dropped(claude: Path) -> None:
    """A subagent file's replay of a parent message under a new requestId is not counted."""
    write(claude, "p/s.jsonl", assistant(output_tokens=10))
    write(claude, "p/s/subagents/agent-1.jsonl", assistant(request_id="req_2", output_tokens=50, sidechain=True))
    assert (1, 3, 10, 0, 0) == _sums(claude)


def test_sidechain_only_copies_count_once(claude: Path) -> None:
    """Copies of a subagent's own message count once, whatever their requestIds."""
    write(
        claude,
        "p/s/subagents/agent-1.jsonl",
        assistant(request_id="req_1", sidechain=True),
        assistant(request_id="req_2", output_tokens=99, sidechain=True),
    )
    assert (1, 3, 99, 0, 0) == _sums(claude)


def test_a_usage_object_on_a_user_line_is_not_billing(claude: Path) -> None:
    """A Task tool's result carrying a usage object on a user line is not an entry."""
    write(claude, "p/s.jsonl", user(decoy_usage=True), assistant())
    assert (1, 3, 96, 0, 0) == _sums(claude)


# --- bad lines -------------------------------------------------------------------------------------------


def test_a_cut_line_is_skipped_and_named(claude: Path) -> None:
    """A line cut short mid-file is skipped and reported with its file and line number; the rest counts."""
    cut = '{"type":"assistant","message":{"id":"m","usage":{"input_tokens":5,'
    path = write(claude, "p/s.jsonl", user(), cut, assistant())
    _scan(claude)
    with _index() as index:
        found = index.bad_lines(config_roots(env_for(claude)))
    assert (1, [(str(path), "line 2", "not JSON (cut short?)")]) == found


@pytest.mark.parametrize("value", ["12", 1.5, -1, 10**9 + 1, None, True])
def test_a_count_that_is_not_a_sane_integer_makes_the_line_bad(claude: Path, value: object) -> None:
    """A count that is a string, a float, negative, above 10^9, null or a boolean makes the line bad."""
    write(claude, "p/s.jsonl", assistant(msg_id="a", output_tokens=value), assistant(msg_id="b"))  # type: ignore[arg-type]
    assert ((1, 3, 96, 0, 0), 1) == (_sums(claude), _last_bad())


def _last_bad() -> int:
    """How many bad lines the index holds."""
    with _index() as index:
        return index.bad_lines(config_roots(os.environ))[0]


def test_an_unparsable_timestamp_makes_the_line_bad(claude: Path) -> None:
    """An assistant line whose timestamp is not ISO-8601 is skipped as bad."""
    write(claude, "p/s.jsonl", assistant(when="yesterday"))
    assert ((0, 0, 0, 0, 0), 1) == (_sums(claude), _last_bad())


def test_an_overlong_line_is_never_held_and_counts_as_bad(claude: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line above MAX_LINE_BYTES is skipped without being held (bad if it carried usage); the next counts."""
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 5000)
    monkeypatch.setattr(lines, "BLOCK", 1024)
    huge = assistant(msg_id="huge")
    huge["message"]["content"] = [{"type": "text", "text": "y" * 20_000}]
    write(claude, "p/s.jsonl", user("z" * 20_000), huge, assistant())
    assert ((1, 3, 96, 0, 0), 1) == (_sums(claude), _last_bad())


# --- incremental ------------------------------------------------------------------------------------------


def test_a_rerun_reads_only_appended_bytes(claude: Path) -> None:
    """After an append, a scan reads only the appended bytes."""
    path = write(claude, "p/s.jsonl", user(), assistant(msg_id="a"))
    _scan(claude)
    before = path.stat().st_size
    write(claude, "p/s.jsonl", assistant(msg_id="b"), append=True)
    assert path.stat().st_size - before == _scan(claude).bytes_read


def test_a_rerun_with_nothing_new_reads_nothing(claude: Path) -> None:
    """A scan with nothing changed opens no transcript."""
    write(claude, "p/s.jsonl", assistant())
    _scan(claude)
    assert (0, 1) == (_scan(claude).files_read, _scan(claude).files)


def test_appended_copies_are_ranked_with_the_old_ones(claude: Path) -> None:
    """A final streamed copy appended later replaces the partial one read before."""
    write(claude, "p/s.jsonl", assistant(output_tokens=2))
    _scan(claude)
    write(claude, "p/s.jsonl", assistant(output_tokens=300), append=True)
    assert (1, 3, 300, 0, 0) == _sums(claude)


def test_a_truncated_file_holds_what_it_holds_now(claude: Path) -> None:
    """A file cut shorter than what was read is read again: its entries are what it holds now."""
    path = write(claude, "p/s.jsonl", assistant(msg_id="a"), assistant(msg_id="b"))
    _scan(claude)
    with open(path, "r+b") as f:
        f.truncate(len(path.read_bytes().splitlines(keepends=True)[0]))
    assert (1, 3, 96, 0, 0) == _sums(claude)


def test_a_replaced_file_holds_what_it_holds_now(claude: Path) -> None:
    """A file replaced by another (a new inode) is read again from the start."""
    write(claude, "p/s.jsonl", assistant(msg_id="a"))
    _scan(claude)
    other = write(claude, "p/new.tmp", assistant(msg_id="b", output_tokens=5), assistant(msg_id="c", output_tokens=5))
    os.replace(other, claude / "projects" / "p" / "s.jsonl")
    assert (2, 6, 10, 0, 0) == _sums(claude)


def test_a_file_rewritten_in_place_is_read_again(claude: Path) -> None:
    """A file rewritten in place (same inode, other first bytes, longer) is read again from the start."""
    path = write(claude, "p/s.jsonl", assistant(msg_id="a"))
    _scan(claude)
    with open(path, "r+b") as f:
        f.write(encode(assistant(msg_id="zz", output_tokens=1), assistant(msg_id="yy", output_tokens=1)))
    assert (2, 6, 2, 0, 0) == _sums(claude)


def test_a_deleted_file_keeps_its_entries(claude: Path) -> None:
    """Entries of a transcript Claude Code deleted stay in the index."""
    path = write(claude, "p/s.jsonl", assistant())
    _scan(claude)
    path.unlink()
    assert (1, 3, 96, 0, 0) == _sums(claude)


def test_a_half_written_line_waits_for_its_end(claude: Path) -> None:
    """A last line without its newline is not read until it is complete, then counted once."""
    path = write(claude, "p/s.jsonl", assistant(msg_id="a"))
    line = write(claude, "p/tmp.jsonl", assistant(msg_id="b", output_tokens=7)).read_bytes()
    (claude / "projects" / "p" / "tmp.jsonl").unlink()
    with open(path, "ab") as f:
        f.write(line[:40])
    first = _sums(claude)
    with open(path, "ab") as f:
        f.write(line[40:])
    assert ((1, 3, 96, 0, 0), (2, 6, 103, 0, 0)) == (first, _sums(claude))


def test_a_dir_no_longer_listed_is_not_reported(home: Path) -> None:
    """Entries of a config dir no longer in CLAUDE_CONFIG_DIR are left out of the report."""
    one, two = home / "one", home / "two"
    write(one, "p/s.jsonl", assistant(msg_id="a"))
    write(two, "p/s.jsonl", assistant(msg_id="b", output_tokens=1))
    _scan(one, two)
    assert (1, 3, 96, 0, 0) == _sums(one)


def test_a_copy_in_an_unlisted_dir_does_not_hide_the_listed_one(home: Path) -> None:
    """When the winning copy's dir is no longer listed, the listed dir's copy counts."""
    one, two = home / "one", home / "two"
    write(one, "p/s.jsonl", assistant(output_tokens=5))
    write(two, "p/s.jsonl", assistant(output_tokens=50))
    _scan(one, two)
    assert (1, 3, 5, 0, 0) == _sums(one)


def test_a_corrupt_index_is_moved_aside(claude: Path) -> None:
    """An index file that is not SQLite is moved aside (never deleted) and a new one built."""
    write(claude, "p/s.jsonl", assistant())
    path = Path(index_path(os.environ))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database at all")
    notes = _scan(claude).notes
    assert (True, 1) == (notes[0].startswith(f"{path} was corrupt"), len(list(path.parent.glob("*.corrupt-*"))))


def test_concurrent_scans_in_two_processes_count_each_entry_once(claude: Path) -> None:
    """Two processes scanning at once file every entry once (the lock and a re-check of the offsets)."""
    for n in range(40):
        write(claude, f"p/s{n}.jsonl", *(assistant(msg_id=f"m{n}-{i}", request_id=None) for i in range(200)))
    probe = textwrap.dedent(
        """
        import os
        from claude_usage.adapters.transcripts import TranscriptIndex, config_roots, index_path
        with TranscriptIndex(index_path(os.environ)) as index:
            print(index.update(config_roots(os.environ), workers=1).entries)
        """
    )
    env = env_for(claude)
    procs = [subprocess.Popen([sys.executable, "-c", probe], env=env, stdout=subprocess.PIPE) for _ in range(2)]
    added = sorted(int(p.communicate(timeout=60)[0]) for p in procs)
    assert ([0, 8000], (8000, 24000, 768000, 0, 0)) == (added, _sums(claude))


def test_the_sums_table_uses_the_constants_it_names() -> None:
    """The SQL that keeps `sums` current groups by the quarter hour and the threshold the module names."""
    from claude_usage.adapters.transcripts import store

    sql = store._REFRESH[1]
    assert (True, True) == (
        f"ts_us / {store.QUARTER_US}," in sql,
        f"> {store.LONG_CONTEXT_THRESHOLD}," in sql,
    )


def test_a_report_after_an_append_sums_the_new_entries(claude: Path) -> None:
    """The kept-current sums follow an append into a file already summed, and a copy that replaces another."""
    write(claude, "p/a.jsonl", assistant(msg_id="a"))
    write(claude, "p/b.jsonl", assistant(msg_id="b", output_tokens=1))
    _sums(claude)
    write(claude, "p/b.jsonl", assistant(msg_id="a", output_tokens=1000), assistant(msg_id="c"), append=True)
    assert (3, 9, 1097, 0, 0) == _sums(claude)


def test_the_mapped_reader_finds_what_the_buffered_one_finds(claude: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through small memory-mapped windows (lines longer than a window, a cut line, an unfinished last
    line), the fast reader returns the same entries, bad lines, end and first bytes as the buffered one."""
    monkeypatch.setattr(lines, "WINDOW", 8192)
    monkeypatch.setattr(lines, "BLOCK", 5000)
    long_one = assistant(msg_id="long")
    long_one["message"]["content"] = [{"type": "text", "text": "w" * 20_000}]
    body: list[dict[str, Any] | str] = [
        user("u" * 3000),
        assistant(msg_id="a"),
        user("v" * 30_000),
        long_one,
        '{"usage":{"cut',
        assistant(msg_id="b"),
    ]
    path = write(claude, "p/s.jsonl", *(body * 3))
    with open(path, "ab") as f:
        f.write(encode(assistant(msg_id="c"))[:-30])
    size = path.stat().st_size
    buffered = lines.read_range(str(path), 0, size, False)
    assert ((3, 3, True), buffered) == (  # a, long, b (three copies each), three cut lines
        (len(buffered[0]), len(buffered[1]), buffered[2] < size),
        lines.read_range(str(path), 0, size, True),
    )


_PIECES = (b"{", b'"usage":', b'"usage":{', b"usage", b'":{', b"x" * 40, b"\n", b"a{b{c{", b"{" * 9)


@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=60),
    lo=st.integers(0, 30),
    cut=st.integers(0, 30),
    sparse=st.sampled_from((1, 16, 10_000)),
)
@settings(max_examples=300, deadline=None)
def test_the_brace_to_brace_search_finds_every_marker_a_plain_search_finds(
    pieces: list[bytes], lo: int, cut: int, sparse: int
) -> None:
    """Sparse braces, dense ones (the marker searched for over a growing span), markers across a span's
    end, at `lo`, touching `hi`: the same hits, in the same order, as bytes.find, in bytes and mmap,
    with the spans searched by bytes.find and by memmem."""
    import mmap

    buf = b"".join(pieces)
    hi = max(len(buf) - cut, 0)
    expected, at = [], buf.find(lines.MARKER, lo, hi)
    while at >= 0:
        expected.append(at)
        at = buf.find(lines.MARKER, at + 1, hi)
    saved = lines._SPARSE, lines._SPARSE_MEMMEM, lines._SPAN, lines._MAX_SPAN, lines._BURST
    lines._SPARSE, lines._SPARSE_MEMMEM, lines._SPAN, lines._MAX_SPAN, lines._BURST = sparse, sparse, 16, 40, 3
    try:
        views: list[Any] = [buf]
        if buf:
            anon = mmap.mmap(-1, len(buf))
            anon.write(buf)
            views.append(anon)
        for view in views:
            for fast in (False, True):  # bytes.find, and libc's memmem where there is one
                search = lines._searcher(view, fast)
                assert expected == list(lines._markers(view, lo, hi, search))
                del search
    finally:
        lines._SPARSE, lines._SPARSE_MEMMEM, lines._SPAN, lines._MAX_SPAN, lines._BURST = saved


def test_libc_memmem_is_used_where_there_is_one() -> None:
    """On Linux (glibc or musl) the fast search is memmem, and it finds what bytes.find finds."""
    if not sys.platform.startswith("linux"):
        pytest.skip("memmem is looked up in the C library this process links")
    assert lines._memmem() is not None
    buf = b"x" * 100 + lines.MARKER + b"y" * 50 + lines.MARKER
    search, _ = lines._searcher(buf, True)
    assert (100, 159, -1) == (search(0, len(buf)), search(101, len(buf)), search(101, len(buf) - 1))


def test_small_pieces_travel_together_and_a_big_one_alone() -> None:
    """Batches keep the order; a piece of BATCH_BYTES or more is never batched with another."""
    from claude_usage.adapters.transcripts import scan

    mib = 1024 * 1024
    sizes = [1000, 32 * mib, 100, 5 * mib, 10, 20, 3 * mib, 2 * mib]
    pieces = [(f"f{i}", 0, size, True) for i, size in enumerate(sizes)]
    batches = scan._batches(pieces)
    assert pieces == [piece for batch in batches for piece in batch]
    assert [["f0"], ["f1"], ["f2"], ["f3"], ["f4", "f5", "f6", "f7"]] == [[p[0] for p in b] for b in batches]
