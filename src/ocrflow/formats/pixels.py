"""What the formats share: the page's pixel space for boxes, the words of a line, the text XML can hold."""


from __future__ import annotations

import re

from ocrflow.document import BBox, Line, Page, Word

#: characters XML 1.0 cannot hold (controls but tab and line breaks, surrogates, U+FFFE/U+FFFF)
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` without the characters an XML file cannot hold (a provider's stray control code), its carriage
    returns as line feeds (what an XML reader makes of them anyway)."""
    return _NOT_XML.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def line_words(line: Line) -> list[Word]:
    """The words a line is written as: its own, or the whole line as one word (a provider that gave lines only)."""
    return line.words or [Word(text=line.text, bbox=line.bbox, confidence=line.confidence)]


def page_pixels(page: Page) -> tuple[int, int, float]:
    """The page's width and height in its pixel space, and that space's resolution (dots per inch)."""
    if page.unit == "px":
        dpi = page.dpi or 300.0
        return max(1, round(page.width)), max(1, round(page.height)), dpi
    dpi = page.dpi or 72.0
    scale = dpi / 72.0 if page.unit == "pt" else 1.0
    return max(1, round(page.width * scale)), max(1, round(page.height * scale)), dpi


def pixel_box(box: BBox, width: int, height: int) -> tuple[int, int, int, int]:
    """A fraction box as whole pixels x0, y0, x1, y1 (x1 > x0 and y1 > y0: a box is at least a pixel)."""
    x0, y0 = min(width - 1, int(box.x0 * width)), min(height - 1, int(box.y0 * height))
    x1, y1 = max(x0 + 1, min(width, round(box.x1 * width))), max(y0 + 1, min(height, round(box.y1 * height)))
    return x0, y0, x1, y1
