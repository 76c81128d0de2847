"""pdfocr.org answers -> the conversion's data, "still converting" or one typed error; txt output -> pages;
language and file-name rules. No network: answers are httpx.Response objects built in memory."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocrflow.errors import (
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
    TooManyPagesError,
)
from ocrflow.providers.base import DocumentPart
from ocrflow.providers.pdfocr import (
    Converted,
    PdfOcrSettings,
    Pending,
    api_url,
    limits_for,
    pages_from_text,
    pdfocr_language,
    read_answer,
    wire_filename,
)

DOCUMENTED_SUCCESS = ('{"retcode":"200","msg":"Conversion success.","data":{"filename":"example.docx",'
                      '"link":"https://pdfocr.org/doc/example.docx","available pages":2000}}')
DOCUMENTED_FAILURE = '{"retcode":"404","msg":"API key does not exist, please sign up."}'


def answer(body: str | bytes | dict, status: int = 200, headers: dict | None = None) -> httpx.Response:
    content = json.dumps(body) if isinstance(body, dict) else body
    return httpx.Response(status, content=content.encode() if isinstance(content, str) else content,
                          headers=headers or {"content-type": "application/json"})


def failure(msg: str, retcode: str = "400", **extra) -> OcrflowError:
    with pytest.raises(OcrflowError) as caught:
        read_answer(answer({"retcode": retcode, "msg": msg, **extra}), "submit")
    return caught.value


# --- the documented shapes ----------------------------------------------------------------------------------


def test_the_documented_success():
    result = read_answer(answer(DOCUMENTED_SUCCESS), "submit")
    assert isinstance(result, Converted)
    assert result.data.link == "https://pdfocr.org/doc/example.docx" and result.data.filename == "example.docx"
    assert result.data.available_pages == 2000
    assert result.raw.name == "submit" and result.raw.body == DOCUMENTED_SUCCESS


def test_the_documented_failure_is_an_auth_error_whatever_the_http_status():
    for status in (200, 404):
        with pytest.raises(ProviderAuthError) as caught:
            read_answer(answer(DOCUMENTED_FAILURE, status), "submit")
        assert caught.value.code == "provider_auth" and caught.value.details["retcode"] == "404"


@pytest.mark.parametrize("body", [
    {"retcode": 200, "msg": "ok", "data": {"link": "https://x/doc/a.pdf", "available pages": "1,500"}},
    {"retcode": "200", "msg": None, "data": {"link": "https://x/doc/a.pdf", "available_pages": 1500}},
    {"retcode": " 200 ", "data": {"link": "https://x/doc/a.pdf", "availablePages": 1500.0, "extra": [1]}},
], ids=["numbers", "snake-case", "camel-case"])
def test_tolerated_variations_of_success(body):
    result = read_answer(answer(body), "requery")
    assert isinstance(result, Converted) and result.data.available_pages == 1500


def test_success_without_a_balance_still_converts():
    result = read_answer(answer({"retcode": "200", "data": {"link": "/doc/a.txt"}}), "submit")
    assert isinstance(result, Converted) and result.data.available_pages is None


@pytest.mark.parametrize("body", [
    {"retcode": "200", "msg": "Conversion success."},
    {"retcode": "200", "data": []},
    {"retcode": "200", "data": {"link": "  "}},
])
def test_success_without_a_link_is_retryable(body):
    with pytest.raises(ProviderUnavailableError) as caught:
        read_answer(answer(body), "submit")
    assert caught.value.retryable


# --- the Cloudflare 524 and "still converting" ----------------------------------------------------------------


def test_a_524_page_is_still_converting_and_kept_short():
    page = "<html>" + "x" * 10_000 + "</html>"
    result = read_answer(answer(page, 524, {"content-type": "text/html"}), "submit")
    assert isinstance(result, Pending) and len(result.raw.body) == 2_000


@pytest.mark.parametrize("retcode", ["202", "100", "300", "processing", ""])
def test_other_retcodes_are_still_converting(retcode):
    assert isinstance(read_answer(answer({"retcode": retcode, "msg": "working"}), "requery"), Pending)


def test_a_5xx_retcode_is_a_retryable_failure():
    with pytest.raises(ProviderUnavailableError) as caught:
        read_answer(answer({"retcode": "500", "msg": "Server busy"}), "submit")
    assert caught.value.retryable and "Server busy" in str(caught.value)


# --- failures by message ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("msg", "retcode", "extra", "error"), [
    ("Invalid API key.", "401", {}, ProviderAuthError),
    ("Insufficient pages, please buy more credits.", "402", {}, QuotaExhaustedError),
    ("You have run out of pages.", "403", {}, QuotaExhaustedError),
    ("Conversion refused.", "403", {"data": {"available pages": 0}}, QuotaExhaustedError),
    ("Too many requests, slow down.", "429", {}, ThrottledError),
    ("Please unlock your pdf first.", "400", {}, PasswordProtectedError),
    ("File too large, the maximum size is 15 MB.", "413", {}, FileTooLargeError),
    ("Too many pages, the maximum is 20 pages per file.", "413", {}, TooManyPagesError),
    ("Language 'Klingon' is not supported.", "400", {}, LanguageNotAvailableError),
    ("Failed to read the file, it may be damaged.", "400", {}, ProviderRejectedInputError),
    ("Unsupported file format.", "415", {}, ProviderRejectedInputError),
    ("No conversion found for this filename.", "404", {}, ProviderError),
    ("Something odd happened.", "499", {}, ProviderError),
    ("", "400", {"data": []}, ProviderError),
])
def test_failures_are_typed_by_their_message(msg, retcode, extra, error):
    caught = failure(msg, retcode, **extra)
    assert type(caught) is error and caught.details["retcode"] == retcode
    assert not caught.retryable or error is ThrottledError


@pytest.mark.parametrize(("status", "headers", "error", "retryable"), [
    (429, {"retry-after": "7"}, ThrottledError, True),
    (413, {}, FileTooLargeError, False),
    (502, {}, ProviderUnavailableError, True),
    (503, {}, ProviderUnavailableError, True),
    (403, {}, ProviderError, False),
    (200, {}, ProviderUnavailableError, True),
])
def test_bodies_that_are_not_pdfocr_json_go_by_http_status(status, headers, error, retryable):
    with pytest.raises(error) as caught:
        read_answer(answer("<html>Cloudflare</html>", status, {"content-type": "text/html", **headers}), "submit")
    assert type(caught.value) is error and caught.value.retryable is retryable
    if status == 429:
        assert caught.value.retry_after == 7


def test_a_truncated_json_answer_is_retryable():
    with pytest.raises(ProviderUnavailableError):
        read_answer(answer('{"retcode":"200","msg":"Conversion succ'), "submit")


# --- txt output, languages, names, settings ---------------------------------------------------------------------


def test_txt_pages_split_on_form_feeds():
    pages = pages_from_text("first page\r\nline two\fsecond page\f", 2, [[100, 200, "px"], [612, 792, "pt"]])
    assert [p.text for p in pages] == ["first page\nline two", "second page"]
    assert [line.text for line in pages[0].blocks[0].lines] == ["first page", "line two"]
    assert (pages[1].width, pages[1].unit) == (612, "pt") and pages[0].blocks[0].lines[0].bbox is None


def test_txt_without_matching_page_breaks_is_one_text_for_the_first_page():
    pages = pages_from_text("all\nof it\fmore", 3, [])
    assert len(pages) == 1 and pages[0].text == "all\nof it\n\nmore" and pages[0].unit == "unknown"
    assert pages_from_text("", 1, [])[0].blocks == []


@pytest.mark.parametrize(("languages", "expected"), [
    (["eng"], "English"), (["deu"], "German"), (["eng", "fra"], "French"), (["rus", "eng", "deu"], "Russian"),
    (["chi_sim"], "ChineseSimplified"), (["chi_tra"], "ChineseTraditional"),
])
def test_languages_map_to_one_pdfocr_name_preferring_the_non_english_one(languages, expected):
    assert pdfocr_language(languages) == expected


def test_an_unsupported_language_is_named():
    with pytest.raises(LanguageNotAvailableError, match="nld"):
        pdfocr_language(["eng", "nld"])


@pytest.mark.parametrize(("filename", "media_type", "stem", "ext"), [
    ("Résumé (final) 2024.PDF", "application/pdf", "Resume-final-2024", "pdf"),
    ("scan.jpg", "image/jpeg", "scan", "jpg"),
    ("scan.jpeg", "image/jpeg", "scan", "jpeg"),
    ("photo.png", "image/jpeg", "photo", "jpg"),  # the extension follows what is actually sent
    ("no_extension", "image/tiff", "no-extension", "tif"),
    ("???.pdf", "application/pdf", "document", "pdf"),
    ("report-p21-40.pdf", "application/pdf", "report-p21-40", "pdf"),
])
def test_upload_names_use_letters_digits_and_hyphens(filename, media_type, stem, ext):
    name = wire_filename(DocumentPart(b"data", media_type, filename, 0, 1))
    base, suffix = name.rsplit(".", 1)
    assert suffix == ext and base.rsplit("-", 1)[0] == stem and len(base.rsplit("-", 1)[1]) == 10
    assert all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in base)
    assert wire_filename(DocumentPart(b"other", media_type, filename, 0, 1)) != name


def test_endpoint_may_be_a_base_url_or_the_api_page():
    assert api_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/ocrapiv1.html"
    assert api_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/ocrapiv1.html"
    assert api_url("https://pdfocr.org/ocrapiv1.html") == "https://pdfocr.org/ocrapiv1.html"


def test_limits_follow_the_output_format():
    pdf = limits_for(PdfOcrSettings(api_key="k"))
    assert pdf.media_types == {"application/pdf"} and pdf.max_pages == 20 and pdf.max_bytes == 15_000_000
    assert pdf.cost_unit == "page"
    txt = limits_for(PdfOcrSettings(api_key="k", outformat="TXT"))
    assert "image/png" in txt.media_types and "image/tiff" in txt.media_types and txt.max_pages == 1


def test_settings_defaults_are_the_documented_ones():
    s = PdfOcrSettings(api_key="k")
    assert s.endpoint == "https://pdfocr.org/ocrapiv1.html" and s.api_key_param == "apikey"
    assert s.file_field == "file" and s.outformat == "pdf" and s.requery_interval_seconds == 5
    assert s.requery_deadline_seconds == 600 and s.timeout_seconds > 100


# --- anything at all ------------------------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
_answers = st.fixed_dictionaries(
    {"retcode": st.sampled_from(["200", "404", "402", "429", "500", "202", 200, None, [], "4xx"]) | _json_values},
    optional={"msg": _json_values | st.sampled_from(["API key does not exist", "Insufficient pages"]),
              "data": _json_values | st.fixed_dictionaries(
                  {}, optional={"link": _json_values | st.just("https://x/doc/a.pdf"),
                                "available pages": _json_values, "filename": _json_values})})


def _check(response: httpx.Response) -> None:
    try:
        result = read_answer(response, "submit")
    except OcrflowError as exc:
        assert exc.message and "\n" not in exc.message
        return
    assert isinstance(result, Converted | Pending)
    if isinstance(result, Converted):
        assert result.data.link and result.data.link.strip()


@settings(max_examples=300, deadline=None)
@given(body=_answers | _json_values, status=st.sampled_from([200, 400, 404, 429, 500, 502, 524]))
def test_any_json_answer_is_a_result_or_a_typed_error(body, status):
    _check(httpx.Response(status, content=json.dumps(body).encode()))


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200), status=st.integers(min_value=100, max_value=599))
def test_any_bytes_are_a_result_or_a_typed_error(body, status):
    _check(httpx.Response(status, content=body, headers={"content-type": "application/json; charset=bogus-charset"}))
