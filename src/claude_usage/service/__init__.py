"""Wires the adapters to the core's decisions, per account.

`fetch` (one request, with the retry policy), `sources` (the free sources behind one seam), `reader` (one
account's freshest reading within the shared budget) and `poller` (the headless poll loop and its change
events). Imports no Rich; httpx only through `adapters.api`.
"""
