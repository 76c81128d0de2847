"""Input inspection by content, never by name: what the file is, its pages, and whether it can be read.

`inspect_document` either returns an `InputInfo` or raises one of the typed `InputError`s with one clear line.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from enum import StrEnum

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from ocrflow.errors import (
    DamagedImageError,
    DamagedPdfError,
    EmptyFileError,
    FileTooLargeError,
    ImageTooLargeError,
    InputError,
    NoPagesError,
    NotADocumentError,
    PasswordProtectedError,
    TooManyPagesError,
    UnsupportedTypeError,
)
from ocrflow.inputs.limits import InputLimits
from ocrflow.pdf.pdfium_lock import PDFIUM_LOCK
from ocrflow.pdf.text_trust import DocumentFonts, text_layer_problem


class MediaType(StrEnum):
    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"
    TIFF = "image/tiff"
    GIF = "image/gif"
    BMP = "image/bmp"

    @property
    def is_image(self) -> bool:
        return self is not MediaType.PDF


_IMAGE_FORMATS = {"PNG": MediaType.PNG, "JPEG": MediaType.JPEG, "TIFF": MediaType.TIFF,
                  "GIF": MediaType.GIF, "BMP": MediaType.BMP}

# Recognisable files we do not OCR: named in the error so the user knows what we saw.
_KNOWN_UNSUPPORTED: list[tuple[bytes, int, str]] = [
    (b"PK\x03\x04", 0, "a ZIP archive (or an Office document)"),
    (b"WEBP", 8, "a WebP image"),
    (b"ftypheic", 4, "a HEIC image"),
    (b"ftypavif", 4, "an AVIF image"),
    (b"%!PS", 0, "a PostScript file"),
    (b"AT&TFORM", 0, "a DjVu document"),
    (b"\x00\x00\x00\x0cjP  ", 0, "a JPEG 2000 image"),
    (b"\xd0\xcf\x11\xe0", 0, "a legacy Office document"),
    (b"\x1f\x8b", 0, "a gzip archive"),
    (b"Rar!", 0, "a RAR archive"),
    (b"7z\xbc\xaf", 0, "a 7-Zip archive"),
]


_EXIF_ORIENTATION = 0x0112


class PageInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    width: float = Field(description="Displayed width: points for PDF pages, pixels for images")
    height: float
    rotation: int = 0
    image_dpi: float | None = Field(default=None, description="Resolution of the page's largest image")
    has_text: bool = False
    text_problem: str | None = Field(
        default=None, description="Why the page's own text layer decodes to garbage; such a page is OCRed")
    image_coverage: float = Field(default=0.0, ge=0.0, le=1.0, description="Part of the page its images cover "
                                  "(images of 5 % of the page or more): a page with text over a large image may "
                                  "be a scan its text does not cover")

    @property
    def has_usable_text(self) -> bool:
        """The page carries text that can be read instead of OCRing it."""
        return self.has_text and self.text_problem is None


class InputInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    media_type: MediaType
    size: int
    sha256: str
    pages: list[PageInfo]

    @property
    def page_count(self) -> int:
        return len(self.pages)


def sniff_media_type(data: bytes) -> MediaType:
    """The document type, from its leading bytes. Raises for anything we cannot OCR."""
    if not data:
        raise EmptyFileError("the file is empty")
    head = data[:1024]
    if b"%PDF-" in head:
        return MediaType.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return MediaType.TIFF
    if head.startswith((b"GIF87a", b"GIF89a")):
        return MediaType.GIF
    if head.startswith(b"BM") and len(head) >= 26:
        return MediaType.BMP
    for signature, offset, what in _KNOWN_UNSUPPORTED:
        if head[offset:offset + len(signature)] == signature:
            raise UnsupportedTypeError(
                f"unsupported file type: this is {what}; send a PDF, PNG, JPEG, TIFF, GIF or BMP")
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        raise NotADocumentError("not a document: this is HTML/XML text, not a PDF or an image")
    raise NotADocumentError("not a document: the content is neither a PDF nor a supported image")


def inspect_document(data: bytes, limits: InputLimits | None = None) -> InputInfo:
    limits = limits or InputLimits()
    media_type = sniff_media_type(data)
    if len(data) > limits.max_bytes:
        raise FileTooLargeError(
            f"the file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes", limit=limits.max_bytes
        )
    if media_type is MediaType.PDF:
        pages = _inspect_pdf(data, limits)
    else:
        pages = _inspect_image(data, media_type, limits)
    if not pages:
        raise NoPagesError("the document has no pages")
    if len(pages) > limits.max_pages:
        raise TooManyPagesError(
            f"the document has {len(pages)} pages; the limit is {limits.max_pages}", limit=limits.max_pages
        )
    return InputInfo(media_type=media_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(), pages=pages)


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    """Open a PDF with pdfium, turning its failures into typed errors. Call with PDFIUM_LOCK held.

    pdfium takes the page count from the page tree's /Count; a file whose /Count disagrees with the pages
    qpdf finds in the tree (a one-page file claiming a million) is opened from qpdf's rewrite, which counts
    them, so every reader of the file sees the same real pages."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        pass  # pdfium's error code is process-global and can be stale: let qpdf say what is wrong
    else:
        found = _pages_qpdf_finds(data)
        if found is None or found == len(pdf):
            return pdf
        pdf.close()
    # pdfium gave up or miscounted; qpdf repairs more kinds of damage (broken xref, bad offsets, a wrong
    # /Count) - try its rewrite once
    repaired = _repair_with_qpdf(data)
    try:
        return pdfium.PdfDocument(repaired)
    except pdfium.PdfiumError:
        raise DamagedPdfError("the PDF is damaged and cannot be read") from None


def _pages_qpdf_finds(data: bytes) -> int | None:
    """The number of pages in the page tree as qpdf walks it; None when qpdf cannot open the file (pdfium's
    count stands then)."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return len(pdf.pages)
    except Exception:  # qpdf raises its own and plain errors on damage pdfium may have read past
        return None


def _repair_with_qpdf(data: bytes) -> bytes:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) == 0:
                raise NoPagesError("the PDF has no pages")
            out = io.BytesIO()
            pdf.save(out)
            return out.getvalue()
    except pikepdf.PasswordError:
        raise PasswordProtectedError() from None
    except pikepdf.PdfError:
        raise DamagedPdfError("the PDF is damaged and cannot be read") from None


def _inspect_pdf(data: bytes, limits: InputLimits) -> list[PageInfo]:
    with PDFIUM_LOCK:
        pdf = open_pdf(data)
        try:
            count = len(pdf)
            if count > limits.max_pages:
                raise TooManyPagesError(
                    f"the document has {count} pages; the limit is {limits.max_pages}", limit=limits.max_pages
                )
            pages = []
            with DocumentFonts(data) as fonts:
                for index in range(count):
                    try:
                        page = pdf[index]
                    except pdfium.PdfiumError:
                        raise DamagedPdfError(
                            f"page {index + 1} of the PDF is damaged and cannot be read") from None
                    try:
                        pages.append(_inspect_pdf_page(index, page, limits, fonts))
                    finally:
                        page.close()
            return pages
        finally:
            pdf.close()


def _inspect_pdf_page(index: int, page: pdfium.PdfPage, limits: InputLimits, fonts: DocumentFonts) -> PageInfo:
    width, height = page.get_size()  # pdfium reports the displayed size: /Rotate already applied
    rotation = page.get_rotation() % 360
    if width <= 0 or height <= 0:
        raise DamagedPdfError(f"page {index + 1} of the PDF has no area")
    best_dpi: float | None = None
    image_boxes: list[tuple[float, float, float, float]] = []
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
        meta = obj.get_metadata()
        if meta.width * meta.height > limits.max_pixels:
            raise ImageTooLargeError(
                f"page {index + 1} holds a {meta.width}x{meta.height} image; the limit is "
                f"{limits.max_pixels:,} pixels", limit=limits.max_pixels,
            )
        left, bottom, right, top = obj.get_bounds()
        covered = max(right - left, 0) * max(top - bottom, 0)
        if covered < 0.05 * width * height:  # logos and stamps don't set the page's resolution
            continue
        image_boxes.append((left, bottom, right, top))
        dpi = min(meta.horizontal_dpi, meta.vertical_dpi)
        if dpi > 0 and (best_dpi is None or dpi > best_dpi):
            best_dpi = float(dpi)
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        has_text = any(not ch.isspace() for ch in text)
        problem = text_layer_problem(textpage, fonts.of_page(index)) if has_text else None
    finally:
        textpage.close()
    coverage = covered_part(page.get_cropbox(), image_boxes) if has_text and image_boxes else 0.0
    return PageInfo(index=index, width=width, height=height, rotation=rotation, image_dpi=best_dpi, has_text=has_text,
                    text_problem=problem, image_coverage=coverage)


_COVERAGE_GRID = 64


def covered_part(cropbox: tuple[float, float, float, float],
                 boxes: list[tuple[float, float, float, float]]) -> float:
    """The part of the crop box the boxes (left, bottom, right, top, in user space) cover together, on a
    64 x 64 grid: overlapping images count once, a scan cut into strips as the whole it is."""
    left, bottom, right, top = min(cropbox[0], cropbox[2]), min(cropbox[1], cropbox[3]), \
        max(cropbox[0], cropbox[2]), max(cropbox[1], cropbox[3])
    if right <= left or top <= bottom:
        return 0.0
    grid = np.zeros((_COVERAGE_GRID, _COVERAGE_GRID), dtype=bool)
    scale_x, scale_y = _COVERAGE_GRID / (right - left), _COVERAGE_GRID / (top - bottom)
    for x0, y0, x1, y1 in boxes:
        c0, c1 = (min(_COVERAGE_GRID, max(0, round((v - left) * scale_x))) for v in (x0, x1))
        r0, r1 = (min(_COVERAGE_GRID, max(0, round((v - bottom) * scale_y))) for v in (y0, y1))
        grid[r0:r1, c0:c1] = True
    return float(grid.mean())


def _inspect_image(data: bytes, media_type: MediaType, limits: InputLimits) -> list[PageInfo]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about odd TIFF tags and large images; we judge ourselves
        try:
            with Image.open(io.BytesIO(data)) as image:
                return _image_pages(image, media_type, limits)
        except InputError:
            raise
        except Image.DecompressionBombError:
            raise ImageTooLargeError(f"the image exceeds the limit of {limits.max_pixels:,} pixels") from None
        except Exception:  # Pillow's decoders raise many types (OSError, SyntaxError, TypeError, KeyError...)
            raise DamagedImageError(f"the {media_type.name} image is damaged and cannot be read") from None


def _image_pages(image: Image.Image, media_type: MediaType, limits: InputLimits) -> list[PageInfo]:
    if _IMAGE_FORMATS.get(image.format or "") is None:
        raise UnsupportedTypeError(f"unsupported image format {image.format!r}")
    # an animated GIF is one picture, not a document: read its first frame
    frames = 1 if media_type is MediaType.GIF else getattr(image, "n_frames", 1)
    if frames > limits.max_pages:
        raise TooManyPagesError(f"the image has {frames} pages; the limit is {limits.max_pages}")
    pages = []
    for index in range(frames):
        image.seek(index)
        width, height = image.size
        if width <= 0 or height <= 0:
            raise DamagedImageError(f"page {index + 1} of the image has no pixels")
        if width * height > limits.max_pixels:
            raise ImageTooLargeError(
                f"page {index + 1} is {width}x{height} pixels; the limit is {limits.max_pixels:,} pixels",
                limit=limits.max_pixels,
            )
        if image.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
            width, height = height, width  # shown turned a quarter: report the size a viewer displays
        pages.append(PageInfo(index=index, width=width, height=height, image_dpi=_image_dpi(image)))
    return pages


def _image_dpi(image: Image.Image) -> float | None:
    dpi = image.info.get("dpi")
    try:
        value = float(min(dpi[0], dpi[1])) if dpi else None
    except (TypeError, ValueError, IndexError):
        return None
    # JFIF "aspect ratio only" files report 1 dpi; anything under 30 dpi is not a real scan resolution.
    return value if value and value >= 30 else None
