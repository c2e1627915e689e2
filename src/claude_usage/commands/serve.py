"""`claude-usage serve`: a poller like the dashboard, serving what it knows over HTTP.

`/metrics` (Prometheus and OpenMetrics text, service/exporter.py), `/api/usage` (the `--json` document),
`/` (a page for a person, ui/page.py). Polls each account once per interval and keeps the heartbeat in the
shared store, so status lines trust it; a request to the server only reads what the pollers hold. Listens on
127.0.0.1:9464 unless `--listen` says otherwise (anything but loopback prints a warning); `--token-file` makes
every path ask for that token. SIGTERM, SIGINT and SIGHUP stop it cleanly: exit 0.

Takes a list of accounts (`ServedAccount`, one poller each); today that is the one login, named `default`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from claude_usage.commands import wiring

if TYPE_CHECKING:
    import argparse
    import threading
    from collections.abc import Mapping, Sequence
    from contextlib import ExitStack
    from datetime import tzinfo
    from typing import Any

    from claude_usage.adapters.httpserver import Request, Response, Route
    from claude_usage.service.exporter import ServedAccount

DESCRIPTION = (
    "Serve the limits over HTTP while polling like the dashboard: /metrics for Prometheus, /api/usage (the "
    "--json document), / (a page with the charts of the last weeks)."
)
PROG = "claude-usage"
HISTORY_DAYS = 28
WATCH_EVERY_S = 1.0  # how often to pick up what other processes wrote to the store


def configure(parser: argparse.ArgumentParser) -> None:
    from claude_usage.adapters.httpserver import DEFAULT_LISTEN

    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"where to listen (default {DEFAULT_LISTEN}; anything but loopback is reachable by others: "
        "protect it with --token-file)",
    )
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help="ask every request for the token on the first line of this file (Authorization: Bearer TOKEN, "
        "or HTTP Basic with the token as password)",
    )
    wiring.add_polling_options(parser, demo="serve a built-in simulated account (no login needed)")
    wiring.add_account_option(parser)


def listen_warning(where: str, *, token: bool) -> str:
    """What to say when listening beyond this machine."""
    if token:
        return f"{PROG}: warning: listening on {where}, beyond this machine; requests must carry the token"
    return (
        f"{PROG}: warning: listening on {where}, beyond this machine: anyone who can reach it can read these "
        "numbers; add --token-file, or listen on 127.0.0.1"
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Serve until SIGTERM, SIGINT or SIGHUP; exit 0."""
    import contextlib
    from pathlib import Path

    from claude_usage.adapters import httpserver

    listen = httpserver.parse_listen(args.listen)
    token = httpserver.read_token(Path(args.token_file)) if args.token_file else None
    with contextlib.ExitStack() as stack:
        stop = stack.enter_context(_StopSignals())  # from here on a signal ends the loop below, cleanly
        accounts, interval_s = _accounts(args, env, stack)
        routes = _routes(accounts, interval_s)
        server = stack.enter_context(httpserver.Server(listen, routes, token=token))
        if not httpserver.is_loopback(listen):
            print(listen_warning(str(listen), token=token is not None), file=sys.stderr)
        print(f"{PROG}: serving {server.url}/ (/metrics, /api/usage); polling every {interval_s:g} s", file=sys.stderr)
        sys.stderr.flush()
        _poll(accounts, stop)
    return 0


def _accounts(args: argparse.Namespace, env: Mapping[str, str], stack: ExitStack) -> tuple[list[ServedAccount], float]:
    """One ServedAccount per account (`--account`, else `[accounts]`, else the one login), each with its poller."""
    from claude_usage.service.exporter import ServedAccount, count_requests
    from claude_usage.service.poller import Poller
    from claude_usage.service.totals import TranscriptTotals

    served = []
    sessions = stack.enter_context(wiring.sessions(args, env))
    for session in sessions:
        counts = count_requests(session.reader)
        poller = Poller(session.reader, interval_s=session.interval_s, floor_s=session.floor_s)
        totals = None if session.demo else TranscriptTotals(session.reader.env, on_notice=_say)
        served.append(ServedAccount(session.name, poller, counts, totals))
    return served, max(session.interval_s for session in sessions)


def _say(notice: str) -> None:
    print(f"{PROG}: {notice}", file=sys.stderr)


def _poll(accounts: Sequence[ServedAccount], stop: threading.Event) -> None:
    """Run every poller (and transcript scan) in its own thread; pick up the store's news until `stop`."""
    import threading

    wakes = [threading.Event() for _ in accounts]
    threads = []
    for account, wake in zip(accounts, wakes, strict=True):
        threads.append(threading.Thread(target=account.poller.run_forever, args=(stop, wake), daemon=True))
        if account.totals is not None:
            threads.append(threading.Thread(target=account.totals.run_forever, args=(stop,), daemon=True))
    for thread in threads:
        thread.start()
    try:
        while not stop.wait(WATCH_EVERY_S):
            for account in accounts:
                account.poller.watch_store()
    finally:
        stop.set()
        for wake in wakes:
            wake.set()
        for thread in threads:
            thread.join(timeout=2)  # a request in flight ends within its own timeout; daemons never hold up exit


def _routes(accounts: Sequence[ServedAccount], interval_s: float) -> dict[str, Route]:
    from claude_usage.core.shared import POLLER_GRACE_S
    from claude_usage.service.exporter import registry

    metrics = registry(accounts)
    stale_after = interval_s + POLLER_GRACE_S  # what status lines allow a poller: older means it is not keeping up

    def metrics_route(request: Request) -> Response:
        from claude_usage.adapters.httpserver import Response
        from claude_usage.service.exporter import exposition

        body, content_type = exposition(metrics, request.headers.get("accept"))
        return Response(200, body, content_type)

    def usage_route(request: Request) -> Response:
        return _usage(accounts, stale_after)

    def page_route(request: Request) -> Response:
        return _page(accounts, interval_s)

    return {"/metrics": metrics_route, "/api/usage": usage_route, "/": page_route}


def _usage(accounts: Sequence[ServedAccount], stale_after: float) -> Response:
    """The `--json` document (one account), or `{"accounts": [...]}` (several); 503 while nothing is known."""
    import json

    from claude_usage.adapters.httpserver import Response

    documents = [_document(account, stale_after) for account in accounts]
    status = 200 if any("windows" in document for document in documents) else 503
    if len(documents) == 1:
        document = documents[0]
    else:
        document = {"accounts": [{"name": a.name, **d} for a, d in zip(accounts, documents, strict=True)]}
    body = json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"
    return Response(status, body, "application/json")


_ERROR_TYPES = {"auth": ("AuthError", 3), "rate_limited": ("RateLimited", 4), "unavailable": ("UnavailableError", 4)}


def _document(account: ServedAccount, stale_after: float) -> dict[str, Any]:
    from claude_usage.commands.jsondoc import snapshot_json

    view = account.poller.view
    found: dict[str, Any] = {}
    known = view.snapshot is not None and not view.snapshot.empty
    if view.snapshot is not None and known:
        now = account.poller.clock.now()
        found.update(snapshot_json(view.snapshot, now, max_age_s=stale_after, insights=view.insights))
    if view.problem is not None or not known:
        kind, code = _ERROR_TYPES.get(view.problem_kind or "unavailable", ("UnavailableError", 4))
        kind = view.problem_type or kind  # the exact exception: TokenExpired, NotLoggedIn, RateLimited, ...
        message = view.problem or "no reading yet: the first poll has not answered"
        found["error"] = {"type": kind, "message": message, "exit_code": code}
    return found


def _page(accounts: Sequence[ServedAccount], interval_s: float) -> Response:
    from claude_usage.adapters.httpserver import Response
    from claude_usage.ui.page import CSP, PageAccount, render

    now = accounts[0].poller.clock.now() if accounts else None
    if now is None:
        return Response(503, b"no accounts\n")
    shown = [PageAccount(a.name, a.poller.view, _rows(a, now)) for a in accounts]
    text = render(shown, now=now, tz=_local_zone(), refresh_s=int(min(300.0, max(5.0, interval_s))))
    return Response(200, text.encode(), "text/html; charset=utf-8", (("Content-Security-Policy", CSP),))


def _rows(account: ServedAccount, now: Any) -> list[Any]:
    """The account's history rows of the last weeks (none when there is no history or it is busy)."""
    from datetime import timedelta

    from claude_usage.errors import ClaudeUsageError

    reader, snapshot = account.poller.reader, account.poller.view.snapshot
    if reader.history is None or snapshot is None:
        return []
    try:
        return reader.history.rows(account=snapshot.account, since=now - timedelta(days=HISTORY_DAYS))
    except ClaudeUsageError:
        return []


def _local_zone() -> tzinfo:
    from datetime import datetime

    zone = datetime.now().astimezone().tzinfo
    assert zone is not None  # noqa: S101 - astimezone() always sets one
    return zone


class _StopSignals:
    """Inside, SIGTERM, SIGINT and SIGHUP set the event (the main loop then ends cleanly); restored after."""

    def __enter__(self) -> threading.Event:
        import signal
        import threading

        self.event = threading.Event()
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for name in ("SIGTERM", "SIGINT", "SIGHUP"):
                number = getattr(signal, name, None)
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handle)
        return self.event

    def _handle(self, signum: int, frame: object) -> None:
        self.event.set()

    def __exit__(self, *exc: object) -> None:
        import signal

        for number, action in self._previous.items():
            signal.signal(number, action)
