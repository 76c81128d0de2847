"""Reading order for an engine whose lines come sorted top to bottom (RapidOCR): on a page of columns that
sorting interleaves them. Lines are chained into blocks (a line joins the block whose last line sits just above
it and overlaps it sideways, never across a gutter), and the blocks are ordered by Breuel's rules: above before
below where they overlap sideways, left before right where nothing between them spans both.

Boxes are (x0, y0, x1, y1) on the uprighted page (text running left to right), in any unit.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

Rect = tuple[float, float, float, float]

#: a line joins a block when the gap above it is at most this many line heights...
MAX_LINE_GAP = 1.2
#: ...and it overlaps the block's last line sideways by this share of the narrower of the two
MIN_SIDE_OVERLAP = 0.3
#: a number at most this long beside a line in its row is read with that row (a receipt's amounts)
MAX_AMOUNT_LENGTH = 12
#: a block comes before one to its right only when they are at most this many line heights apart vertically
MAX_SIDE_GAP = 2.0
#: a line reaching this share of a block's width past its sides starts a block of its own
STICK_OUT = 0.15
#: a line this much taller or shorter than the block's lines starts a block of its own (a heading)
MAX_HEIGHT_RATIO = 1.8


def order_rects(rects: Sequence[Rect]) -> list[list[int]]:
    """The lines (indexes into `rects`) grouped into blocks, blocks and their lines in reading order."""
    if not rects:
        return []
    blocks = _chain_blocks(rects)
    bounds = [_union([rects[i] for i in block]) for block in blocks]
    line_height = statistics.median(r[3] - r[1] for r in rects) or 1.0
    return [blocks[i] for i in _reading_sequence(bounds, line_height)]


def table_rows(rects: Sequence[Rect], texts: Sequence[str]) -> list[list[int]]:
    """Lines (indexes) joined into rows where a short number stands to the right of a line in its row (a
    receipt's or a price list's amounts: "Nasi Lemak" ... "12.50"), left to right; every other line alone.
    Read as blocks, the amounts came after all the items (receipts' CER 0.48; row by row 0.28)."""
    joined: dict[int, list[int]] = {i: [i] for i in range(len(rects))}
    owner = list(range(len(rects)))
    for right in sorted(range(len(rects)), key=lambda i: rects[i][0]):
        if not _is_amount(texts[right]):
            continue
        partners = [i for i in range(len(rects)) if i != right and owner[i] == i and rects[i][2] <= rects[right][0]
                    and _same_row(rects[i], rects[right])]
        if partners:
            left = owner[max(partners, key=lambda i: rects[i][2])]  # the nearest line to its left
            joined[left].extend(joined.pop(right))
            for member in joined[left]:
                owner[member] = left
    return [sorted(members, key=lambda i: rects[i][0]) for members in joined.values()]


def _is_amount(text: str) -> bool:
    characters = [ch for ch in text if not ch.isspace()]
    digits = sum(ch.isdigit() for ch in characters)
    return 0 < len(characters) <= MAX_AMOUNT_LENGTH and digits >= 0.5 * sum(ch.isalnum() for ch in characters)


def _chain_blocks(rects: Sequence[Rect]) -> list[list[int]]:
    """Lines chained into blocks. A line where a block splits into columns (another line beside it in its row
    also sits under the block), or where columns join (it sits under the last lines of two blocks, or reaches
    well past its block's sides), starts a block of its own: a block never spans a gutter."""
    heights = [r[3] - r[1] for r in rects]
    typical = statistics.median(heights) or 1.0
    blocks: list[list[int]] = []
    for index in sorted(range(len(rects)), key=lambda i: (rects[i][1], rects[i][0])):
        line = rects[index]
        beside = [other for j, other in enumerate(rects) if j != index and _same_row(line, other)]
        candidates = []
        for number, block in enumerate(blocks):
            last = rects[block[-1]]
            gap = line[1] - last[3]
            extent = (min(rects[i][0] for i in block), 0.0, max(rects[i][2] for i in block), 0.0)
            if _continues(line, last, max(heights[block[-1]], typical * 0.5)) and not any(
                    _side_overlap(other, extent) > 0 for other in beside) and not _sticks_out(line, extent, block):
                candidates.append((gap, number))
        if len(candidates) == 1:
            blocks[candidates[0][1]].append(index)
        else:
            blocks.append([index])
    return blocks


def _continues(line: Rect, last: Rect, height: float) -> bool:
    """`line` can follow `last` in a block: just below it, of a like height, overlapping it sideways."""
    gap = line[1] - last[3]
    if gap > MAX_LINE_GAP * height or gap < -0.5 * height:
        return False
    ratio = max(line[3] - line[1], 1e-9) / max(last[3] - last[1], 1e-9)
    if not 1 / MAX_HEIGHT_RATIO <= ratio <= MAX_HEIGHT_RATIO:
        return False
    return _side_overlap(line, last) >= MIN_SIDE_OVERLAP * min(line[2] - line[0], last[2] - last[0])


def _sticks_out(line: Rect, extent: Rect, block: list[int]) -> bool:
    """`line` reaches well past the sides of a block of several lines: the end of its column (a full-width
    paragraph below two columns)."""
    slack = STICK_OUT * (extent[2] - extent[0])
    return len(block) >= 2 and (line[0] < extent[0] - slack or line[2] > extent[2] + slack)


def _side_overlap(a: Rect, b: Rect) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def _same_row(a: Rect, b: Rect) -> bool:
    """`b` stands beside `a`: they share most of their height and none of their width."""
    shared = min(a[3], b[3]) - max(a[1], b[1])
    return shared > 0.5 * min(a[3] - a[1], b[3] - b[1]) and _side_overlap(a, b) <= 0


def _reading_sequence(bounds: Sequence[Rect], line_height: float) -> list[int]:
    """Blocks in reading order (after Breuel's rules, topologically sorted): A comes before B when they overlap
    sideways and A is above B, or when A lies wholly left of B, near it vertically, and no block between them
    spans half of each (a title across both columns). A column is read to its end before the next column (the
    block just read is followed by the one below it when that may come next); a title above the columns comes
    first; a page number in the margin does not cut in."""
    count = len(bounds)
    centres = [(b[1] + b[3]) / 2 for b in bounds]
    preceding: list[set[int]] = [set() for _ in range(count)]
    for a in range(count):
        for b in range(count):
            if a != b and _precedes(a, b, bounds, centres, MAX_SIDE_GAP * line_height):
                preceding[b].add(a)
    order: list[int] = []
    left = set(range(count))
    while left:
        ready = [i for i in left if not preceding[i] & left] or list(left)  # a cycle: the topmost goes first
        below = [i for i in ready if order and centres[i] > centres[order[-1]]
                 and _side_overlap(bounds[i], bounds[order[-1]]) > 0.5 * _narrower(bounds[i], bounds[order[-1]])]
        # the column goes on below the block just read, else the topmost (then leftmost) block that may come next
        chosen = min(below or ready, key=lambda i: (bounds[i][1], bounds[i][0]))
        order.append(chosen)
        left.remove(chosen)
    return order


def _precedes(a: int, b: int, bounds: Sequence[Rect], centres: Sequence[float], max_gap: float) -> bool:
    first, second = bounds[a], bounds[b]
    if _side_overlap(first, second) > 0:
        return centres[a] < centres[b]
    if first[2] > second[0] or max(first[1] - second[3], second[1] - first[3]) > max_gap:
        return False
    low, high = sorted((centres[a], centres[b]))
    return not any(low < centres[c] < high and _spans_half(bounds[c], first) and _spans_half(bounds[c], second)
                   for c in range(len(bounds)) if c not in (a, b))


def _narrower(a: Rect, b: Rect) -> float:
    return min(a[2] - a[0], b[2] - b[0])


def _spans_half(across: Rect, block: Rect) -> bool:
    return _side_overlap(across, block) >= 0.5 * (block[2] - block[0])


def _union(rects: Sequence[Rect]) -> Rect:
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))
