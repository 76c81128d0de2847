"""The Adobe PDF Services client against its fake, over real HTTP: token, asset upload, OCR job, polling,
download, re-authentication, error mapping and fault recovery."""

from __future__ import annotations

import json

import httpx
import pytest

from ocrflow.document import Document
from ocrflow.errors import (
    ConfigError,
    DamagedPdfError,
    FileTooLargeError,
    LanguageNotAvailableError,
    PasswordProtectedError,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
)
from ocrflow.fakes.adobe import AdobeFake
from ocrflow.inputs.inspection import inspect_document
from ocrflow.providers.adobe import AdobeProvider
from ocrflow.providers.base import DocumentPart, JobHandle, OcrRequest, ProviderLimits, ProviderResult
from ocrflow.providers.runner import run_provider
from ocrflow.quality import word_recall
from ocrflow.service import run_ocr
from tests.bad_inputs import damaged_pdf, encrypted_pdf
from tests.conftest import sample_bytes, truth_text
from tests.integration.pdf_probe import pdftotext

PDF = "application/pdf"


@pytest.fixture(scope="module")
def fake():
    with AdobeFake() as server:
        yield server


@pytest.fixture(autouse=True)
def adobe_env(fake, monkeypatch):
    fake.faults.clear()
    fake.fault_steps = None
    fake.in_progress_polls = 1
    fake.retry_after = "0"
    fake.throttle_retry_after = "0"
    fake.quota_retry_after = None
    fake.url_ttl_seconds = 3600
    fake.max_bytes = 100 * 1024 * 1024
    fake.timeout_seconds = 5.0
    fake.requests.clear()
    for key, value in {"ENDPOINT": fake.base_url, "CLIENT_ID": "fake-client-id",
                       "CLIENT_SECRET": "fake-client-secret", "BACKOFF_BASE_SECONDS": "0.01",
                       "BACKOFF_CAP_SECONDS": "0.05", "MAX_ATTEMPTS": "3", "POLL_FALLBACK_SECONDS": "0",
                       "POLL_DEADLINE_SECONDS": "60"}.items():
        monkeypatch.setenv(f"OCRFLOW_ADOBE_{key}", value)
    for key in ("REGION", "LOCALE", "OCR_TYPE", "SECRET_NAME", "TIMEOUT_SECONDS"):
        monkeypatch.delenv(f"OCRFLOW_ADOBE_{key}", raising=False)


def provider() -> AdobeProvider:
    client, _ = AdobeProvider.from_env()
    return client  # type: ignore[return-value]


def pdf_part(data: bytes, pages: int = 1) -> DocumentPart:
    return DocumentPart(data, PDF, "doc.pdf", 0, pages)


def run_job(client: AdobeProvider, data: bytes, request: OcrRequest | None = None) -> ProviderResult:
    outcome = client.submit(pdf_part(data), request or OcrRequest())
    for _ in range(10):
        if not isinstance(outcome, JobHandle):
            return outcome
        outcome = client.poll(outcome)
    raise AssertionError("the job never finished")


def calls(fake: AdobeFake, method: str, prefix: str) -> list:
    return [r for r in fake.requests if r.method == method and r.path.startswith(prefix)]


# --- success -------------------------------------------------------------------------------------------------


def test_letter_pdf_is_ocred_by_adobe(fake):
    data = sample_bytes("letter.pdf")
    outcome = run_ocr(data, filename="letter.pdf", provider="adobe")
    doc = outcome.document
    assert word_recall(truth_text("letter.pdf"), doc.text) >= 0.9
    assert doc.searchable_pdf.origin == "provider"
    assert outcome.searchable_pdf == fake.searchable_pdf(data)  # Adobe's PDF, untouched
    assert word_recall(truth_text("letter.pdf"), pdftotext(outcome.searchable_pdf)) >= 0.9
    words = doc.pages[0].words()
    assert len(words) > 50 and all(w.bbox is not None and w.confidence is None for w in words)
    assert doc.pages[0].confidence is None and doc.pages[0].unit == "pt"
    assert doc.provider.name == "adobe" and doc.provider.engine == "adobe-pdf-services-ocr/searchable_image_exact"
    assert Document.model_validate_json(doc.model_dump_json()) == doc


def test_wire_format_and_headers(fake):
    run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    token = calls(fake, "POST", "/token")[0]
    assert token.form == {"client_id": "fake-client-id", "client_secret": "fake-client-secret"}
    api_calls = calls(fake, "POST", "/assets") + calls(fake, "POST", "/operation/ocr")
    api_calls += calls(fake, "GET", "/operation")
    for api in api_calls:
        assert api.headers["Authorization"].startswith("Bearer ") and api.headers["X-Api-Key"] == "fake-client-id"
    assert calls(fake, "POST", "/assets")[0].json == {"mediaType": PDF}
    assert calls(fake, "POST", "/operation/ocr")[0].json["ocrLang"] == "en-US"
    assert calls(fake, "POST", "/operation/ocr")[0].json["ocrType"] == "searchable_image_exact"
    for storage in calls(fake, "PUT", "/upload") + calls(fake, "GET", "/download"):
        assert "Authorization" not in storage.headers and "X-Api-Key" not in storage.headers
    assert calls(fake, "PUT", "/upload")[0].headers["Content-Type"] == PDF
    assert len(calls(fake, "DELETE", "/assets/")) == 2  # input and output removed after download


def test_png_is_wrapped_into_a_pdf(fake):
    outcome = run_ocr(sample_bytes("receipt.png"), filename="receipt.png", provider="adobe")
    doc = outcome.document
    assert word_recall(truth_text("receipt.png"), doc.text) >= 0.9
    assert doc.searchable_pdf.origin == "provider"
    assert all(w.bbox is not None and w.confidence is None for w in doc.pages[0].words())
    assert word_recall(truth_text("receipt.png"), pdftotext(outcome.searchable_pdf)) >= 0.9
    upload = calls(fake, "PUT", "/upload")[0]
    assert upload.headers["Content-Type"] == PDF


def test_large_document_is_split_and_merged_in_page_order(fake, monkeypatch):
    small = ProviderLimits(max_bytes=300_000, media_types=frozenset({PDF}), max_concurrency=2,
                           cost_unit="transaction")
    monkeypatch.setattr(AdobeProvider, "limits", small)
    outcome = run_ocr(sample_bytes("report.pdf"), filename="report.pdf", provider="adobe")
    assert len(calls(fake, "POST", "/operation/ocr")) == 3
    assert [p.index for p in outcome.document.pages] == [0, 1, 2]
    truths = truth_text("report.pdf").split("\f")
    assert len(truths) == 3
    for page, truth in zip(outcome.document.pages, truths, strict=True):
        assert word_recall(truth, page.text) >= 0.9
    assert outcome.document.searchable_pdf.origin == "provider"
    pdf_pages = pdftotext(outcome.searchable_pdf).split("\f")
    for truth, pdf_text in zip(truths, pdf_pages, strict=False):
        assert word_recall(truth, pdf_text) >= 0.9


def test_language_and_options_reach_the_wire(fake, monkeypatch):
    monkeypatch.setenv("OCRFLOW_ADOBE_OCR_TYPE", "SEARCHABLE_IMAGE")
    client = provider()
    client.submit(pdf_part(sample_bytes("letter.pdf")), OcrRequest(languages=["deu", "eng"]))
    body = calls(fake, "POST", "/operation/ocr")[-1].json
    assert body["ocrLang"] == "de-DE" and body["ocrType"] == "searchable_image"
    monkeypatch.setenv("OCRFLOW_ADOBE_LOCALE", "en-gb")
    provider().submit(pdf_part(sample_bytes("letter.pdf")), OcrRequest(languages=["eng"]))
    assert calls(fake, "POST", "/operation/ocr")[-1].json["ocrLang"] == "en-GB"


def test_unsupported_language_fails_before_any_request(fake):
    with pytest.raises(LanguageNotAvailableError) as err:
        run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe", languages="kaz")
    assert err.value.code == "language_not_available"
    assert fake.requests == []


# --- the job handle --------------------------------------------------------------------------------------------


def test_job_handle_survives_json_and_a_fresh_instance(fake, monkeypatch):
    monkeypatch.setenv("OCRFLOW_ADOBE_POLL_FALLBACK_SECONDS", "0.25")
    fake.in_progress_polls = 2
    fake.retry_after = "7"
    handle = provider().submit(pdf_part(sample_bytes("letter.pdf")), OcrRequest())
    assert isinstance(handle, JobHandle) and handle.wait_seconds == 0.25  # no retry-after on 201: the fallback
    text = handle.model_dump_json()
    assert "fake-client-secret" not in text and "Bearer" not in text and "X-Amz-Signature" not in text
    second = provider().poll(JobHandle.model_validate_json(text))
    assert isinstance(second, JobHandle) and second.wait_seconds == 7 and second.polls == 1
    fake.retry_after = None
    third = provider().poll(JobHandle.model_validate_json(second.model_dump_json()))
    assert isinstance(third, JobHandle) and third.wait_seconds == 0.25 and third.polls == 2
    result = provider().poll(JobHandle.model_validate_json(third.model_dump_json()))
    assert isinstance(result, ProviderResult)
    assert result.searchable_pdf and result.searchable_pdf.startswith(b"%PDF")
    assert word_recall(truth_text("letter.pdf"), result.pages[0].text) >= 0.9
    assert [r.name for r in result.raw] == ["adobe.assets", "adobe.operation.ocr", "adobe.status"]
    assert all("X-Amz-Signature" not in r.body for r in result.raw)
    assert len(calls(fake, "POST", "/token")) == 4  # every fresh instance authenticates for itself


def test_polling_url_on_a_foreign_host_is_refused(fake):
    handle = JobHandle(provider="adobe", state={"location": "https://evil.example/operation/ocr/1/status"})
    with pytest.raises(ProviderError, match="unexpected host"):
        provider().poll(handle)
    assert fake.requests == []  # the token never left


@pytest.mark.parametrize(("job_id", "provider_code"), [("unknown-job", "NOT_FOUND"), ("bad!id", "INVALID_JOB_ID")])
def test_unknown_or_invalid_job_is_terminal(fake, job_id, provider_code):
    handle = JobHandle(provider="adobe", state={"location": f"{fake.base_url}/operation/ocr/{job_id}/status"})
    with pytest.raises(ProviderError) as err:
        provider().poll(handle)
    assert err.value.code == "provider_error" and not err.value.retryable
    assert err.value.details["provider_code"] == provider_code


# --- authentication ------------------------------------------------------------------------------------------


def test_expired_token_is_renewed_once(fake):
    fake.fault_steps = {"ocr"}
    fake.faults.inject("expired_token")
    outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert outcome.document.searchable_pdf.origin == "provider"
    assert fake.wait_idle()  # the abandoned token call is still being answered; keep it inside this test
    assert len(calls(fake, "POST", "/token")) == 2
    assert len(calls(fake, "POST", "/operation/ocr")) == 2


def test_token_refused_twice_is_an_auth_error(fake):
    fake.faults.inject("expired_token", times=None)
    with pytest.raises(ProviderAuthError) as err:
        run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert err.value.code == "provider_auth" and err.value.details["provider_code"] == "UNAUTHORIZED"
    assert len(calls(fake, "POST", "/token")) == 2 and len(calls(fake, "POST", "/assets")) == 2


def test_token_is_cached_and_refreshed_two_minutes_before_expiry(fake):
    fake.token_ttl_seconds = 600
    now = [1000.0]
    client = AdobeProvider(AdobeProvider.settings_class(), clock=lambda: now[0])
    part = pdf_part(sample_bytes("letter.pdf"))
    try:
        client.submit(part, OcrRequest())
        now[0] += 479
        client.submit(part, OcrRequest())
        assert len(calls(fake, "POST", "/token")) == 1
        now[0] += 2  # 119 s left
        client.submit(part, OcrRequest())
        assert len(calls(fake, "POST", "/token")) == 2
    finally:
        fake.token_ttl_seconds = 86399
        client.close()


@pytest.mark.parametrize(("client_id", "secret"), [("fake-client-id", "wrong"), ("nobody", "fake-client-secret")])
def test_bad_credentials(fake, monkeypatch, client_id, secret):
    monkeypatch.setenv("OCRFLOW_ADOBE_CLIENT_ID", client_id)
    monkeypatch.setenv("OCRFLOW_ADOBE_CLIENT_SECRET", secret)
    with pytest.raises(ProviderAuthError) as err:
        run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert err.value.details["provider_code"] == "invalid_client"
    assert "OCRFLOW_ADOBE_CLIENT_SECRET" in str(err.value) and secret not in str(err.value)
    assert len(calls(fake, "POST", "/token")) == 1  # not retried


def test_missing_credentials_name_the_variable(monkeypatch):
    monkeypatch.delenv("OCRFLOW_ADOBE_CLIENT_SECRET")
    with pytest.raises(ConfigError, match="OCRFLOW_ADOBE_CLIENT_SECRET"):
        run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")


# --- provider errors and faults ------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "provider_code"), [("ocr", "TOO_MANY_REQUESTS"), ("assets", "429050"),
                                                     ("status", "429050")])
def test_throttling_is_retried(fake, step, provider_code):
    fake.fault_steps = {step}
    fake.faults.inject("throttle")
    outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert outcome.document.searchable_pdf.origin == "provider"
    fake.faults.inject("throttle", times=None)
    with pytest.raises(ThrottledError) as err:
        run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert err.value.code == "throttled" and err.value.retry_after == 0
    assert err.value.details["provider_code"] == provider_code


@pytest.mark.parametrize(("step", "provider_code", "retry_after"), [
    ("ocr", "INSUFFICIENT_QUOTA", None), ("assets", "429001", None), ("status", "429001", None),
    ("ocr", "INSUFFICIENT_QUOTA", "600"),  # exhausted even when Adobe says when to come back
])
def test_quota_exhausted_is_not_retried(fake, step, provider_code, retry_after):
    fake.fault_steps = {step}
    fake.quota_retry_after = retry_after
    fake.faults.inject("quota", times=None)
    with pytest.raises(QuotaExhaustedError) as err:
        run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert err.value.code == "quota_exhausted" and err.value.details["provider_code"] == provider_code
    # the window the workflow marks the provider exhausted for, when Adobe names one
    assert err.value.details.get("retry_after") == (float(retry_after) if retry_after else None)
    path = {"ocr": "/operation/ocr", "assets": "/assets", "status": "/operation/ocr/"}[step]
    asked = [r for r in fake.requests if r.path.startswith(path) and (step != "status") == (r.method == "POST")]
    assert len(asked) == 1


@pytest.mark.parametrize("step", ["assets", "status"])
def test_usage_limit_with_a_retry_after_is_waited_out_and_retried(fake, step):
    """A 429 usage limit (429001) that carries a retry-after is a throttle: the job waits that long (on a
    fake clock here: far above the 0.05 s back-off cap) and goes on, it does not end as quota_exhausted."""
    fake.fault_steps = {step}
    fake.quota_retry_after = "20"
    fake.faults.inject("quota", times=1)
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    client, settings = AdobeProvider.from_env()
    data = sample_bytes("letter.pdf")
    try:
        outcome = run_provider(client, settings, data, inspect_document(data), "letter.pdf", OcrRequest(),
                               sleep=sleep, clock=lambda: now[0])
    finally:
        client.close()
    assert not fake.faults.active("quota")  # it did fire
    assert word_recall(truth_text("letter.pdf"), "\n".join(p.text for p in outcome.pages)) >= 0.9
    assert outcome.searchable_pdf is not None and 20.0 in waits


@pytest.mark.parametrize("mode", ["error5xx", "unavailable", "malformed"])
@pytest.mark.parametrize("step", ["token", "assets", "ocr", "status"])
def test_transient_faults_recover(fake, mode, step):
    fake.fault_steps = {step}
    fake.faults.inject(mode)
    outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert word_recall(truth_text("letter.pdf"), outcome.document.text) >= 0.9
    assert outcome.document.searchable_pdf.origin == "provider"
    assert not fake.faults.active(mode)  # the fault did fire


def test_slow_answers_are_waited_for(fake):
    fake.faults.inject("slow", times=3)
    outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert outcome.document.searchable_pdf.origin == "provider"


@pytest.mark.parametrize(("mode", "step"), [("error5xx", "upload"), ("error5xx", "download"),
                                            ("partial", "download"), ("expired_token", "upload")])
def test_storage_faults_recover(fake, mode, step):
    fake.fault_steps = {step}
    fake.faults.inject(mode)
    outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert outcome.document.searchable_pdf.origin == "provider"


def test_expired_download_url_is_refreshed(fake):
    fake.fault_steps = {"download"}
    fake.faults.inject("expired_token")
    outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert outcome.document.searchable_pdf.origin == "provider"
    assert len(calls(fake, "GET", "/assets/")) == 1 and len(calls(fake, "GET", "/download")) == 2
    assert len(calls(fake, "GET", "/operation/")) == 2  # no extra poll needed


@pytest.mark.parametrize("mode", ["error5xx", "unavailable"])
def test_persistent_outage_is_one_typed_error(fake, mode):
    fake.faults.inject(mode, times=None)
    with pytest.raises(ProviderUnavailableError) as err:
        run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert err.value.code == "provider_unavailable" and err.value.retryable
    assert len(calls(fake, "POST", "/token")) == 3  # max_attempts


def test_missing_location_is_a_typed_error(fake):
    fake.fault_steps = {"ocr"}
    fake.faults.inject("malformed", times=None)
    with pytest.raises(ProviderUnavailableError, match="no location"):
        run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")


def test_read_timeout_is_retried(fake, monkeypatch):
    fake.searchable_pdf(sample_bytes("letter.pdf"))  # warm the fake's OCR: only the injected fault may be slow
    monkeypatch.setenv("OCRFLOW_ADOBE_TIMEOUT_SECONDS", "0.3")
    fake.timeout_seconds = 1.0
    fake.faults.inject("timeout")  # hits the token call, which is safe to repeat
    outcome = run_ocr(sample_bytes("letter.pdf"), filename="letter.pdf", provider="adobe")
    assert outcome.document.searchable_pdf.origin == "provider"


def test_encrypted_pdf_fails_the_job_as_password_protected(fake):
    with pytest.raises(PasswordProtectedError) as err:
        run_job(provider(), encrypted_pdf(sample_bytes("letter.pdf")))
    assert err.value.code == "password_protected" and err.value.details["provider_code"] == "PASSWORD_PROTECTED"


def test_unreadable_pdf_fails_the_job_as_corrupt(fake):
    with pytest.raises(DamagedPdfError) as err:
        run_job(provider(), damaged_pdf())
    assert err.value.code == "damaged_pdf" and err.value.details["provider_code"] == "CORRUPT_DOCUMENT"
    assert not err.value.retryable


def test_file_over_the_storage_limit_is_rejected(fake):
    fake.max_bytes = 1000
    with pytest.raises(FileTooLargeError) as err:
        provider().submit(pdf_part(sample_bytes("letter.pdf")), OcrRequest())
    assert err.value.code == "file_too_large" and err.value.details["provider_code"] == "EntityTooLarge"


def test_raw_responses_are_kept_without_secrets(fake):
    result = run_job(provider(), sample_bytes("letter.pdf"))
    status = json.loads(result.raw[-1].body)
    assert status["status"] == "done" and status["asset"]["downloadUri"].endswith("?<redacted>")


def test_fake_enforces_auth_and_presigned_urls(fake):
    http = httpx.Client(base_url=fake.base_url)
    assert http.post("/assets", json={"mediaType": PDF}).json()["error"]["code"] == "UNAUTHORIZED"
    token = http.post("/token", data={"client_id": "fake-client-id", "client_secret": "fake-client-secret"}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}", "x-api-key": "fake-client-id"}
    assert http.post("/assets", json={"mediaType": PDF}, headers={**auth, "x-api-key": "other"}).status_code == 401
    png = http.post("/assets", json={"mediaType": "image/png"}, headers=auth).json()
    upload = png["uploadUri"]
    assert http.put(upload, content=b"x", headers={"Content-Type": PDF}).status_code == 403  # signed content-type
    assert b"InvalidArgument" in http.put(upload, content=b"x", headers={**auth, "Content-Type": "image/png"}).content
    assert http.put(upload, content=sample_bytes("receipt.png"), headers={"Content-Type": "image/png"}).status_code \
        == 200
    job = http.post("/operation/ocr", json={"assetID": png["assetID"]}, headers=auth)
    assert job.status_code == 400 and job.json()["error"]["code"] == "BAD_REQUEST"  # OCR takes PDF only
    extra = http.post("/operation/ocr", json={"assetID": png["assetID"], "lang": "en"}, headers=auth)
    assert extra.status_code == 400  # additionalProperties: false
    http.close()
