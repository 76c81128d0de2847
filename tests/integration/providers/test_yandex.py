"""The Yandex Vision OCR client against its fake, over real HTTP: images and one-page PDFs synchronously,
multi-page PDFs as operations polled to the end (also from a fresh client given only the handle's JSON), both
answer casings, every documented error code as its typed error, the fault modes, the fake's limits and the
1 request/second pacing of the sync method."""

from __future__ import annotations

import base64
import io
import threading
import time

import pikepdf
import pytest
from PIL import Image

from ocrflow.document import Document
from ocrflow.errors import (
    ConfigError,
    LanguageNotAvailableError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    ThrottledError,
)
from ocrflow.fakes.yandex import YandexFake
from ocrflow.inputs.inspection import inspect_document
from ocrflow.providers.base import DocumentPart, JobHandle, OcrRequest, ProviderResult
from ocrflow.providers.runner import run_provider, wait_for
from ocrflow.providers.yandex import YandexProvider
from ocrflow.quality import word_recall
from ocrflow.service import run_ocr
from tests.conftest import sample_bytes, truth_text
from tests.integration.pdf_probe import pdftotext

KEY = "fake-yandex-key"
SYNC, ASYNC, RESULT = "/ocr/v1/recognizeText", "/ocr/v1/recognizeTextAsync", "/ocr/v1/getRecognition"


@pytest.fixture(scope="module")
def fake():
    with YandexFake() as server:
        yield server


@pytest.fixture(scope="module")
def base_env(fake):
    """Point the client at the fake with quick back-off, short poll waits and no pacing (one test turns it on)."""
    with pytest.MonkeyPatch.context() as patch:
        for key in ("IAM_TOKEN", "FOLDER_ID", "SECRET_NAME", "MODEL"):
            patch.delenv(f"OCRFLOW_YANDEX_{key}", raising=False)
        for key, value in {"ENDPOINT": fake.base_url, "OPERATION_ENDPOINT": fake.base_url, "API_KEY": KEY,
                           "BACKOFF_BASE_SECONDS": "0.01", "BACKOFF_CAP_SECONDS": "0.05", "MAX_ATTEMPTS": "3",
                           "POLL_WAIT_SECONDS": "0.02", "MIN_SYNC_INTERVAL_SECONDS": "0"}.items():
            patch.setenv(f"OCRFLOW_YANDEX_{key}", value)
        yield


@pytest.fixture(autouse=True)
def env(fake, base_env, monkeypatch):
    fake.reset()
    return monkeypatch


def ocr(name: str, **kwargs):
    return run_ocr(sample_bytes(name), filename=name, provider="yandex", **kwargs)


def calls(fake, path: str) -> list:
    return [r for r in fake.requests if r.path == path or (path == "/operations" and r.path.startswith(path))]


def header(request, name: str) -> str | None:
    return next((v for k, v in request.headers.items() if k.lower() == name.lower()), None)


def part_of(name: str) -> DocumentPart:
    data = sample_bytes(name)
    info = inspect_document(data)
    unit = "px" if info.media_type.is_image else "pt"
    return DocumentPart(data, info.media_type.value, name, 0, info.page_count,
                        [(p.width, p.height, unit) for p in info.pages])


@pytest.fixture(scope="module")
def notice(fake, base_env):
    fake.reset()
    outcome = run_ocr(sample_bytes("notice.jpg"), filename="notice.jpg", provider="yandex")
    return outcome, list(fake.requests)


@pytest.fixture(scope="module")
def report(fake, base_env):
    fake.reset()
    fake.polls_until_done = 3
    outcome = run_ocr(sample_bytes("report.pdf"), filename="report.pdf", provider="yandex")
    return outcome, list(fake.requests)


# --- success ------------------------------------------------------------------------------------------------


def test_image_is_read_synchronously_with_word_boxes(notice):
    outcome, requests = notice
    document = outcome.document
    assert word_recall(truth_text("notice.jpg"), document.text) >= 0.9
    assert Document.model_validate_json(document.model_dump_json()) == document
    page = document.pages[0]
    assert page.unit == "px" and page.confidence is None and page.text_orientation == 0
    words = page.words()
    assert words and all(w.bbox is not None and w.polygon and w.confidence is None for w in words)
    assert {block.language for block in page.blocks} == {"eng"}
    assert document.provider.engine == "yandex-vision-ocr/page" and document.searchable_pdf.origin == "ocrflow"
    assert word_recall(truth_text("notice.jpg"), pdftotext(outcome.searchable_pdf)) >= 0.9
    [post] = [r for r in requests if r.path == SYNC]
    assert [r.path for r in requests] == [SYNC]
    assert post.json["mimeType"] == "JPEG" and post.json["languageCodes"] == ["en"] and post.json["model"] == "page"
    assert base64.b64decode(post.json["content"]) == sample_bytes("notice.jpg")
    assert header(post, "Authorization") == f"Api-Key {KEY}" and header(post, "x-folder-id") is None


def test_one_page_pdf_goes_to_the_sync_method(fake):
    outcome = ocr("letter.pdf")
    assert word_recall(truth_text("letter.pdf"), outcome.text) >= 0.9
    [post] = calls(fake, SYNC)
    assert post.json["mimeType"] == "application/pdf" and not calls(fake, ASYNC)
    page = outcome.document.pages[0]
    assert page.unit == "px" and page.dpi == pytest.approx(300, rel=0.02)  # pixels of Yandex's rendering
    assert word_recall(truth_text("letter.pdf"), pdftotext(outcome.searchable_pdf)) >= 0.9


def test_multi_page_pdf_is_an_operation_polled_to_the_end(report):
    outcome, requests = report
    paths = [r.path.rsplit("/", 1)[0] if r.path.startswith("/operations/") else r.path for r in requests]
    assert paths == [ASYNC, "/operations", "/operations", "/operations", RESULT]
    assert requests[-1].path == RESULT and requests[0].json["mimeType"] == "application/pdf"
    document = outcome.document
    assert [p.index for p in document.pages] == [0, 1, 2]
    for page, truth in zip(document.pages, truth_text("report.pdf").split("\f"), strict=True):
        assert word_recall(truth, page.text) >= 0.9 and page.words()
    assert word_recall(truth_text("report.pdf"), pdftotext(outcome.searchable_pdf)) >= 0.9


def test_job_handle_survives_json_and_a_fresh_client(fake, report):
    fake.polls_until_done = 2
    fake.recognition_not_found = 2  # done, yet the result 404s twice: still in progress
    provider, _ = YandexProvider.from_env()
    handle = provider.submit(part_of("report.pdf"), OcrRequest())
    provider.close()
    states = []
    while isinstance(handle, JobHandle):
        handle = JobHandle.model_validate_json(handle.model_dump_json())
        states.append((handle.state["done"], handle.state["not_found"]))
        fresh, _ = YandexProvider.from_env()
        try:
            handle = fresh.poll(handle)
        finally:
            fresh.close()
    assert states == [(False, 0), (False, 0), (True, 1), (True, 2)]
    assert isinstance(handle, ProviderResult) and len(handle.pages) == 3
    assert [p.text for p in handle.pages] == [p.text for p in report[0].document.pages]
    assert [r.name for r in handle.raw] == ["recognizeTextAsync", "operation", "getRecognition"]


def test_result_that_never_appears_is_an_error(fake, report):
    fake.recognition_not_found = 100
    with pytest.raises(ProviderError) as exc:
        ocr("report.pdf")
    assert type(exc.value) is ProviderError and exc.value.details["grpc_code"] == 5
    assert len(calls(fake, RESULT)) == 6  # first try + NOT_FOUND_RETRIES


def test_tiff_is_sent_as_png_pages(fake):
    outcome = ocr("memo.tiff")
    posts = calls(fake, SYNC)
    assert [p.json["mimeType"] for p in posts] == ["PNG", "PNG"]
    assert [p.index for p in outcome.document.pages] == [0, 1]
    assert word_recall(truth_text("memo.tiff"), outcome.text) >= 0.9


@pytest.mark.parametrize(("snake", "alternatives"), [(True, False), (False, True), (True, True)])
def test_snake_case_and_older_line_layout_read_the_same(fake, notice, snake, alternatives):
    fake.snake_case, fake.alternatives = snake, alternatives
    provider, _ = YandexProvider.from_env()
    try:
        result = provider.submit(part_of("notice.jpg"), OcrRequest())
    finally:
        provider.close()
    body = result.raw[0].body
    assert ('"text_annotation"' in body) is snake and ('"alternatives"' in body) is alternatives
    assert result.pages == notice[0].document.pages


def test_pages_beyond_the_limit_are_split_and_merged_in_order(fake, report):
    provider, settings = YandexProvider.from_env()
    provider.limits = provider.limits.model_copy(update={"max_pages": 2})
    data = sample_bytes("report.pdf")
    try:
        outcome = run_provider(provider, settings, data, inspect_document(data), "report.pdf", OcrRequest())
    finally:
        provider.close()
    assert outcome.parts == 2 and len(calls(fake, ASYNC)) == 1 and len(calls(fake, SYNC)) == 1  # 2 pages + 1
    assert [p.index for p in outcome.pages] == [0, 1, 2]
    for page, whole in zip(outcome.pages, report[0].document.pages, strict=True):
        assert word_recall(whole.text, page.text) >= 0.9


# --- authentication and configuration ----------------------------------------------------------------------


def test_iam_token_is_sent_with_the_folder(fake, env, notice):
    env.delenv("OCRFLOW_YANDEX_API_KEY")
    env.setenv("OCRFLOW_YANDEX_IAM_TOKEN", fake.iam_token)
    env.setenv("OCRFLOW_YANDEX_FOLDER_ID", fake.folder_id)
    assert ocr("notice.jpg").text == notice[0].text
    [post] = calls(fake, SYNC)
    assert header(post, "Authorization") == f"Bearer {fake.iam_token}"
    assert header(post, "x-folder-id") == fake.folder_id


def test_wrong_folder_is_permission_denied(fake, env):
    env.delenv("OCRFLOW_YANDEX_API_KEY")
    env.setenv("OCRFLOW_YANDEX_IAM_TOKEN", fake.iam_token)
    env.setenv("OCRFLOW_YANDEX_FOLDER_ID", "b1gotherfolder")
    with pytest.raises(ProviderAuthError) as exc:
        ocr("notice.jpg")
    assert exc.value.details["grpc_code"] == 7 and exc.value.details["status"] == 403
    assert len(fake.requests) == 1


def test_expired_iam_token_says_so_and_is_not_retried(fake, env):
    env.delenv("OCRFLOW_YANDEX_API_KEY")
    env.setenv("OCRFLOW_YANDEX_IAM_TOKEN", fake.iam_token)
    env.setenv("OCRFLOW_YANDEX_FOLDER_ID", fake.folder_id)
    fake.faults.inject("expired_token")
    with pytest.raises(ProviderAuthError) as exc:
        ocr("notice.jpg")
    assert exc.value.code == "provider_auth" and exc.value.details["grpc_code"] == 16
    assert "expired" in exc.value.message and "IAM_TOKEN" in exc.value.message
    assert len(fake.requests) == 1


def test_wrong_api_key_is_an_auth_error(fake, env):
    env.setenv("OCRFLOW_YANDEX_API_KEY", "not-the-key")
    with pytest.raises(ProviderAuthError) as exc:
        ocr("notice.jpg")
    assert exc.value.details["status"] == 401 and "not-the-key" not in str(exc.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(("variables", "named"), [
    ({}, "OCRFLOW_YANDEX_API_KEY"),
    ({"IAM_TOKEN": "t1.x"}, "OCRFLOW_YANDEX_FOLDER_ID"),
    ({"IAM_TOKEN": "t1.x", "FOLDER_ID": "b1g", "API_KEY": KEY}, "not both"),
    ({"API_KEY": KEY, "MODEL": "passport-ish"}, "OCRFLOW_YANDEX_MODEL"),
])
def test_configuration_errors_name_the_variable(fake, env, variables, named):
    env.delenv("OCRFLOW_YANDEX_API_KEY")
    for key, value in variables.items():
        env.setenv(f"OCRFLOW_YANDEX_{key}", value)
    with pytest.raises(ConfigError, match=named):
        ocr("notice.jpg")
    assert not fake.requests


# --- languages -----------------------------------------------------------------------------------------------


def test_languages_are_sent_as_iso_639_1(fake, notice):
    ocr("notice.jpg", languages="deu+eng")
    assert calls(fake, SYNC)[0].json["languageCodes"] == ["de", "en"]
    fake.reset()
    ocr("notice.jpg", languages="auto")
    assert calls(fake, SYNC)[0].json["languageCodes"] == ["*"]


@pytest.mark.parametrize("languages", ["ukr", "jpn+deu", "hin"])
def test_languages_yandex_cannot_read_fail_before_sending(fake, languages):
    with pytest.raises(LanguageNotAvailableError):
        ocr("notice.jpg", languages=languages)
    assert not fake.requests


# --- documented error codes ----------------------------------------------------------------------------------

TERMINAL = [(3, ProviderRejectedInputError, 400), (9, ProviderRejectedInputError, 400),
            (5, ProviderError, 404), (7, ProviderAuthError, 403), (16, ProviderAuthError, 401)]
TRANSIENT = [(4, ProviderUnavailableError, 504), (13, ProviderUnavailableError, 500),
             (14, ProviderUnavailableError, 503), (8, ThrottledError, 429)]


@pytest.mark.parametrize(("grpc", "error", "status"), TERMINAL)
def test_terminal_error_codes_are_typed_and_not_retried(fake, notice, grpc, error, status):
    fake.inject_error(grpc, times=5)
    with pytest.raises(error) as exc:
        ocr("notice.jpg")
    assert type(exc.value) is error and exc.value.code == error.code and not exc.value.retryable
    assert exc.value.details["grpc_code"] == grpc and exc.value.details["status"] == status
    assert exc.value.details["request_id"]
    assert len(calls(fake, SYNC)) == 1


@pytest.mark.parametrize(("grpc", "error", "status"), TRANSIENT)
def test_transient_error_codes_are_retried_then_reported(fake, notice, grpc, error, status):
    fake.inject_error(grpc, times=5)
    with pytest.raises(error) as exc:
        ocr("notice.jpg")
    assert type(exc.value) is error and exc.value.retryable and exc.value.details["grpc_code"] == grpc
    assert len(calls(fake, SYNC)) == 3  # OCRFLOW_YANDEX_MAX_ATTEMPTS


@pytest.mark.parametrize(("grpc", "error", "status"), TRANSIENT)
def test_transient_error_codes_once_still_give_a_result(fake, notice, grpc, error, status):
    fake.inject_error(grpc, times=1)
    assert ocr("notice.jpg").text == notice[0].text
    assert len(calls(fake, SYNC)) == 2


def test_failed_operation_is_reported_without_polling_again(fake, report):
    fake.operation_error = 3
    with pytest.raises(ProviderRejectedInputError) as exc:
        ocr("report.pdf")
    assert exc.value.details["grpc_code"] == 3 and len(calls(fake, "/operations")) == 1
    fake.reset()
    fake.operation_error = 13
    with pytest.raises(ProviderUnavailableError) as exc:
        ocr("report.pdf")
    assert not exc.value.retryable and len(calls(fake, "/operations")) == 1


def test_unknown_operation_is_not_found(fake):
    provider, _ = YandexProvider.from_env()
    try:
        with pytest.raises(ProviderError) as exc:
            provider.poll(JobHandle(provider="yandex", state={"operation_id": "fd3nosuchoperation"}))
        assert exc.value.details["grpc_code"] == 5
        with pytest.raises(ProviderError, match="not a yandex job handle"):
            provider.poll(JobHandle(provider="yandex", state={}))
    finally:
        provider.close()


# --- fault modes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["throttle", "unavailable", "error5xx", "malformed"])
def test_transient_faults_are_retried_to_a_result(fake, notice, mode):
    fake.faults.inject(mode)
    assert ocr("notice.jpg").text == notice[0].text
    assert len(calls(fake, SYNC)) == 2


@pytest.mark.parametrize("mode", ["unavailable", "malformed"])
def test_faults_while_polling_are_retried(fake, report, mode):
    provider, settings = YandexProvider.from_env()
    try:
        handle = provider.submit(part_of("report.pdf"), OcrRequest())
        fake.faults.inject(mode)  # hits the first operations/{id} call
        result = wait_for(provider, handle, settings)
    finally:
        provider.close()
    assert [p.text for p in result.pages] == [p.text for p in report[0].document.pages]
    assert len(calls(fake, "/operations")) == 2 and len(calls(fake, RESULT)) == 1


def test_error_on_the_result_call_is_retried(fake, report):
    fake.inject_error(14, path=RESULT)
    assert ocr("report.pdf").text == report[0].text
    assert len(calls(fake, RESULT)) == 2


def test_throttled_every_time_gives_up_with_a_throttled_error(fake, notice):
    fake.faults.inject("throttle", times=None)
    with pytest.raises(ThrottledError) as exc:
        ocr("notice.jpg")
    assert exc.value.details["grpc_code"] == 8 and len(calls(fake, SYNC)) == 3


def test_read_timeout_on_the_charged_sync_call_is_not_retried(fake, env, notice):
    env.setenv("OCRFLOW_YANDEX_TIMEOUT_SECONDS", "0.3")
    env.setattr(fake, "timeout_seconds", 1.0)
    fake.faults.inject("timeout")
    with pytest.raises(ProviderUnavailableError) as exc:
        ocr("notice.jpg")
    assert not exc.value.retryable and len(calls(fake, SYNC)) == 1
    assert fake.wait_idle()  # the fake still answers the abandoned call; let it finish inside this test


# --- the fake's documented limits ------------------------------------------------------------------------------


def _pdf(pages: int) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(200, 200))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("media", "make", "pages", "reason"), [
    ("application/pdf", lambda: _pdf(201), 201, "200"),           # async: more than 200 pages
    ("application/pdf", lambda: _pdf(3), 1, "1 page"),            # sync: a multi-page PDF
    ("image/png", lambda: _png(5000, 4001), 1, "20 megapixels"),  # over 20 MP
    ("image/jpeg", lambda: b"\xff\xd8\xff\xe0" + bytes(10_000_000), 1, "10 MB"),
])
def test_over_limit_requests_are_rejected_by_the_fake(fake, media, make, pages, reason):
    provider, _ = YandexProvider.from_env()
    try:
        with pytest.raises(ProviderRejectedInputError, match=reason) as exc:
            provider.submit(DocumentPart(make(), media, "big", 0, pages, []), OcrRequest())
    finally:
        provider.close()
    assert exc.value.details["grpc_code"] == 3 and exc.value.details["status"] == 400


# --- pacing --------------------------------------------------------------------------------------------------


def test_sync_calls_are_spaced_a_second_apart(fake, env, notice):
    env.setenv("OCRFLOW_YANDEX_MIN_SYNC_INTERVAL_SECONDS", "1.0")
    part = part_of("notice.jpg")
    errors: list[Exception] = []

    def send() -> None:
        provider, _ = YandexProvider.from_env()  # separate clients: the pacing is process-wide
        try:
            provider.submit(part, OcrRequest())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            provider.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    first, second = sorted(fake.sync_times)
    # the second call may not leave before its slot, a second after the first; unpaced, both arrive at once.
    # (Measured from the start, not between arrivals: a loaded machine can delay the first arrival.)
    assert second - started >= 0.99
