"""Page images for OCR, one at a time: PDF pages rendered with pdfium at the page's own resolution, image
frames decoded with Pillow. Nothing here alters the output document; this is what the engine reads.

Pixels are always square here: an image whose resolution differs across and down (a 200 x 100 dpi fax) is
resampled to its higher resolution, so text keeps its shape for the alignment estimate and for OCR; boxes are
page fractions, which resampling leaves as they are."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import ExifTags, Image, ImageOps

from ocrflow.document import PageWarning, WarningCode
from ocrflow.errors import DamagedImageError, DamagedPdfError, ImageTooLargeError
from ocrflow.inputs.inspection import InputInfo, PageInfo, open_pdf
from ocrflow.inputs.limits import InputLimits
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
        yield from _image_frames(data, info, set(indexes), limits.max_pixels)
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
                    image = _scan_image(page, info.pages[index], dpi)
                    if image is None:
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


_NATIVE_COLORSPACES = (pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_DEVICERGB)
_TRANSPOSE_FOR_ROTATION = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                           270: Image.Transpose.ROTATE_90}


def _scan_image(page: pdfium.PdfPage, info: PageInfo, dpi: float) -> Image.Image | None:
    """A scanned page - one 8-bit grey or RGB image filling the page, nothing else drawn, read at the image's
    own resolution - is the image itself: decoding it is ~8x cheaper than rendering the page. None otherwise."""
    if info.image_dpi is None or abs(dpi - info.image_dpi) > 0.5:
        return None
    objects = list(page.get_objects(max_depth=1))
    if len(objects) != 1 or objects[0].type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
        return None
    image_obj = objects[0]
    a, b, c, d, _, _ = image_obj.get_matrix().get()
    if b != 0 or c != 0 or a <= 0 or d <= 0:
        return None
    left, bottom, right, top = page.get_cropbox()
    x0, y0, x1, y1 = image_obj.get_bounds()
    tolerance = 0.005 * max(right - left, top - bottom)
    if max(abs(x0 - left), abs(y0 - bottom), abs(x1 - right), abs(y1 - top)) > tolerance:
        return None
    meta = image_obj.get_metadata()
    if meta.bits_per_pixel not in (8, 24) or meta.colorspace not in _NATIVE_COLORSPACES:
        return None
    if not _square(meta.horizontal_dpi, meta.vertical_dpi):
        return None  # rendering gives square pixels
    image = image_obj.get_bitmap(render=False).to_pil().convert("L")  # a copy: the bitmap can go
    rotation = info.rotation % 360
    return image.transpose(_TRANSPOSE_FOR_ROTATION[rotation]) if rotation else image


def _image_frames(data: bytes, info: InputInfo, wanted: set[int], max_pixels: int) -> Iterator[PageImage]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # limits were checked by inspection; Pillow's tag warnings are noise
        with Image.open(io.BytesIO(data)) as image:
            for page in info.pages:
                if page.index not in wanted:
                    continue
                try:
                    image.seek(page.index)
                    dpi = image.info.get("dpi")
                    if dpi and image.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8):
                        dpi = tuple(reversed(dpi))  # the frame is shown turned a quarter: its axes swap
                    frame = ImageOps.exif_transpose(image.copy())
                    frame, dpi = _square_pixels(_flatten(frame), dpi, page.image_dpi, max_pixels)
                except Exception as exc:  # any decoder failure on a damaged frame
                    raise DamagedImageError(f"page {page.index + 1} of the image cannot be decoded: {exc}") from None
                yield PageImage(page.index, frame, dpi)


def _square(x_dpi: float, y_dpi: float) -> bool:
    return abs(x_dpi - y_dpi) <= 0.01 * max(x_dpi, y_dpi)


def _square_pixels(frame: Image.Image, dpi: object, image_dpi: float | None,
                   max_pixels: int) -> tuple[Image.Image, float | None]:
    """The frame resampled to square pixels when it claims two resolutions (x, y) that differ: at the higher one,
    or the lower when the higher would pass the pixel limit. Returns the frame and its resolution."""
    try:
        x_dpi, y_dpi = (float(v) for v in dpi)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return frame, image_dpi
    if image_dpi is None or min(x_dpi, y_dpi) <= 0 or _square(x_dpi, y_dpi):
        return frame, image_dpi
    for target in (max(x_dpi, y_dpi), min(x_dpi, y_dpi)):
        size = (max(1, round(frame.width * target / x_dpi)), max(1, round(frame.height * target / y_dpi)))
        if size[0] * size[1] <= max_pixels:
            break
    return frame.resize(size, Image.Resampling.BICUBIC), target


def _flatten(frame: Image.Image) -> Image.Image:
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
    return frame.convert("L")
