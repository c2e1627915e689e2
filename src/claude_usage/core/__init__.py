"""The pure core: reply model and parsing, formatting, thresholds, budget maths.

Nothing here does I/O or reads a clock, the environment or the network; it imports no Rich, httpx or
sqlite3. Callers pass `now` (an aware datetime) and the local time zone where one is needed.
"""
