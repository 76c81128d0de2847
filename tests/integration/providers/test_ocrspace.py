"""The OCR.space client against its fake over real HTTP, end to end through `run_ocr(provider="ocrspace")`."""

from __future__ import annotations

import functools
import io
import json
import os
import statistics
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pikepdf
import pytest

from ocrflow.document import Document
from ocrflow.errors import (
    ConfigError,
    DamagedPdfError,
    FileTooLargeError,
    LanguageNotAvailableError,
    ProviderAuthError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
    TooManyPagesError,
)
from ocrflow.fakes.ocrspace import FAKE_KEY, TIERS, WATERMARK, OcrSpaceFake
from ocrflow.providers.base import DocumentPart, OcrRequest
from ocrflow.providers.ocrspace import OcrSpaceProvider
from ocrflow.quality import word_recall
from ocrflow.samples import build_sample, sample_text, scan_set
from ocrflow.service import run_ocr
from tests.conftest import SAMPLES, sample_bytes, truth_text
from tests.integration.pdf_probe import iou, pdftotext

PREFIX = "OCRFLOW_OCRSPACE_"


@pytest.fixture(scope="module")
def fake():
    with OcrSpaceFake() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(fake):
    fake.faults.clear()
    fake.tier = "free"
    fake.max_bytes, fake.max_pages = TIERS["free"]
    fake.searchable_lifetime = 3600.0
    fake.requests.clear()
    fake.received.clear()
    yield
    fake.faults.clear()


@pytest.fixture
def env(monkeypatch, fake):
    for key in list(os.environ):
        if key.startswith(PREFIX):
            monkeypatch.delenv(key)

    def configure(**values: object) -> None:
        for key, value in values.items():
            monkeypatch.setenv(PREFIX + key.upper(), str(value))

    configure(endpoint=fake.base_url, api_key=FAKE_KEY, backoff_base_seconds=0.01, backoff_cap_seconds=0.05,
              max_attempts=3, timeout_seconds=20)
    return configure


def ocr(name: str, **kwargs):
    return run_ocr(sample_bytes(name), filename=name, provider="ocrspace", **kwargs)


def posts(server: OcrSpaceFake):
    return [r for r in server.requests if r.method == "POST"]


def assert_valid_json(document: Document) -> None:
    assert Document.model_validate_json(document.model_dump_json()) == document


# --- success ---------------------------------------------------------------------------------------------


def test_image_gives_text_exact_word_boxes_and_ocrflows_searchable_pdf(fake, env):
    outcome = ocr("receipt.png")
    document = outcome.document
    assert word_recall(truth_text("receipt.png"), document.text) >= 0.9
    assert_valid_json(document)
    page = document.pages[0]
    assert (page.unit, page.width, page.height) == ("px", 1500, 1650)
    words = page.words()
    assert words and all(w.bbox is not None and w.confidence is None for w in words)
    # the boxes are the fake's own reading, in pixels, normalized back: equal within a pixel
    seen = [w for p in fake.ocr(sample_bytes("receipt.png")).pages for w in p.words() if w.bbox]
    assert [w.text for w in words] == [w.text for w in seen]
    for ours, theirs in zip(words, seen, strict=True):
        assert abs(ours.bbox.x0 - theirs.bbox.x0) <= 1 / 1500 and abs(ours.bbox.y1 - theirs.bbox.y1) <= 1 / 1650
    # built by ocrflow from the exact boxes: the original image untouched, no OCR.space watermark
    assert document.searchable_pdf.origin == "ocrflow"
    assert word_recall(truth_text("receipt.png"), pdftotext(outcome.searchable_pdf)) >= 0.9
    assert WATERMARK not in pdftotext(outcome.searchable_pdf)
    assert document.provider.engine == "OCREngine2" and document.credits.unit == "request"

    (request,) = posts(fake)
    assert request.headers["Apikey"] == FAKE_KEY and "apikey" not in request.form
    assert request.form == {"language": "eng", "OCREngine": "2", "isOverlayRequired": "true",
                            "detectOrientation": "false", "scale": "false", "isTable": "false",
                            "isCreateSearchablePdf": "false", "filetype": "PNG"}
    assert request.files == {"file": len(sample_bytes("receipt.png"))}


def test_jpeg_scan(fake, env):
    document = ocr("notice.jpg").document
    assert word_recall(truth_text("notice.jpg"), document.text) >= 0.9
    assert all(w.bbox is not None for w in document.pages[0].words())
    assert posts(fake)[0].form["filetype"] == "JPG"


def test_pdf_pages_are_rendered_here_so_boxes_are_exact(fake, env, ocr_sample):
    outcome = ocr("letter.pdf")
    document = outcome.document
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.9
    assert_valid_json(document)
    page = document.pages[0]
    assert page.unit == "pt" and round(page.width) == 595 and page.dpi == 300
    (received,) = fake.received
    assert received.media_type == "image/jpeg" and received.pages == 1 and received.size <= 1_000_000
    assert "isSearchablePdfHideTextLayer" not in posts(fake)[0].form  # no provider PDF for a rendered page
    # same words, same places as the embedded engine reading the original PDF
    reference = {w.text: w.bbox for w in ocr_sample("letter.pdf").document.pages[0].words()}
    overlaps = [iou((w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1), (r.x0, r.y0, r.x1, r.y1))
                for w in page.words() if (r := reference.get(w.text)) is not None]
    assert len(overlaps) > 50 and statistics.median(overlaps) > 0.8
    assert document.searchable_pdf.origin == "ocrflow"
    assert word_recall(truth_text("letter.pdf"), pdftotext(outcome.searchable_pdf)) >= 0.9


def test_pdf_sent_as_is_on_the_free_plan_gets_ocrflows_pdf_without_the_watermark(fake, env):
    env(pdf_as_images="false")
    outcome = ocr("letter.pdf")
    document = outcome.document
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.9
    words = document.pages[0].words()
    assert words and all(w.bbox is None for w in words)  # the raster OCR.space used is unknown: no guessing
    assert document.pages[0].unit == "pt"
    # the free plan's PDF carries "Generated by OCR.space": not asked for, ocrflow builds its own
    assert document.searchable_pdf.origin == "ocrflow"
    text = pdftotext(outcome.searchable_pdf)
    assert word_recall(truth_text("letter.pdf"), text) >= 0.9 and WATERMARK not in text
    form = posts(fake)[0].form
    assert form["filetype"] == "PDF" and form["isCreateSearchablePdf"] == "false"
    assert [r for r in fake.requests if r.method == "GET"] == []


def test_pdf_sent_as_is_on_a_pro_plan_downloads_its_searchable_pdf_with_the_text_hidden(fake, env):
    fake.tier = "pro"
    env(pdf_as_images="false", tier="pro")
    outcome = ocr("letter.pdf")
    document = outcome.document
    assert all(w.bbox is None for w in document.pages[0].words())
    assert document.searchable_pdf.origin == "provider"
    text = pdftotext(outcome.searchable_pdf)
    assert word_recall(truth_text("letter.pdf"), text) >= 0.9 and WATERMARK not in text
    form = posts(fake)[0].form
    assert form["filetype"] == "PDF" and form["isCreateSearchablePdf"] == "true"
    assert form["isSearchablePdfHideTextLayer"] == "true"
    assert [r.path.split("/")[1] for r in fake.requests if r.method == "GET"] == ["searchable"]
    with pikepdf.open(io.BytesIO(outcome.searchable_pdf)) as pdf:
        modes = [int(operands[0]) for operands, op in pikepdf.parse_content_stream(pdf.pages[0]) if str(op) == "Tr"]
    assert modes and set(modes) == {3}


def test_multipage_tiff_comes_back_in_order(fake, env):
    document = ocr("memo.tiff").document
    assert [p.index for p in document.pages] == [0, 1]
    assert "Annual Meeting" in document.pages[0].text and "Museum" in document.pages[1].text
    assert word_recall(truth_text("memo.tiff"), document.text) >= 0.9
    assert len(posts(fake)) == 2


def test_base64_input(fake, env):
    env(input_mode="base64")
    document = ocr("receipt.png").document
    assert word_recall(truth_text("receipt.png"), document.text) >= 0.9
    (received,) = fake.received
    assert received.how == "base64image"
    assert posts(fake)[0].form["base64Image"].startswith("data:image/png;base64,iVBOR")


@pytest.fixture
def file_server():
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(SAMPLES)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_url_input(fake, env, file_server):
    provider, _ = OcrSpaceProvider.from_env()
    with provider.http:
        result = provider.submit_url(f"{file_server}/receipt.png", OcrRequest())
    assert word_recall(truth_text("receipt.png"), result.pages[0].text) >= 0.9
    assert result.pages[0].unit == "unknown"
    assert all(w.bbox is None for w in result.pages[0].words())  # no bytes here: no pixel size to scale by
    assert fake.received[0].how == "url" and posts(fake)[0].form["url"].endswith("/receipt.png")
    env(input_mode="url")
    with pytest.raises(ConfigError, match="submit_url"):
        ocr("receipt.png")


# --- the example: a 20-page scan through the free plan (1 MB, 3 pages per request) ------------------


def test_free_plan_reads_a_20_page_scan_in_order(fake, env):
    spec = scan_set(20)
    outcome = run_ocr(build_sample(spec), filename="scan.pdf", provider="ocrspace")
    pages = outcome.document.pages
    assert [p.index for p in pages] == list(range(20))
    for number, page in enumerate(pages, start=1):
        assert f"Section {number}" in page.text
    assert word_recall(sample_text(spec), outcome.document.text) >= 0.9
    assert len(fake.received) == 20
    assert all(r.size <= 1_000_000 and r.pages <= 3 for r in fake.received)
    assert all(size <= 1_000_000 for r in posts(fake) for size in r.files.values())


# --- documented errors -------------------------------------------------------------------------------------


def test_invalid_key_is_an_auth_error_and_not_retried(fake, env):
    env(api_key="wrong-key")
    with pytest.raises(ProviderAuthError) as caught:
        ocr("receipt.png")
    assert caught.value.code == "provider_auth" and "wrong-key" not in str(caught.value)
    assert len(posts(fake)) == 1


def test_missing_key_names_the_variable(env, monkeypatch):
    monkeypatch.delenv(PREFIX + "API_KEY")
    with pytest.raises(ConfigError, match="OCRFLOW_OCRSPACE_API_KEY"):
        ocr("receipt.png")


def test_file_over_the_plan_size(fake, env):
    fake.max_bytes = 100_000
    with pytest.raises(FileTooLargeError) as caught:
        ocr("receipt.png")
    assert caught.value.code == "file_too_large" and "97 KB" in str(caught.value)
    assert len(posts(fake)) == 1


def test_pdf_over_the_plan_page_limit(fake, env):
    fake.max_pages = 1
    env(pdf_as_images="false")
    with pytest.raises(TooManyPagesError) as caught:
        ocr("report.pdf")
    assert caught.value.code == "too_many_pages"


def test_document_the_provider_cannot_read(fake, env):
    env(pdf_as_images="false")
    provider, _ = OcrSpaceProvider.from_env()
    broken = DocumentPart(b"%PDF-1.4\nnot really a pdf", "application/pdf", "broken.pdf", 0, 1, [(612, 792, "pt")])
    with provider.http, pytest.raises(ProviderRejectedInputError) as caught:
        provider.submit(broken, OcrRequest())
    assert caught.value.code == "provider_rejected_input"


def test_damaged_pdf_is_caught_before_sending(fake, env):
    provider, _ = OcrSpaceProvider.from_env()
    broken = DocumentPart(b"%PDF-1.4\nnot really a pdf", "application/pdf", "broken.pdf", 0, 1, [(612, 792, "pt")])
    with provider.http, pytest.raises(DamagedPdfError):
        provider.submit(broken, OcrRequest())
    assert posts(fake) == []


def test_languages(fake, env):
    with pytest.raises(LanguageNotAvailableError, match="kaz"):
        ocr("receipt.png", languages="kaz")
    with pytest.raises(LanguageNotAvailableError, match="ENGINE=1"):
        ocr("receipt.png", languages="rus")
    assert posts(fake) == []
    env(engine=1)
    ocr("receipt.png", languages="deu")
    assert posts(fake)[0].form["language"] == "ger" and posts(fake)[0].form["OCREngine"] == "1"


# --- faults: recovered within bounded retries, or one typed error ---------------------------------------


@pytest.mark.parametrize("mode", ["throttle", "unavailable", "malformed", "error5xx"])
def test_transient_fault_is_retried(fake, env, mode):
    fake.faults.inject(mode, times=1)
    document = ocr("receipt.png").document
    assert word_recall(truth_text("receipt.png"), document.text) >= 0.9
    assert len(posts(fake)) == 2


@pytest.mark.parametrize(("mode", "error", "code"), [
    ("throttle", ThrottledError, "throttled"),
    ("unavailable", ProviderUnavailableError, "provider_unavailable"),
    ("error5xx", ProviderUnavailableError, "provider_unavailable"),
])
def test_lasting_fault_gives_one_typed_error(fake, env, mode, error, code):
    fake.faults.inject(mode, times=None)
    with pytest.raises(error) as caught:
        ocr("receipt.png")
    assert caught.value.code == code
    assert len(posts(fake)) == 3  # OCRFLOW_OCRSPACE_MAX_ATTEMPTS


def test_daily_limit_is_quota_exhausted_and_not_retried(fake, env):
    fake.faults.inject("quota", times=None)
    with pytest.raises(QuotaExhaustedError) as caught:
        ocr("receipt.png")
    assert caught.value.code == "quota_exhausted"
    assert len(posts(fake)) == 1


def test_read_timeout_is_retried(fake, env):
    ocr("receipt.png")  # warm the fake's OCR cache: the retry must not itself take longer than the time-out
    env(timeout_seconds=2)
    fake.faults.inject("timeout", times=1)
    document = ocr("receipt.png").document
    assert word_recall(truth_text("receipt.png"), document.text) >= 0.9


def test_partial_result_keeps_the_page_with_a_warning(fake, env):
    fake.faults.inject("partial", times=1)
    page = ocr("receipt.png").document.pages[0]
    assert page.text == "" and page.blocks == []
    assert [w.code for w in page.warnings] == ["page_failed"] and "-10" in page.warnings[0].message


def test_expired_searchable_pdf_link(fake, env):
    fake.searchable_lifetime = 0.0
    fake.tier = "pro"
    # a PDF sent as it is has no boxes to rebuild from: the request fails as transient, then for good
    env(pdf_as_images="false", tier="pro", max_attempts=2)
    with pytest.raises(ProviderUnavailableError, match="HTTP 404"):
        ocr("letter.pdf")


# --- PRO: two hosts, failover within one attempt -------------------------------------------------------


@pytest.fixture
def pro_hosts(fake, env):
    first, second = OcrSpaceFake.pro_pair()
    first.share_ocr_cache(fake)
    second.share_ocr_cache(fake)
    with first, second:
        env(tier="pro", endpoints=json.dumps([first.parse_url, second.parse_url]), max_attempts=1)
        yield first, second


def test_pro_host_failure_fails_over_to_the_other(pro_hosts):
    first, second = pro_hosts
    first.faults.inject("error5xx", times=None)
    document = ocr("receipt.png").document
    assert word_recall(truth_text("receipt.png"), document.text) >= 0.9
    assert len(posts(first)) == 1 and len(posts(second)) == 1


def test_pro_host_timeout_fails_over(pro_hosts, env):
    first, second = pro_hosts
    ocr("receipt.png")  # warm the shared OCR cache: only the injected fault may be slow
    first.requests.clear()
    second.requests.clear()
    env(timeout_seconds=2)
    first.faults.inject("timeout", times=None)
    document = ocr("receipt.png").document
    assert word_recall(truth_text("receipt.png"), document.text) >= 0.9
    assert len(posts(second)) == 1


def test_both_pro_hosts_down(pro_hosts):
    first, second = pro_hosts
    first.faults.inject("error5xx", times=None)
    second.faults.inject("error5xx", times=None)
    with pytest.raises(ProviderUnavailableError):
        ocr("receipt.png")
    assert len(posts(first)) == 1 and len(posts(second)) == 1


def test_pro_limits_follow_the_tier(env):
    env(tier="pro_pdf")
    provider, _ = OcrSpaceProvider.from_env()
    provider.close()
    assert (provider.limits.max_bytes, provider.limits.max_pages) == (100_000_000, 999)
    assert provider.limits.cost_unit == "request"


# --- the fake's own searchable PDF follows seed 001 ------------------------------------------------------


@pytest.mark.parametrize(("tier", "hide", "modes", "watermarked"), [
    ("free", "false", {0}, True),   # "By default, the added text layer is visible"; free plan: watermark
    ("free", "true", {3}, True),
    ("pro", "true", {3}, False),    # "With the PRO OCR API, no watermark is added"
])
def test_the_fakes_searchable_pdf_is_made_as_the_seed_says(fake, tier, hide, modes, watermarked):
    import httpx

    fake.tier = tier
    form = {"isCreateSearchablePdf": "true", "isSearchablePdfHideTextLayer": hide, "filetype": "PNG"}
    answer = httpx.post(fake.parse_url, headers={"apikey": FAKE_KEY}, data=form,
                        files={"file": ("receipt.png", sample_bytes("receipt.png"), "image/png")}, timeout=60).json()
    pdf = httpx.get(answer["SearchablePDFURL"], timeout=10).content
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        ops = pikepdf.parse_content_stream(doc.pages[0])
        render_modes = [int(operands[0]) for operands, op in ops if str(op) == "Tr"]
        texts = [bytes(operands[0]).decode("cp1252") for operands, op in ops if str(op) == "Tj"]
    if watermarked:  # drawn last, visible, in the lower right corner
        assert texts.pop() == WATERMARK and render_modes.pop() == 0
    assert WATERMARK not in texts and set(render_modes) == modes
    assert word_recall(truth_text("receipt.png"), pdftotext(pdf)) >= 0.9
