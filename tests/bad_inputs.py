"""A corpus of inputs that must each end in one typed error: built in code, so nothing binary is committed."""

from __future__ import annotations

import io
import struct
import zlib

import pikepdf
from PIL import Image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header claims 3.6 gigapixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def encrypted_pdf(sample: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(sample)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    return out.getvalue()


def zero_page_pdf() -> bytes:
    out = io.BytesIO()
    pikepdf.new().save(out)
    return out.getvalue()


def damaged_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


def blank_pdf(width: float, height: float) -> bytes:
    """One empty page of `width` x `height` points (14,400 = 200 inches, the largest a PDF page may be)."""
    out = io.BytesIO()
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(width, height))
    pdf.save(out)
    return out.getvalue()


def truncated_png(sample_png: bytes) -> bytes:
    return sample_png[: len(sample_png) // 3]


def pdf_with_huge_image() -> bytes:
    """A one-page PDF holding an image XObject that claims 50,000 x 50,000 pixels."""
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, zlib.compress(b"\x00" * 100))
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 50_000, 50_000, 1
    image.ColorSpace, image.Filter = pikepdf.Name.DeviceGray, pikepdf.Name.FlateDecode
    page = pdf.add_blank_page(page_size=(612, 792))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pikepdf.Stream(pdf, b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def tiny_image(fmt: str, mode: str = "L") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (40, 30), 255).save(out, fmt)
    return out.getvalue()


def born_digital_pdf(text: str = "Hello searchable world", rotate: int = 0) -> bytes:
    """A PDF page that already carries real text (Helvetica), no images."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(612, 792))
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pikepdf.Stream(pdf, f"BT /F1 24 Tf 72 700 Td ({text}) Tj ET".encode())
    if rotate:
        page.Rotate = rotate
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()



def pdf_claiming_pages(claimed: int, texts: tuple[str, ...] = ("Hello searchable world",)) -> bytes:
    """A text PDF, one page per text, whose page tree's /Count claims `claimed` pages (the byte layout and
    xref stay valid: only the number is a lie)."""
    with pikepdf.open(io.BytesIO(born_digital_pdf(texts[0]))) as pdf:
        for text in texts[1:]:
            with pikepdf.open(io.BytesIO(born_digital_pdf(text))) as other:
                pdf.pages.append(other.pages[0])
        pdf.Root.Pages.Claim = claimed  # a placeholder as long as /Count, swapped in after qpdf wrote a true one
        out = io.BytesIO()
        pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    data = out.getvalue()
    true_count = b"/Count %d " % len(texts)
    assert data.count(true_count) == 1 and data.count(b"/Claim ") == 1
    return data.replace(true_count, b"/Stale %d " % len(texts)).replace(b"/Claim ", b"/Count ")
