"""The embedded provider: OCR on this machine with a page engine (Tesseract by default).

Pages stream through: the calling thread renders one page at a time (pdfium is single-threaded), a small
pool of engine threads reads them (libtesseract runs without the GIL), and at most `workers + 1` page images
exist at once - so memory stays flat however long the document is. Pages that already carry usable text are
read from the PDF instead of being OCRed (`OcrMode.AUTO`, `SKIP_TEXT`); a page whose text layer decodes to garbage
is OCRed, and so is the part of a scan a mixed page's text does not cover (`pdf.mixed_pages`). Blank pages and
images too small to hold text are not OCRed either (`imaging.blank`: a few milliseconds instead of a Tesseract
reading).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from enum import StrEnum

from ocrflow.document import Block, Page, PageWarning, TextSource, WarningCode
from ocrflow.engines.base import PageEngine, RecognizedPage
from ocrflow.imaging.blank import nothing_to_read
from ocrflow.inputs.inspection import InputInfo, PageInfo, open_pdf
from ocrflow.inputs.limits import InputLimits
from ocrflow.inputs.raster import PageImage, iter_page_images
from ocrflow.pdf.mixed_pages import MIXED_IMAGE_COVERAGE, merge_with_own_text, scan_not_covered
from ocrflow.pdf.pdfium_lock import PDFIUM_LOCK
from ocrflow.pdf.text_extraction import extract_page_blocks
from ocrflow.providers.names import OcrMode

ProgressCallback = Callable[[int, int], None]


def default_workers() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


class EmbeddedProvider:
    def __init__(self, engine: PageEngine, limits: InputLimits | None = None, workers: int | None = None) -> None:
        self.engine = engine
        self.limits = limits or InputLimits()
        self.workers = workers or default_workers()

    @property
    def name(self) -> str:
        return self.engine.name

    def recognize(self, data: bytes, info: InputInfo, languages: Sequence[str],
                  on_page: ProgressCallback | None = None, only: Sequence[int] | None = None,
                  mode: OcrMode = OcrMode.AUTO) -> list[Page]:
        """The document's pages, read or OCRed as `mode` says, in order - with `only`, just those page indexes
        (a range of a fanned-out document)."""
        check = getattr(self.engine, "check_languages", None)
        if check:
            check(languages)
        wanted = [info.pages[i] for i in only] if only is not None else info.pages
        total = len(wanted)
        pages: dict[int, Page] = {}
        ways = {page.index: how_to_read(page, mode) for page in wanted}
        # the text the text pages and the mixed candidates carry, read from the PDF at once (pdfium is one thread)
        own_text = self._read_own_text(data, [i for i, way in ways.items() if way is not Reading.OCR])
        for index, way in ways.items():
            if way is Reading.TEXT:
                pages[index] = self._text_page(info.pages[index], own_text.pop(index))
        if pages and on_page:
            on_page(len(pages), total)
        ocr_indexes = [index for index, way in ways.items() if way is not Reading.TEXT]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocr") as pool:
            pending: list[tuple[PageImage, Future[RecognizedPage | None]]] = []

            def finish_oldest() -> None:
                page_image, future = pending.pop(0)
                pages[page_image.index] = self._page(info, page_image, future.result(), mode,
                                                     own_text.pop(page_image.index, None))
                if on_page:
                    on_page(len(pages), total)

            for page_image in iter_page_images(data, info, ocr_indexes, self.limits):
                future = pool.submit(self._read_page, page_image, languages, own_text.get(page_image.index))
                pending.append((page_image, future))
                if len(pending) > self.workers:
                    finish_oldest()
            while pending:
                finish_oldest()
        return [pages[index] for index in sorted(pages)]

    def _read_page(self, page_image: PageImage, languages: Sequence[str],
                   own_text: list[Block] | None) -> RecognizedPage | None:
        """The page's reading; None for a mixed candidate whose own text covers its scan (it is a text page)."""
        if own_text is not None and not scan_not_covered(page_image.image, page_image.dpi, own_text):
            return None
        if skipped := nothing_to_read(page_image.image, page_image.dpi):
            return RecognizedPage(blocks=[], confidence=None, warnings=[skipped])
        return self.engine.recognize(page_image.image, languages, page_image.dpi)

    def _page(self, info: InputInfo, page_image: PageImage, reading: RecognizedPage | None, mode: OcrMode,
              own_text: list[Block] | None) -> Page:
        page_info = info.pages[page_image.index]
        page_image.image.close()
        if reading is None:
            return self._text_page(page_info, own_text or [])
        # an image's own pixels (the engine may have read it resampled to square pixels), a PDF page's points
        width, height, unit = page_info.width, page_info.height, "px" if info.media_type.is_image else "pt"
        source, blocks, notes = TextSource.OCR, reading.blocks, []
        if page_info.text_problem:
            notes.append(PageWarning(code=WarningCode.TEXT_LAYER_UNUSABLE,
                                     message=f"the page's own text was not used: {page_info.text_problem}; "
                                             "it was OCRed"))
        elif own_text is not None:
            blocks = merge_with_own_text(own_text, reading.blocks)
            if all(block.text_source is TextSource.PDF for block in blocks):
                return self._text_page(page_info, own_text)  # the scan held nothing the text did not
            source = TextSource.MIXED
            notes.append(PageWarning(code=WarningCode.MIXED_PAGE,
                                     message="the page carries text over a scan it does not cover: its text was "
                                             "kept and the rest of the scan OCRed"))
        elif mode is OcrMode.FORCE and page_info.has_text:
            notes.append(PageWarning(code=WarningCode.TEXT_REPLACED,
                                     message="ocr_mode force: the page's own text was set aside and the page OCRed"))
        return Page(
            index=page_image.index, width=width, height=height, unit=unit, rotation=page_info.rotation,
            text_orientation=reading.text_orientation, skew_degrees=reading.skew_degrees, dpi=page_image.dpi,
            text_source=source, text="\n\n".join(block.text for block in blocks), confidence=reading.confidence,
            blocks=blocks, engine=reading.engine, warnings=notes + page_image.warnings + reading.warnings,
        )

    @staticmethod
    def _text_page(page_info: PageInfo, blocks: list[Block]) -> Page:
        return Page(
            index=page_info.index, width=page_info.width, height=page_info.height, unit="pt",
            rotation=page_info.rotation, text_source=TextSource.PDF,
            text="\n\n".join(block.text for block in blocks), confidence=None, blocks=blocks,
            warnings=[PageWarning(code=WarningCode.TEXT_FROM_PDF,
                                  message="page already carries text; it was read, not OCRed")],
        )

    @staticmethod
    def _read_own_text(data: bytes, indexes: list[int]) -> dict[int, list[Block]]:
        if not indexes:
            return {}
        out = {}
        with PDFIUM_LOCK:
            pdf = open_pdf(data)
            try:
                for index in indexes:
                    page = pdf[index]
                    try:
                        out[index] = extract_page_blocks(page)
                    finally:
                        page.close()
            finally:
                pdf.close()
        return out


class Reading(StrEnum):
    TEXT = "text"      # the page's own text is read
    OCR = "ocr"        # the page is OCRed from its image
    MIXED = "mixed"    # the page's own text is read, and its scan OCRed where that text does not cover it


def how_to_read(page: PageInfo, mode: OcrMode) -> Reading:
    """How a page is read in `mode`; MIXED pages are settled on their rendering (`pdf.mixed_pages`)."""
    if not page.has_usable_text or mode is OcrMode.FORCE:
        return Reading.OCR
    if mode is OcrMode.AUTO and page.image_coverage >= MIXED_IMAGE_COVERAGE:
        return Reading.MIXED
    return Reading.TEXT
