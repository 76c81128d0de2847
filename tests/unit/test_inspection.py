import io

import pytest
from PIL import Image

from ocrflow import errors
from ocrflow.inputs.inspection import MediaType, inspect_document, sniff_media_type
from ocrflow.inputs.limits import InputLimits
from ocrflow.inputs.raster import render_dpi
from tests import bad_inputs
from tests.conftest import REPO, sample_bytes


@pytest.mark.parametrize(("name", "media_type", "pages"), [
    ("letter.pdf", MediaType.PDF, 1), ("report.pdf", MediaType.PDF, 3), ("receipt.png", MediaType.PNG, 1),
    ("notice.jpg", MediaType.JPEG, 1), ("memo.tiff", MediaType.TIFF, 2),
])
def test_samples_are_recognised_by_content(name, media_type, pages):
    info = inspect_document(sample_bytes(name))
    assert info.media_type is media_type
    assert info.page_count == pages


def test_type_comes_from_content_not_name():
    assert sniff_media_type(sample_bytes("notice.jpg")) is MediaType.JPEG
    assert sniff_media_type(b"\n\n  %PDF-1.4 junk before header") is MediaType.PDF


def test_scanned_pdf_page_reports_its_image_resolution_and_no_text():
    page = inspect_document(sample_bytes("letter.pdf")).pages[0]
    assert page.image_dpi == pytest.approx(300, abs=1)
    assert (round(page.width), round(page.height)) == (595, 842)
    assert not page.has_text


def test_pdf_with_text_is_detected():
    page = inspect_document(bad_inputs.born_digital_pdf(rotate=90)).pages[0]
    assert page.has_text and page.image_dpi is None
    assert (page.width, page.height, page.rotation) == (792, 612, 90)


def test_image_dpi_from_metadata():
    assert inspect_document(sample_bytes("notice.jpg")).pages[0].image_dpi == pytest.approx(200)


@pytest.mark.parametrize(("data", "error"), [
    (b"", errors.EmptyFileError),
    (b"<!DOCTYPE html><html><body>404</body></html>", errors.NotADocumentError),
    (bytes(range(256)) * 8, errors.NotADocumentError),
    (b"PK\x03\x04" + b"\x00" * 100, errors.UnsupportedTypeError),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 50, errors.UnsupportedTypeError),
    (bad_inputs.damaged_pdf(), errors.DamagedPdfError),
    (bad_inputs.zero_page_pdf(), errors.NoPagesError),
    (bad_inputs.png_bomb(), errors.ImageTooLargeError),
    (bad_inputs.pdf_with_huge_image(), errors.ImageTooLargeError),
], ids=["empty", "html", "random", "zip", "webp", "damaged-pdf", "zero-pages", "png-bomb", "pdf-huge-image"])
def test_bad_inputs_raise_one_typed_error_with_one_line(data, error):
    with pytest.raises(error) as caught:
        inspect_document(data)
    assert isinstance(caught.value, errors.InputError)
    assert "\n" not in caught.value.message and caught.value.message


def test_password_protected_pdf():
    with pytest.raises(errors.PasswordProtectedError, match="password"):
        inspect_document(bad_inputs.encrypted_pdf(sample_bytes("letter.pdf")))


def test_truncated_image_is_damaged_or_still_readable_never_a_crash():
    data = bad_inputs.truncated_png(sample_bytes("receipt.png"))
    try:
        info = inspect_document(data)
    except errors.DamagedImageError:
        return
    assert info.page_count == 1  # header intact: decoding later reports the damage


def test_file_over_the_byte_limit():
    with pytest.raises(errors.FileTooLargeError, match="limit"):
        inspect_document(sample_bytes("letter.pdf"), InputLimits(max_bytes=1000))


def test_too_many_pages():
    with pytest.raises(errors.TooManyPagesError):
        inspect_document(sample_bytes("report.pdf"), InputLimits(max_pages=2))


def test_gif_and_bmp_are_accepted():
    for fmt, media in (("GIF", MediaType.GIF), ("BMP", MediaType.BMP)):
        assert inspect_document(bad_inputs.tiny_image(fmt)).media_type is media


def test_render_resolution_follows_the_scan_and_caps_absurd_values():
    info = inspect_document(sample_bytes("letter.pdf"))
    assert render_dpi(info.pages[0], InputLimits())[0] == pytest.approx(300, abs=1)
    huge = info.pages[0].model_copy(update={"image_dpi": 2400})
    dpi, notes = render_dpi(huge, InputLimits())
    assert dpi == 400 and notes[0].code == "dpi_capped"
    vector = info.pages[0].model_copy(update={"image_dpi": None})
    assert render_dpi(vector, InputLimits())[0] == 300


def test_enormous_page_is_read_at_lower_resolution_or_refused():
    info = inspect_document(sample_bytes("letter.pdf"))
    poster = info.pages[0].model_copy(update={"width": 14400.0, "height": 14400.0, "image_dpi": None})
    dpi, notes = render_dpi(poster, InputLimits())
    assert dpi < 60 and notes[0].code == "downscaled"
    with pytest.raises(errors.ImageTooLargeError):
        render_dpi(poster, InputLimits(max_pixels=10_000_000))


def test_exif_free_jpeg_without_dpi_has_no_resolution():
    out = io.BytesIO()
    Image.new("L", (100, 100), 255).save(out, "JPEG")
    assert inspect_document(out.getvalue()).pages[0].image_dpi is None


def test_exif_turned_photo_reports_the_size_a_viewer_shows():
    image = Image.new("L", (300, 200), 255)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    page = inspect_document(out.getvalue()).pages[0]
    assert (page.width, page.height) == (200, 300)



def test_page_count_is_the_pages_found_not_the_count_the_file_claims():
    from ocrflow.service import run_ocr

    data = bad_inputs.pdf_claiming_pages(1_000_000, ("Only one page here",))
    assert inspect_document(data).page_count == 1
    outcome = run_ocr(data)
    assert outcome.document.source.page_count == 1
    assert [p.text for p in outcome.document.pages] == ["Only one page here"]


def test_pages_beyond_a_too_small_count_are_read_and_counted_against_the_limit():
    from ocrflow.service import run_ocr

    data = bad_inputs.pdf_claiming_pages(1, ("First page", "Second page", "Third page"))
    assert [p.text for p in run_ocr(data).document.pages] == ["First page", "Second page", "Third page"]
    with pytest.raises(errors.TooManyPagesError):
        inspect_document(data, InputLimits(max_pages=2))


@pytest.mark.parametrize("name", ["truetype_font_nomapping.pdf", "type3_font_nomapping.pdf", "cmyk.pdf"])
def test_text_layer_that_decodes_to_garbage_is_not_usable(name):
    page = inspect_document((REPO / "tests" / "resources" / "ocrmypdf" / name).read_bytes()).pages[0]
    assert page.has_text and not page.has_usable_text and page.text_problem


def test_text_in_a_standard_font_is_usable():
    page = inspect_document(bad_inputs.born_digital_pdf("Quarterly report 2024")).pages[0]
    assert page.has_usable_text and page.text_problem is None


def _symbolic_truetype_text_pdf(font_name: str) -> bytes:
    """Text in a symbolic TrueType font with no /Encoding and no /ToUnicode: its codes are glyph slots."""
    import pikepdf

    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(612, 792))
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name(f"/{font_name}"), Flags=4,
        FontBBox=[0, -200, 1000, 900], ItalicAngle=0, Ascent=900, Descent=-200, CapHeight=700, StemV=80))
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.TrueType, BaseFont=pikepdf.Name(f"/{font_name}"),
        FirstChar=32, LastChar=126, Widths=[500] * 95, FontDescriptor=descriptor))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pikepdf.Stream(pdf, b"BT /F1 24 Tf 72 700 Td (\"7+%-) Tj ET")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.mark.parametrize("font_name", ["ABCDEF+Glyphs", "Glyphs" + "x" * 300], ids=["subset", "long-name"])
def test_text_in_a_symbolic_truetype_font_without_unicode_map_is_not_usable(font_name):
    page = inspect_document(_symbolic_truetype_text_pdf(font_name)).pages[0]
    assert page.has_text and not page.has_usable_text
    assert "font with no Unicode map" in page.text_problem
