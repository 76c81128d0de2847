"""Turn and skew corrections on pages from OCRmyPDF's test resources that are upright already: a correction
never makes the reading worse than the page read as it is."""

import io
from pathlib import Path

import pikepdf
import pytest

from ocrflow.document import WarningCode
from ocrflow.quality import word_recall
from ocrflow.service import run_ocr

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "ocrmypdf"
CORRECTIONS = {WarningCode.ROTATED, WarningCode.SKEWED}


def test_a_disc_above_one_line_is_not_taken_for_a_turned_page():
    """aspect.pdf: a 200 x 100 dpi image, a large disc over "This should be a perfect circle." (was read as
    turned 90 degrees and skewed 9.7, with no text)."""
    (page,) = run_ocr((RESOURCES / "aspect.pdf").read_bytes()).document.pages
    assert page.text == "This should be a perfect circle."
    assert page.text_orientation == 0 and not CORRECTIONS & {w.code for w in page.warnings}


def test_an_upright_handwritten_page_is_not_turned_upside_down():
    """kcs.pdf: "Kodak Capture Desktop Test" in a marker, 300 dpi bilevel (was read turned 180 degrees as
    "482] doz>s20q | | asnydo> > vp O » 7")."""
    (page,) = run_ocr((RESOURCES / "kcs.pdf").read_bytes()).document.pages
    assert page.text_orientation == 0
    assert word_recall("Kodak Capture Desktop Test", page.text) >= 0.75


@pytest.fixture(scope="module")
def aspect_png() -> bytes:
    """aspect.pdf's own image (1000 x 400 px, alpha) as a PNG that says 200 x 100 dpi: non-square pixels."""
    with pikepdf.open(RESOURCES / "aspect.pdf") as pdf:
        (image,) = pdf.pages[0].get_images().values()
        picture = pikepdf.PdfImage(image).as_pil_image()
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", dpi=(200, 100))
    return buffer.getvalue()


def test_an_image_with_non_square_pixels_is_read_at_its_true_shape(aspect_png):
    doc = run_ocr(aspect_png).document
    (page,) = doc.pages
    assert page.text == "This should be a perfect circle."
    assert (page.width, page.height, page.unit) == (1000, 400, "px")  # the image as given
    assert page.dpi == pytest.approx(200, abs=0.1)
    line = page.blocks[0].lines[0].bbox  # the text line sits under the disc, across most of the width
    assert 0.68 < line.y0 < line.y1 < 0.82 and line.x0 < 0.2 and line.x1 > 0.8
