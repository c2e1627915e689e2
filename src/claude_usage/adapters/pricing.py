"""The shipped price table (`claude_usage/data/pricing.json`) and the maintainer's tool to check and update it.

No network, ever: the table ships in the package. To update it (docs/transcripts.md, "Updating the prices"):

    python -m claude_usage.adapters.pricing check [FILE]          # validate; print each model's prices
    python -m claude_usage.adapters.pricing from-litellm LITELLM.json [--base FILE]
        # print a new table: the anthropic entries of a LiteLLM price file merged over FILE's models

`from-litellm` reads a file the maintainer downloaded (e.g. from a `litellm` wheel); it writes to stdout so
that the change is reviewed as a diff before it replaces the shipped file.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Any

from claude_usage.core.pricing import PRICE_FIELDS, PRICE_SCALE, PriceTable, PriceTableError, parse_table
from claude_usage.errors import CommandLineError

if TYPE_CHECKING:
    from collections.abc import Sequence

_CACHE: dict[str, PriceTable] = {}


def shipped_table_text() -> bytes:
    """The bytes of the price table shipped in the package."""
    import os

    from claude_usage import data

    with open(os.path.join(os.path.dirname(data.__file__), "pricing.json"), "rb") as f:
        return f.read()


def load_table(path: str | None = None) -> PriceTable:
    """The shipped table (cached), or the one at `path`; CommandLineError for a malformed file."""
    key = path or ""
    if key in _CACHE:
        return _CACHE[key]
    where = path or "the shipped pricing.json"
    try:
        if path is None:
            raw = json.loads(shipped_table_text())
        else:
            with open(path, "rb") as f:
                raw = json.loads(f.read())
        table = parse_table(raw)
    except OSError as exc:
        raise CommandLineError(f"cannot read {where}: {exc.strerror or exc}") from exc
    except (ValueError, PriceTableError) as exc:
        raise CommandLineError(f"{where}: {exc}") from exc
    _CACHE[key] = table
    return table


_LITELLM_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_write_5m": "cache_creation_input_token_cost",
    "cache_read": "cache_read_input_token_cost",
}


def from_litellm(litellm: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """`base` with every undated `claude-*` entry of a LiteLLM price file (provider anthropic) put in.

    Prices per token become USD per million tokens; the 1-hour cache write is 2 × input (see the
    shared doc: LiteLLM's own 1 h field is wrong for one model); `…_above_200k_tokens` prices become
    `long_context`. Models of `base` that LiteLLM lacks are kept.
    """
    from claude_usage.core.pricing import normalise_model

    found: dict[str, tuple[bool, dict[str, Any]]] = {}  # name -> (from an undated key, prices)
    for key, entry in sorted(litellm.items()):
        if not isinstance(entry, dict) or entry.get("litellm_provider") != "anthropic":
            continue
        name = normalise_model(key)
        undated = key == name
        if not name.startswith("claude-") or (name in found and found[name][0] and not undated):
            continue
        try:
            prices = _litellm_prices(entry, "")
        except (KeyError, TypeError):
            continue
        with contextlib.suppress(KeyError, TypeError):  # no long-context prices
            prices["long_context"] = _litellm_prices(entry, "_above_200k_tokens")
        found[name] = (undated, prices)
    models: dict[str, Any] = dict(base.get("models", {}))
    models.update((name, prices) for name, (_, prices) in sorted(found.items()))
    return {**base, "models": models}


def _litellm_prices(entry: dict[str, Any], suffix: str) -> dict[str, Any]:
    """Our price fields from a LiteLLM entry's per-token fields (KeyError/TypeError when one is missing)."""
    prices: dict[str, Any] = {field: _per_million(entry[source + suffix]) for field, source in _LITELLM_FIELDS.items()}
    prices["cache_write_1h"] = prices["input"] * 2
    return {field: prices[field] for field in PRICE_FIELDS}


def _per_million(per_token: object) -> float | int:
    if isinstance(per_token, bool) or not isinstance(per_token, (int, float)):
        raise TypeError(per_token)
    value = round(per_token * 1_000_000 * PRICE_SCALE) / PRICE_SCALE
    return int(value) if value == int(value) else value


def _describe(table: PriceTable) -> str:
    lines = [f"price table {table.version}: {len(table.models)} models, USD per million tokens"]
    for name, prices in table.models.items():
        base = " ".join(f"{f}={getattr(prices.base, f) / PRICE_SCALE:g}" for f in PRICE_FIELDS)
        extra = " (long context priced)" if prices.long_context else ""
        lines.append(f"  {name}: {base}{extra}")
    lines.append("  families: " + ", ".join(f"{k} -> {v}" for k, v in table.families.items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The maintainer's tool; returns the exit status (2 for a malformed table)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m claude_usage.adapters.pricing", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    check = sub.add_parser("check", help="validate a table (default: the shipped one) and print it")
    check.add_argument("file", nargs="?", help="a pricing.json to check")
    merge = sub.add_parser("from-litellm", help="print a table updated from a LiteLLM price file")
    merge.add_argument("litellm", help="model_prices_and_context_window.json")
    merge.add_argument("--base", help="the table to start from (default: the shipped one)")
    args = parser.parse_args(argv)
    try:
        if args.action == "check":
            print(_describe(load_table(args.file)))
            return 0
        with open(args.litellm, "rb") as f:
            litellm = json.loads(f.read())
        base_bytes = shipped_table_text() if args.base is None else open(args.base, "rb").read()  # noqa: SIM115
        merged = from_litellm(litellm, json.loads(base_bytes))
        parse_table(merged)  # never print a table the program would refuse
    except CommandLineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, PriceTableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(merged, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
