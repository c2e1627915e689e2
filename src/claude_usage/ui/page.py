"""The page `claude-usage serve` shows a person at `/`: each account's limits and a chart of the weeks.

Plain HTML with inline CSS and server-drawn inline SVG (no script, no font, no CDN: it works offline and under
a Content-Security-Policy of `default-src 'none'`); it reloads itself with a meta refresh. Pure: callers pass
`now`, the time zone, the views and the history rows. Standard library only (no Rich: this is the web face).
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING, NamedTuple

from claude_usage.core import fmt
from claude_usage.core.summary import window_title

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, tzinfo

    from claude_usage.adapters.history import Row
    from claude_usage.core.model import Window
    from claude_usage.service.poller import PollView

CHART_DAYS = 28
CHART_W, CHART_H = 720, 120
PAD_L, PAD_B, PAD_T = 34, 18, 6
GAP = timedelta(hours=3)  # no sighting for this long: the line breaks rather than guess
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_STYLE = """
:root{color-scheme:light dark;--fg:#1d1d1f;--bg:#fff;--dim:#6e6e73;--grid:#d9d9de;--calm:#2e8b57;
--warning:#c98a00;--alarm:#c0392b;--line:#3867d6}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8ed;--bg:#141416;--dim:#98989d;--grid:#3a3a3c;--line:#7aa2ff}}
body{font:14px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:1.5rem auto;max-width:760px;
padding:0 1rem}
h1{font-size:1.3rem;margin:0 0 .2rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
.dim{color:var(--dim)}.problem{color:var(--alarm)}
table{border-collapse:collapse;width:100%}td{padding:.25rem .5rem .25rem 0;vertical-align:middle}
td.pct{font-variant-numeric:tabular-nums;font-weight:600;text-align:right;width:4.5rem}
.bar{background:var(--grid);border-radius:3px;height:.55rem;width:10rem}.bar>i{display:block;height:100%;
border-radius:3px}.calm{background:var(--calm)}.warning{background:var(--warning)}.alarm{background:var(--alarm)}
svg{display:block;width:100%;height:auto}svg text{font:10px system-ui,sans-serif;fill:var(--dim)}
.chart h3{font-size:.9rem;font-weight:500;margin:1rem 0 .2rem}
"""


class PageAccount(NamedTuple):
    """One account on the page: its name, the poller's view, and its history rows of the last weeks."""

    name: str
    view: PollView
    rows: Sequence[Row] = ()


def render(accounts: Sequence[PageAccount], *, now: datetime, tz: tzinfo, refresh_s: int) -> str:
    """The whole page, as text."""
    body = [_account(account, now, tz, several=len(accounts) > 1) for account in accounts]
    stamp = now.astimezone(tz)
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{int(refresh_s)}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Claude usage</title><style>{_STYLE}</style></head><body>"
        "<h1>Claude usage</h1>"
        f'<p class="dim">as of {stamp:%Y-%m-%d %H:%M:%S %Z}; refreshes every {int(refresh_s)} s · '
        '<a href="api/usage">JSON</a> · <a href="metrics">metrics</a></p>' + "".join(body) + "</body></html>\n"
    )


def _account(account: PageAccount, now: datetime, tz: tzinfo, *, several: bool) -> str:
    view = account.view
    parts = [f'<section class="account" data-account="{escape(account.name)}">']
    title = escape(account.name) if several else "Limits"
    plan = f' <span class="dim">{escape(view.plan)}</span>' if view.plan else ""
    parts.append(f"<h2>{title}{plan}</h2>")
    if view.problem:
        parts.append(f'<p class="problem">{escape(view.problem)}</p>')
    snapshot = view.snapshot
    if snapshot is None:
        parts.append('<p class="dim">No reading yet.</p></section>')
        return "".join(parts)
    if snapshot.fetched_at is not None:
        age = fmt.age(max(0.0, (now - snapshot.fetched_at).total_seconds()))
        parts.append(f'<p class="dim">updated {escape(age)}</p>')
    binding = view.insights.binding if view.insights else None
    if binding is not None:
        parts.append(f"<p>Binding: <b>{escape(binding.label)}</b> ({escape(binding.reason)})</p>")
    parts.append("<table>")
    for window in snapshot.usage.windows:
        parts.append(_limit_row(window, view, now, tz))
    parts.append("</table>")
    extra = snapshot.usage.extra_usage
    if extra is not None:
        parts.append(f'<p>Usage credits: <span class="credits">{escape(fmt.extra_usage_text(extra))}</span></p>')
    by_key: dict[str, list[Row]] = {}
    for row in account.rows:
        by_key.setdefault(row.key, []).append(row)
    for key, rows in by_key.items():
        parts.append(_chart(key, rows, now, tz))
    parts.append("</section>")
    return "".join(parts)


def _limit_row(window: Window, view: PollView, now: datetime, tz: tzinfo) -> str:
    key = escape(window.key)
    if window.reset_passed:
        value, width, level = "—", 0.0, "calm"
    else:
        value, width, level = fmt.percent_text(window.utilization), fmt.bar_fraction(window.utilization), ""
        level = fmt.level(window.utilization)
    notes = [fmt.reset_text(window, now, tz)]
    insights = view.insights
    pace = insights.pace.get(window.key) if insights else None
    if pace is not None:
        notes.append(pace.text())
    forecast = insights.forecasts.get(window.key) if insights else None
    said = forecast.text(tz, now) if forecast is not None else None
    if said:
        notes.append(said)
    return (
        f'<tr data-limit="{key}"><td>{escape(window.label)}</td>'
        f'<td class="pct" data-limit="{key}">{escape(value)}</td>'
        f'<td><div class="bar"><i class="{level}" style="width:{width * 100:.1f}%"></i></div></td>'
        f'<td class="dim">{escape(" · ".join(notes))}</td></tr>'
    )


def _chart(key: str, rows: Sequence[Row], now: datetime, tz: tzinfo) -> str:
    """A line per stretch of sightings of one limit over the last weeks, 0-100 %, days and weeks marked."""
    start = now - timedelta(days=CHART_DAYS)
    span = (now - start).total_seconds()
    plot_w, plot_h = CHART_W - PAD_L - 4, CHART_H - PAD_B - PAD_T

    def x(when: datetime) -> float:
        return PAD_L + max(0.0, min(1.0, (when - start).total_seconds() / span)) * plot_w

    def y(pct: float) -> float:
        return PAD_T + (1 - max(0.0, min(100.0, pct)) / 100) * plot_h

    out = [
        f'<div class="chart" data-limit="{escape(key)}"><h3>{escape(window_title(key))}</h3>',
        f'<svg viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-label="{escape(window_title(key))}, last '
        f'{CHART_DAYS} days"><title>{escape(window_title(key))}: the last {CHART_DAYS} days</title>',
    ]
    for pct in (0, 50, 80, 100):
        out.append(
            f'<line x1="{PAD_L}" x2="{CHART_W - 4}" y1="{y(pct):.1f}" y2="{y(pct):.1f}" stroke="var(--grid)"'
            f' stroke-width="{1 if pct in (0, 100) else 0.5}"/>'
            f'<text x="{PAD_L - 4}" y="{y(pct) + 3:.1f}" text-anchor="end">{pct}%</text>'
        )
    day = start.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while day < now:
        at = x(day)
        monday = day.weekday() == 0
        out.append(
            f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{PAD_T}" y2="{PAD_T + plot_h}" stroke="var(--grid)"'
            f' stroke-width="{0.8 if monday else 0.3}"/>'
        )
        if monday:
            out.append(f'<text x="{at:.1f}" y="{CHART_H - 5}" text-anchor="middle">{day:%b} {day.day}</text>')
        day = (day + timedelta(days=1, hours=2)).replace(hour=0)  # a DST day is 23 or 25 hours long
    for line in stretches(rows, start):
        points = " ".join(f"{x(at):.1f},{y(pct):.1f}" for at, pct in line)
        out.append(
            f'<polyline points="{points}" fill="none" stroke="var(--line)" stroke-width="1.5"'
            ' stroke-linejoin="round" stroke-linecap="round"/>'
        )
    out.append("</svg></div>")
    return "".join(out)


def stretches(rows: Sequence[Row], start: datetime) -> list[list[tuple[datetime, float]]]:
    """The rows as points (first and last sighting of each value), split where sightings are far apart."""
    points: list[tuple[datetime, float]] = []
    for row in sorted(rows, key=lambda r: r.observed_at):
        if row.last_seen_at < start:
            continue
        points.append((max(row.observed_at, start), row.utilization))
        if row.last_seen_at > row.observed_at:
            points.append((row.last_seen_at, row.utilization))
    points.sort(key=lambda p: p[0])
    lines: list[list[tuple[datetime, float]]] = []
    for point in points:
        if lines and point[0] - lines[-1][-1][0] <= GAP:
            lines[-1].append(point)
        else:
            lines.append([point])
    return [line if len(line) > 1 else [*line, line[0]] for line in lines]
