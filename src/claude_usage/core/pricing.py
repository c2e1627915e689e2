"""API list prices and what a usage entry would have cost: the table's rules, pure.

The table itself is data (`claude_usage/data/pricing.json`, read by adapters/pricing.py); this module
checks it (`parse_table`), finds a model's prices (`PriceTable.lookup`) and prices tokens (`cost_units`).

Money is exact: a price is held as an integer number of PRICE_SCALE-ths of a dollar per million tokens,
so a cost is `tokens × price`, an integer in COST_SCALE-ths of a dollar (1e-10 USD). Sums of integers
do not depend on their order, so every report view gives the same grand total to the last digit;
`usd(units)` turns the sum into dollars once, for display.

Rules (docs/transcripts.md, "Cost"):
- a model is found by its exact id, else by its id normalised (a provider prefix such as
  `us.anthropic.`, a `-v1:0` or `@20250929` suffix, `[1m]`, and a `-20250929` date are dropped);
- not found: priced as its family's model (`opus`, `sonnet`, `haiku` anywhere in the id) and flagged
  `estimated`; no family: zero cost, flagged `unpriced` (never silently zero);
- free models (`<synthetic>`) cost nothing and are not flagged;
- long context: an entry whose prompt (input + cache write + cache read) is above the threshold
  (200,000 tokens) is priced, all of it, at the model's long-context prices where the model has them
  (Anthropic's rule; ccusage applies the threshold to each field alone);
- cache writes are priced by duration: the 5-minute and the 1-hour price; tokens without the split are
  5-minute writes.

Imports only the standard library's value modules.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

PRICE_SCALE = 10_000  # a price is an integer number of 1/10,000 USD per million tokens
COST_SCALE = PRICE_SCALE * 1_000_000  # a cost is an integer number of 1e-10 USD
PRICE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
DEFAULT_LONG_CONTEXT_THRESHOLD = 200_000

_PREFIX = re.compile(r"^.*?(?=claude-)")
_SUFFIXES = (
    re.compile(r"-v\d+(?::\d+)?$"),  # Bedrock: claude-sonnet-4-5-20250929-v1:0
    re.compile(r"@\d{8}$"),  # Vertex: claude-sonnet-4-5@20250929
    re.compile(r"\[1m\]$"),  # Claude Code's 1M-context marker
    re.compile(r"-\d{8}$"),  # a release date
)


class PriceTableError(ValueError):
    """The price table is malformed; the message names the path of the bad member."""


class Prices(NamedTuple):
    """One price list: integers in PRICE_SCALE-ths of a dollar per million tokens."""

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int


class ModelPrices(NamedTuple):
    """A model's prices, with its long-context prices where it has them."""

    base: Prices
    long_context: Prices | None = None


class Pricing(NamedTuple):
    """How a model id was priced: the prices used, the table entry they came from, and how sure we are.

    `status` is "exact" (the id or its normalised form is in the table), "free", "estimated" (priced as
    its family's model, `priced_as`) or "unpriced" (no family: zero cost).
    """

    model: str
    prices: ModelPrices | None
    priced_as: str | None
    status: str

    @property
    def flagged(self) -> bool:
        """True when the cost shown is a guess or missing (estimated or unpriced)."""
        return self.status in ("estimated", "unpriced")


class PriceTable(NamedTuple):
    """The parsed table: models by id, family fallbacks, free models, the long-context threshold."""

    version: str
    models: dict[str, ModelPrices]
    families: dict[str, str]
    free: frozenset[str]
    long_context_threshold: int = DEFAULT_LONG_CONTEXT_THRESHOLD

    def lookup(self, model: str) -> Pricing:
        """How `model` is priced (see the module's rules); never raises."""
        if model in self.free:
            return Pricing(model, None, None, "free")
        found = self.models.get(model)
        if found is not None:
            return Pricing(model, found, model, "exact")
        normal = normalise_model(model)
        found = self.models.get(normal)
        if found is not None:
            return Pricing(model, found, normal, "exact")
        lowered = model.lower()
        for family, target in self.families.items():
            if family in lowered:
                return Pricing(model, self.models[target], target, "estimated")
        return Pricing(model, None, None, "unpriced")


def normalise_model(model: str) -> str:
    """The model id without provider prefix, version suffix, 1M marker or release date (lower case)."""
    text = _PREFIX.sub("", model.strip().lower(), count=1)
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            stripped = suffix.sub("", text)
            if stripped != text:
                text, changed = stripped, True
    return text


def cost_units(
    pricing: Pricing,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_5m: int,
    cache_write_1h: int,
    cache_read: int,
    long_context: bool = False,
) -> int:
    """The cost of these tokens in COST_SCALE-ths of a dollar (0 for free and unpriced models).

    `long_context` says the tokens come from entries whose prompt was above the table's threshold.
    """
    found = pricing.prices
    if found is None:
        return 0
    prices = found.long_context if long_context and found.long_context is not None else found.base
    return (
        input_tokens * prices.input
        + output_tokens * prices.output
        + cache_write_5m * prices.cache_write_5m
        + cache_write_1h * prices.cache_write_1h
        + cache_read * prices.cache_read
    )


def usd(units: int) -> float:
    """Cost units (COST_SCALE-ths of a dollar) as dollars."""
    return units / COST_SCALE


def is_long_context(input_tokens: int, cache_write: int, cache_read: int, threshold: int) -> bool:
    """True when a request's prompt (input + cache write + cache read tokens) is above `threshold`."""
    return input_tokens + cache_write + cache_read > threshold


def parse_table(raw: object) -> PriceTable:
    """The table from its JSON document; PriceTableError naming the member for anything malformed."""
    if not isinstance(raw, dict):
        raise PriceTableError("$: expected an object")
    version = raw.get("version")
    if not isinstance(version, str) or not version:
        raise PriceTableError("$.version: expected a non-empty string (the date the prices were read)")
    threshold = raw.get("long_context_threshold", DEFAULT_LONG_CONTEXT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
        raise PriceTableError("$.long_context_threshold: expected a positive integer")
    models_raw = raw.get("models")
    if not isinstance(models_raw, dict) or not models_raw:
        raise PriceTableError("$.models: expected a non-empty object")
    models: dict[str, ModelPrices] = {}
    for name, entry in models_raw.items():
        path = f"$.models[{name!r}]"
        if normalise_model(name) != name:
            raise PriceTableError(f"{path}: ids are stored normalised, as {normalise_model(name)!r}")
        if not isinstance(entry, dict):
            raise PriceTableError(f"{path}: expected an object")
        unknown = set(entry) - {*PRICE_FIELDS, "long_context"}
        if unknown:
            raise PriceTableError(f"{path}: unknown member {sorted(unknown)[0]!r}")
        long_raw = entry.get("long_context")
        models[name] = ModelPrices(
            _prices(entry, path),
            None if long_raw is None else _prices(long_raw, f"{path}.long_context"),
        )
    families_raw = raw.get("families", {})
    if not isinstance(families_raw, dict):
        raise PriceTableError("$.families: expected an object")
    families: dict[str, str] = {}
    for family, target in families_raw.items():
        if not isinstance(target, str) or target not in models:
            raise PriceTableError(f"$.families[{family!r}]: {target!r} is not a model of the table")
        families[family.lower()] = target
    free_raw = raw.get("free", [])
    if not isinstance(free_raw, list) or not all(isinstance(name, str) for name in free_raw):
        raise PriceTableError("$.free: expected a list of model ids")
    return PriceTable(version, models, families, frozenset(free_raw), threshold)


def _prices(entry: object, path: str) -> Prices:
    if not isinstance(entry, dict):
        raise PriceTableError(f"{path}: expected an object")
    values = [_price(entry.get(name), f"{path}.{name}") for name in PRICE_FIELDS]
    unknown = set(entry) - set(PRICE_FIELDS) - {"long_context"}
    if unknown:
        raise PriceTableError(f"{path}: unknown member {sorted(unknown)[0]!r}")
    return Prices(*values)


def _price(value: object, path: str) -> int:
    """A price in USD per million tokens (at most 4 decimals) as an integer in PRICE_SCALE-ths."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PriceTableError(f"{path}: expected a number of USD per million tokens")
    try:
        scaled = Decimal(repr(value)) * PRICE_SCALE
    except InvalidOperation:
        raise PriceTableError(f"{path}: {value!r} is not a finite number") from None
    if not scaled.is_finite() or scaled < 0 or scaled != scaled.to_integral_value():
        raise PriceTableError(f"{path}: {value!r} is not a non-negative price with at most 4 decimals")
    return int(scaled)
