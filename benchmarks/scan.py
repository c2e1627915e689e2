"""`claude-usage report` on a generated config dir, beside ccusage, every total checked against the oracle.

    python -m benchmarks.scan [--size 100M|1G] [--dir DIR] [--runs 10] [--appends 5] [--cold-runs 3] [--brace-heavy]
                              [--ccusage PATH]

Generates (once, kept under DIR) a realistic config dir of the given size with benchmarks/transcripts_corpus.py,
whose oracle knows every exact total. Then, each as a whole process (`claude-usage report daily --json`,
the console script next to this interpreter), with a fresh data dir for the first:

- cold: an empty index and the page cache dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`; said when
  not permitted), --cold-runs times alternating with ccusage (median, range), and the peak memory, sampled
  every 5 ms: the process tree's PSS (the workers count, pages they share once) and the largest RSS;
- warm: re-runs with nothing changed (median, p95 of --runs);
- append: 1 MB of new turns appended to a session file, then a run (median of --appends);
- exact: the daily report's (day, model) sums, the project and model reports, the session report and
  the bad-line count against the oracle, after the cold run and again after the appends.

ccusage (the Rust binary of ccusage 20, found with --ccusage, on PATH or in ./node_modules/.bin; install
it with `npm install ccusage@20.0.24`) runs on the same corpus with `daily --json --offline` (never the
network): cold (alternating with ours) and warm (it keeps no index: every run reads it all); its totals are
compared with the oracle too. Prints numbers;
asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks._common import LEAKY_ENV, console_script, ms, print_machine, print_table, summarize
from benchmarks.transcripts_corpus import (
    BRACE_HEAVY_CODE_SHARE,
    CODE_SHARE,
    GENERATOR_VERSION,
    extend,
    generate,
    merge,
)
from claude_usage.adapters.pricing import load_table
from claude_usage.core.pricing import COST_SCALE

SIZES = {"10M": 10 * 1024**2, "100M": 100 * 1024**2, "1G": 1024**3}


def drop_caches() -> str | None:
    """Drop the page cache; None when done, else why not."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError as exc:
        return f"page cache not dropped ({exc.strerror or exc}): the 'cold' runs read from a warm cache"
    return None


def _tree_rss_kb(pid: int) -> tuple[int, int]:
    """(sum of PSS over the process and its descendants, the largest VmRSS) in KiB; 0s once gone.

    PSS (proportional set size) counts a page shared by forked workers once in all: the tree's memory."""
    total = largest = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    largest = max(largest, int(line.split()[1]))
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total, largest


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak PSS of the process tree in KiB, peak RSS of its largest process in KiB, stdout)."""
    peak = [0, 0]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            total, largest = _tree_rss_kb(proc.pid)
            peak[0], peak[1] = max(peak[0], total), max(peak[1], largest)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {err.decode()[-500:]}")
    return wall, peak[0], peak[1], out.decode()


def _ends_a_line(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def check_ours(env: dict[str, str], oracle: dict[str, Any]) -> list[str]:
    """Differences between our reports and the oracle (empty: exact)."""
    problems: list[str] = []

    def report(kind: str) -> dict[str, Any]:
        argv = [str(console_script()), "report", kind, "--json", "--timezone", "UTC"]
        found: dict[str, Any] = json.loads(subprocess.run(argv, env=env, capture_output=True, check=True).stdout)
        return found

    def compare(name: str, expected: dict[str, list[int]], got: dict[str, list[float]]) -> None:
        exp = {k: [v[0], v[1], v[2], v[3], v[4] / COST_SCALE] for k, v in expected.items()}
        wrong = sorted(k for k in set(exp) | set(got) if exp.get(k) != got.get(k))
        if wrong:
            problems.append(f"{name}: {len(wrong)} differ, e.g. {wrong[0]}: {exp.get(wrong[0])} != {got.get(wrong[0])}")

    def sums(d: dict[str, Any], cost: str) -> list[float]:
        keys = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")
        return [*(d[k] for k in keys), d[cost]]

    daily = report("daily")
    got = {f"{r['period']}|{b['modelName']}": sums(b, "cost") for r in daily["daily"] for b in r["modelBreakdowns"]}
    compare("day × model", oracle["by_day_model"], got)
    for kind, key in (("project", "by_project"), ("model", "by_model")):
        compare(kind, oracle[key], {r["period"]: sums(r, "totalCost") for r in report(kind)[kind]})
    sessions = report("session")["session"]
    compare("session", oracle["by_session"], {f"{r['project']}|{r['period']}": sums(r, "totalCost") for r in sessions})
    compare("total", {"total": oracle["total"]}, {"total": sums(daily["totals"], "totalCost")})
    verbose = subprocess.run(
        [str(console_script()), "report", "--json", "--verbose"], env=env, capture_output=True, text=True, check=True
    ).stderr
    bad = next((line for line in verbose.splitlines() if "bad lines skipped" in line), "claude-usage: 0 bad")
    if int(bad.split()[1].replace(",", "")) != oracle["bad_lines"]:
        problems.append(f"bad lines: {bad.strip()} but the oracle has {oracle['bad_lines']}")
    return problems


def ccusage_totals(out: str, oracle: dict[str, Any]) -> str:
    """How ccusage's daily totals compare with the oracle, in percent per field."""
    totals = json.loads(out)["totals"]
    keys = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")
    parts = [f"{k[:-6]} {100 * (totals[k] - o) / o:+.2f}%" for k, o in zip(keys, oracle["total"][:4], strict=True)]
    cost = oracle["total"][4] / COST_SCALE
    parts.append(f"cost {100 * (totals['totalCost'] - cost) / cost:+.2f}%")
    return ", ".join(parts)


def find_ccusage(given: str | None) -> str | None:
    for candidate in (given, shutil.which("ccusage"), "node_modules/.bin/ccusage"):
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="100M")
    parser.add_argument(
        "--dir",
        default=os.path.join(tempfile.gettempdir(), "claude-usage-scan-bench"),
        help="where the corpus and indexes live",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=10, help="warm re-runs")
    parser.add_argument("--appends", type=int, default=5, help="1 MB appends, each followed by a run")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold runs of each, alternately (median)")
    parser.add_argument("--ccusage", help="the ccusage executable (default: on PATH or ./node_modules/.bin)")
    parser.add_argument(
        "--brace-heavy",
        action="store_true",
        help="tool results with ~2.2 braces per KB (real code: ~0.6): where the brace-to-brace search pays least",
    )
    args = parser.parse_args()
    print_machine()
    table = load_table()
    base = Path(args.dir)
    heavy = "-braces" if args.brace_heavy else ""
    corpus = base / f"corpus-{args.size}-{args.seed}-v{GENERATOR_VERSION}{heavy}"
    share = BRACE_HEAVY_CODE_SHARE if args.brace_heavy else CODE_SHARE
    oracle_file = corpus / "oracle.json"
    if not oracle_file.exists():
        shutil.rmtree(corpus, ignore_errors=True)
        started = time.perf_counter()
        oracle = generate(str(corpus / ".claude"), SIZES[args.size], args.seed, table, share).to_json()
        oracle_file.write_text(json.dumps(oracle))
        print(
            f"generated {oracle['bytes']:,} bytes in {oracle['files']} files in {time.perf_counter() - started:.1f} s"
        )
    oracle = json.loads(oracle_file.read_text())
    print(
        f"corpus:  {corpus} · {oracle['bytes']:,} bytes · {oracle['files']} files · {oracle['lines']:,} lines · "
        f"{oracle['usage_lines']:,} with usage · {oracle['bad_lines']} cut short"
    )
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV}
    env.update(HOME=str(home), TZ="UTC", CLAUDE_CONFIG_DIR=str(corpus / ".claude"))
    env["CLAUDE_USAGE_DATA_DIR"] = str(base / "data")
    ours = [str(console_script()), "report", "daily", "--json"]
    rows: list[list[str]] = []
    notes: list[str] = []

    ccusage = find_ccusage(args.ccusage)
    theirs = [ccusage, "daily", "--json", "--offline"] if ccusage else []
    cold_ours: list[tuple[float, int, int, str]] = []
    cold_theirs: list[tuple[float, int, int, str]] = []
    for _ in range(args.cold_runs):  # alternately, so that other work on the machine hits both alike
        shutil.rmtree(base / "data", ignore_errors=True)
        why = drop_caches()
        cold_ours.append(measure(ours, env))
        if theirs:
            drop_caches()
            cold_theirs.append(measure(theirs, env))
    if why:
        notes.append(why)
    for name, runs in (("ours", cold_ours), ("ccusage", cold_theirs)):
        if runs:
            stats = summarize([r[0] for r in runs])
            tree, largest = max(r[1] for r in runs) / 1024, max(r[2] for r in runs) / 1024
            rows.append(
                [
                    f"{name}: cold" + (" (empty index)" if name == "ours" else ""),
                    f"{stats.median:.2f} s ({stats.min:.2f}-{stats.max:.2f})",
                    f"{tree:.0f} / {largest:.0f} MiB",
                ]
            )
    problems = check_ours(env, oracle)
    warm = [measure(ours, env) for _ in range(args.runs)]
    stats = summarize([w[0] for w in warm])
    rss = max(w[1] for w in warm) / 1024
    rows.append(["ours: re-run, nothing changed", f"{ms(stats.median)} (p95 {ms(stats.p95)})", f"{rss:.0f} MiB"])

    projects = corpus / ".claude" / "projects"
    complete = [  # session files whose last line is ended (Claude Code is not writing one right now)
        f"{project}/{session}.jsonl"
        for project, session in sorted(k.split("|", 1) for k in oracle["by_session"])
        if _ends_a_line(projects / project / f"{session}.jsonl")
    ]
    appended = []
    if not complete:
        notes.append("no session file ends with a complete line: no appends measured")
    for n in range(args.appends if complete else 0):
        relpath = complete[n % len(complete)]
        done = int(oracle.get("appends", 0))  # a seed never used on this corpus: new responses only
        more = extend(str(corpus / ".claude"), relpath, 1024 * 1024, 1000 + done, table, share)
        oracle = {**merge(oracle, more), "appends": done + 1}
        oracle_file.write_text(json.dumps(oracle))
        appended.append(measure(ours, env))
    if appended:
        stats = summarize([a[0] for a in appended])
        rss = max(a[1] for a in appended) / 1024
        rows.append(["ours: after a 1 MB append", f"{ms(stats.median)} (p95 {ms(stats.p95)})", f"{rss:.0f} MiB"])
        problems += check_ours(env, oracle)

    if not theirs:
        notes.append("ccusage not found (install it with `npm install ccusage@20.0.24`): measured ours alone")
    else:
        warm = [measure(theirs, env) for _ in range(max(3, args.runs // 3))]
        stats = summarize([w[0] for w in warm])
        rows.append(["ccusage: warm (it re-reads all)", f"{ms(stats.median)} (p95 {ms(stats.p95)})", ""])
        notes.append(f"ccusage's daily totals vs the oracle: {ccusage_totals(warm[-1][3], oracle)}")
    print()
    print_table(["run", "wall", "peak memory (tree PSS / largest RSS)"], rows)
    print()
    for note in notes:
        print(f"note: {note}")
    print("exact: " + ("every total equals the oracle" if not problems else "DIFFERENCES: " + "; ".join(problems)))
    with contextlib.suppress(OSError):
        print(f"index: {os.path.getsize(base / 'data' / 'transcripts.sqlite3') / 1024**2:.1f} MiB")


if __name__ == "__main__":
    main()
