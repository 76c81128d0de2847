"""Adobe PDF Services answers -> typed results or typed errors: every documented body shape and variant, and
arbitrary bodies never escaping as anything but an ocrflow error."""

from __future__ import annotations

import contextlib
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ocrflow.errors import (
    DamagedPdfError,
    FileTooLargeError,
    LanguageNotAvailableError,
    OcrflowError,
    PasswordProtectedError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
)
from ocrflow.providers.adobe import (
    ADOBE_LOCALES,
    LANGUAGE_TO_LOCALE,
    AdobeProvider,
    AdobeSettings,
    ErrorDetail,
    api_error,
    error_code,
    job_error,
    locale_for,
    parse_asset,
    parse_job_status,
    parse_result_pdf,
    parse_token,
    redact,
    storage_error,
)


def response(status: int = 200, body: object = None, *, text: str | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
    content = text.encode() if text is not None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers or {})


# --- error bodies --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    ({"error": {"code": "BAD_REQUEST", "message": "Invalid  request\nbody"}}, ("BAD_REQUEST", "Invalid request body")),
    ({"error": "invalid_client", "error_description": "invalid client_id parameter"},
     ("invalid_client", "invalid client_id parameter")),
    ({"error_code": "429001", "message": "Service usage limit reached"}, ("429001", "Service usage limit reached")),
    ({"error_code": 429050, "message": "Too many requests"}, ("429050", "Too many requests")),
    ({"error": {"code": 500}}, ("500", None)),
    ({"unexpected": True}, (None, None)),
    ([1, 2], (None, None)),
])
def test_error_code_reads_every_json_shape(body, expected):
    assert error_code(response(400, body)) == expected


def test_error_code_reads_s3_xml_and_ignores_html():
    xml = "<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    assert error_code(response(403, text=xml)) == ("AccessDenied", "Request has expired")
    assert error_code(response(503, text="<html><h1>503 Service Unavailable</h1></html>")) == (None, None)
    assert error_code(httpx.Response(502)) == (None, None)


@pytest.mark.parametrize(("status", "body", "step", "error", "retryable"), [
    (429, {"error": {"code": "TOO_MANY_REQUESTS", "message": "slow down"}}, "ocr", ThrottledError, True),
    (429, {"error_code": "429050", "message": "Too many requests"}, "assets", ThrottledError, True),
    (429, {"error": {"code": "INSUFFICIENT_QUOTA", "message": "no quota"}}, "ocr", QuotaExhaustedError, False),
    (429, {"error_code": "429001", "message": "usage limit"}, "assets", QuotaExhaustedError, False),
    (429, {"error_code": "429002", "message": "integration limit"}, "status", QuotaExhaustedError, False),
    (400, {"error": {"code": "BAD_REQUEST", "message": "bad"}}, "ocr", ProviderError, False),
    (400, {"error": {"code": "INVALID_JOB_ID", "message": "bad id"}}, "status", ProviderError, False),
    (404, {"error": {"code": "NOT_FOUND", "message": "Asset not found"}}, "ocr", ProviderError, False),
    (401, {"error": {"code": "UNAUTHORIZED", "message": "expired"}}, "status", ProviderAuthError, False),
    (403, {"error": {"code": "Forbidden"}}, "assets", ProviderAuthError, False),
    (413, None, "assets", FileTooLargeError, False),
    (415, {"error": {"code": "UNSUPPORTED_MEDIA_TYPE"}}, "ocr", ProviderRejectedInputError, False),
    (500, {"error": {"code": "INTERNAL_SERVER_ERROR"}}, "ocr", ProviderUnavailableError, True),
    (500, {"error": {"code": "UNKNOWN"}}, "assets", ProviderUnavailableError, True),
    (502, None, "status", ProviderUnavailableError, True),
    (503, None, "ocr", ProviderUnavailableError, True),
    (504, None, "assets", ProviderUnavailableError, True),
    # the token endpoint, both body shapes
    (400, {"error": "invalid_client", "error_description": "invalid client_id"}, "token", ProviderAuthError, False),
    (400, {"error": {"code": "unauthorized_client", "message": "x"}}, "token", ProviderAuthError, False),
    (400, {"error": {"code": "invalid_target_scope", "message": "x"}}, "token", ProviderAuthError, False),
    (401, {"error": {"code": "invalid_client", "message": "x"}}, "token", ProviderAuthError, False),
    (403, {"error": {"code": "access_denied", "message": "x"}}, "token", ProviderAuthError, False),
    (404, {"error": {"code": "not_found", "message": "organization"}}, "token", ProviderAuthError, False),
    (409, {"error": {"code": "duplicate_binding", "message": "x"}}, "token", ProviderAuthError, False),
    (500, {"error": {"code": "INTERNAL_SERVER_ERROR", "message": "x"}}, "token", ProviderUnavailableError, True),
])
def test_api_error_mapping(status, body, step, error, retryable):
    answer = response(status, text="") if body is None else response(status, body)
    exc = api_error(answer, step)
    assert type(exc) is error and exc.retryable is retryable
    assert exc.details["status"] == status and "\n" not in str(exc)


def test_throttle_honours_retry_after_when_present():
    body = {"error": {"code": "TOO_MANY_REQUESTS", "message": "x"}}
    assert api_error(response(429, body, headers={"retry-after": "4"}), "ocr").retry_after == 4
    assert api_error(response(429, body), "ocr").retry_after is None


def test_token_errors_name_the_settings_but_not_the_secret():
    exc = api_error(response(401, {"error": {"code": "invalid_client", "message": "bad secret"}}), "token")
    assert "OCRFLOW_ADOBE_CLIENT_SECRET" in str(exc) and exc.details["provider_code"] == "invalid_client"


@pytest.mark.parametrize(("status", "xml_code", "error"), [
    (400, "EntityTooLarge", FileTooLargeError),
    (503, "SlowDown", ThrottledError),
    (403, "AccessDenied", ProviderUnavailableError),
    (403, "SignatureDoesNotMatch", ProviderUnavailableError),
    (500, "InternalError", ProviderUnavailableError),
])
def test_storage_errors(status, xml_code, error):
    xml = f"<Error><Code>{xml_code}</Code><Message>m</Message><RequestId>1</RequestId></Error>"
    exc = storage_error(response(status, text=xml), "upload")
    assert type(exc) is error and exc.details["provider_code"] == xml_code


@pytest.mark.parametrize(("error", "expected", "code"), [
    (ErrorDetail(code="PASSWORD_PROTECTED", message="locked", status=400), PasswordProtectedError,
     "password_protected"),
    (ErrorDetail(code="CORRUPT_DOCUMENT", message="corrupt", status=400), DamagedPdfError, "damaged_pdf"),
    (ErrorDetail(code="INTERNAL_SERVER_ERROR", status=500), ProviderUnavailableError, "provider_unavailable"),
    (ErrorDetail(code="SOMETHING_NEW", status=400), ProviderRejectedInputError, "provider_rejected_input"),
    (ErrorDetail(code="SOMETHING_NEW", status=503), ProviderUnavailableError, "provider_unavailable"),
    (ErrorDetail(code="SOMETHING_NEW"), ProviderError, "provider_error"),
    (ErrorDetail(code="INSUFFICIENT_QUOTA", status=429), QuotaExhaustedError, "quota_exhausted"),
    ("CORRUPT_DOCUMENT", DamagedPdfError, "damaged_pdf"),
    (None, ProviderUnavailableError, "provider_unavailable"),
])
def test_failed_job_mapping(error, expected, code):
    exc = job_error(error)
    assert type(exc) is expected and exc.code == code


# --- success bodies --------------------------------------------------------------------------------------------


def test_token_variants():
    assert parse_token(response(200, {"access_token": "t", "token_type": "bearer", "expires_in": 86399})).expires_in \
        == 86399
    assert parse_token(response(200, {"access_token": "t", "expires_in": "600"})).expires_in == 600
    assert parse_token(response(200, {"access_token": "t"})).expires_in is None
    with pytest.raises(ProviderUnavailableError, match="malformed"):
        parse_token(response(200, {"token": "t"}))
    with pytest.raises(ProviderUnavailableError, match="not JSON"):
        parse_token(response(200, text="<html>sign in</html>"))


def test_asset_answer():
    asset = parse_asset(response(200, {"assetID": "urn:aaid:AS:UE1:1", "uploadUri": "https://s3/x?sig=1"}))
    assert asset.assetID == "urn:aaid:AS:UE1:1"
    with pytest.raises(ProviderUnavailableError):
        parse_asset(response(200, {"assetID": "urn:aaid:AS:UE1:1"}))


@pytest.mark.parametrize("status", ["in progress", "IN_PROGRESS", "In Progress", "in-progress", "pending"])
def test_in_progress_spellings(status):
    assert parse_job_status(response(200, {"status": status})).status == "in progress"


def test_done_and_failed_bodies():
    done = parse_job_status(response(200, {"status": "done", "asset": {
        "metadata": {"type": "application/pdf", "size": 200791}, "downloadUri": "https://s3/out?X-Amz-Signature=1",
        "assetID": "urn:aaid:AS:UE1:2"}}))
    assert done.status == "done" and done.asset.assetID == "urn:aaid:AS:UE1:2"
    failed = parse_job_status(response(200, {"status": "failed", "error": {
        "code": "CORRUPT_DOCUMENT", "message": "corrupt", "status": "400"}}))
    assert failed.error.code == "CORRUPT_DOCUMENT" and failed.error.status == 400
    assert parse_job_status(response(202, {"status": "DONE", "asset": {"downloadUri": "https://x"}})).status == "done"


@pytest.mark.parametrize("body", [
    {"status": "done"},                                  # done without a result
    {"status": "done", "asset": {"assetID": "a"}},      # done without a download URL
    {"status": "exploded"},                              # not a documented status
    {"state": "done"},
    ["done"],
])
def test_malformed_status_is_retryable(body):
    with pytest.raises(ProviderUnavailableError) as err:
        parse_job_status(response(200, body))
    assert err.value.retryable


def test_result_pdf_must_be_a_readable_pdf():
    with pytest.raises(ProviderUnavailableError, match="not a PDF"):
        parse_result_pdf(b"<Error><Code>AccessDenied</Code></Error>")
    with pytest.raises(ProviderUnavailableError, match="cannot be read"):
        parse_result_pdf(b"%PDF-1.7\n" + bytes(range(256)) * 4)


def test_signed_urls_are_redacted():
    body = '{"uploadUri":"https://bucket.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=x"}'
    assert redact(body) == '{"uploadUri":"https://bucket.s3.amazonaws.com/k?<redacted>"}'


# --- languages and settings --------------------------------------------------------------------------------------


def test_language_map_covers_the_documented_locales():
    assert set(LANGUAGE_TO_LOCALE.values()) <= ADOBE_LOCALES and len(ADOBE_LOCALES) == 38
    assert ADOBE_LOCALES - set(LANGUAGE_TO_LOCALE.values()) == {"en-GB", "de-CH"}  # via OCRFLOW_ADOBE_LOCALE


@pytest.mark.parametrize(("languages", "forced", "locale"), [
    (["eng"], None, "en-US"), (["deu"], None, "de-DE"), (["ger"], None, "de-DE"), (["fra", "eng"], None, "fr-FR"),
    (["chi_sim"], None, "zh-CN"), (["chi_tra"], None, "zh-HK"), (["heb"], None, "iw-IL"), (["nob"], None, "nb-NO"),
    (["eng"], "en-GB", "en-GB"), ([], None, "en-US"),
])
def test_locale_for(languages, forced, locale):
    assert locale_for(languages, forced) == locale


def test_unknown_language():
    with pytest.raises(LanguageNotAvailableError) as err:
        locale_for(["kaz"])
    assert err.value.code == "language_not_available" and "kaz" in str(err.value)


def test_settings(monkeypatch):
    for key in ("ENDPOINT", "REGION", "LOCALE", "OCR_TYPE", "SECRET_NAME"):
        monkeypatch.delenv(f"OCRFLOW_ADOBE_{key}", raising=False)
    base = {"client_id": "id", "client_secret": "secret"}
    assert AdobeSettings(**base).endpoint == "https://pdf-services.adobe.io"
    assert AdobeSettings(**base).ocr_type == "searchable_image_exact"
    assert AdobeSettings(**base, region="EW1").endpoint == "https://pdf-services-ew1.adobe.io"
    assert AdobeSettings(**base, region="ue1", endpoint="http://127.0.0.1:1/").endpoint == "http://127.0.0.1:1"
    assert AdobeSettings(**base, ocr_type="SEARCHABLE_IMAGE").ocr_type == "searchable_image"
    assert AdobeSettings(**base, locale="de-ch").locale == "de-CH"
    for bad in ({"locale": "xx-XX"}, {"region": "ap1"}, {"ocr_type": "text"}):
        with pytest.raises(ValidationError):
            AdobeSettings(**base, **bad)
    assert "secret" not in repr(AdobeSettings(**base)).replace("client_secret", "")


def test_limits():
    limits = AdobeProvider.limits
    assert limits.media_types == {"application/pdf"} and limits.max_bytes == 100 * 1024 * 1024
    assert limits.max_pages is None and limits.cost_unit == "transaction"


# --- arbitrary bodies ----------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
KEYS = st.sampled_from(["status", "asset", "error", "downloadUri", "assetID", "code", "message", "error_code",
                        "error_description", "access_token", "expires_in", "uploadUri", "metadata"])
ADOBEISH = st.recursive(
    st.none() | st.integers() | st.text(max_size=12) | st.sampled_from(["done", "failed", "in progress"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)
STATUS = st.sampled_from([200, 201, 202, 400, 401, 403, 404, 409, 413, 415, 429, 500, 502, 503, 504])


@settings(max_examples=300, deadline=None)
@given(body=JSON | ADOBEISH, status=STATUS, retry_after=st.none() | st.text(max_size=8))
def test_any_json_body_gives_a_typed_outcome(body, status, retry_after):
    headers = {"retry-after": retry_after} if retry_after and retry_after.isprintable() else {}
    try:
        answer = response(status, body, headers=headers)
    except (UnicodeEncodeError, httpx.LocalProtocolError):
        return
    for parse in (parse_job_status, parse_token, parse_asset):
        with contextlib.suppress(OcrflowError):
            parse(answer)
    for step in ("token", "assets", "ocr", "status"):
        assert isinstance(api_error(answer, step), OcrflowError)
    assert isinstance(storage_error(answer, "upload"), OcrflowError)
    if isinstance(body, dict):
        try:
            status_body = parse_job_status(response(200, {"status": "failed", "error": body.get("error")}))
        except OcrflowError:
            return
        assert isinstance(job_error(status_body.error), OcrflowError)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=300), status=STATUS)
def test_any_bytes_give_a_typed_outcome(raw, status):
    answer = httpx.Response(status, content=raw)
    for parse in (parse_job_status, parse_token, parse_asset):
        with contextlib.suppress(OcrflowError):
            parse(answer)
    assert isinstance(api_error(answer, "status"), OcrflowError)
    with contextlib.suppress(OcrflowError):
        parse_result_pdf(raw)
