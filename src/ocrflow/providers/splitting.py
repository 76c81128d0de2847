"""Fitting a document to a provider's limits: convert what it cannot take, split by pages, and shrink a
single page only when it alone is still too big (recorded as a page warning)."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import replace

import pikepdf
from PIL import Image, ImageSequence

from ocrflow.document import PageWarning, WarningCode
from ocrflow.errors import ImageTooLargeError
from ocrflow.inputs.inspection import InputInfo, MediaType
from ocrflow.pdf.pdfium_lock import PDFIUM_LOCK
from ocrflow.pdf.searchable import image_to_pdf
from ocrflow.providers.base import DocumentPart, ProviderLimits

PartWarnings = dict[int, list[PageWarning]]  # by global page index


def plan_parts(data: bytes, info: InputInfo, limits: ProviderLimits,
               filename: str) -> tuple[list[DocumentPart], PartWarnings]:
    warnings: PartWarnings = {}
    stem = filename.rsplit(".", 1)[0] or "document"
    media = info.media_type
    sizes = [(p.width, p.height, "px" if media.is_image else "pt") for p in info.pages]
    if media.is_image and media.value not in limits.media_types:
        if MediaType.PDF.value in limits.media_types and not _image_types(limits):
            data, media = image_to_pdf(data, info), MediaType.PDF  # PDF-only providers
        else:
            return _image_parts(data, info, limits, stem, warnings, convert=True), warnings
    if media.is_image:
        if info.page_count == 1 and _image_fits(data, info.pages[0].width, info.pages[0].height, limits):
            return [DocumentPart(data, media.value, filename, 0, 1, sizes)], warnings
        return _image_parts(data, info, limits, stem, warnings, convert=False), warnings
    return _pdf_parts(data, info, limits, stem, sizes, warnings), warnings


def _image_types(limits: ProviderLimits) -> set[str]:
    return {m for m in limits.media_types if m.startswith("image/")}


def _image_fits(data: bytes, width: float, height: float, limits: ProviderLimits) -> bool:
    if limits.max_bytes is not None and len(data) > limits.max_bytes:
        return False
    return limits.max_megapixels is None or width * height <= limits.max_megapixels * 1_000_000


def _image_parts(data: bytes, info: InputInfo, limits: ProviderLimits, stem: str, warnings: PartWarnings,
                 convert: bool) -> list[DocumentPart]:
    """One part per frame, each as PNG (lossless) or, when that is too big, as a fitting JPEG."""
    parts = []
    accepted = _image_types(limits)
    with Image.open(io.BytesIO(data)) as image:
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            if index >= info.page_count:
                break
            page = frame.convert("L") if frame.mode not in ("L", "RGB") else frame.copy()
            body, media, note = _fit_image(page, limits, accepted)
            if note:
                warnings.setdefault(index, []).append(note)
            parts.append(DocumentPart(body, media, f"{stem}-p{index + 1}.{media.split('/')[1]}", index, 1,
                                      [(float(page.width), float(page.height), "px")]))
    return parts


def _fit_image(page: Image.Image, limits: ProviderLimits, accepted: set[str]) -> tuple[bytes, str, PageWarning | None]:
    png = "image/png" in accepted
    scale = 1.0
    if limits.max_megapixels and page.width * page.height > limits.max_megapixels * 1_000_000:
        scale = math.sqrt(limits.max_megapixels * 1_000_000 / (page.width * page.height)) * 0.99
    for attempt in range(8):
        size = (max(1, int(page.width * scale)), max(1, int(page.height * scale)))
        sized = page if scale == 1.0 else page.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if png and attempt == 0:
            sized.save(buffer, "PNG", optimize=True)
            media = "image/png"
        else:
            sized.save(buffer, "JPEG", quality=85 if attempt < 2 else 75, optimize=True)
            media = "image/jpeg"
        body = buffer.getvalue()
        if limits.max_bytes is None or len(body) <= limits.max_bytes:
            note = None
            if scale < 1.0 or media == "image/jpeg":
                note = PageWarning(code=WarningCode.DOWNSCALED, message=(
                    f"page sent to the provider as {media} at {scale:.0%} of its size to fit its limits"))
            return body, media, note
        if attempt >= 1:
            scale *= 0.8
    raise ImageTooLargeError("a page cannot be made small enough for this provider's limits")


def _pdf_parts(data: bytes, info: InputInfo, limits: ProviderLimits, stem: str,
               sizes: list[tuple[float, float, str]], warnings: PartWarnings) -> list[DocumentPart]:
    total = info.page_count
    fits_pages = limits.max_pages is None or total <= limits.max_pages
    if fits_pages and (limits.max_bytes is None or len(data) <= limits.max_bytes):
        return [DocumentPart(data, MediaType.PDF.value, f"{stem}.pdf", 0, total, sizes)]
    parts: list[DocumentPart] = []
    with pikepdf.open(io.BytesIO(data)) as source:
        start = 0
        while start < total:
            count = min(limits.max_pages or total, total - start)
            while True:
                body = _slice(source, start, count)
                if limits.max_bytes is None or len(body) <= limits.max_bytes:
                    break
                if count == 1:
                    body = _shrink_page(data, start, limits, warnings)
                    break
                count = max(1, count // 2)
            parts.append(DocumentPart(body, MediaType.PDF.value, f"{stem}-p{start + 1}-{start + count}.pdf", start,
                                      count, sizes[start:start + count]))
            start += count
    return parts


def _slice(source: pikepdf.Pdf, start: int, count: int) -> bytes:
    part = pikepdf.new()
    part.pages.extend(source.pages[start:start + count])
    out = io.BytesIO()
    part.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)
    return out.getvalue()


def slice_pages(data: bytes, spans: list[tuple[int, int]]) -> Iterator[bytes]:
    """The pages (first, count) of each span of a PDF, as a PDF of their own, one span at a time (the source
    is opened once; only one slice's output is held at a time)."""
    with pikepdf.open(io.BytesIO(data)) as source:
        for start, count in spans:
            yield _slice(source, start, count)


def _shrink_page(data: bytes, index: int, limits: ProviderLimits, warnings: PartWarnings) -> bytes:
    """One page too big on its own: re-render it as a grey JPEG that fits, wrapped in a one-page PDF."""
    import img2pdf

    from ocrflow.inputs.inspection import open_pdf

    with PDFIUM_LOCK:
        pdf = open_pdf(data)
        try:
            page = pdf[index]
            image = page.render(scale=200 / 72, grayscale=True).to_pil().convert("L")
            width_pt, height_pt = page.get_size()
        finally:
            pdf.close()
    body, _, _ = _fit_image(image, limits.model_copy(update={"max_bytes": int((limits.max_bytes or 0) * 0.95) or None}),
                            accepted=set())
    layout = img2pdf.get_layout_fun((width_pt, height_pt))
    warnings.setdefault(index, []).append(PageWarning(
        code=WarningCode.DOWNSCALED, message="page re-rendered as a smaller JPEG to fit the provider's size limit"))
    return img2pdf.convert(body, layout_fun=layout)


def with_first_page(part: DocumentPart, first_page: int) -> DocumentPart:
    return replace(part, first_page=first_page)
