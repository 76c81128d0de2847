"""Reading order for an engine whose lines come sorted top to bottom (RapidOCR): on a page of columns that
sorting interleaves them. Lines are chained into blocks (a line joins the block whose last line sits just above
it and overlaps it sideways), and the blocks are ordered by recursive XY cuts: a horizontal gap that crosses the
whole region first (a title above columns), else a vertical gap (a gutter between columns), else top to bottom.

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
#: a line this much taller or shorter than the block's lines starts a block of its own (a heading)
MAX_HEIGHT_RATIO = 1.8


def order_rects(rects: Sequence[Rect]) -> list[list[int]]:
    """The lines (indexes into `rects`) grouped into blocks, blocks and their lines in reading order."""
    if not rects:
        return []
    blocks = _chain_blocks(rects)
    bounds = [_union([rects[i] for i in block]) for block in blocks]
    return [blocks[i] for i in _xy_cut(list(range(len(blocks))), bounds)]


def _chain_blocks(rects: Sequence[Rect]) -> list[list[int]]:
    heights = [r[3] - r[1] for r in rects]
    typical = statistics.median(heights) or 1.0
    blocks: list[list[int]] = []
    for index in sorted(range(len(rects)), key=lambda i: (rects[i][1], rects[i][0])):
        line = rects[index]
        best, best_gap = None, None
        for number, block in enumerate(blocks):
            last = rects[block[-1]]
            height = max(last[3] - last[1], typical * 0.5)
            gap = line[1] - last[3]
            if gap > MAX_LINE_GAP * height or gap < -0.5 * height:
                continue
            ratio = max(heights[index], 1e-9) / max(last[3] - last[1], 1e-9)
            if not 1 / MAX_HEIGHT_RATIO <= ratio <= MAX_HEIGHT_RATIO:
                continue
            overlap = min(line[2], last[2]) - max(line[0], last[0])
            if overlap < MIN_SIDE_OVERLAP * min(line[2] - line[0], last[2] - last[0]):
                continue
            if best_gap is None or gap < best_gap:
                best, best_gap = number, gap
        if best is None:
            blocks.append([index])
        else:
            blocks[best].append(index)
    return blocks


def _xy_cut(items: list[int], bounds: Sequence[Rect]) -> list[int]:
    if len(items) <= 1:
        return items
    for axis in (1, 0):  # a horizontal cut (across the region) first, then a vertical one
        groups = _split(items, bounds, axis)
        if len(groups) > 1:
            return [i for group in groups for i in _xy_cut(group, bounds)]
    return sorted(items, key=lambda i: (bounds[i][1], bounds[i][0]))


def _split(items: list[int], bounds: Sequence[Rect], axis: int) -> list[list[int]]:
    """`items` split at every gap along `axis` (1: y, 0: x) that no box crosses."""
    ordered = sorted(items, key=lambda i: bounds[i][axis])
    groups: list[list[int]] = [[ordered[0]]]
    reach = bounds[ordered[0]][axis + 2]
    for i in ordered[1:]:
        if bounds[i][axis] > reach:
            groups.append([i])
        else:
            groups[-1].append(i)
        reach = max(reach, bounds[i][axis + 2])
    return groups


def _union(rects: Sequence[Rect]) -> Rect:
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))
