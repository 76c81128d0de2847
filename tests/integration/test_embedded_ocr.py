"""The embedded engine on the scan-like samples: what a user reads in the JSON and the text."""

import numpy as np
import pypdfium2 as pdfium
import pytest

from ocrflow.document import Document, TextSource, WarningCode
from ocrflow.quality import word_recall
from tests import bad_inputs
from tests.conftest import SAMPLE_FILES, sample_bytes, truth_text

NAMES = [p.name for p in SAMPLE_FILES]


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_reads_its_known_text(ocr_sample, name):
    outcome = ocr_sample(name)
    assert word_recall(truth_text(name), outcome.text) >= 0.97
    assert outcome.text.count("\f") == outcome.document.source.page_count - 1


@pytest.mark.parametrize("name", NAMES)
def test_document_is_valid_normalized_json(ocr_sample, name):
    doc = ocr_sample(name).document
    again = Document.model_validate_json(doc.model_dump_json())
    assert again == doc
    assert doc.provider.name == "tesseract" and doc.provider.version
    assert doc.source.sha256 == __import__("hashlib").sha256(sample_bytes(name)).hexdigest()
    for page in doc.pages:
        assert page.confidence is not None and 0.8 < page.confidence <= 1
        words = page.words()
        assert words and all(w.bbox is not None and w.confidence is not None for w in words)
    assert set(doc.timings.stages) == {"inspect", "recognize", "searchable_pdf"}


def test_upside_down_page_is_read_and_flagged(ocr_sample):
    page = ocr_sample("report.pdf").document.pages[2]
    assert page.text_orientation == 180
    assert WarningCode.ROTATED in {w.code for w in page.warnings}
    assert word_recall(truth_text("report.pdf").split("\f")[2], page.text) >= 0.97


def test_sideways_tiff_page_is_read(ocr_sample):
    page = ocr_sample("memo.tiff").document.pages[1]
    assert page.text_orientation in (90, 270) and page.unit == "px"
    assert word_recall(truth_text("memo.tiff").split("\f")[1], page.text) >= 0.97


def test_skewed_200_dpi_page_is_deskewed_for_ocr_only(ocr_sample):
    page = ocr_sample("notice.jpg").document.pages[0]
    assert page.skew_degrees == pytest.approx(-2.8, abs=0.3)
    assert WarningCode.SKEWED in {w.code for w in page.warnings}
    assert page.words()[0].polygon is not None  # tilted words keep their true outline


@pytest.mark.parametrize("name", ["letter.pdf", "notice.jpg", "memo.tiff"])
def test_word_boxes_sit_on_ink(ocr_sample, name):
    """Every word box, cut out of the page as displayed, holds dark pixels; the page around is paper."""
    doc = ocr_sample(name).document
    page = doc.pages[-1]
    image = _page_image(name, page.index)
    pixels = np.asarray(image, dtype=np.uint8)
    h, w = pixels.shape
    inked = 0
    for word in page.words():
        b = word.bbox
        top, left = int(b.y0 * h), int(b.x0 * w)
        crop = pixels[top:max(int(b.y1 * h), top + 1), left:max(int(b.x1 * w), left + 1)]
        inked += int((crop < 100).mean() > 0.05)
    assert inked / len(page.words()) >= 0.95


def _page_image(name, index):
    from PIL import Image, ImageSequence

    data = sample_bytes(name)
    if name.endswith(".pdf"):
        pdf = pdfium.PdfDocument(data)
        return pdf[index].render(scale=150 / 72, grayscale=True).to_pil().convert("L")
    import io

    with Image.open(io.BytesIO(data)) as img:
        return [f.convert("L") for f in ImageSequence.Iterator(img)][index]


def test_born_digital_page_is_read_from_the_pdf_not_ocred():
    from ocrflow.service import run_ocr

    outcome = run_ocr(bad_inputs.born_digital_pdf("Hello searchable world", rotate=90))
    page = outcome.document.pages[0]
    assert page.text_source is TextSource.PDF and page.confidence is None
    assert page.text == "Hello searchable world"
    first = page.words()[0].bbox
    # text at the top-left of the unrotated page sits top-right once the page is turned 90 degrees
    assert first.x0 > 0.8 and first.y0 < 0.2
    assert outcome.document.pages[0].warnings[0].code is WarningCode.TEXT_FROM_PDF


def _png(image, dpi=150):
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def test_a_drawing_without_text_gives_an_empty_flagged_page():
    from PIL import Image, ImageDraw

    from ocrflow.service import run_ocr

    image = Image.new("L", (1240, 1754), 255)
    ImageDraw.Draw(image).rectangle((200, 200, 900, 700), fill=0)
    page = run_ocr(_png(image)).document.pages[0]
    assert page.text == "" and page.words() == []
    assert WarningCode.FEW_WORDS in {w.code for w in page.warnings}


def test_blank_pages_are_not_ocred_and_say_so():
    """A scanned blank sheet (grey paper, grain, JPEG) between two pages of text: no words, `blank_page`."""
    from ocrflow.samples import PARAGRAPHS, PageSpec, SampleSpec, build_sample
    from ocrflow.service import run_ocr

    spec = SampleSpec("blank-between", "pdf", [PageSpec(PARAGRAPHS[:1], dpi=200), PageSpec([], dpi=200, noise=6.0),
                                               PageSpec(PARAGRAPHS[1:2], dpi=200)])
    pages = run_ocr(build_sample(spec)).document.pages
    assert pages[1].words() == [] and pages[1].text == ""
    assert [w.code for w in pages[1].warnings] == [WarningCode.BLANK_PAGE]
    for page in (pages[0], pages[2]):
        assert WarningCode.BLANK_PAGE not in {w.code for w in page.warnings}
        assert len(page.words()) > 20


def _sparse_page(text, ink, paper=255, noise=0.0):
    """A page with one short line of text on it: `ink` and `paper` grey levels, scanner grain of `noise`."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    from ocrflow.samples import _scanner

    image = Image.new("L", (2480, 3508), paper)  # A4 at 300 dpi
    ImageDraw.Draw(image).text((1100, 1600), text, fill=ink, font=ImageFont.load_default(size=42))  # 10 pt
    if noise:
        image = _scanner(image, 3, False, noise)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75, dpi=(300, 300))
    return buffer.getvalue()


@pytest.mark.parametrize(("text", "ink", "paper", "noise"), [
    ("Total 42", 0, 255, 0.0),            # a small word on a big white page
], ids=["small word"])
def test_a_page_with_a_little_text_is_not_taken_for_blank(text, ink, paper, noise):
    from ocrflow.service import run_ocr

    page = run_ocr(_sparse_page(text, ink, paper, noise)).document.pages[0]
    assert WarningCode.BLANK_PAGE not in {w.code for w in page.warnings}
    assert page.text == text


def test_a_faint_scan_is_not_taken_for_blank():
    """A page of text printed at 15% contrast (ink 217 on paper 255) is read, not skipped."""
    import io

    from ocrflow.samples import PARAGRAPHS, PageSpec, render_page
    from ocrflow.service import run_ocr

    spec = PageSpec(PARAGRAPHS[:1], dpi=200)
    faint = render_page(spec).point(lambda v: round(255 - (255 - v) * 0.15))
    buffer = io.BytesIO()
    faint.save(buffer, "JPEG", quality=75, dpi=(200, 200))
    page = run_ocr(buffer.getvalue()).document.pages[0]
    assert WarningCode.BLANK_PAGE not in {w.code for w in page.warnings}
    assert word_recall(spec.text, page.text) >= 0.97
