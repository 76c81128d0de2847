"""The invisible text layer: one content stream per page that draws each OCR word, in render mode 3, on
its box, so that text extraction, search and selection find it where it is on the page.

Words are drawn in the glyphless font (every glyph empty and half an em wide) with horizontal scaling that
stretches each word over its box; a stretched space fills the gap to the next word so copied text keeps
its spaces. Lines keep one baseline and height, so extractors see them as lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ocrflow.document import BBox, Line, Page, Point, Word

GLYPH_ADVANCE = 0.5  # em; matches glyphless.ttf and the font's /DW 500

Vector = tuple[float, float]


@dataclass(frozen=True)
class _LineFrame:
    origin: Vector     # bottom-left of the line, display points
    direction: Vector  # unit vector along the baseline
    height: float


def _to_display(point: Point, width: float, height: float) -> Vector:
    return point.x * width, (1.0 - point.y) * height


def _corners(bbox: BBox | None, polygon: list[Point] | None, width: float, height: float) -> list[Vector] | None:
    if polygon and len(polygon) == 4:
        return [_to_display(p, width, height) for p in polygon]  # TL, TR, BR, BL
    if bbox is None:
        return None
    return [(bbox.x0 * width, (1 - bbox.y0) * height), (bbox.x1 * width, (1 - bbox.y0) * height),
            (bbox.x1 * width, (1 - bbox.y1) * height), (bbox.x0 * width, (1 - bbox.y1) * height)]


def _line_frame(line: Line, width: float, height: float) -> _LineFrame | None:
    corners = _corners(line.bbox, line.polygon, width, height)
    if corners is None:
        return None
    top_left, _, bottom_right, bottom_left = corners
    dx, dy = bottom_right[0] - bottom_left[0], bottom_right[1] - bottom_left[1]
    length = math.hypot(dx, dy)
    line_height = math.hypot(top_left[0] - bottom_left[0], top_left[1] - bottom_left[1])
    if length <= 0 or line_height <= 0:
        return None
    return _LineFrame(bottom_left, (dx / length, dy / length), line_height)


def _span(word: Word, frame: _LineFrame, width: float, height: float) -> tuple[float, float] | None:
    corners = _corners(word.bbox, word.polygon, width, height)
    if corners is None:
        return None
    along = [(x - frame.origin[0]) * frame.direction[0] + (y - frame.origin[1]) * frame.direction[1]
             for x, y in corners]
    return min(along), max(along)


def encode_text(text: str) -> str:
    """UTF-16BE hex for Identity-H; characters beyond the BMP become U+FFFD."""
    return "".join(f"{ord(ch):04X}" if ord(ch) <= 0xFFFF and not 0xD800 <= ord(ch) <= 0xDFFF else "FFFD"
                   for ch in text)


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def page_text_stream(page: Page, font: str, display_width: float, display_height: float,
                     display_to_user: tuple[float, ...]) -> bytes:
    """PDF content-stream operators drawing the page's words invisibly. Empty bytes when it has none."""
    ops: list[str] = []
    for block in page.blocks:
        for line in block.lines:
            frame = _line_frame(line, display_width, display_height)
            if frame is None:
                continue
            size = frame.height
            cos, sin = frame.direction
            spans = [(_span(w, frame, display_width, display_height), w) for w in line.words if w.text]
            spans = [(s, w) for s, w in spans if s is not None and s[1] > s[0]]
            if not spans:
                continue
            ops.append(f"/{font} {_num(size)} Tf")
            for position, ((start, end), word) in enumerate(spans):
                x = frame.origin[0] + start * cos
                y = frame.origin[1] + start * sin
                scale = 100.0 * (end - start) / (len(word.text) * GLYPH_ADVANCE * size)
                ops.append(f"{_num(scale)} Tz {_num(cos)} {_num(sin)} {_num(-sin)} {_num(cos)} {_num(x)} {_num(y)} Tm "
                           f"<{encode_text(word.text)}> Tj")
                if position + 1 < len(spans):
                    gap = spans[position + 1][0][0] - end
                    if gap > 0:
                        gx, gy = frame.origin[0] + end * cos, frame.origin[1] + end * sin
                        ops.append(f"{_num(100.0 * gap / (GLYPH_ADVANCE * size))} Tz {_num(cos)} {_num(sin)} "
                                   f"{_num(-sin)} {_num(cos)} {_num(gx)} {_num(gy)} Tm <0020> Tj")
    if not ops:
        return b""
    matrix = " ".join(_num(v) for v in display_to_user)
    body = "\n".join(ops)
    return f"q\n{matrix} cm\nBT\n3 Tr\n{body}\nET\nQ\n".encode("ascii")
