"""Screen rows as values: text parts with styles, laid out in fixed widths, rendered to Rich segments.

A `Row` is hashable and draws exactly one line of its width, so the live loop can compare this second's
rows with the last and render only those that differ; a `Cell` renders the same way wherever it appears,
so its segments can be kept (`Cells`) while, say, only the age beside a bar changes. `wrap` breaks long
text between ` · `-separated pieces, else between words, never leaving a separator at a line's end.
Text reaches the terminal without control characters (C0, DEL, C1): labels, notes and problems come
from servers. Imports Rich only; no printing here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from rich.style import Style

    StyleOf = Callable[[str], Style | None]  # a style's name to the console's Style ("" to None)

Part = tuple[str, str]  # some text and its style ("" for none)
SEPARATOR = " · "
ELLIPSIS = "…"

_CONTROLS: dict[int, None] = dict.fromkeys([*range(0x20), 0x7F, *range(0x80, 0xA0)])


def clean(text: str) -> str:
    """`text` without control characters (C0, DEL, C1): an escape sequence from a server never reaches the screen."""
    if text.isprintable():  # the common case, and a quick test: no control character is printable
        return text
    return text.translate(_CONTROLS)


class Cell(NamedTuple):
    """Parts laid out in `width` cells: cut with an ellipsis or padded with `fill` (None: their own width)."""

    parts: tuple[Part, ...]
    width: int | None = None
    right: bool = False
    fill: Part = (" ", "")

    def sized(self) -> list[Part]:
        """The parts, cleaned, cut or padded to the cell's width."""
        parts = [(clean(text), style) for text, style in self.parts]
        width = self.width
        if width is None:
            return [part for part in parts if part[0]]
        used = sum(cell_len(text) for text, _ in parts)
        if used > width:
            return _cut(parts, width)
        gap = (self.fill[0] * (width - used), self.fill[1])
        parts = [gap, *parts] if self.right else [*parts, gap]
        return [part for part in parts if part[0]]

    def segments(self, style_of: StyleOf) -> list[Segment]:
        return [Segment(text, style_of(style)) for text, style in self.sized()]


def _cut(parts: list[Part], width: int) -> list[Part]:
    """`parts` cut to `width` cells, the last one kept ending in an ellipsis (in its style)."""
    if width <= 0:
        return []
    room = width - 1
    kept: list[Part] = []
    for text, style in parts:
        size = cell_len(text)
        if size <= room:
            kept.append((text, style))
            room -= size
            continue
        kept.append((set_cell_size(text, room) + ELLIPSIS, style))
        return [part for part in kept if part[0]]
    return kept  # not reached: the parts were wider than `width`


class Row(NamedTuple):
    """One line of the screen, exactly `width` cells; equal rows draw the same (the live loop's cache key)."""

    cells: tuple[Cell, ...]
    width: int

    def segments(self, style_of: StyleOf, cells: Cells | None = None) -> list[Segment]:
        """The row's segments, cropped or padded to its width; `cells` keeps each cell's segments."""
        line: list[Segment] = []
        for cell in self.cells:
            line += cells.get(cell, style_of) if cells is not None else cell.segments(style_of)
        return Segment.adjust_line_length(line, self.width, pad=True)


def blank_row(width: int) -> Row:
    return Row((), width)


class Cells:
    """The segments of the cells drawn lately (the same label, bar or percent is rendered once)."""

    LIMIT = 512  # cells kept before starting afresh: a few change each second

    def __init__(self) -> None:
        self._known: dict[Cell, list[Segment]] = {}

    def get(self, cell: Cell, style_of: StyleOf) -> list[Segment]:
        found = self._known.get(cell)
        if found is None:
            if len(self._known) >= self.LIMIT:
                self._known.clear()
            found = self._known[cell] = cell.segments(style_of)
        return found


def wrap(parts: Iterable[Part], width: int, *, pieces: Sequence[str] = ()) -> list[tuple[Part, ...]]:
    """Lines of at most `width` cells: whole ` · `-separated pieces where they fit, else words, else cut.

    `pieces` (joined by ` · `, they make the text) say where it may break; by default at every ` · `. A
    separator that falls at a break is dropped, so no line ends (or starts) with a dangling `·`.
    """
    parts = tuple((clean(plain), style) for plain, style in parts)
    plain = "".join(text for text, _ in parts)
    if cell_len(plain) <= width or width <= 0:
        return [parts]
    spans: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for start, end in _pieces(plain, pieces):
        if current is not None and cell_len(plain[current[0] : end]) <= width:
            current = (current[0], end)
            continue
        if current is not None:
            spans.append(current)
        if cell_len(plain[start:end]) <= width:
            current = (start, end)
        else:
            words = _word_spans(plain, start, end, width)
            spans += words[:-1]
            current = words[-1]
    if current is not None:
        spans.append(current)
    return [_slice(parts, start, end) for start, end in spans]


def _pieces(plain: str, pieces: Sequence[str]) -> list[tuple[int, int]]:
    """`(start, end)` of each piece, or of the text between separators."""
    found: list[tuple[int, int]] = []
    start = 0
    cleaned = [clean(piece) for piece in pieces]
    if cleaned and SEPARATOR.join(cleaned) == plain:
        for piece in cleaned:
            found.append((start, start + len(piece)))
            start += len(piece) + len(SEPARATOR)
    else:
        while (at := plain.find(SEPARATOR, start)) != -1:
            found.append((start, at))
            start = at + len(SEPARATOR)
        found.append((start, len(plain)))
    return [(a, b) for a, b in found if b > a]


def _word_spans(plain: str, start: int, end: int, width: int) -> list[tuple[int, int]]:
    """Greedy lines of whole words within `plain[start:end]`; a word wider than `width` is cut."""
    spans: list[tuple[int, int]] = []
    line_start = line_end = start
    at = start
    while at < end:
        space = plain.find(" ", at, end)
        word_end = end if space == -1 else space
        if line_end > line_start and cell_len(plain[line_start:word_end]) > width:
            spans.append((line_start, line_end))
            line_start = at
        while cell_len(plain[line_start:word_end]) > width:  # one word wider than a line: cut it
            cut = line_start + 1
            while cut < word_end and cell_len(plain[line_start : cut + 1]) <= width:
                cut += 1
            spans.append((line_start, cut))
            line_start = cut
        line_end = word_end
        at = word_end + 1
    if line_end > line_start:
        spans.append((line_start, line_end))
    return spans or [(start, end)]


def _slice(parts: tuple[Part, ...], start: int, end: int) -> tuple[Part, ...]:
    found: list[Part] = []
    offset = 0
    for text, style in parts:
        lo, hi = max(start, offset), min(end, offset + len(text))
        if lo < hi:
            found.append((text[lo - offset : hi - offset], style))
        offset += len(text)
    return tuple(found)
