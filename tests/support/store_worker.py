"""A process that uses the reading store, for the multi-process tests in tests/test_store.py.

Run as `python store_worker.py MODE ROOT ACCOUNT [ARG]`. Modes that race print "ready", then wait for a
line on stdin, so that the test can start them all at the same moment:

    increment N      N updates, each adding 1 to doc["counter"]; prints "done"
    read             reads until doc["stop"]; prints "<bad reads> <reads>" (bad: torn, missing, older)
    request          request_lock, then "asks the endpoint" (doc["requests"] += 1) unless doc["fetched"]
    hammer SIZE      (no barrier) writes document(version, SIZE) for ever-growing versions until killed
    hold-update      holds the update lock (prints "held") until a line arrives on stdin
    hold-request     holds the request lock (prints "held") until a line arrives on stdin
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_usage.adapters.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable

PAD = "p" * 65_536  # big enough that a torn write would show


def document(version: int, size: int) -> dict[str, Any]:
    """The hammer's document number `version`: its blob is `size` copies of a letter that depends on it."""
    return {"version": version, "blob": "abcdefghijklmnopqrstuvwxyz"[version % 26] * size}


def _barrier() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def _increment(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "counter": doc.get("counter", 0) + 1}


def _ask(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "requests": doc.get("requests", 0) + 1, "fetched": True}


def _becomes(new: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda _doc: new


def _hold(doc: dict[str, Any]) -> None:
    print("held", flush=True)
    sys.stdin.readline()


def main(mode: str, root: str, account: str, arg: str = "0") -> None:
    store = Store(Path(root))
    if mode == "increment":
        _barrier()
        for _ in range(int(arg)):
            store.update(account, _increment, timeout_s=60)
        print("done", flush=True)
    elif mode == "read":
        _barrier()
        bad = reads = last = 0
        doc: dict[str, Any] = {}
        deadline = time.monotonic() + 120
        while not doc.get("stop") and time.monotonic() < deadline:
            doc = store.read(account)
            reads += 1
            counter = doc.get("counter")
            if doc.get("pad") != PAD or not isinstance(counter, int) or counter < last:
                bad += 1
            else:
                last = counter
        print(bad, reads, flush=True)
    elif mode == "request":
        _barrier()
        with store.request_lock(account, wait_s=60) as acquired:
            if acquired and not store.read(account).get("fetched"):
                store.update(account, _ask)
        print(acquired, flush=True)
    elif mode == "hammer":
        version = store.read(account).get("version", 0) + 1
        store.update(account, _becomes(document(version, int(arg))), timeout_s=60)
        print("ready", flush=True)
        while True:
            version += 1
            store.update(account, _becomes(document(version, int(arg))), timeout_s=60)
    elif mode == "hold-update":
        store.update(account, _hold)
    elif mode == "hold-request":
        with store.request_lock(account, wait_s=10) as acquired:
            print("held" if acquired else "busy", flush=True)
            sys.stdin.readline()
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
