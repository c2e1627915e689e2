"""The shared reading store: atomic documents, cross-process locks and pointers, with real processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters.paths import data_dir
from claude_usage.adapters.store import Store, StoreBusy, StoreError
from claude_usage.errors import UnavailableError
from tests.support.store_worker import PAD, document

WORKER = Path(__file__).resolve().parent / "support" / "store_worker.py"
ACCOUNT = "a-0123abcd4567ef89"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes and signals")


@pytest.fixture
def root() -> Path:
    return Path(data_dir(os.environ))


@pytest.fixture
def store(root: Path) -> Store:
    return Store(root)


def increment(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "counter": doc.get("counter", 0) + 1}


def identity(doc: dict[str, Any]) -> dict[str, Any] | None:
    return None


def start(root: Path, mode: str, *args: str) -> subprocess.Popen[str]:
    """One worker process (tests/support/store_worker.py) on `root` and ACCOUNT."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), mode, str(root), ACCOUNT, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@contextmanager
def workers(root: Path, *groups: tuple[int, str, str]) -> Iterator[list[subprocess.Popen[str]]]:
    """(count, mode, arg) groups of workers, all started, ready and then released at the same moment."""
    procs = [start(root, mode, arg) for count, mode, arg in groups for _ in range(count)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert "ready\n" == proc.stdout.readline()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def output(proc: subprocess.Popen[str]) -> str:
    """What a worker printed from here to its end, which must be a clean exit."""
    out, _ = proc.communicate(timeout=120)
    assert 0 == proc.returncode
    return out.strip()


@contextmanager
def holding(root: Path, mode: str) -> Iterator[subprocess.Popen[str]]:
    """A worker holding the update or request lock until the block ends (or it is killed)."""
    proc = start(root, mode)
    try:
        assert proc.stdout is not None
        assert "held\n" == proc.stdout.readline()
        yield proc
    finally:
        proc.communicate("release\n" if proc.poll() is None else None, timeout=30)


def test_round_trip(store: Store) -> None:
    """What an update stores is what read returns, and update returns it too."""
    doc = {"five_hour": {"utilization": 41.5, "source": "api"}, "note": "héllo"}
    returned = store.update(ACCOUNT, lambda _: doc)
    assert (doc, doc) == (returned, store.read(ACCOUNT))


def test_missing_account_reads_empty_and_creates_nothing(store: Store, root: Path) -> None:
    """An account never written reads as {} with no stamp, and reading creates no directory."""
    assert ({}, None, False) == (store.read(ACCOUNT), store.stamp(ACCOUNT), root.exists())


@posix_only
def test_files_are_private(store: Store, root: Path) -> None:
    """The root is created 0700 and the document is 0600."""
    store.update(ACCOUNT, increment)
    modes = (stat.S_IMODE(root.stat().st_mode), stat.S_IMODE(Path(store.path(ACCOUNT)).stat().st_mode))
    assert (0o700, 0o600) == modes


def test_no_temp_files_left_after_many_updates(store: Store, root: Path) -> None:
    """After a hundred updates the directory holds the document and its lock file only."""
    for _ in range(100):
        store.update(ACCOUNT, increment)
    assert [f"{ACCOUNT}.json", f"{ACCOUNT}.lock"] == sorted(os.listdir(root))


def test_change_returning_none_writes_nothing(store: Store) -> None:
    """An update whose change returns None leaves the file untouched (same inode, same mtime)."""
    store.update(ACCOUNT, increment)
    before = os.stat(store.path(ACCOUNT))
    returned = store.update(ACCOUNT, identity)
    after = os.stat(store.path(ACCOUNT))
    assert ({"counter": 1}, before.st_ino, before.st_mtime_ns) == (returned, after.st_ino, after.st_mtime_ns)


def test_none_returns_the_stored_document_even_if_change_edited_its_argument(store: Store) -> None:
    """When change edits the doc in place but returns None, update returns what is stored."""
    store.update(ACCOUNT, increment)

    def meddle(doc: dict[str, Any]) -> None:
        doc["counter"] = 99

    assert ({"counter": 1}, {"counter": 1}) == (store.update(ACCOUNT, meddle), store.read(ACCOUNT))


def test_stamp_is_mtime_and_size(store: Store) -> None:
    """stamp() is the document's (st_mtime_ns, st_size)."""
    store.update(ACCOUNT, lambda _: {"n": 1000})
    st = os.stat(store.path(ACCOUNT))
    assert (st.st_mtime_ns, st.st_size) == store.stamp(ACCOUNT)


@pytest.mark.parametrize("garbage", [b"\x00\xff{garbage", b'{"cut": "in the mid', b"[1, 2]", b"", b"null"])
def test_corrupt_document_reads_empty(store: Store, root: Path, garbage: bytes) -> None:
    """A document that is not a JSON object reads as {}."""
    root.mkdir(parents=True)
    Path(store.path(ACCOUNT)).write_bytes(garbage)
    assert {} == store.read(ACCOUNT)


def test_corrupt_document_is_moved_aside_by_the_next_update(store: Store, root: Path) -> None:
    """An update over a corrupt document keeps the bad bytes in <key>.json.corrupt-<time> and writes anew."""
    root.mkdir(parents=True)
    Path(store.path(ACCOUNT)).write_bytes(b"\x00\xff{garbage")
    store.update(ACCOUNT, increment)
    aside = [p.read_bytes() for p in root.glob(f"{ACCOUNT}.json.corrupt-*")]
    assert ([b"\x00\xff{garbage"], {"counter": 1}) == (aside, store.read(ACCOUNT))


@pytest.mark.parametrize(
    "account", ["", ".", "..", "../etc", "a/b", ".hidden", "x" * 81, "a.request", "ü", "a b", "a\n"]
)
def test_account_keys_are_validated(store: Store, account: str) -> None:
    """Keys that could escape the root, hide, collide with a lock file or exceed 80 chars are refused."""
    with pytest.raises(ValueError, match="not a valid account key"):
        store.read(account)


def test_change_must_return_a_dict(store: Store) -> None:
    """A change returning something other than a dict or None is a TypeError and writes nothing."""
    with pytest.raises(TypeError, match="not dict or None"):
        store.update(ACCOUNT, lambda _: [1])  # type: ignore[arg-type,return-value]
    assert None is store.stamp(ACCOUNT)


def test_update_is_not_reentrant(store: Store) -> None:
    """An update from inside a change fails at once instead of waiting for itself."""
    with pytest.raises(RuntimeError, match="not re-entrant"):
        store.update(ACCOUNT, lambda doc: store.update(ACCOUNT, increment))


def test_unwritable_root_is_a_store_error(tmp_path: Path) -> None:
    """An OSError while writing becomes a StoreError that names the path, chained to the OSError."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(StoreError, match="not-a-dir") as caught:
        Store(blocker).update(ACCOUNT, increment)
    assert NotADirectoryError is type(caught.value.__cause__)


def test_store_errors_are_unavailable_errors() -> None:
    """StoreError and StoreBusy are UnavailableErrors, so the CLI maps them to exit status 4."""
    assert (True, True) == (issubclass(StoreError, UnavailableError), issubclass(StoreBusy, UnavailableError))


def test_update_removes_temp_files_left_by_killed_writers(store: Store, root: Path) -> None:
    """A write removes the temp files a killed writer of the same document left, and no other key's."""
    root.mkdir(parents=True)
    orphan, others = root / f".{ACCOUNT}.99999.123.tmp", root / f".{ACCOUNT}.x.99999.123.tmp"
    for path in (orphan, others):
        path.write_text("{")
    store.update(ACCOUNT, increment)
    assert (False, True) == (orphan.exists(), others.exists())


def test_threads_in_one_process_do_not_lose_updates(store: Store) -> None:
    """Four threads making 25 updates each leave the counter at exactly 100."""

    def run() -> None:
        for _ in range(25):
            store.update(ACCOUNT, increment, timeout_s=30)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 100 == store.read(ACCOUNT)["counter"]


def test_concurrent_writers_lose_nothing(store: Store, root: Path) -> None:
    """Eight processes making 50 updates each leave the counter at exactly 400."""
    store.update(ACCOUNT, lambda _: {"counter": 0, "pad": PAD})
    with workers(root, (8, "increment", "50")) as procs:
        assert ["done"] * 8 == [output(proc) for proc in procs]
    assert 400 == store.read(ACCOUNT)["counter"]


def test_readers_never_see_a_partial_document(store: Store, root: Path) -> None:
    """Four processes reading while eight write never see anything but a whole, newer-or-equal document."""
    store.update(ACCOUNT, lambda _: {"counter": 0, "pad": PAD})
    with workers(root, (4, "read", ""), (8, "increment", "50")) as procs:
        assert ["done"] * 8 == [output(proc) for proc in procs[4:]]
        store.update(ACCOUNT, lambda doc: {**doc, "stop": True})
        bad_reads = [int(output(proc).split()[0]) for proc in procs[:4]]
    assert [0, 0, 0, 0] == bad_reads


@posix_only
def test_writer_killed_mid_write_leaves_a_whole_document(store: Store, root: Path) -> None:
    """SIGKILLing a writer of 2 MB documents at varied moments mid-write always leaves one of its versions."""
    size = 2_000_000
    seen: list[dict[str, Any]] = []
    for delay in (0.0, 0.0005, 0.001, 0.002, 0.004, 0.008):
        proc = start(root, "hammer", str(size))
        assert proc.stdout is not None
        assert "ready\n" == proc.stdout.readline()
        prefix = f".{ACCOUNT}.{proc.pid}."
        deadline = time.monotonic() + 30
        while not any(name.startswith(prefix) for name in os.listdir(root)) and time.monotonic() < deadline:
            pass  # until this writer has a temp file open: it is mid-write
        time.sleep(delay)
        proc.kill()  # SIGKILL
        proc.communicate()
        doc = store.read(ACCOUNT)
        seen.append(doc)
        assert document(doc.get("version", -1), size) == doc
        assert doc == store.update(ACCOUNT, identity, timeout_s=1.0)  # and the lock is free
    assert sorted(d["version"] for d in seen) == [d["version"] for d in seen]


@posix_only
def test_writer_killed_holding_the_lock_releases_it(store: Store, root: Path) -> None:
    """After a writer is SIGKILLed inside update, the next update gets the lock at once."""
    with holding(root, "hold-update") as proc:
        proc.kill()  # SIGKILL
        proc.wait()
    assert {"counter": 1} == store.update(ACCOUNT, increment, timeout_s=0.5)


def test_update_raises_store_busy_past_its_timeout(store: Store, root: Path) -> None:
    """An update waiting longer than timeout_s for another process's lock raises StoreBusy."""
    with holding(root, "hold-update"), pytest.raises(StoreBusy, match=ACCOUNT):
        store.update(ACCOUNT, increment, timeout_s=0.1)


def test_ten_processes_at_once_make_one_request(store: Store, root: Path) -> None:
    """Ten processes needing a refresh at the same moment make exactly one request between them."""
    with workers(root, (10, "request", "")) as procs:
        assert ["True"] * 10 == [output(proc) for proc in procs]
    assert 1 == store.read(ACCOUNT)["requests"]


def test_request_lock_held_elsewhere_yields_false_after_wait(store: Store, root: Path) -> None:
    """While another process holds the request lock, request_lock(wait_s=0.2) yields False after ~0.2 s."""
    with holding(root, "hold-request"):
        started = time.monotonic()
        with store.request_lock(ACCOUNT, wait_s=0.2) as acquired:
            waited = time.monotonic() - started
    assert (False, True) == (acquired, 0.2 <= waited < 1.0)


@posix_only
def test_request_lock_is_released_when_its_holder_is_killed(store: Store, root: Path) -> None:
    """A request lock held by a process that is SIGKILLed is free again at once."""
    with holding(root, "hold-request") as proc:
        proc.kill()  # SIGKILL
        proc.wait()
    with store.request_lock(ACCOUNT, wait_s=0) as acquired:
        assert acquired


def test_request_lock_is_free_again_after_release(store: Store) -> None:
    """A request lock released by one block can be taken by the next without waiting."""
    with store.request_lock(ACCOUNT, wait_s=0) as first:
        pass
    with store.request_lock(ACCOUNT, wait_s=0) as second:
        assert (True, True) == (first, second)


def test_pointer_round_trip(store: Store) -> None:
    """A pointer set is read back; an unset one is None."""
    store.set_pointer("fp-0123456789abcdef", ACCOUNT)
    assert (ACCOUNT, None) == (store.pointer("fp-0123456789abcdef"), store.pointer("fp-other"))


@posix_only
def test_pointer_files_are_private(store: Store, root: Path) -> None:
    """The root and pointers directory are 0700 and a pointer file 0600, even when a pointer is written first."""
    store.set_pointer("fp-1", ACCOUNT)
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (root, root / "pointers", root / "pointers" / "fp-1")]
    assert [0o700, 0o700, 0o600] == modes


def test_set_pointer_unchanged_writes_nothing(store: Store, root: Path) -> None:
    """Setting a pointer to the value it already has leaves its file untouched."""
    store.set_pointer("fp-1", ACCOUNT)
    before = os.stat(root / "pointers" / "fp-1")
    store.set_pointer("fp-1", ACCOUNT)
    after = os.stat(root / "pointers" / "fp-1")
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


@pytest.mark.parametrize("name", ["", "..", "../x", "a/b", ".hidden", "x" * 81])
def test_pointer_names_are_validated(store: Store, name: str) -> None:
    """Pointer names that could escape the directory, hide or exceed 80 chars are refused."""
    with pytest.raises(ValueError, match="not a valid pointer name"):
        store.set_pointer(name, ACCOUNT)


def test_pointer_values_are_account_keys(store: Store) -> None:
    """A pointer must point at a valid account key."""
    with pytest.raises(ValueError, match="not a valid account key"):
        store.set_pointer("fp-1", "../../etc/passwd")


def test_foreign_pointer_file_reads_none(store: Store, root: Path) -> None:
    """A pointer file that does not hold an account key reads as None."""
    (root / "pointers").mkdir(parents=True)
    (root / "pointers" / "fp-1").write_text(json.dumps({"not": "a key"}))
    assert None is store.pointer("fp-1")


def test_store_imports_nothing_heavy() -> None:
    """Importing the store (the status line does) loads no tempfile, shutil, subprocess, threading or typing."""
    probe = (
        "import sys, claude_usage.adapters.store; "
        "print(sorted({'tempfile', 'shutil', 'subprocess', 'threading', 'pathlib', 'typing', 'contextlib'}"
        " & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "[]" == out.stdout.strip()
