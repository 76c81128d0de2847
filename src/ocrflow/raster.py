"""Page images for OCR, one at a time: PDF pages rendered with pdfium at the page's own resolution, image
frames decoded with Pillow. Nothing here alters the output document; this is what the engine reads."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

from PIL import Image, ImageOps

from ocrflow.document import PageWarning, WarningCode
from ocrflow.errors import DamagedImageError, DamagedPdfError, ImageTooLargeError
from ocrflow.inspection import InputInfo, PageInfo, open_pdf
from ocrflow.limits import InputLimits
from ocrflow.pdf.pdfium_lock import PDFIUM_LOCK


@dataclass
class PageImage:
    index: int
    image: Image.Image
    dpi: float | None
    warnings: list[PageWarning] = field(default_factory=list)


def render_dpi(page: PageInfo, limits: InputLimits) -> tuple[float, list[PageWarning]]:
    """The resolution to read a PDF page at: its image's, within [min_dpi, max_dpi], 300 for vector pages,
    lowered when the raster would pass the pixel limit."""
    notes: list[PageWarning] = []
    dpi = page.image_dpi or limits.vector_dpi
    if dpi > limits.max_dpi:
        notes.append(PageWarning(code=WarningCode.DPI_CAPPED,
                                 message=f"page image is {dpi:.0f} dpi; read at {limits.max_dpi:.0f} dpi"))
        dpi = limits.max_dpi
    dpi = max(dpi, limits.min_dpi)
    area_in2 = (page.width / 72.0) * (page.height / 72.0)
    if area_in2 * dpi * dpi > limits.max_pixels:
        fitted = math.floor(math.sqrt(limits.max_pixels / area_in2))
        if fitted < 50:
            raise ImageTooLargeError(
                f"page {page.index + 1} is {page.width / 72:.0f}x{page.height / 72:.0f} inches: too large to OCR",
                limit=limits.max_pixels,
            )
        notes.append(PageWarning(code=WarningCode.DOWNSCALED,
                                 message=f"page is very large; read at {fitted} dpi to stay under the pixel limit"))
        dpi = fitted
    return float(dpi), notes


def iter_page_images(data: bytes, info: InputInfo, indexes: list[int], limits: InputLimits) -> Iterator[PageImage]:
    if info.media_type.is_image:
        yield from _image_frames(data, info, set(indexes))
    else:
        yield from _pdf_pages(data, info, indexes, limits)


def _pdf_pages(data: bytes, info: InputInfo, indexes: list[int], limits: InputLimits) -> Iterator[PageImage]:
    with PDFIUM_LOCK:
        pdf = open_pdf(data)
    try:
        for index in indexes:
            dpi, notes = render_dpi(info.pages[index], limits)
            with PDFIUM_LOCK:
                try:
                    page = pdf[index]
                    bitmap = page.render(scale=dpi / 72.0, grayscale=True, may_draw_forms=True)
                    image = bitmap.to_pil().convert("L")
                    bitmap.close()
                    page.close()
                except Exception as exc:  # pdfium raises its own error types and plain ones alike
                    raise DamagedPdfError(f"page {index + 1} of the PDF cannot be rendered: {exc}") from None
            yield PageImage(index, image, dpi, notes)
    finally:
        with PDFIUM_LOCK:
            pdf.close()


def _image_frames(data: bytes, info: InputInfo, wanted: set[int]) -> Iterator[PageImage]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # limits were checked by inspection; Pillow's tag warnings are noise
        with Image.open(io.BytesIO(data)) as image:
            for page in info.pages:
                if page.index not in wanted:
                    continue
                try:
                    image.seek(page.index)
                    frame = ImageOps.exif_transpose(image.copy())
                    frame = _flatten(frame)
                except Exception as exc:  # any decoder failure on a damaged frame
                    raise DamagedImageError(f"page {page.index + 1} of the image cannot be decoded: {exc}") from None
                yield PageImage(page.index, frame, page.image_dpi)


def _flatten(frame: Image.Image) -> Image.Image:
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
    return frame.convert("L")
