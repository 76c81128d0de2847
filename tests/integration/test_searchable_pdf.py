"""The searchable PDF: original pages untouched, an invisible text layer where the words are."""

import io

import pikepdf
import pytest

from ocrflow.quality import word_recall
from ocrflow.service import run_ocr
from tests import bad_inputs
from tests.conftest import SAMPLE_FILES, sample_bytes, truth_text
from tests.integration.pdf_probe import iou, pdftotext, pdftotext_words

NAMES = [p.name for p in SAMPLE_FILES]


@pytest.mark.parametrize("name", NAMES)
def test_pdftotext_returns_the_documents_text(ocr_sample, name):
    extracted = pdftotext(ocr_sample(name).searchable_pdf)
    assert word_recall(truth_text(name), extracted) >= 0.97


@pytest.mark.parametrize("name", NAMES)
def test_text_layer_words_sit_on_their_boxes(ocr_sample, name):
    outcome = ocr_sample(name)
    seen = pdftotext_words(outcome.searchable_pdf, rotations=[p.rotation for p in outcome.document.pages])
    assert len(seen) == outcome.document.source.page_count
    for page, extracted in zip(outcome.document.pages, seen, strict=True):
        words = [w for w in page.words()]
        assert len(extracted) == len(words)
        assert sorted(t for t, _ in extracted) == sorted(w.text for w in words)
        assert_boxes_match(words, extracted, vertical=page.text_orientation in (90, 270))


def assert_boxes_match(words, extracted, vertical=False):
    """A reader's selection covers each word: the word's centre lies inside the box a PDF reader extracts
    for it, and that box spans the word along the text (across, it spans the whole line, so plain IoU
    would understate the fit)."""
    for word in words:
        b = word.bbox
        candidates = [box for text, box in extracted if text == word.text]
        box = max(candidates, key=lambda c: iou((b.x0, b.y0, b.x1, b.y1), c))
        cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
        assert box[0] <= cx <= box[2] and box[1] <= cy <= box[3], (word.text, b, box)
        along = iou((0, b.y0, 1, b.y1), (0, box[1], 1, box[3])) if vertical else \
            iou((b.x0, 0, b.x1, 1), (box[0], 0, box[2], 1))
        assert along >= 0.8, (word.text, b, box)


def _image_streams(pdf_bytes: bytes) -> list[bytes]:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        return [obj.read_raw_bytes() for page in pdf.pages for _, obj in page.get_images().items()]


@pytest.mark.parametrize("name", ["letter.pdf", "report.pdf"])
def test_pdf_pages_keep_their_images_byte_for_byte(ocr_sample, name):
    assert _image_streams(ocr_sample(name).searchable_pdf) == _image_streams(sample_bytes(name))


def test_jpeg_input_is_wrapped_without_reencoding(ocr_sample):
    assert _image_streams(ocr_sample("notice.jpg").searchable_pdf) == [sample_bytes("notice.jpg")]


def test_text_is_invisible(ocr_sample):
    with pikepdf.open(io.BytesIO(ocr_sample("letter.pdf").searchable_pdf)) as pdf:
        ops = pikepdf.parse_content_stream(pdf.pages[0])
        modes = [operands[0] for operands, op in ops if str(op) == "Tr"]
        assert modes and all(int(m) == 3 for m in modes)


@pytest.mark.parametrize("name", NAMES)
def test_output_size_stays_close_to_the_input(ocr_sample, name):
    outcome = ocr_sample(name)
    pages = outcome.document.source.page_count
    assert len(outcome.searchable_pdf) <= len(sample_bytes(name)) * 1.03 + 20_000 * pages


def test_rotated_pdf_page_gets_its_text_layer_in_the_right_place():
    with pikepdf.open(io.BytesIO(sample_bytes("letter.pdf"))) as pdf:
        pdf.pages[0].Rotate = 90
        out = io.BytesIO()
        pdf.save(out)
    outcome = run_ocr(out.getvalue())
    page = outcome.document.pages[0]
    assert page.rotation == 90 and (page.width, page.height) == pytest.approx((842, 595), abs=1)
    assert word_recall(truth_text("letter.pdf"), pdftotext(outcome.searchable_pdf)) >= 0.97
    extracted = pdftotext_words(outcome.searchable_pdf, rotations=[90])[0]
    assert_boxes_match(page.words(), extracted, vertical=page.text_orientation in (90, 270))


def test_page_that_already_has_text_gets_no_second_layer():
    outcome = run_ocr(bad_inputs.born_digital_pdf("Hello searchable world"))
    assert pdftotext(outcome.searchable_pdf).split() == ["Hello", "searchable", "world"]


def test_text_without_boxes_is_still_searchable():
    """Some providers answer text only (pdfocr.org's txt output): our PDF must still find those words."""
    from ocrflow.document import Block, Document, Line, Page, ProviderInfo, Source
    from ocrflow.inputs.inspection import inspect_document
    from ocrflow.pdf.searchable import build_searchable_pdf

    data = sample_bytes("letter.pdf")
    info = inspect_document(data)
    page = Page(index=0, width=595, height=842, text="Delivery Contract\nsigned today",
                blocks=[Block(lines=[Line(text="Delivery Contract"), Line(text="signed today")])])
    doc = Document(provider=ProviderInfo(name="pdfocr"), pages=[page], text=page.text,
                   source=Source(media_type="application/pdf", bytes=len(data), sha256=info.sha256, page_count=1))
    out = io.BytesIO()
    build_searchable_pdf(data, info, doc, out)
    assert pdftotext(out.getvalue()).split() == ["Delivery", "Contract", "signed", "today"]
