"""Read the text a PDF page already carries (born-digital pages, a provider's searchable PDF) into the
normalized model: words and lines with boxes on the displayed page, no confidence (none exists)."""

from __future__ import annotations

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ocrflow.document import BBox, Block, Line, Page, Word
from ocrflow.geometry import clamp01, union_boxes
from ocrflow.pdf.page_geometry import DisplayFrame, normalize_rotation
from ocrflow.pdf.text_trust import is_garbage_char


def page_frame(page: pdfium.PdfPage) -> DisplayFrame:
    left, bottom, right, top = page.get_cropbox()
    return DisplayFrame(min(left, right), min(bottom, top), max(left, right), max(bottom, top),
                        normalize_rotation(page.get_rotation()))


def extract_page_blocks(page: pdfium.PdfPage) -> list[Block]:
    """The page's text as one block of lines of words. Characters that stand for nothing readable (codes
    pdfium cannot map, controls, private-use and unassigned code points) are left out. Call with PDFIUM_LOCK
    held."""
    frame = page_frame(page)
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        lines: list[Line] = []
        words: list[Word] = []
        chars: list[str] = []
        box: list[float] | None = None

        def end_word() -> None:
            nonlocal chars, box
            if chars and box is not None:
                words.append(Word(text="".join(chars), bbox=_bbox(frame, box)))
            chars, box = [], None

        def end_line() -> None:
            nonlocal words
            end_word()
            if words:
                lines.append(Line(text=" ".join(w.text for w in words), bbox=union_boxes([w.bbox for w in words]),
                                  words=words))
            words = []

        for index in range(count):
            char = textpage.get_text_range(index, 1)
            if char in ("\r", "\n"):
                end_line()
                continue
            if not char or char.isspace() or char == "\x00":
                end_word()
                continue
            if is_garbage_char(char) or pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, index) == 1:
                continue
            left, bottom, right, top = textpage.get_charbox(index, loose=True)
            box = [left, bottom, right, top] if box is None else [
                min(box[0], left), min(box[1], bottom), max(box[2], right), max(box[3], top)]
            chars.append(char)
        end_line()
    finally:
        textpage.close()
    if not lines:
        return []
    return [Block(bbox=union_boxes([line.bbox for line in lines]), lines=lines)]


def _bbox(frame: DisplayFrame, box: list[float]) -> BBox:
    left, bottom, right, top = box
    corners = [frame.user_to_fraction(x, y) for x, y in ((left, bottom), (right, top), (left, top), (right, bottom))]
    xs = [clamp01(x) for x, _ in corners]
    ys = [clamp01(y) for _, y in corners]
    return BBox(x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys))


def pages_from_pdf(pdf_bytes: bytes) -> list[Page]:
    """Every page of a PDF that carries text (a provider's searchable PDF) as normalized pages: text, lines
    and words with boxes, sizes in points, no confidence. Raises DamagedPdfError for an unreadable PDF."""
    from ocrflow.inputs.inspection import open_pdf
    from ocrflow.pdf.pdfium_lock import PDFIUM_LOCK

    pages: list[Page] = []
    with PDFIUM_LOCK:
        pdf = open_pdf(pdf_bytes)
        try:
            for index in range(len(pdf)):
                page = pdf[index]
                try:
                    width, height = page.get_size()
                    blocks = extract_page_blocks(page)
                    rotation = normalize_rotation(page.get_rotation())
                finally:
                    page.close()
                pages.append(Page(index=index, width=width, height=height, unit="pt", rotation=rotation,
                                  text="\n\n".join(block.text for block in blocks), blocks=blocks))
        finally:
            pdf.close()
    return pages
