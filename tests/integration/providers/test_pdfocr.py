"""The pdfocr.org client against its fake over real HTTP: conversions to a searchable PDF and to text, the
Cloudflare 524 -> re-query path (also across a JSON round trip and a fresh client), the re-query deadline,
credits, every documented or plausible failure as a typed error, and faults with bounded retries."""

from __future__ import annotations

import io

import httpx
import pikepdf
import pytest

from ocrflow.document import Document
from ocrflow.errors import (
    ConfigError,
    FileTooLargeError,
    LanguageNotAvailableError,
    PasswordProtectedError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
    TooManyPagesError,
)
from ocrflow.fakes.pdfocr import API_KEY, PdfOcrFake
from ocrflow.providers.base import DocumentPart, JobHandle, OcrRequest, ProviderResult
from ocrflow.providers.pdfocr import PdfOcrProvider
from ocrflow.quality import word_recall
from ocrflow.service import run_ocr
from tests.conftest import sample_bytes, truth_text
from tests.integration.pdf_probe import pdftotext

PREFIX = "OCRFLOW_PDFOCR_"


@pytest.fixture(scope="module")
def fake():
    with PdfOcrFake() as server:
        yield server


@pytest.fixture(autouse=True)
def env(fake, monkeypatch):
    fake.reset()
    monkeypatch.delenv(PREFIX + "SECRET_NAME", raising=False)
    settings = {"ENDPOINT": fake.base_url, "API_KEY": API_KEY, "MAX_ATTEMPTS": "3", "BACKOFF_BASE_SECONDS": "0.01",
                "BACKOFF_CAP_SECONDS": "0.05", "REQUERY_INTERVAL_SECONDS": "0.05", "TIMEOUT_SECONDS": "20"}
    for key, value in settings.items():
        monkeypatch.setenv(PREFIX + key, value)

    def setenv(**values):
        for key, value in values.items():
            monkeypatch.setenv(PREFIX + key.upper(), str(value))

    return setenv


def ocr(name: str, languages: str = "eng"):
    return run_ocr(sample_bytes(name), filename=name, provider="pdfocr", languages=languages)


def uploads(fake) -> list:
    return [r for r in fake.requests if r.path == "/ocrapiv1.html" and r.files]


def requeries(fake) -> list:
    return [r for r in fake.requests if r.path == "/ocrapiv1.html" and not r.files]


def part(name: str, media_type: str = "application/pdf", data: bytes | None = None) -> DocumentPart:
    return DocumentPart(data if data is not None else sample_bytes(name), media_type, name, 0, 1,
                        [(612.0, 792.0, "pt")])


def provider() -> PdfOcrProvider:
    client, _ = PdfOcrProvider.from_env()
    return client


# --- success ------------------------------------------------------------------------------------------------


def test_letter_becomes_a_searchable_pdf_with_word_boxes_and_credits(fake):
    outcome = ocr("letter.pdf")
    document = outcome.document
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.9
    words = document.pages[0].words()
    assert words and all(w.bbox is not None and w.confidence is None for w in words)
    assert document.searchable_pdf.origin == "provider"
    assert word_recall(truth_text("letter.pdf"), pdftotext(outcome.searchable_pdf)) >= 0.9
    assert Document.model_validate_json(document.model_dump_json()) == document
    assert document.credits.used == 1 and document.credits.remaining == 1999 and document.credits.unit == "pages"
    [upload] = uploads(fake)
    assert upload.form == {"apikey": API_KEY, "lang": "English", "outformat": "pdf", "ocr": "1",
                           "filename": upload.form["filename"]}
    assert upload.form["filename"].startswith("letter-") and upload.form["filename"].endswith(".pdf")


def test_an_image_is_sent_wrapped_in_a_pdf_because_images_to_pdf_is_not_offered(fake):
    document = ocr("notice.jpg").document
    assert word_recall(truth_text("notice.jpg"), document.text) >= 0.9
    assert document.pages[0].words() and document.searchable_pdf.origin == "provider"
    assert uploads(fake)[0].form["filename"].endswith(".pdf")


def test_txt_output_gives_text_without_boxes_and_ocrflow_builds_the_pdf(fake, env):
    env(outformat="txt")
    outcome = ocr("notice.jpg")
    document = outcome.document
    assert word_recall(truth_text("notice.jpg"), document.text) >= 0.9
    assert document.pages[0].blocks[0].lines and not document.pages[0].words()
    # no boxes, so ocrflow's own PDF (built from word boxes) carries the image only: use outformat=pdf for one
    assert document.searchable_pdf.origin == "ocrflow" and outcome.searchable_pdf.startswith(b"%PDF")
    assert uploads(fake)[0].form["filename"].endswith(".jpg")  # txt output takes the image itself


def test_a_document_over_the_page_limit_is_split_and_merged_in_page_order(fake, env):
    env(max_pages=2)
    document = ocr("report.pdf").document
    assert len(uploads(fake)) == 2
    assert [p.index for p in document.pages] == [0, 1, 2]
    assert word_recall(truth_text("report.pdf"), document.text) >= 0.9
    assert document.credits.used == 3 and document.credits.remaining == 1997


def test_txt_pages_are_split_on_form_feeds_and_otherwise_land_on_the_first_page(fake, env):
    env(outformat="txt", txt_pages_per_request=3)  # one upload; the second run reuses the fake's OCR
    document = ocr("report.pdf").document
    assert len(uploads(fake)) == 1 and all(p.text for p in document.pages)
    assert word_recall(truth_text("report.pdf"), document.text) >= 0.9
    fake.options.txt_page_separator = "\n\n"
    merged = ocr("report.pdf").document
    assert merged.pages[0].text and not merged.pages[1].text and not merged.pages[2].text
    assert merged.pages[1].warnings  # "the provider returned nothing for this page"
    assert word_recall(truth_text("report.pdf"), merged.text) >= 0.9


# --- the Cloudflare 524 path --------------------------------------------------------------------------------


def test_a_524_is_followed_by_requeries_until_the_answer(fake):
    fake.faults.inject("524")
    fake.options.requeries_before_ready = 2
    document = ocr("letter.pdf").document
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.9
    assert len(uploads(fake)) == 1
    queries = requeries(fake)
    assert len(queries) == 3 and all(q.form["filename"] == uploads(fake)[0].form["filename"] for q in queries)
    assert document.credits.used == 1 and document.credits.remaining == 1999


def test_the_handle_survives_json_and_is_polled_by_a_fresh_client(fake):
    fake.faults.inject("524")
    fake.options.requeries_before_ready = 1
    first = provider()
    handle = first.submit(part("letter.pdf"), OcrRequest())
    first.close()
    assert isinstance(handle, JobHandle) and handle.raw[0].body.startswith("<!DOCTYPE html>")
    text = handle.model_dump_json()
    assert API_KEY not in text
    fresh = provider()
    outcome = JobHandle.model_validate_json(text)
    for _ in range(20):
        outcome = fresh.poll(outcome)
        if not isinstance(outcome, JobHandle):
            break
        outcome = JobHandle.model_validate_json(outcome.model_dump_json())
    fresh.close()
    assert isinstance(outcome, ProviderResult)
    assert word_recall(truth_text("letter.pdf"), outcome.pages[0].text) >= 0.9
    assert outcome.searchable_pdf.startswith(b"%PDF") and outcome.credits.remaining == 1999
    assert [r.name for r in outcome.raw][:2] == ["submit", "requery"]


def test_a_json_still_converting_answer_and_get_requeries_work_too(fake, env):
    env(requery_method="GET")
    fake.faults.inject("524")
    fake.options.pending_style = "json"
    fake.options.requeries_before_ready = 2
    document = ocr("letter.pdf").document
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.9
    assert [q.method for q in requeries(fake)] == ["GET"] * 3


def test_a_read_timeout_on_the_upload_is_treated_like_a_524(fake, env):
    env(timeout_seconds=0.3)
    fake.options.conversion_delay = 0.6
    document = ocr("letter.pdf").document
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.9
    assert len(uploads(fake)) == 1 and requeries(fake)


def test_requeries_stop_at_the_deadline_with_a_typed_error(fake, env):
    env(requery_deadline_seconds=0.15)
    fake.faults.inject("524")
    fake.options.requeries_before_ready = 10_000
    with pytest.raises(ProviderUnavailableError) as caught:
        ocr("letter.pdf")
    assert caught.value.code == "provider_unavailable" and caught.value.retryable is False
    assert "did not finish" in str(caught.value) and len(uploads(fake)) == 1


# --- errors -------------------------------------------------------------------------------------------------


def test_an_unknown_key_is_an_auth_error(env):
    env(api_key="not-my-key")
    with pytest.raises(ProviderAuthError) as caught:
        ocr("letter.pdf")
    assert caught.value.code == "provider_auth" and "sign up" in str(caught.value)
    assert "not-my-key" not in str(caught.value)


def test_a_missing_key_is_a_config_error(monkeypatch):
    monkeypatch.delenv(PREFIX + "API_KEY")
    with pytest.raises(ConfigError, match=PREFIX + "API_KEY"):
        ocr("letter.pdf")


@pytest.mark.parametrize("how", ["empty balance", "quota fault"])
def test_no_pages_left_is_quota_exhausted(fake, how):
    if how == "empty balance":
        fake.options.balance = 0
    else:
        fake.faults.inject("quota")
    with pytest.raises(QuotaExhaustedError) as caught:
        ocr("letter.pdf")
    assert caught.value.code == "quota_exhausted" and len(uploads(fake)) == 1  # never retried


def test_an_unsupported_language_fails_before_anything_is_sent(fake):
    with pytest.raises(LanguageNotAvailableError) as caught:
        ocr("letter.pdf", languages="nld")
    assert caught.value.code == "language_not_available" and not fake.requests


def test_the_fakes_size_and_page_limits_give_typed_input_errors(fake):
    fake.options.max_bytes = 10_000
    with pytest.raises(FileTooLargeError) as caught:
        ocr("letter.pdf")
    assert caught.value.code == "file_too_large"
    fake.options.max_bytes, fake.options.max_pages = 10**8, 2
    with pytest.raises(TooManyPagesError) as caught:
        ocr("report.pdf")
    assert caught.value.code == "too_many_pages"


def _encrypted_pdf() -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(sample_bytes("letter.pdf"))) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="o", user="u"))
    return out.getvalue()


@pytest.mark.parametrize(("data", "media_type", "error", "code"), [
    (b"plain text, not a document", "application/pdf", ProviderRejectedInputError, "provider_rejected_input"),
    (b"%PDF-1.7\nno trailer at all", "application/pdf", ProviderRejectedInputError, "provider_rejected_input"),
    (None, "application/pdf", PasswordProtectedError, "password_protected"),
    (sample_bytes("notice.jpg"), "image/jpeg", ProviderRejectedInputError, "provider_rejected_input"),
], ids=["not-a-file", "damaged-pdf", "password", "image-to-pdf"])
def test_files_the_service_refuses_are_typed_input_errors(fake, data, media_type, error, code):
    client = provider()
    body = _encrypted_pdf() if data is None else data
    name = "upload.jpg" if media_type == "image/jpeg" else "upload.pdf"
    with pytest.raises(error) as caught:
        client.submit(part(name, media_type, body), OcrRequest())
    client.close()
    assert caught.value.code == code and caught.value.details["retcode"] == "400"


def test_requerying_a_conversion_that_does_not_exist_is_a_provider_error(fake):
    client = provider()
    handle = JobHandle(provider="pdfocr", state={"filename": "nothing-here.pdf", "outformat": "pdf",
                                                 "lang": "English", "page_count": 1, "deadline_at": 0})
    with pytest.raises(ProviderError) as caught:
        client.poll(handle)
    client.close()
    assert type(caught.value) is ProviderError and caught.value.code == "provider_error"


def test_the_fake_takes_a_url_with_get_and_says_when_it_cannot_fetch_it(fake):
    params = {"apikey": API_KEY, "url": f"{fake.base_url}/doc/missing.pdf", "outformat": "pdf", "ocr": "1",
              "lang": "English", "filename": "missing.pdf"}
    response = httpx.get(f"{fake.base_url}/ocrapiv1.html", params=params, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"retcode": "400", "msg": "Failed to download the file from the url."}


# --- faults -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["throttle", "error5xx", "malformed"])
def test_transient_faults_are_retried_to_a_result(fake, mode):
    fake.faults.inject(mode, times=2)
    document = ocr("letter.pdf").document
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.9
    assert len(uploads(fake)) == 3


@pytest.mark.parametrize(("mode", "error", "code"), [
    ("throttle", ThrottledError, "throttled"),
    ("error5xx", ProviderUnavailableError, "provider_unavailable"),
    ("malformed", ProviderUnavailableError, "provider_unavailable"),
])
def test_persistent_faults_end_in_one_typed_error(fake, mode, error, code):
    fake.faults.inject(mode, times=None)
    with pytest.raises(error) as caught:
        ocr("letter.pdf")
    assert caught.value.code == code and len(uploads(fake)) == 3  # MAX_ATTEMPTS


def test_a_throttle_carries_cloudflares_retry_after(fake):
    fake.faults.inject("throttle", times=None)
    client = provider()
    with pytest.raises(ThrottledError) as caught:
        client.submit(part("letter.pdf"), OcrRequest())
    client.close()
    assert caught.value.retry_after == 1.0


def test_a_broken_download_is_fetched_again_without_converting_twice(fake):
    fake.faults.inject("partial")
    document = ocr("letter.pdf").document
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.9
    assert len(uploads(fake)) == 1 and fake.balance == 1999
    assert len([r for r in fake.requests if r.path.startswith("/doc/")]) == 2
