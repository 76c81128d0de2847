"""The pdfmage client against its fake, over real HTTP: samples end to end through run_ocr, every documented
error code as its typed error, and the fault modes (retried where safe, never a charged read time-out)."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
from PIL import Image, ImageDraw

from ocrflow.document import Document, WarningCode
from ocrflow.errors import (
    ConfigError,
    FileTooLargeError,
    ProviderAuthError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
)
from ocrflow.fakes.pdfmage import OCR_PATH, PdfMageFake
from ocrflow.providers.base import DocumentPart, OcrRequest
from ocrflow.providers.pdfmage import PdfMageProvider
from ocrflow.quality import word_recall
from ocrflow.service import run_ocr
from tests.conftest import sample_bytes, truth_text
from tests.integration.pdf_probe import pdftotext

KEY = "pk_live_fake"


@pytest.fixture(scope="module")
def fake():
    with PdfMageFake() as server:
        yield server


@pytest.fixture(scope="module")
def base_env(fake):
    """Point the client at the fake, with quick back-off (module-wide, so module fixtures can read too)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {"ENDPOINT": fake.base_url, "API_KEY": KEY, "BACKOFF_BASE_SECONDS": "0.01",
                           "BACKOFF_CAP_SECONDS": "0.05", "MAX_ATTEMPTS": "3"}.items():
            patch.setenv(f"OCRFLOW_PDFMAGE_{key}", value)
        yield


@pytest.fixture(autouse=True)
def env(fake, base_env, monkeypatch):
    """Reset the fake's state for every test; tests change settings through the returned monkeypatch."""
    fake.faults.clear()
    fake.requests.clear()
    fake.balance = Decimal("5.00")
    fake.max_bytes = PdfMageFake.max_bytes
    fake.retry_after = "1"
    fake.timeout_seconds = PdfMageFake.timeout_seconds
    return monkeypatch


def ocr(name: str, data: bytes | None = None):
    return run_ocr(sample_bytes(name) if data is None else data, filename=name, provider="pdfmage")


def posts(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == OCR_PATH]


@pytest.fixture(scope="module")
def letter(fake, base_env):
    """letter.pdf read once with a clean fake (the other tests inject faults on their own reads)."""
    fake.faults.clear()
    fake.requests.clear()
    fake.balance = Decimal("5.00")
    outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="pdfmage")
    return outcome, list(fake.requests)


# --- success ------------------------------------------------------------------------------------------------


def test_letter_reads_its_text_with_boxes_and_confidences(letter):
    outcome, requests = letter
    doc = outcome.document
    assert word_recall(truth_text("letter.pdf"), doc.text) >= 0.9
    assert Document.model_validate_json(doc.model_dump_json()) == doc
    assert doc.provider.name == "pdfmage" and doc.provider.engine == "pdfmage document-ocr"
    page = doc.pages[0]
    # the page size is the PDF's, in points (pdfmage's "px" label on 595 x 842 is not trusted)
    assert page.unit == "pt" and page.width == pytest.approx(595.44, abs=0.1)
    assert page.confidence is not None and 0.5 < page.confidence <= 1
    words = page.words()
    assert len(words) > 50
    assert all(w.bbox is not None and w.polygon is not None and w.confidence is not None for w in words)
    assert all(line.confidence is not None and line.bbox is not None for b in page.blocks for line in b.lines)
    assert all(b.language == "eng" for b in page.blocks)
    # words were regrouped into the lines that hold them
    for block in page.blocks:
        for line in block.lines:
            assert " ".join(w.text for w in line.words) == line.text
            for word in line.words:
                cx, cy = (word.bbox.x0 + word.bbox.x1) / 2, (word.bbox.y0 + word.bbox.y1) / 2
                assert line.bbox.x0 <= cx <= line.bbox.x1 and line.bbox.y0 <= cy <= line.bbox.y1
    # what was sent
    (sent,) = requests
    assert sent.headers["Authorization"] == f"Bearer {KEY}" and sent.headers["Accept"] == "application/json"
    assert sent.files == {"file": len(sample_bytes("letter.pdf"))}


def test_letter_credits_and_searchable_pdf(letter):
    outcome, _ = letter
    assert outcome.document.credits.model_dump() == {"used": 0.01, "remaining": 4.99, "unit": "USD"}
    assert outcome.document.searchable_pdf.origin == "ocrflow"  # pdfmage returns no PDF: ocrflow builds one
    text = pdftotext(outcome.searchable_pdf)
    assert word_recall(truth_text("letter.pdf"), text) >= 0.9


def test_three_page_report_in_page_order(fake):
    doc = ocr("report.pdf").document
    truths = truth_text("report.pdf").split("\f")
    assert [p.index for p in doc.pages] == [0, 1, 2]
    for page, truth in zip(doc.pages, truths, strict=True):
        assert word_recall(truth, page.text) >= 0.9
        assert page.words() and all(w.confidence is not None for w in page.words())
    assert doc.credits.used == pytest.approx(0.03) and doc.credits.unit == "USD"
    assert len(posts(fake)) == 1


def test_png_is_sent_as_a_pdf(fake):
    doc = ocr("receipt.png").document
    assert word_recall(truth_text("receipt.png"), doc.text) >= 0.9
    (sent,) = posts(fake)
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    page = doc.pages[0]
    assert (page.width, page.height, page.unit) == (1500, 1650, "px")  # the image's own size
    assert all(w.bbox is not None for w in page.words())


def test_document_over_the_size_limit_is_split_and_merged_in_order(fake, env):
    fake.max_bytes = 400_000
    with pytest.raises(FileTooLargeError) as err:  # unsplit, 732 kB is refused
        ocr("report.pdf")
    assert err.value.code == "file_too_large" and len(posts(fake)) == 1
    fake.requests.clear()
    env.setenv("OCRFLOW_PDFMAGE_MAX_FILE_BYTES", "400000")
    doc = ocr("report.pdf").document
    assert len(posts(fake)) >= 2 and all(size <= 400_000 for r in posts(fake) for size in r.files.values())
    truths = truth_text("report.pdf").split("\f")
    assert [p.index for p in doc.pages] == [0, 1, 2]
    for page, truth in zip(doc.pages, truths, strict=True):
        assert word_recall(truth, page.text) >= 0.9
    assert doc.credits.used == pytest.approx(0.03)


def test_full_endpoint_url_works_too(fake, env):
    env.setenv("OCRFLOW_PDFMAGE_ENDPOINT", fake.base_url + OCR_PATH)
    assert ocr("letter.pdf").document.pages[0].words()


# --- documented errors --------------------------------------------------------------------------------------


def test_missing_key_is_a_config_error(env):
    env.delenv("OCRFLOW_PDFMAGE_API_KEY")
    with pytest.raises(ConfigError, match="OCRFLOW_PDFMAGE_API_KEY"):
        ocr("letter.pdf")


def test_401_invalid_key(fake, env):
    env.setenv("OCRFLOW_PDFMAGE_API_KEY", "pk_live_wrong")
    with pytest.raises(ProviderAuthError) as err:
        ocr("letter.pdf")
    assert err.value.code == "provider_auth" and err.value.details["provider_code"] == "INVALID_API_KEY"
    assert "pk_live_wrong" not in str(err.value)
    assert len(posts(fake)) == 1  # not retried


def test_403_key_without_permission(fake, env):
    env.setenv("OCRFLOW_PDFMAGE_API_KEY", "pk_live_restricted")
    with pytest.raises(ProviderAuthError) as err:
        ocr("letter.pdf")
    assert err.value.details["status"] == 403 and len(posts(fake)) == 1


def test_402_insufficient_balance(fake):
    fake.balance = Decimal("0.02")
    with pytest.raises(QuotaExhaustedError) as err:
        ocr("report.pdf")
    assert err.value.code == "quota_exhausted"
    assert err.value.details["provider_code"] == "INSUFFICIENT_BALANCE"
    assert err.value.details["current_balance"] == 0.02 and err.value.details["amount_required"] == 0.03
    assert "0.02" in err.value.message and len(posts(fake)) == 1


def test_400_invalid_file_format(fake):
    provider, _ = PdfMageProvider.from_env()
    part = DocumentPart(b"PK\x03\x04 not a pdf", "application/pdf", "contract.docx", 0, 1)
    try:
        with pytest.raises(ProviderRejectedInputError) as err:
            provider.submit(part, OcrRequest())
    finally:
        provider.close()
    assert err.value.code == "provider_rejected_input"
    assert err.value.details["provider_code"] == "INVALID_FILE_FORMAT"
    assert err.value.details["received_format"] == "docx" and err.value.details["allowed_formats"] == ["pdf"]


def test_422_no_text_content_on_a_page_without_words(fake):
    # a grey panel, no text (a pure white page trips the embedded engine behind the fake: see the report)
    image = Image.new("L", (850, 1100), 255)
    ImageDraw.Draw(image).rectangle((100, 100, 750, 1000), fill=128)
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=100)
    with pytest.raises(ProviderRejectedInputError) as err:
        ocr("panel.pdf", buffer.getvalue())
    assert err.value.details["provider_code"] == "NO_TEXT_CONTENT" and err.value.details["reason"]
    assert "no text" in err.value.message and len(posts(fake)) == 1


def test_429_until_retries_run_out(fake):
    fake.faults.inject("throttle", times=None)
    with pytest.raises(ThrottledError) as err:
        ocr("letter.pdf")
    assert err.value.code == "throttled" and err.value.retry_after == 1.0
    assert len(posts(fake)) == 3  # OCRFLOW_PDFMAGE_MAX_ATTEMPTS


# --- faults -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["throttle", "error5xx", "unavailable", "malformed", "slow"])
def test_transient_faults_are_retried_to_a_result(fake, mode):
    fake.retry_after = "0"
    fake.faults.inject(mode, times=1)
    doc = ocr("letter.pdf").document
    assert word_recall(truth_text("letter.pdf"), doc.text) >= 0.9
    assert len(posts(fake)) == (1 if mode == "slow" else 2)


def test_5xx_until_retries_run_out(fake):
    fake.faults.inject("error5xx", times=None)
    with pytest.raises(ProviderUnavailableError) as err:
        ocr("letter.pdf")
    assert err.value.details["status"] == 500 and len(posts(fake)) == 3


def test_quota_fault_is_not_retried(fake):
    fake.faults.inject("quota")
    with pytest.raises(QuotaExhaustedError):
        ocr("letter.pdf")
    assert len(posts(fake)) == 1


def test_read_timeout_is_not_retried_because_the_call_is_charged(fake, env):
    env.setenv("OCRFLOW_PDFMAGE_TIMEOUT_SECONDS", "0.3")
    fake.timeout_seconds = 1.0
    fake.faults.inject("timeout", times=None)
    with pytest.raises(ProviderUnavailableError) as err:
        ocr("letter.pdf")
    assert err.value.retryable is False and "did not answer in time" in err.value.message
    assert len(posts(fake)) == 1
    # ...while the provider went on, did the work and billed it: why a repeat would pay twice
    deadline = time.monotonic() + 5
    while fake.balance == Decimal("5.00") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.balance == Decimal("4.99")


def test_partial_answer_keeps_page_order_and_flags_missing_pages(fake):
    fake.faults.inject("partial")
    doc = ocr("report.pdf").document
    assert [p.index for p in doc.pages] == [0, 1, 2]
    assert doc.pages[0].words()
    for page in doc.pages[1:]:
        assert page.text == "" and WarningCode.PAGE_FAILED in {w.code for w in page.warnings}
        assert page.unit == "pt"  # the size is still the page's own
