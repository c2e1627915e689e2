"""The team pieces against the real thing: a Prometheus server scraping `serve`, promtool on the alerting
rules, and the Grafana dashboard's queries run by that Prometheus (Debian's `prometheus` package)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import urllib.parse
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from claude_usage.service.exporter import METRICS
from claude_usage.standin import StandIn
from tests.support.cli import write_credentials
from tests.support.serve import Served, get, wait_for

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "contrib" / "prometheus" / "claude-usage.rules.yml"
DASHBOARD = ROOT / "contrib" / "grafana" / "claude-usage.json"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None, reason="no prometheus binary (Debian's `prometheus` package; .ci/run installs it)"
)
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="no promtool (Debian's `prometheus` package; .ci/run installs it)"
)
SCRAPE_TOKEN = "prometheus-scrape-0123"
LABELS = 'instance="dev1:9464",job="claude-usage",account="default"'


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


@needs_promtool
def test_the_rules_pass_promtool_check() -> None:
    """`promtool check rules` accepts the alerting rules."""
    result = _promtool("check", "rules", str(RULES))
    assert (0, "SUCCESS: 6 rules found") == (result.returncode, result.stdout.strip().splitlines()[-1].strip())


def test_every_alert_waits_with_a_for_clause() -> None:
    """Each alert has a `for:` clause, so one odd scrape never pages anyone."""
    text = RULES.read_text()
    assert text.count("- alert:") == len(re.findall(r"^\s+for: \d+m$", text, re.MULTILINE))


RULE_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'claude_usage_utilization_ratio{{{labels},limit="seven_day"}}'
        values: '0.95x30'
      - series: 'claude_usage_reset_remaining_seconds{{{labels},limit="seven_day"}}'
        values: '7200-60x30'
      - series: 'claude_usage_utilization_ratio{{{labels},limit="five_hour"}}'
        values: '0.95x30'
      - series: 'claude_usage_reset_remaining_seconds{{{labels},limit="five_hour"}}'
        values: '1800-60x30'
      - series: 'claude_usage_problem{{{labels},kind="auth"}}'
        values: '0x5 1x25'
    alert_rule_test:
      - eval_time: 4m
        alertname: ClaudeUsageLimitNearlyUsedUp
        exp_alerts: []
      - eval_time: 10m
        alertname: ClaudeUsageLimitNearlyUsedUp
        exp_alerts:
          - exp_labels:
              {{severity: warning, instance: "dev1:9464", job: claude-usage, account: default, limit: seven_day}}
            exp_annotations:
              summary: "default on dev1:9464: seven_day at 95%"
              description: "The seven_day limit is above 90 % with more than an hour before it resets."
      - eval_time: 10m
        alertname: ClaudeUsageLoginProblem
        exp_alerts: []
      - eval_time: 25m
        alertname: ClaudeUsageLoginProblem
        exp_alerts:
          - exp_labels: {{severity: warning, instance: "dev1:9464", job: claude-usage, account: default, kind: auth}}
            exp_annotations:
              summary: "default on dev1:9464: no usable Claude Code login"
              description: "claude-usage cannot read the limits: run `claude` then /login on that machine."
"""


@needs_promtool
def test_the_rules_fire_as_documented(tmp_path: Path) -> None:
    """Above 90 % with over an hour left fires after 5 minutes (not with under an hour); a login problem after 15."""
    tests = tmp_path / "rules-test.yml"
    tests.write_text(RULE_TESTS.format(rules=json.dumps(str(RULES)), labels=LABELS))
    result = _promtool("test", "rules", str(tests))
    assert 0 == result.returncode, result.stdout + result.stderr


def _dashboard() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return found


def _queries() -> list[str]:
    return [target["expr"] for panel in _dashboard()["panels"] for target in panel["targets"]]


def test_the_dashboard_is_import_ready() -> None:
    """No fixed id; a datasource variable used by every panel and query; machine, account and limit variables."""
    dashboard = _dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert (None, "datasource", "prometheus") == (
        dashboard["id"],
        variables["datasource"]["type"],
        variables["datasource"]["query"],
    )
    assert {"instance", "account", "limit"} <= set(variables)
    sources = {json.dumps(panel["datasource"]) for panel in dashboard["panels"]}
    sources |= {json.dumps(t["datasource"]) for panel in dashboard["panels"] for t in panel["targets"]}
    assert {json.dumps({"type": "prometheus", "uid": "${datasource}"})} == sources


def test_the_dashboard_has_the_panels_a_team_needs() -> None:
    """Utilization over time, time to reset, the binding limit and the table of accounts near their limits."""
    titles = {panel["title"] for panel in _dashboard()["panels"]}
    assert {"Utilization by limit", "Time to reset", "Binding limit", "Accounts near their limits"} <= titles


def test_the_dashboard_asks_only_for_metrics_we_export() -> None:
    """Every claude_usage_ name in its queries and variables is one /metrics has."""
    texts = _queries() + [v.get("definition", "") for v in _dashboard()["templating"]["list"]]
    used = {name for text in texts for name in re.findall(r"claude_usage_[a-z_]+", text)}
    assert set() == used - set(METRICS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def prometheus(home: Path, standin: StandIn, tmp_path: Path) -> Iterator[tuple[str, Served]]:
    """serve (with a token) against the stand-in, and a Prometheus on loopback scraping it every second."""
    assert PROMETHEUS is not None
    write_credentials(home / ".claude")
    token = tmp_path / "token"
    token.write_text(SCRAPE_TOKEN + "\n")
    served = Served("--interval", "600", "--token-file", str(token), env={"CLAUDE_USAGE_API_URL": standin.url})
    config = tmp_path / "prometheus.yml"
    target = served.url.removeprefix("http://")
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{json.dumps(str(RULES))}]\n"
        "scrape_configs:\n"
        "  - job_name: claude-usage\n"
        f"    authorization: {{credentials_file: {json.dumps(str(token))}}}\n"
        f"    static_configs: [{{targets: [{json.dumps(target)}]}}]\n"
    )
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url, proc), timeout=60, what="Prometheus to be ready")
        yield url, served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        assert 0 == served.terminate()


def _ready(url: str, proc: subprocess.Popen[bytes]) -> bool | None:
    assert proc.poll() is None, "prometheus exited"
    try:
        return True if get(url + "/-/ready", timeout=2)[0] == 200 else None
    except OSError:
        return None


def _query(url: str, promql: str) -> list[dict[str, Any]]:
    status, _, body = get(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
    answer = json.loads(body)
    assert (200, "success") == (status, answer["status"]), body
    found: list[dict[str, Any]] = answer["data"]["result"]
    return found


def _by_limit(url: str, promql: str) -> dict[str, float] | None:
    found = {r["metric"]["limit"]: float(r["value"][1]) for r in _query(url, promql)}
    return found if len(found) == 3 else None


@needs_prometheus
def test_prometheus_scrapes_our_series_with_the_right_values(prometheus: tuple[str, Served]) -> None:
    """Prometheus's own HTTP API returns each limit's utilization, reset and binding as /api/usage has them."""
    url, served = prometheus
    ratio = wait_for(lambda: _by_limit(url, "claude_usage_utilization_ratio"), timeout=60, what="our series")
    document = served.json(headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    resets = _by_limit(url, "claude_usage_reset_timestamp_seconds")
    binding = _by_limit(url, "claude_usage_binding")
    expected = {w["key"]: w for w in document["windows"]}
    assert {k: w["utilization"] / 100 for k, w in expected.items()} == ratio
    assert {k: datetime.fromisoformat(w["resets_at"]).timestamp() for k, w in expected.items()} == resets
    bound = document["binding"]["key"] if document["binding"] else None
    assert {k: 1.0 if k == bound else 0.0 for k in expected} == binding
    (up,) = _query(url, 'up{job="claude-usage"}')
    assert ("1", "default") == (up["value"][1], _query(url, "claude_usage_account_info")[0]["metric"]["account"])


@needs_prometheus
def test_prometheus_loads_the_rules_and_runs_the_dashboards_queries(prometheus: tuple[str, Served]) -> None:
    """The rules load healthy in a real server, and every Grafana query runs there without an error."""
    url, _ = prometheus
    wait_for(lambda: _by_limit(url, "claude_usage_utilization_ratio"), timeout=60, what="our series")
    groups = wait_for(lambda: _evaluated_rules(url), timeout=30, what="the rules to be evaluated")
    assert {"ok"} == {rule["health"] for group in groups for rule in group["rules"]}
    for promql in _queries():
        _query(
            url,
            promql.replace("$instance", ".*").replace("$account", ".*").replace("$limit", ".*").replace("$near", "10"),
        )
    near = _query(url, _queries()[0].replace("$instance", ".*").replace("$account", ".*").replace("$near", "10"))
    assert {"five_hour", "seven_day", "seven_day_sonnet"} == {r["metric"]["limit"] for r in near}


def _evaluated_rules(url: str) -> list[dict[str, Any]] | None:
    status, _, body = get(url + "/api/v1/rules")
    groups: list[dict[str, Any]] = json.loads(body)["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    return (
        groups
        if status == 200 and rules and all(rule.get("lastEvaluation", "0001")[:4] != "0001" for rule in rules)
        else None
    )
