"""Mixed pages - a scan with a little real text on it (a stamp, a Bates number) - and the three OCR modes, on
the embedded engine: what the JSON, the text and the searchable PDF (as pdftotext reads it) hold."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pikepdf
import pytest
from PIL import Image

from ocrflow.document import TextSource, WarningCode
from ocrflow.engines.base import RecognizedPage
from ocrflow.engines.tesseract import TesseractEngine
from ocrflow.inputs.inspection import inspect_document
from ocrflow.providers.embedded import EmbeddedProvider
from ocrflow.providers.names import OcrMode
from ocrflow.quality import word_recall
from ocrflow.service import run_ocr
from tests.bad_inputs import born_digital_pdf
from tests.conftest import sample_bytes, stamped_pdf, truth_text
from tests.integration.pdf_probe import pdftotext

pytestmark = pytest.mark.slow

STAMP = "Scanned by ACME Records 2026-12-07 ref 4711"
LETTER = sample_bytes("letter.pdf")


class CountingEngine:
    """Tesseract, counting the pages it is asked to read."""

    def __init__(self) -> None:
        self.inner = TesseractEngine()
        self.name, self.calls = self.inner.name, 0

    @property
    def version(self) -> str:
        return self.inner.version

    def recognize(self, image: Image.Image, languages: Sequence[str], dpi: float | None = None) -> RecognizedPage:
        self.calls += 1
        return self.inner.recognize(image, languages, dpi)


def read(data: bytes, mode: OcrMode = OcrMode.AUTO) -> tuple[list, int]:
    engine = CountingEngine()
    pages = EmbeddedProvider(engine, workers=1).recognize(data, inspect_document(data), ["eng"], mode=mode)
    return pages, engine.calls


@pytest.fixture(scope="module")
def stamped_letter():
    data = stamped_pdf(LETTER, STAMP)
    return data, run_ocr(data)


def test_a_scan_under_a_stamp_is_ocred_and_the_stamp_kept_once(stamped_letter):
    data, outcome = stamped_letter
    page = outcome.document.pages[0]
    assert page.text_source is TextSource.MIXED
    assert [w.code for w in page.warnings][:1] == [WarningCode.MIXED_PAGE]
    truth = truth_text("letter.pdf")
    # the scan's words: in the JSON, the text and the searchable PDF, as well as when the letter is read alone
    alone = word_recall(truth, run_ocr(LETTER).document.text)
    assert word_recall(truth, outcome.document.text) >= alone - 0.01
    found = pdftotext(outcome.searchable_pdf)
    assert word_recall(truth, found) >= alone - 0.02
    # the stamp once everywhere: read from the page (not OCRed again), and not drawn a second time
    assert outcome.document.text.count("ACME") == 1 and found.count("ACME") == 1
    own = [block for block in page.blocks if block.text_source is TextSource.PDF]
    assert [line.text for block in own for line in block.lines] == [STAMP]
    assert all(block.text_source is TextSource.OCR for block in page.blocks if block not in own)
    # the stamp sits at the page's foot: its block comes after the scan's
    assert page.blocks[-1].text_source is TextSource.PDF


def test_skip_text_never_ocrs_a_page_with_text(stamped_letter):
    data, _ = stamped_letter
    pages, calls = read(data, OcrMode.SKIP_TEXT)
    assert calls == 0
    assert pages[0].text_source is TextSource.PDF and pages[0].text == STAMP


def test_force_ocrs_the_rendering_and_sets_the_pages_text_aside(stamped_letter):
    data, _ = stamped_letter
    outcome = run_ocr(data, ocr_mode="force")
    page = outcome.document.pages[0]
    assert page.text_source is TextSource.OCR
    assert WarningCode.TEXT_REPLACED in [w.code for w in page.warnings]
    truth = truth_text("letter.pdf")
    assert word_recall(truth, page.text) >= 0.9
    # pdftotext finds our layer only: the stamp as OCR read it, never twice
    found = pdftotext(outcome.searchable_pdf)
    assert found.count("ACME") <= 1 and word_recall(truth, found) >= 0.9


def test_a_born_digital_page_is_never_ocred_in_auto():
    """Text and vector drawing, with a logo too small to be a scan: read, not OCRed."""
    with pikepdf.open(io.BytesIO(born_digital_pdf("Quarterly report of the records office"))) as pdf:
        page = pdf.pages[0]
        logo = Image.new("L", (120, 60), 40)
        stream = pikepdf.Stream(pdf, logo.tobytes())
        stream.Type, stream.Subtype, stream.Width, stream.Height = (
            pikepdf.Name.XObject, pikepdf.Name.Image, 120, 60)
        stream.BitsPerComponent, stream.ColorSpace = 8, pikepdf.Name.DeviceGray
        name = page.add_resource(stream, pikepdf.Name.XObject, prefix="Logo")
        page.contents_add(pikepdf.Stream(pdf, f"q 0.5 w 72 650 m 540 650 l S Q q 120 0 0 60 450 720 cm {name} Do Q"
                                         .encode()))
        out = io.BytesIO()
        pdf.save(out)
    pages, calls = read(out.getvalue())
    assert calls == 0
    assert pages[0].text_source is TextSource.PDF
    assert pages[0].text == "Quarterly report of the records office"


def test_a_scan_under_its_own_ocr_layer_is_not_ocred_again():
    """A searchable PDF (ours; a scanner's is the same): its text covers its scan, so auto reads it."""
    searchable = run_ocr(LETTER).searchable_pdf
    pages, calls = read(searchable)
    assert calls == 0
    assert pages[0].text_source is TextSource.PDF


def test_each_page_of_an_archive_is_read_its_own_way():
    """Born-digital, scanned and stamped-scan pages in one PDF: read, OCRed, and both."""
    with pikepdf.open(io.BytesIO(born_digital_pdf("A typed cover sheet"))) as pdf:
        for data in (LETTER, stamped_pdf(LETTER, STAMP)):
            with pikepdf.open(io.BytesIO(data)) as other:
                pdf.pages.append(other.pages[0])
        out = io.BytesIO()
        pdf.save(out)
    pages, calls = read(out.getvalue())
    assert [p.text_source for p in pages] == [TextSource.PDF, TextSource.OCR, TextSource.MIXED]
    assert calls == 2
