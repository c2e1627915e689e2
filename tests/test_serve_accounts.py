"""`serve` with several accounts: each exported under its own name, the failing one beside the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from claude_usage.standin import Reply
from tests.support.accounts import REJECTED, Accounts, usage
from tests.support.serve import Served, wait_for


def _usage_of(server: Served) -> dict[str, Any] | None:
    status, _, body = server.get("/api/usage")
    if status != 200:
        return None
    found: dict[str, Any] = json.loads(body)
    names = [entry.get("name") for entry in found.get("accounts", [])]
    errors = [entry for entry in found.get("accounts", []) if "error" in entry]
    if any(entry["error"].get("type") == "UnavailableError" for entry in errors):
        return None  # a transient failure (a loaded CI machine): the poller retries within seconds
    return found if names == ["work", "personal"] and errors and len(errors) < 2 else None


def test_serve_exports_each_account_by_name(home: Path) -> None:
    """Two accounts, one rejected: /api/usage lists both in order and /metrics carries the answering one's numbers."""
    with Accounts(home, Reply(200, usage(61.0, 20.0)), REJECTED) as accounts:
        server = Served(*accounts.flags(), env=accounts.env())
        try:
            found = wait_for(lambda: _usage_of(server), what="both accounts")
            _, _, text = server.get("/metrics")
        finally:
            assert 0 == server.terminate()
    work, personal = found["accounts"]
    ratios = {
        (sample.labels["account"], sample.labels["limit"]): sample.value
        for family in text_string_to_metric_families(text.decode())
        if family.name == "claude_usage_utilization_ratio"
        for sample in family.samples
    }
    assert ("work", "personal", "TokenRejected") == (work["name"], personal["name"], personal["error"]["type"])
    assert 0.61 == ratios[("work", "five_hour")]
