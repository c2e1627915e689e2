"""Prices: each family, the cache split, long context, the fallbacks, the table's checks and the update tool."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters.pricing import from_litellm, load_table, main, shipped_table_text
from claude_usage.core.pricing import (
    COST_SCALE,
    PriceTableError,
    Pricing,
    cost_units,
    is_long_context,
    normalise_model,
    parse_table,
)

MTOK = 1_000_000


def _cost(model: str, **tokens: int) -> float:
    """Dollars for these tokens of `model` (each count defaults to 0)."""
    counts = {"input_tokens": 0, "output_tokens": 0, "cache_write_5m": 0, "cache_write_1h": 0, "cache_read": 0}
    counts.update(tokens)
    long = bool(counts.pop("long_context", 0))
    return cost_units(load_table().lookup(model), **counts, long_context=long) / COST_SCALE


@pytest.mark.parametrize(
    ("model", "prices"),
    [
        ("claude-opus-4-6", (5, 25, 6.25, 10, 0.5)),
        ("claude-opus-4-5-20251101", (5, 25, 6.25, 10, 0.5)),
        ("claude-opus-4-1-20250805", (15, 75, 18.75, 30, 1.5)),
        ("claude-opus-4-20250514", (15, 75, 18.75, 30, 1.5)),
        ("claude-sonnet-4-6", (3, 15, 3.75, 6, 0.3)),
        ("claude-sonnet-4-5-20250929", (3, 15, 3.75, 6, 0.3)),
        ("claude-haiku-4-5-20251001", (1, 5, 1.25, 2, 0.1)),
        ("claude-3-5-haiku-20241022", (0.8, 4, 1, 1.6, 0.08)),
    ],
)
def test_each_family_is_priced_per_million_tokens(model: str, prices: tuple[float, ...]) -> None:
    """A million tokens of each kind costs the table's list price for the model."""
    fields = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read")
    assert prices == tuple(_cost(model, **{field: MTOK}) for field in fields)


def test_the_cache_split_prices_each_duration() -> None:
    """Cache writes are priced by duration: 5-minute at the write price, 1-hour at twice the input price."""
    pricing = load_table().lookup("claude-sonnet-4-6")
    units = cost_units(pricing, input_tokens=0, output_tokens=0, cache_write_5m=1000, cache_write_1h=3000, cache_read=0)
    assert (1000 * 3.75 + 3000 * 6) * COST_SCALE // MTOK == units


def test_long_context_prices_the_whole_request_higher() -> None:
    """An entry whose prompt is above 200,000 tokens is priced at the model's long-context rates."""
    assert (6, 22.5) == (
        _cost("claude-sonnet-4-5", input_tokens=MTOK, long_context=1),
        _cost("claude-sonnet-4-5", output_tokens=MTOK, long_context=1),
    )


def test_a_model_without_long_context_prices_keeps_its_rates() -> None:
    """A long prompt to a model with no long-context prices costs the usual rates."""
    assert 5 == _cost("claude-opus-4-6", input_tokens=MTOK, long_context=1)


def test_the_long_context_threshold_is_above_200k_prompt_tokens() -> None:
    """The prompt counts input, cache write and cache read tokens, and must exceed 200,000."""
    assert (False, True) == (is_long_context(100, 0, 199_900, 200_000), is_long_context(100, 1, 199_900, 200_000))


def test_synthetic_is_free_and_not_flagged() -> None:
    """`<synthetic>` costs nothing and is not flagged."""
    pricing = load_table().lookup("<synthetic>")
    assert (0.0, "free", False) == (_cost("<synthetic>", input_tokens=MTOK), pricing.status, pricing.flagged)


def test_a_model_missing_from_the_table_is_priced_by_its_family_and_flagged() -> None:
    """An unknown Opus is priced as the table's Opus and flagged as estimated."""
    pricing = load_table().lookup("claude-opus-5-preview")
    assert ("estimated", "claude-opus-4-8", True) == (pricing.status, pricing.priced_as, pricing.flagged)


def test_a_model_of_no_family_costs_nothing_and_is_flagged() -> None:
    """A model of no known family costs 0 and is flagged unpriced."""
    pricing = load_table().lookup("gpt-9")
    assert (Pricing("gpt-9", None, None, "unpriced"), 0.0) == (pricing, _cost("gpt-9", input_tokens=MTOK))


@pytest.mark.parametrize(
    ("model", "normal"),
    [
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-6[1m]", "claude-opus-4-6"),
        ("anthropic/claude-haiku-4-5", "claude-haiku-4-5"),
    ],
)
def test_provider_ids_are_normalised_to_the_tables(model: str, normal: str) -> None:
    """Bedrock, Vertex, 1M-context and provider-prefixed ids find the table's model, unflagged."""
    assert (normal, "exact") == (normalise_model(model), load_table().lookup(model).status)


def _table(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(shipped_table_text())
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": ""}, "$.version"),
        ({"models": {"claude-x": {"input": 1}}}, "$.models['claude-x'].output"),
        ({"models": {"claude-x-20250101": {}}}, "stored normalised"),
        ({"families": {"opus": "claude-nope"}}, "$.families['opus']"),
        (
            {
                "models": {
                    "claude-x": {
                        "input": 0.123456,
                        "output": 1,
                        "cache_write_5m": 1,
                        "cache_write_1h": 1,
                        "cache_read": 1,
                    }
                }
            },
            "at most 4 decimals",
        ),
    ],
)
def test_a_malformed_table_is_refused_naming_the_member(changes: dict[str, Any], message: str) -> None:
    """parse_table names the member that is wrong."""
    with pytest.raises(PriceTableError, match=message.replace("$", r"\$").replace("[", r"\[").replace(".", r"\.")):
        parse_table(_table(**changes))


def test_the_check_tool_accepts_the_shipped_table() -> None:
    """`python -m claude_usage.adapters.pricing check` validates the shipped table and lists its models."""
    out = subprocess.run(
        [sys.executable, "-m", "claude_usage.adapters.pricing", "check"], capture_output=True, text=True, check=False
    )
    assert (0, True) == (out.returncode, "claude-opus-4-6: input=5 output=25" in out.stdout)


def test_the_check_tool_refuses_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check FILE` on a malformed table exits 2 naming the problem."""
    bad = tmp_path / "pricing.json"
    bad.write_text(json.dumps(_table(version=7)))
    assert (2, True) == (main(["check", str(bad)]), "$.version" in capsys.readouterr().err)


def test_a_litellm_file_updates_the_table() -> None:
    """from-litellm turns per-token prices into per-million ones, 1 h writes at twice input, tiers kept."""
    litellm = {
        "claude-sonnet-9-20300101": {
            "litellm_provider": "anthropic",
            "input_cost_per_token": 4e-06,
            "output_cost_per_token": 2e-05,
            "cache_creation_input_token_cost": 5e-06,
            "cache_read_input_token_cost": 4e-07,
            "input_cost_per_token_above_200k_tokens": 8e-06,
            "output_cost_per_token_above_200k_tokens": 3e-05,
            "cache_creation_input_token_cost_above_200k_tokens": 1e-05,
            "cache_read_input_token_cost_above_200k_tokens": 8e-07,
        },
        "bedrock/claude-sonnet-9": {"litellm_provider": "bedrock", "input_cost_per_token": 1.0},
    }
    merged = parse_table(from_litellm(litellm, json.loads(shipped_table_text())))
    found = merged.models["claude-sonnet-9"]
    assert ((40000, 200000, 50000, 80000, 4000), 160000) == (
        tuple(found.base),
        found.long_context.cache_write_1h if found.long_context else 0,
    )
