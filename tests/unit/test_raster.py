import io

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest

from ocrflow.inputs.inspection import inspect_document
from ocrflow.inputs.limits import InputLimits
from ocrflow.inputs.raster import iter_page_images
from tests import bad_inputs
from tests.conftest import sample_bytes


def _rotated(data: bytes, rotation: int) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.pages[0].Rotate = rotation
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_scanned_page_image_equals_the_rendered_page(rotation):
    """Scanned pages are read straight from their image; that must be what a viewer shows."""
    data = _rotated(sample_bytes("letter.pdf"), rotation)
    info = inspect_document(data)
    fast = next(iter_page_images(data, info, [0], InputLimits())).image
    rendered = pdfium.PdfDocument(data)[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")
    h = min(fast.height, rendered.height) - 2
    w = min(fast.width, rendered.width) - 2
    assert abs(fast.width - rendered.width) <= 1 and abs(fast.height - rendered.height) <= 1
    diff = np.abs(np.asarray(fast, dtype=int)[:h, :w] - np.asarray(rendered, dtype=int)[:h, :w])
    assert diff.mean() < 3


def test_page_with_text_and_no_image_is_rendered():
    data = bad_inputs.born_digital_pdf()
    info = inspect_document(data)
    page = next(iter_page_images(data, info, [0], InputLimits()))
    assert page.dpi == 300
    assert abs(page.image.width - 2550) <= 1 and abs(page.image.height - 3300) <= 1


@pytest.mark.parametrize("media", ["pdf", "png", "tiff"])
def test_pages_with_non_square_pixels_are_read_with_square_ones(media):
    """A 600 x 300 px image at 300 x 150 dpi is a 2 x 2 inch page: the engine gets it square (at 300 dpi)."""
    import img2pdf
    from PIL import Image

    picture, buffer = Image.new("L", (600, 300), 255), io.BytesIO()
    picture.save(buffer, "TIFF" if media == "tiff" else "PNG", dpi=(300, 150))
    data = img2pdf.convert(buffer.getvalue()) if media == "pdf" else buffer.getvalue()
    page = next(iter_page_images(data, inspect_document(data), [0], InputLimits()))
    assert page.image.width == pytest.approx(page.image.height, abs=1)
    if media != "pdf":  # a PDF page is rendered at its image's lower resolution, as every PDF page is
        assert page.image.size == (600, 600) and page.dpi == pytest.approx(300, abs=0.1)
