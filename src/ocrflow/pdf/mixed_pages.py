"""Mixed pages: a PDF page that carries text *and* a scan its text does not cover - a stamp, a header, a Bates
number or "Scanned by..." over a scanned page, a receipt's photo pasted under typed prose.

Such a page is a candidate when it carries usable text and its images cover a large part of it
(`MIXED_IMAGE_COVERAGE`, from inspection). Whether its scan holds more than its text is decided on the page's
rendering, where text that is drawn (the stamp) and the scan's own ink both show: the text-like ink a ~100-dpi
copy has outside the page's text boxes (each grown by a margin for loose boxes) is what the text does not
cover. A page whose text is an earlier OCR layer over its whole scan has next to none of it and is read as a
text page; a scan under a stamp has nearly all of its ink there and is OCRed.

The page then keeps its own text, and gains the OCR words that lie off it (`merge_with_own_text`): a word of
the reading that overlaps a word the page already carries is the same word read twice, and is dropped - so the
JSON, the text and the searchable PDF (which draws only the OCR blocks) hold every word once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from ocrflow.document import BBox, Block, Line, TextSource, Word
from ocrflow.geometry import union_boxes
from ocrflow.imaging.blank import ink_mask

#: a page with usable text whose images cover at least this part of it may be a scan under its text
MIXED_IMAGE_COVERAGE = 0.25
#: text-like ink pixels (at ~100 dpi) off the page's text that make its scan worth an OCR reading: about three
#: short words of 10-pt print...
UNCOVERED_INK_PIXELS = 400
#: ...and at least this share of the page's text-like ink. Measured on the real corpus' seven pages: a scan
#: under an 8-pt stamp has 88-100 % of it off the text; the same scans under a full OCR layer 0 % (text
#: only), 3-7 % (photos) and 28 % (a line drawing, which is OCRed: that only costs time, the page's own text
#: is kept either way)
UNCOVERED_INK_SHARE = 0.10
#: cells of this many pixels a side (about a quarter inch at ~100 dpi) ...
_CELL_PX = 24
#: ... whose ink fills more than this are a photo's or a dark edge's, not text
_TEXT_DENSITY = 0.35
#: a text box grows by this part of its height on every side before it covers ink (loose or shifted boxes)
_MARGIN_OF_HEIGHT = 0.35
#: an OCR word is the same as a word the page carries when this part of its box lies on that word's box
_SAME_WORD_OVERLAP = 0.3


def word_boxes(blocks: Sequence[Block]) -> list[BBox]:
    return [word.bbox for block in blocks for line in block.lines for word in line.words if word.bbox is not None]


def text_like_ink(image: Image.Image, dpi: float | None, covered: Sequence[BBox]) -> tuple[int, int]:
    """(all, uncovered): the page image's text-like ink pixels at ~100 dpi, and those of them off every box in
    `covered` (page fractions of the page as displayed, which the image is). Ink is text-like in cells of about
    a quarter inch that it fills at most `_TEXT_DENSITY` of: a photo's or a dark edge's solid ink is left out."""
    ink = ink_mask(image, dpi)
    text_like = _sparse_cells(ink)
    ink &= text_like
    total = int(ink.sum())
    rows, cols = ink.shape
    for box in covered:
        margin = _MARGIN_OF_HEIGHT * box.height
        r0, r1 = int((box.y0 - margin) * rows), int(np.ceil((box.y1 + margin) * rows)) + 1
        c0, c1 = int((box.x0 - margin * rows / cols) * cols), int(np.ceil((box.x1 + margin * rows / cols) * cols)) + 1
        ink[max(0, r0):max(0, r1), max(0, c0):max(0, c1)] = False
    return total, int(ink.sum())


def _sparse_cells(ink: np.ndarray) -> np.ndarray:
    """True where the pixel's `_CELL_PX` cell holds at most `_TEXT_DENSITY` ink."""
    rows, cols = ink.shape
    padded = np.zeros((-(-rows // _CELL_PX) * _CELL_PX, -(-cols // _CELL_PX) * _CELL_PX), dtype=bool)
    padded[:rows, :cols] = ink
    cells = padded.reshape(padded.shape[0] // _CELL_PX, _CELL_PX, padded.shape[1] // _CELL_PX, _CELL_PX)
    sparse = cells.mean(axis=(1, 3)) <= _TEXT_DENSITY
    return np.repeat(np.repeat(sparse, _CELL_PX, axis=0), _CELL_PX, axis=1)[:rows, :cols]


def scan_not_covered(image: Image.Image, dpi: float | None, own_text: Sequence[Block]) -> bool:
    """True when the page image holds enough text-like ink its own text does not cover to be worth OCRing."""
    total, uncovered = text_like_ink(image, dpi, word_boxes(own_text))
    return uncovered >= UNCOVERED_INK_PIXELS and uncovered >= UNCOVERED_INK_SHARE * total


def merge_with_own_text(own_text: Sequence[Block], reading: Sequence[Block]) -> list[Block]:
    """The page's own blocks and the reading's words that lie off them, each block marked with its source. The
    own blocks go where they stand on the page: before the first OCR block that starts below them."""
    own_boxes = word_boxes(own_text)
    ocr_blocks = [block for block in (_without(block, own_boxes) for block in reading) if block is not None]
    merged = [block.model_copy(update={"text_source": TextSource.OCR}) for block in ocr_blocks]
    for block in own_text:
        marked = block.model_copy(update={"text_source": TextSource.PDF})
        top = block.bbox.y0 if block.bbox is not None else 0.0
        at = next((i for i, other in enumerate(merged)
                   if other.text_source is TextSource.OCR and other.bbox is not None and other.bbox.y0 > top),
                  len(merged))
        merged.insert(at, marked)
    return merged


def _without(block: Block, own_boxes: Sequence[BBox]) -> Block | None:
    """The block less its words that overlap the page's own words; None when none is left."""
    lines, changed = [], False
    for line in block.lines:
        words = [word for word in line.words if not _read_before(word, own_boxes)]
        if len(words) == len(line.words):
            lines.append(line)
            continue
        changed = True
        if words:
            lines.append(_line_of(line, words))
    if not lines:
        return None
    if not changed:
        return block
    return block.model_copy(update={"lines": lines, "bbox": union_boxes([line.bbox for line in lines])})


def _line_of(line: Line, words: list[Word]) -> Line:
    confidences = [word.confidence for word in words if word.confidence is not None]
    return line.model_copy(update={
        "text": " ".join(word.text for word in words), "words": words, "polygon": None,
        "bbox": union_boxes([word.bbox for word in words]) or line.bbox,
        "confidence": sum(confidences) / len(confidences) if confidences else line.confidence})


def _read_before(word: Word, own_boxes: Sequence[BBox]) -> bool:
    """True when `_SAME_WORD_OVERLAP` of the word's box lies on the page's own words (one, or several that the
    reading took for one word)."""
    box = word.bbox
    if box is None:
        return False
    area, overlap = box.width * box.height, 0.0
    for own in own_boxes:
        width = min(box.x1, own.x1) - max(box.x0, own.x0)
        height = min(box.y1, own.y1) - max(box.y0, own.y0)
        if width > 0 and height > 0:
            overlap += width * height
            if area <= 0 or overlap >= _SAME_WORD_OVERLAP * area:
                return True
    return False
