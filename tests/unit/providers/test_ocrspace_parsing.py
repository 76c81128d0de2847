"""OCR.space answers -> pages or typed errors: the documented variants, and anything else a server may send."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ocrflow.document import Page
from ocrflow.errors import (
    FileTooLargeError,
    LanguageNotAvailableError,
    OcrflowError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
    TooManyPagesError,
)
from ocrflow.providers.ocrspace import (
    FREE_ENDPOINT,
    PRO_ENDPOINTS,
    Frame,
    OcrSpaceProvider,
    OcrSpaceSettings,
    map_language,
    pages_from_response,
    read_body,
)

IMAGE = Frame(1000.0, 800.0, "px", (1000, 800))
PDF_PAGE = Frame(612.0, 792.0, "pt", None)

#: PROVIDERS.md §2.4's minimal example
EXAMPLE = {
    "ParsedResults": [{
        "TextOverlay": {"Lines": [{"LineText": "Invoice 42", "Words": [
            {"WordText": "Invoice", "Left": 93.0, "Top": 37.0, "Height": 20.0, "Width": 70.0},
            {"WordText": "42", "Left": 170.0, "Top": 37.0, "Height": 20.0, "Width": 22.0}],
            "MaxHeight": 20.0, "MinTop": 37.0}], "HasOverlay": True, "Message": "Total lines: 1"},
        "TextOrientation": "0", "FileParseExitCode": 1, "ParsedText": "Invoice 42\r\n",
        "ErrorMessage": "", "ErrorDetails": ""}],
    "OCRExitCode": 1, "IsErroredOnProcessing": False, "ProcessingTimeInMilliseconds": "312",
    "SearchablePDFURL": "Searchable PDF not generated as it was not requested.",
}


def parse(body: object, frames=(IMAGE,), status: int = 200, detect_orientation: bool = False, **kwargs) -> list[Page]:
    text = body if isinstance(body, str) else json.dumps(body)
    response = read_body(status, text, **kwargs)
    return pages_from_response(response, list(frames), detect_orientation=detect_orientation)


def variant(**changes) -> dict:
    body = json.loads(json.dumps(EXAMPLE))
    result = body["ParsedResults"][0]
    for key, value in changes.items():
        if key in result:
            result[key] = value
        else:
            body[key] = value
    return body


# --- success and its documented variants ------------------------------------------------------------------


def test_minimal_example():
    (page,) = parse(EXAMPLE)
    assert page.text == "Invoice 42" and (page.width, page.height, page.unit) == (1000, 800, "px")
    (line,) = page.blocks[0].lines
    assert line.text == "Invoice 42" and [w.text for w in line.words] == ["Invoice", "42"]
    first = line.words[0].bbox
    assert (first.x0, first.y0, first.x1, first.y1) == pytest.approx((0.093, 37 / 800, 0.163, 57 / 800))
    assert line.bbox.x1 == pytest.approx(0.192)
    assert line.confidence is None and page.confidence is None and page.text_orientation is None


def test_line_text_missing_is_joined_from_words():
    body = variant()
    del body["ParsedResults"][0]["TextOverlay"]["Lines"][0]["LineText"]
    assert parse(body)[0].blocks[0].lines[0].text == "Invoice 42"


def test_negative_fractional_and_oversized_coordinates_are_clamped():
    body = variant()
    words = body["ParsedResults"][0]["TextOverlay"]["Lines"][0]["Words"]
    words[0].update(Left=-1.0, Top=20.8333)
    words[1].update(Left=990.5, Width=30.0)
    line = parse(body)[0].blocks[0].lines[0]
    assert line.words[0].bbox.x0 == 0.0 and line.words[0].bbox.y0 == pytest.approx(20.8333 / 800)
    assert line.words[1].bbox.x1 == 1.0


def test_numbers_as_strings_and_text_with_plain_newlines():
    body = variant(ParsedText="Invoice 42\nTotal 7\n", ProcessingTimeInMilliseconds=312)
    body["ParsedResults"][0]["TextOverlay"]["Lines"][0]["Words"][0]["Left"] = "93"
    page = parse(body)[0]
    assert page.text == "Invoice 42\nTotal 7"
    assert page.blocks[0].lines[0].words[0].bbox.x0 == pytest.approx(0.093)
    assert parse(variant(ParsedText="A\r\nB\r\n"))[0].text == "A\nB"


def test_empty_parsed_text_falls_back_to_the_overlay():
    assert parse(variant(ParsedText=None))[0].text == "Invoice 42"


def test_overlay_absent_gives_text_only():
    page = parse(variant(TextOverlay={"Lines": [], "HasOverlay": False, "Message": "not requested"}))[0]
    assert page.text == "Invoice 42" and page.blocks == []


def test_searchable_pdf_url_may_be_a_sentence():
    assert read_body(200, json.dumps(EXAMPLE)).searchable_pdf_url() is None
    url = "https://api.ocr.space/SearchablePDF/abc.pdf"
    assert read_body(200, json.dumps(variant(SearchablePDFURL=url))).searchable_pdf_url() == url
    assert read_body(200, json.dumps(variant(SearchablePDFURL=None))).searchable_pdf_url() is None


@pytest.mark.parametrize("message", [["x"], "x", None])
def test_error_message_may_be_array_string_or_absent(message):
    body = variant()
    for holder in (body, body["ParsedResults"][0]):
        holder["ErrorMessage"] = message
        if message is None:
            del holder["ErrorMessage"]
    assert parse(body)[0].text == "Invoice 42"


def test_unknown_raster_means_no_boxes():
    page = parse(EXAMPLE, frames=[PDF_PAGE])[0]
    assert page.unit == "pt" and page.words() and all(w.bbox is None for w in page.words())
    assert page.blocks[0].lines[0].bbox is None


def test_orientation_only_when_asked_and_rotated_boxes_are_dropped():
    assert parse(variant(TextOrientation="90"))[0].text_orientation is None
    upright = parse(variant(TextOrientation="0"), detect_orientation=True)[0]
    assert upright.text_orientation == 0 and upright.words()[0].bbox is not None
    turned = parse(variant(TextOrientation="270"), detect_orientation=True)[0]
    assert turned.text_orientation == 270 and all(w.bbox is None for w in turned.words())
    assert [w.code for w in turned.warnings] == ["boxes_dropped"]
    assert parse(variant(TextOrientation="sideways"), detect_orientation=True)[0].text_orientation is None


def test_boxes_far_outside_the_image_are_dropped_not_guessed():
    page = parse(EXAMPLE, frames=[Frame(100.0, 80.0, "px", (100, 80))])[0]
    assert all(w.bbox is None for w in page.words()) and page.warnings[0].code == "boxes_dropped"


# --- partial results -------------------------------------------------------------------------------------


def two_pages(second: dict, exit_code: int = 2) -> dict:
    body = variant(OCRExitCode=exit_code)
    body["ParsedResults"].append(second)
    return body


@pytest.mark.parametrize("code", [0, -10, -20, -30, -99])
def test_partial_answer_keeps_failed_pages_empty_with_a_warning(code):
    failed = {"FileParseExitCode": code, "ParsedText": "", "ErrorMessage": "engine failed", "ErrorDetails": ""}
    first, second = parse(two_pages(failed), frames=[PDF_PAGE, PDF_PAGE])
    assert first.text == "Invoice 42"
    assert second.text == "" and second.index == 1 and second.warnings[0].code == "page_failed"
    assert f"FileParseExitCode {code}" in second.warnings[0].message


def test_missing_pages_are_padded():
    pages = parse(EXAMPLE, frames=[PDF_PAGE, PDF_PAGE, PDF_PAGE])
    assert [p.text for p in pages] == ["Invoice 42", "", ""] and pages[2].warnings[0].code == "page_failed"


def test_unknown_frames_take_every_result():
    pages = parse(two_pages({"FileParseExitCode": 1, "ParsedText": "B"}, exit_code=1), frames=[])
    assert [p.text for p in pages] == ["Invoice 42", "B"] and pages[1].unit == "unknown"


# --- failures --------------------------------------------------------------------------------------------


def failed(exit_code: int, message=None, page_code: int | None = None) -> dict:
    body = {"ParsedResults": None, "OCRExitCode": exit_code, "IsErroredOnProcessing": True,
            "ProcessingTimeInMilliseconds": "10"}
    if message is not None:
        body["ErrorMessage"] = message
    if page_code is not None:
        body["ParsedResults"] = [{"FileParseExitCode": page_code, "ParsedText": "", "ErrorMessage": ""}]
    return body


@pytest.mark.parametrize(("body", "error", "retryable"), [
    (failed(3, page_code=-10), ProviderRejectedInputError, False),
    (failed(3, page_code=-20), ProviderUnavailableError, True),
    (failed(4), ProviderError, False),
    (failed(99, ["Parameter name 'file' is invalid. Valid parameters: apikey,url,language"]), ProviderError, False),
    (failed(6, ["Timed out waiting for results"]), ProviderUnavailableError, True),
    (failed(3, "E101: Timed out waiting for results"), ProviderUnavailableError, True),
    (failed(99, ["File failed validation. File size exceeds the maximum permissible file size limit of 1024 KB"]),
     FileTooLargeError, False),
    (failed(99, ["The PDF has 5 pages; the maximum page limit of this plan is 3 pages."]), TooManyPagesError, False),
    (failed(3, ["Not a valid base64 image. The accepted base64 image format is 'data:image/<content_type>;base64,"
                "<base64_image_content>'."]), ProviderRejectedInputError, False),
    (failed(99, "E201: Invalid language code 'xx'."), LanguageNotAvailableError, False),
    ({"OCRExitCode": 1, "ParsedResults": []}, ProviderUnavailableError, True),
    ({"IsErroredOnProcessing": True, "ErrorMessage": ["Something odd"]}, ProviderError, False),
    ({}, ProviderUnavailableError, True),
])
def test_failed_answers(body, error, retryable):
    with pytest.raises(error) as caught:
        parse(body)
    assert type(caught.value) is error and caught.value.retryable is retryable
    assert "\n" not in str(caught.value)


def test_exit_code_4_fails_even_with_pages():
    with pytest.raises(ProviderError):
        parse(variant(OCRExitCode=4, ErrorMessage=["fatal"]))


@pytest.mark.parametrize(("status", "body", "error"), [
    (403, "You may only perform this action upto maximum 10 number of times within 600 seconds", ThrottledError),
    (403, "You may only perform this action upto maximum 500 number of times within 86400 seconds",
     QuotaExhaustedError),
    (200, '"The API key is invalid"', ProviderAuthError),
    (403, "The API key is invalid", ProviderAuthError),
    (403, '<string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">You may only perform this action '
          "upto maximum 10 number of times within 600 seconds</string>", ThrottledError),
    (200, "For this API KEY only 300 concurrent connections at the same time allowed. Contact support if you need "
          "more.", ThrottledError),
    (500, "<html><body>Internal error</body></html>", ProviderUnavailableError),
    (502, "", ProviderUnavailableError),
    (200, '{"ParsedResults":[{"TextOverlay":', ProviderUnavailableError),
    (200, "[1, 2]", ProviderUnavailableError),
    (200, "<!DOCTYPE html><html><body>maintenance</body></html>", ProviderUnavailableError),
    (200, '{"OCRExitCode": "abc"}', ProviderError),
    (401, "", ProviderAuthError),
    (404, "", ProviderError),
    (500, json.dumps(failed(4, ["Timed out waiting for results"])), ProviderUnavailableError),
])
def test_bodies_of_every_kind(status, body, error):
    with pytest.raises(error) as caught:
        read_body(status, body)
    assert type(caught.value) is error


def test_rate_limit_honours_retry_after_and_keys_are_never_echoed():
    with pytest.raises(ThrottledError) as caught:
        read_body(429, "slow down", retry_after=7.0)
    assert caught.value.retry_after == 7.0
    with pytest.raises(ProviderAuthError) as caught:
        read_body(403, "The API key K8812345 is invalid", secret="K8812345")
    assert "K8812345" not in str(caught.value) and "***" in str(caught.value)


# --- languages and settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(("languages", "engine", "expected"), [
    (["eng"], 2, "eng"), (["deu"], 1, "ger"), (["fra"], 1, "fre"), (["chi_sim"], 2, "chs"), (["nld"], 3, "dut"),
    (["eng", "deu"], 2, "eng"), (["rus"], 1, "rus"), (["jpn"], 1, "jpn"), ([], 1, "eng"),
])
def test_language_mapping(languages, engine, expected):
    assert map_language(languages, engine) == expected


@pytest.mark.parametrize(("languages", "engine"), [(["kaz"], 1), (["rus"], 2), (["eng", "deu"], 1), (["hin"], 1)])
def test_languages_ocrspace_cannot_read(languages, engine):
    with pytest.raises(LanguageNotAvailableError):
        map_language(languages, engine)


def test_unconfirmed_languages_are_opt_in():
    assert map_language(["hin"], 1, allow_unconfirmed=True) == "hin"
    assert map_language(["tha"], 1, allow_unconfirmed=True) == "tai"


def test_settings_and_hosts():
    free = OcrSpaceSettings(api_key="k")
    assert free.endpoint == FREE_ENDPOINT and free.hosts() == [FREE_ENDPOINT] and free.engine == 2
    assert OcrSpaceSettings(api_key="k", tier="pro").hosts() == PRO_ENDPOINTS
    assert OcrSpaceSettings(api_key="k", endpoint="http://127.0.0.1:8000").endpoint.endswith(":8000/parse/image")
    local = OcrSpaceSettings(api_key="k", tier="pro_pdf", endpoint="http://ocr.internal/Parse/Image")
    assert local.hosts() == ["http://ocr.internal/Parse/Image"]
    listed = OcrSpaceSettings(api_key="k", tier="pro", endpoints="http://a:1, http://b:2/parse/image")
    assert listed.hosts() == ["http://a:1/parse/image", "http://b:2/parse/image"]
    assert OcrSpaceSettings(api_key="k", endpoints='["http://c"]').endpoints == ["http://c/parse/image"]
    with pytest.raises(ValidationError):
        OcrSpaceSettings(api_key="k", endpoint="ftp://x")
    with pytest.raises(ValidationError):
        OcrSpaceSettings(api_key="k", engine=4)


@pytest.mark.parametrize(("tier", "limits"), [("free", (1_000_000, 3)), ("pro", (5_000_000, 3)),
                                              ("pro_pdf", (100_000_000, 999))])
def test_tier_sets_limits(tier, limits):
    provider = OcrSpaceProvider(OcrSpaceSettings(api_key="k", tier=tier))
    provider.close()
    assert (provider.limits.max_bytes, provider.limits.max_pages) == limits
    assert provider.limits.cost_unit == "request" and "image/tiff" in provider.limits.media_types


# --- anything at all: a typed error or valid pages ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
anything = st.one_of(st.none(), st.booleans(), st.integers(-100, 100), st.floats(allow_nan=True), st.text(max_size=20),
                     st.sampled_from(["1", "-10", "90", "93.0", "true", "", "http://x/y.pdf"]), json_values)
words = st.fixed_dictionaries({}, optional={k: anything for k in ("WordText", "Left", "Top", "Width", "Height")})
lines = st.fixed_dictionaries({}, optional={"LineText": anything, "Words": st.lists(words, max_size=3) | anything,
                                            "MaxHeight": anything, "MinTop": anything})
results = st.fixed_dictionaries({}, optional={
    "TextOverlay": st.fixed_dictionaries({}, optional={"Lines": st.lists(lines, max_size=3) | anything,
                                                       "HasOverlay": anything}) | anything,
    "TextOrientation": anything, "FileParseExitCode": st.sampled_from([1, 0, -10, -20, -30, -99, 2]) | anything,
    "ParsedText": anything, "ErrorMessage": anything})
responses = st.fixed_dictionaries({}, optional={
    "ParsedResults": st.lists(results, max_size=3) | anything,
    "OCRExitCode": st.sampled_from([1, 2, 3, 4, 5, 6, 99]) | anything,
    "IsErroredOnProcessing": anything, "ErrorMessage": anything, "ErrorDetails": anything,
    "ProcessingTimeInMilliseconds": anything, "SearchablePDFURL": anything})


def outcome(status: int, text: str, frames: list[Frame], orientation: bool) -> None:
    try:
        pages = pages_from_response(read_body(status, text), frames, detect_orientation=orientation)
    except OcrflowError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert pages and all(isinstance(p, Page) for p in pages)
    for page in pages:
        Page.model_validate_json(page.model_dump_json())


frames = st.lists(st.sampled_from([IMAGE, PDF_PAGE, Frame(1.0, 1.0, "px", (1, 1))]), max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=responses, status=st.sampled_from([200, 200, 200, 403, 500]), frames=frames, orientation=st.booleans())
def test_any_response_shaped_body_gives_pages_or_a_typed_error(body, status, frames, orientation):
    outcome(status, json.dumps(body), frames, orientation)


@settings(max_examples=200, deadline=None)
@given(body=json_values, status=st.integers(100, 599), frames=frames)
def test_any_json_gives_pages_or_a_typed_error(body, status, frames):
    outcome(status, json.dumps(body), frames, False)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
       status=st.integers(100, 599))
def test_any_text_gives_pages_or_a_typed_error(text, status):
    outcome(status, text, [IMAGE], False)
