"""The index against the benchmark generator's exact oracle, on a small corpus, read inline and on two cores."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import timezone
from pathlib import Path

import pytest
from benchmarks.transcripts_corpus import Oracle, generate

from claude_usage.adapters.pricing import load_table
from claude_usage.adapters.transcripts import TranscriptIndex, config_roots, index_path, scan
from claude_usage.core.pricing import cost_units
from claude_usage.core.reports import UsageGroup, local_date
from tests.support.transcripts import env_for

SIZE = 12 * 1024 * 1024  # with seed 1: 10 files in 3 projects, 8 models, one line cut short


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Oracle]:
    """A generated config dir of about 12 MB and its oracle."""
    root = tmp_path_factory.mktemp("corpus") / ".claude"
    return root, generate(str(root), SIZE, seed=1, table=load_table())


def _groups(root: Path, workers: int) -> list[UsageGroup]:
    roots = config_roots(env_for(root))
    with TranscriptIndex(index_path(os.environ)) as index:
        index.update(roots, workers=workers)
        return index.groups(roots, by_file=True)


def _by(groups: list[UsageGroup], key: str) -> dict[object, tuple[int, int, int, int, int]]:
    """Sums (input, output, cache write, cache read, cost units) per UTC day and model, or per project."""
    table = load_table()
    sums: dict[object, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for g in groups:
        k: object = (local_date(g.first_us, timezone.utc).isoformat(), g.model) if key == "day" else g.project
        cost = cost_units(
            table.lookup(g.model),
            input_tokens=g.input_tokens,
            output_tokens=g.output_tokens,
            cache_write_5m=g.cache_write_5m,
            cache_write_1h=g.cache_write_1h,
            cache_read=g.cache_read,
            long_context=g.long_context,
        )
        for i, v in enumerate(
            (g.input_tokens, g.output_tokens, g.cache_write_5m + g.cache_write_1h, g.cache_read, cost)
        ):
            sums[k][i] += v
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in sums.items()}


def test_inline_scan_matches_the_oracle_per_day_and_model(corpus: tuple[Path, Oracle]) -> None:
    """Read in this process, every (UTC day, model) sum and cost equals the oracle's."""
    root, oracle = corpus
    expected = {k: s.as_tuple() for k, s in oracle.by_day_model.items()}
    assert expected == _by(_groups(root, workers=1), "day")


def test_parallel_chunked_scan_matches_the_oracle_per_project(
    corpus: tuple[Path, Oracle], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read by two worker processes in 64 KiB pieces, every project's sums and cost equal the oracle's."""
    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scan, "CHUNK_BYTES", 64 * 1024)
    root, oracle = corpus
    expected = {k: s.as_tuple() for k, s in oracle.by_project.items()}
    assert expected == _by(_groups(root, workers=2), "project")


def test_bad_lines_are_the_oracles(corpus: tuple[Path, Oracle]) -> None:
    """The index counts exactly the lines the generator cut short (one here)."""
    root, oracle = corpus
    roots = config_roots(env_for(root))
    with TranscriptIndex(index_path(os.environ)) as index:
        index.update(roots, workers=1)
        found = index.bad_lines(roots)[0]
    assert (1, 1) == (oracle.bad_lines, found)


def test_sums_by_local_day_equal_the_quarter_hours_cut_in_that_zone(corpus: tuple[Path, Oracle]) -> None:
    """Summed per day in Kolkata (+05:30) by the index, every (day, model) equals the quarter hours cut there."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Kolkata")
    root, _ = corpus
    roots = config_roots(env_for(root))
    with TranscriptIndex(index_path(os.environ)) as index:
        index.update(roots, workers=1)
        by_day = index.groups(roots, days_in=zone)
        by_quarter = index.groups(roots)

    def cut(groups: list[UsageGroup]) -> dict[tuple[str, str], int]:
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for g in groups:
            sums[(local_date(g.first_us, zone).isoformat(), g.model)] += g.input_tokens + g.output_tokens + g.cache_read
        return dict(sums)

    assert (cut(by_quarter), True) == (cut(by_day), len(by_day) < len(by_quarter))
