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
    direction: Vector  # unit vector along the text, a multiple of 90 degrees on the displayed page
    normal: Vector     # unit vector from baseline towards the top of the letters
    height: float      # line height, measured across the text
    center: float | None  # position of the line's middle along `normal`; None when the line is skewed


def _to_display(point: Point, width: float, height: float) -> Vector:
    return point.x * width, (1.0 - point.y) * height


def _corners(bbox: BBox | None, polygon: list[Point] | None, width: float, height: float) -> list[Vector] | None:
    if polygon and len(polygon) == 4:
        return [_to_display(p, width, height) for p in polygon]  # TL, TR, BR, BL
    if bbox is None:
        return None
    return [(bbox.x0 * width, (1 - bbox.y0) * height), (bbox.x1 * width, (1 - bbox.y0) * height),
            (bbox.x1 * width, (1 - bbox.y1) * height), (bbox.x0 * width, (1 - bbox.y1) * height)]


def _dot(a: Vector, b: Vector) -> float:
    return a[0] * b[0] + a[1] * b[1]


def _line_frame(line: Line, width: float, height: float) -> _LineFrame | None:
    """Text is drawn along the nearest multiple of 90 degrees: PDF text extractors split words whose letters
    drift off a slanted baseline. A skewed line's words each sit on their own centre instead."""
    corners = _corners(line.bbox, line.polygon, width, height)
    if corners is None:
        return None
    top_left, _, bottom_right, bottom_left = corners
    dx, dy = bottom_right[0] - bottom_left[0], bottom_right[1] - bottom_left[1]
    line_height = math.hypot(top_left[0] - bottom_left[0], top_left[1] - bottom_left[1])
    if math.hypot(dx, dy) <= 0 or line_height <= 0:
        return None
    angle = math.degrees(math.atan2(dy, dx))
    snapped = round(angle / 90.0) * 90
    rad = math.radians(snapped)
    direction = (round(math.cos(rad)), round(math.sin(rad)))
    normal = (-direction[1], direction[0])
    aligned = abs(angle - snapped) < 0.5
    center = sum(_dot(c, normal) for c in corners) / 4 if aligned else None
    return _LineFrame(direction, normal, line_height, center)


def _placement(word: Word, frame: _LineFrame, width: float, height: float) -> tuple[float, float, float] | None:
    """(start, end) along the text direction and the baseline's offset along the normal."""
    corners = _corners(word.bbox, word.polygon, width, height)
    if corners is None:
        return None
    along = [_dot(c, frame.direction) for c in corners]
    center = frame.center if frame.center is not None else sum(_dot(c, frame.normal) for c in corners) / 4
    return min(along), max(along), center - frame.height / 2


def _lines_with_geometry(page: Page) -> list[Line]:
    """The page's lines; lines a provider gave no boxes for (text-only answers) are laid out down the page,
    one per row, so the text is at least searchable and selectable in reading order."""
    lines = [line for block in page.blocks for line in block.lines]
    unplaced = [line for line in lines if line.bbox is None and not any(w.bbox for w in line.words)]
    if not unplaced:
        return lines
    placed = [line for line in lines if line not in unplaced]
    row = min(0.9 / len(unplaced), 0.02)
    for number, line in enumerate(unplaced):
        words = line.words or [Word(text=t) for t in line.text.split()]
        if not words:
            continue
        top = 0.05 + number * row
        total = sum(len(w.text) + 1 for w in words)
        width = min(0.9, total * row * 0.5)  # about half an em per character, as the glyphless font draws
        x, boxed = 0.05, []
        for word in words:
            span = width * (len(word.text) + 1) / total
            boxed.append(word.model_copy(update={"bbox": BBox(x0=x, y0=top, x1=min(x + span * 0.9, 1.0),
                                                                y1=min(top + row * 0.9, 1.0))}))
            x += span
        placed.append(line.model_copy(update={"words": boxed, "bbox": BBox(x0=0.05, y0=top, x1=min(x, 1.0),
                                                                          y1=min(top + row * 0.9, 1.0))}))
    return placed


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
    for line in _lines_with_geometry(page):
        frame = _line_frame(line, display_width, display_height)
        if frame is None:
            continue
        size = frame.height
        (cos, sin), (nx, ny) = frame.direction, frame.normal
        placed = [(_placement(w, frame, display_width, display_height), w) for w in line.words if w.text]
        placed = [(p, w) for p, w in placed if p is not None and p[1] > p[0]]
        if not placed:
            continue
        ops.append(f"/{font} {_num(size)} Tf")
        for position, ((start, end, base), word) in enumerate(placed):
            x, y = start * cos + base * nx, start * sin + base * ny
            scale = 100.0 * (end - start) / (len(word.text) * GLYPH_ADVANCE * size)
            # pdfium (Chrome's viewer, our own reader) skips a text object of no width, and one empty glyph
            # has none: a one-letter word ("a", "I", a page number) carries its following space with it
            lone = len(word.text) == 1
            ops.append(f"{_num(scale)} Tz {cos} {sin} {-sin} {cos} {_num(x)} {_num(y)} Tm "
                       f"<{encode_text(word.text)}{'0020' if lone else ''}> Tj")
            if position + 1 < len(placed) and not lone:
                gap = placed[position + 1][0][0] - end
                if gap > 0:
                    gx, gy = end * cos + base * nx, end * sin + base * ny
                    ops.append(f"{_num(100.0 * gap / (GLYPH_ADVANCE * size))} Tz {cos} {sin} {-sin} {cos} "
                               f"{_num(gx)} {_num(gy)} Tm <0020> Tj")
    if not ops:
        return b""
    matrix = " ".join(_num(v) for v in display_to_user)
    body = "\n".join(ops)
    return f"q\n{matrix} cm\nBT\n3 Tr\n{body}\nET\nQ\n".encode("ascii")
