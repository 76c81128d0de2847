"""The searchable-PDF builder: the original file plus a normalized document in, a PDF out.

Original pages stay as they are - PDF inputs are edited in place with pikepdf (qpdf), so image streams are
copied byte for byte; image inputs are wrapped into PDF by img2pdf without re-encoding - and each OCRed page
gets an invisible text layer (see `text_layer`). Pages that already carried text are left alone; a page OCRed
because its own text was garbage keeps its drawing, but its text is marked to extract as a space.
"""

from __future__ import annotations

import io
import logging
import zlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import img2pdf
import pikepdf
from pikepdf import Array, Dictionary, Name
from PIL import Image, ImageOps

from ocrflow.document import Document, Page, TextSource
from ocrflow.errors import DamagedImageError, DamagedPdfError, PasswordProtectedError
from ocrflow.inputs.inspection import InputInfo, MediaType
from ocrflow.pdf.page_geometry import DisplayFrame, normalize_rotation
from ocrflow.pdf.text_layer import page_text_stream

FONT_NAME = "GlyphLessFont"
#: PDF viewers need pages of at least 3 pt a side (and pikepdf refuses smaller ones)
MIN_PAGE_PT = 3.0

# img2pdf logs notes on what it does (an alpha channel turned into a soft mask, a page under 3 pt) as
# warnings; with no logging configured they would land on the CLI's stderr. Its failures are raised anyway.
logging.getLogger("img2pdf").setLevel(logging.ERROR)


def build_searchable_pdf(source: bytes, info: InputInfo, document: Document | Iterable[Page],
                         out: BinaryIO | Path) -> None:
    """Write the searchable PDF of `source` to `out` (a path or a binary file object), from the document's
    pages - or pages streamed in one at a time (a fanned-out document's merge: never every page at once)."""
    pages = document.pages if isinstance(document, Document) else document
    with _open_base(source, info) as pdf:
        font = None
        for page_doc in pages:
            if page_doc.text_source is TextSource.PDF or page_doc.index >= len(pdf.pages):
                continue
            page = pdf.pages[page_doc.index]
            layer = ocr_layer(page_doc)
            if not any(line.text for block in layer.blocks for line in block.lines):
                continue
            if font is None:
                font = _glyphless_font(pdf)
            name = str(page.add_resource(font, Name.Font, prefix="OCR"))
            frame = display_frame(page)
            width, height = frame.display_size
            stream = page_text_stream(layer, name.lstrip("/"), width, height, frame.display_to_user())
            hide = _own_text_set_aside(info, page_doc) and _marked_content_balanced(page)
            page.contents_add(pikepdf.Stream(pdf, (_HIDE_OWN_TEXT if hide else b"") + b"q\n"), prepend=True)
            page.contents_add(pikepdf.Stream(pdf, b"\nQ\n" + (b"EMC\n" if hide else b"") + stream), prepend=False)
        pdf.docinfo[Name.Producer] = "ocrflow"
        pdf.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)


# A page whose own text was set aside for an OCR reading (it decodes to garbage, or ocr_mode force): its drawing
# stays as it is, but text extractors (pdfium, poppler) read everything it drew as one space (PDF 14.9.4
# ActualText), so only our layer is found and copied.
_HIDE_OWN_TEXT = b"/Span <</ActualText ( )>> BDC\n"


def ocr_layer(page: Page) -> Page:
    """What the page's invisible layer draws: every word of an OCRed page; on a mixed page only its OCR blocks
    (its own text is drawn by the page already - drawn twice, it would be found twice)."""
    if page.text_source is not TextSource.MIXED:
        return page
    return page.model_copy(update={"blocks": [b for b in page.blocks if b.text_source is TextSource.OCR]})


def _own_text_set_aside(info: InputInfo, page: Page) -> bool:
    return (page.text_source is TextSource.OCR and page.index < len(info.pages)
            and info.pages[page.index].has_text)


def _marked_content_balanced(page: pikepdf.Page) -> bool:
    """True when every marked-content section the page opens it closes: only then can our span close where it
    should (an unclosed one would swallow our text layer)."""
    depth = 0
    try:
        for instruction in pikepdf.parse_content_stream(page, "BDC BMC EMC"):
            depth += -1 if str(instruction.operator) == "EMC" else 1
            if depth < 0:
                return False
    except pikepdf.PdfError:
        return False
    return depth == 0


def display_frame(page: pikepdf.Page) -> DisplayFrame:
    box = [float(v) for v in page.cropbox]
    left, right = sorted((box[0], box[2]))
    bottom, top = sorted((box[1], box[3]))
    return DisplayFrame(left, bottom, right, top, normalize_rotation(_inherited(page.obj, Name.Rotate, 0)))


def _inherited(obj: pikepdf.Dictionary, key: Name, default: object) -> object:
    seen = 0
    while obj is not None and seen < 64:
        if key in obj:
            return obj[key]
        obj = obj.get(Name.Parent)
        seen += 1
    return default


def _open_base(source: bytes, info: InputInfo) -> pikepdf.Pdf:
    if info.media_type is MediaType.PDF:
        try:
            return pikepdf.open(io.BytesIO(source))
        except pikepdf.PasswordError:
            raise PasswordProtectedError() from None
        except pikepdf.PdfError:
            raise DamagedPdfError("the PDF is damaged and cannot be rewritten") from None
    return pikepdf.open(io.BytesIO(image_to_pdf(source, info)))


def image_to_pdf(source: bytes, info: InputInfo) -> bytes:
    """Wrap an image (all TIFF pages) into PDF. img2pdf copies JPEG, PNG and CCITT data without re-encoding;
    what it cannot take as it is (alpha channels, some palettes) is flattened losslessly first."""
    try:
        return img2pdf.convert(source, rotation=img2pdf.Rotation.ifvalid, layout_fun=_at_least_min_page)
    except (img2pdf.AlphaChannelError, img2pdf.ImageOpenError, ValueError, TypeError, OSError):
        pass
    try:
        with Image.open(io.BytesIO(source)) as image:
            frames = []
            count = getattr(image, "n_frames", 1) if info.media_type is MediaType.TIFF else 1
            for index in range(count):
                image.seek(index)
                frame = ImageOps.exif_transpose(image.copy())
                if frame.mode in ("RGBA", "LA", "P", "PA") or "transparency" in frame.info:
                    rgba = frame.convert("RGBA")
                    flat = Image.new("RGB", rgba.size, (255, 255, 255))
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                    frame = flat
                elif frame.mode not in ("1", "L", "RGB", "CMYK"):
                    frame = frame.convert("RGB")
                buffer = io.BytesIO()
                dpi = image.info.get("dpi")
                frame.save(buffer, "PNG", dpi=dpi if dpi else (300, 300))
                frames.append(buffer.getvalue())
        return img2pdf.convert(frames, layout_fun=_at_least_min_page)
    except (OSError, ValueError, img2pdf.ImageOpenError) as exc:
        raise DamagedImageError(f"the image cannot be wrapped into a PDF: {exc}") from None


def _at_least_min_page(width_px: int, height_px: int, dpi: tuple[float, float]) -> tuple[float, float, float, float]:
    """img2pdf's page for an image at its own resolution, enlarged to MIN_PAGE_PT when smaller (a 4 px image at
    300 dpi would be a 1 pt page)."""
    width, height, image_width, image_height = img2pdf.default_layout_fun(width_px, height_px, dpi)
    scale = max(1.0, MIN_PAGE_PT / min(width, height))
    return width * scale, height * scale, image_width * scale, image_height * scale


def _glyphless_font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    ttf = resources.files("ocrflow.pdf").joinpath("glyphless.ttf").read_bytes()
    font_file = pikepdf.Stream(pdf, ttf)
    font_file[Name.Length1] = len(ttf)
    descriptor = pdf.make_indirect(Dictionary(
        Type=Name.FontDescriptor, FontName=Name(f"/{FONT_NAME}"), Flags=5,
        FontBBox=Array([0, 0, 500, 1000]), ItalicAngle=0, Ascent=1000, Descent=0, CapHeight=1000, StemV=80,
        FontFile2=font_file,
    ))
    cid_to_gid = pikepdf.Stream(pdf, zlib.compress(b"\x00\x01" * 65536, 9))
    cid_to_gid[Name.Filter] = Name.FlateDecode
    cid_font = pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.CIDFontType2, BaseFont=Name(f"/{FONT_NAME}"),
        CIDSystemInfo=Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0),
        FontDescriptor=descriptor, DW=500, CIDToGIDMap=cid_to_gid,
    ))
    to_unicode = pikepdf.Stream(pdf, _identity_to_unicode())
    return pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.Type0, BaseFont=Name(f"/{FONT_NAME}"), Encoding=Name("/Identity-H"),
        DescendantFonts=Array([cid_font]), ToUnicode=to_unicode,
    ))


def _identity_to_unicode() -> bytes:
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if not 0xD8 <= hi <= 0xDF]
    chunks = [ranges[i:i + 100] for i in range(0, len(ranges), 100)]
    body = "\n".join(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange" for chunk in chunks)
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{body}\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")
