"""The embedded provider: OCR on this machine with a page engine (Tesseract by default).

Pages stream through: the calling thread renders one page at a time (pdfium is single-threaded), a small
pool of engine threads reads them (libtesseract runs without the GIL), and at most `workers + 1` page images
exist at once - so memory stays flat however long the document is. Pages that already carry usable text are
read from the PDF instead of being OCRed; a page whose text layer decodes to garbage is OCRed. Blank pages and
images too small to hold text are not OCRed either (`imaging.blank`: a few milliseconds instead of a Tesseract
reading).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ocrflow.document import Page, PageWarning, TextSource, WarningCode
from ocrflow.engines.base import PageEngine, RecognizedPage
from ocrflow.imaging.blank import nothing_to_read
from ocrflow.inputs.inspection import InputInfo, open_pdf
from ocrflow.inputs.limits import InputLimits
from ocrflow.inputs.raster import PageImage, iter_page_images
from ocrflow.pdf.pdfium_lock import PDFIUM_LOCK
from ocrflow.pdf.text_extraction import extract_page_blocks

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
                  on_page: ProgressCallback | None = None, only: Sequence[int] | None = None) -> list[Page]:
        """The document's pages, read or OCRed, in order - with `only`, just those page indexes (a range of a
        fanned-out document)."""
        check = getattr(self.engine, "check_languages", None)
        if check:
            check(languages)
        wanted = [info.pages[i] for i in only] if only is not None else info.pages
        total = len(wanted)
        pages: dict[int, Page] = {}
        text_pages = [p.index for p in wanted if p.has_usable_text]
        if text_pages:
            pages.update(self._read_text_pages(data, info, text_pages))
            if on_page:
                on_page(len(pages), total)
        ocr_indexes = [p.index for p in wanted if not p.has_usable_text]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocr") as pool:
            pending: list[tuple[PageImage, Future[RecognizedPage]]] = []

            def finish_oldest() -> None:
                page_image, future = pending.pop(0)
                pages[page_image.index] = self._page(info, page_image, future.result())
                if on_page:
                    on_page(len(pages), total)

            for page_image in iter_page_images(data, info, ocr_indexes, self.limits):
                future = pool.submit(self._read_page, page_image, languages)
                pending.append((page_image, future))
                if len(pending) > self.workers:
                    finish_oldest()
            while pending:
                finish_oldest()
        return [pages[index] for index in sorted(pages)]

    def _read_page(self, page_image: PageImage, languages: Sequence[str]) -> RecognizedPage:
        if skipped := nothing_to_read(page_image.image, page_image.dpi):
            return RecognizedPage(blocks=[], confidence=None, warnings=[skipped])
        return self.engine.recognize(page_image.image, languages, page_image.dpi)

    def _page(self, info: InputInfo, page_image: PageImage, reading: RecognizedPage) -> Page:
        page_info = info.pages[page_image.index]
        # an image's own pixels (the engine may have read it resampled to square pixels), a PDF page's points
        width, height, unit = page_info.width, page_info.height, "px" if info.media_type.is_image else "pt"
        page_image.image.close()
        unusable = [PageWarning(code=WarningCode.TEXT_LAYER_UNUSABLE,
                                message=f"the page's own text was not used: {page_info.text_problem}; it was OCRed")
                    ] if page_info.text_problem else []
        return Page(
            index=page_image.index, width=width, height=height, unit=unit, rotation=page_info.rotation,
            text_orientation=reading.text_orientation, skew_degrees=reading.skew_degrees, dpi=page_image.dpi,
            text_source=TextSource.OCR, text=reading.text, confidence=reading.confidence, blocks=reading.blocks,
            engine=reading.engine,
            warnings=unusable + page_image.warnings + reading.warnings,
        )

    def _read_text_pages(self, data: bytes, info: InputInfo, indexes: list[int]) -> dict[int, Page]:
        out = {}
        with PDFIUM_LOCK:
            pdf = open_pdf(data)
            try:
                for index in indexes:
                    page = pdf[index]
                    try:
                        blocks = extract_page_blocks(page)
                    finally:
                        page.close()
                    page_info = info.pages[index]
                    out[index] = Page(
                        index=index, width=page_info.width, height=page_info.height, unit="pt",
                        rotation=page_info.rotation, text_source=TextSource.PDF,
                        text="\n\n".join(block.text for block in blocks), confidence=None, blocks=blocks,
                        warnings=[PageWarning(code=WarningCode.TEXT_FROM_PDF,
                                              message="page already carries text; it was read, not OCRed")],
                    )
            finally:
                pdf.close()
        return out
