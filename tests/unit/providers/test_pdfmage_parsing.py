"""pdfmage answers -> normalized pages and typed errors: the documented example, its variants (counts under
metadata.elementCounts or structuredElements, numbers as strings, missing fields, Document AI's omitted zero
coordinates), regrouping the flat lists, and arbitrary bodies never escaping as untyped exceptions."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ocrflow.document import Page, WarningCode
from ocrflow.errors import (
    FileTooLargeError,
    OcrflowError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    ThrottledError,
)
from ocrflow.providers.base import DocumentPart
from ocrflow.providers.pdfmage import (
    DEFAULT_ENDPOINT,
    PdfMageSettings,
    WireResponse,
    credits_from_headers,
    error_for,
    ocr_url,
    result_from_response,
)

CREDIT_HEADERS = {"X-Credits-Used": "0.02", "X-Credits-Remaining": "4.98", "X-Credits-Currency": "USD",
                  "X-Processing-Time": "1247"}


def part(pages: int = 1, sizes: bool = True) -> DocumentPart:
    return DocumentPart(b"%PDF-1.7", "application/pdf", "contract.pdf", 0, pages,
                        [(612.0, 792.0, "pt")] * pages if sizes else [])


def respond(body, status: int = 200, headers: dict | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return httpx.Response(status, content=content, headers={"Content-Type": "application/json", **(headers or {})})


def box(x0, y0, x1, y1) -> dict:
    return {"vertices": [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}],
            "normalized": True}


def el(text, x0, y0, x1, y1, confidence=0.9) -> dict:
    return {"text": text, "boundingBox": box(x0, y0, x1, y1), "confidence": confidence}


#: the documented success example, with its elided lists ("paragraphs": [...]) left out
SEED_EXAMPLE = {
    "fileName": "contract.pdf",
    "processedAt": "2024-01-15T10:30:45.123Z",
    "documentId": 12345,
    "extractedText": {
        "fullText": "Employment Agreement\n\nThis Employment Agreement is entered into between John Doe and Acme "
                    "Corporation...",
        "pages": [{
            "pageNumber": 1,
            "dimensions": {"width": 612, "height": 792, "unit": "px"},
            "text": "Employment Agreement\n\nThis Employment Agreement is entered into between John Doe...",
            "confidence": 0.98,
            "blocks": [
                el("Employment Agreement", 0.35, 0.08, 0.65, 0.12, 0.99),
                el("This Employment Agreement is entered into between John Doe and Acme Corporation...",
                   0.1, 0.15, 0.9, 0.25, 0.97),
            ],
        }],
    },
    "metadata": {"pageCount": 2, "processingTimeMs": 1247, "language": "en",
                 "elementCounts": {"blocks": 15, "paragraphs": 28, "lines": 142, "tokens": 487}},
}


def full_page(**overrides) -> dict:
    """A page with all four lists: two blocks, three lines, tokens (one outside every line, one without a box)."""
    page = {
        "pageNumber": 1, "dimensions": {"width": 612, "height": 792, "unit": "px"}, "confidence": 0.95,
        "text": "Hello world\nSecond line\n\nOther block",
        "blocks": [el("Hello world\nSecond line", 0.1, 0.1, 0.6, 0.3, 0.93), el("Other block", 0.1, 0.5, 0.6, 0.6)],
        "paragraphs": [el("Hello world\nSecond line", 0.1, 0.1, 0.6, 0.3)],
        "lines": [el("Hello world\n", 0.1, 0.1, 0.6, 0.15, 0.94), el("Second line\n", 0.1, 0.2, 0.6, 0.25, 0.92),
                  el("Other block", 0.1, 0.5, 0.6, 0.6, 0.91)],
        "tokens": [el("Hello ", 0.1, 0.1, 0.3, 0.15, 0.95), el("world\n", 0.35, 0.1, 0.6, 0.15, 0.93),
                   el("Second ", 0.1, 0.2, 0.3, 0.25), {"text": "line", "confidence": 0.8},
                   el("Other", 0.1, 0.5, 0.3, 0.6), el("block", 0.35, 0.61, 0.6, 0.62)],  # just below its line
    }
    page.update(overrides)
    return page


def answer(*pages: dict, **top) -> dict:
    return {"extractedText": {"fullText": "", "pages": list(pages)}, "metadata": {"language": "en"}, **top}


# --- the documented example ---------------------------------------------------------------------------------


def test_seed_example():
    result = result_from_response(respond(SEED_EXAMPLE, headers=CREDIT_HEADERS), part())
    (page,) = result.pages
    assert (page.width, page.height, page.unit) == (612, 792, "pt")  # the part's size, not the "px" label
    assert page.confidence == 0.98 and page.text.startswith("Employment Agreement\n\nThis Employment")
    first, second = page.blocks
    assert first.confidence == 0.99 and first.language == "eng"
    (line,) = first.lines  # blocks only: a one-line block becomes a line with the block's box
    assert line.text == "Employment Agreement" and line.bbox == first.bbox and line.confidence == 0.99
    assert (first.bbox.x0, first.bbox.y0, first.bbox.x1, first.bbox.y1) == (0.35, 0.08, 0.65, 0.12)
    assert [(p.x, p.y) for p in line.polygon] == [(0.35, 0.08), (0.65, 0.08), (0.65, 0.12), (0.35, 0.12)]
    assert second.lines[0].words == []  # no tokens were given: no words are invented
    assert result.credits.model_dump() == {"used": 0.02, "remaining": 4.98, "unit": "USD"}
    assert result.engine == "pdfmage document-ocr"
    assert json.loads(result.raw[0].body) == SEED_EXAMPLE
    assert WireResponse.model_validate(SEED_EXAMPLE).element_counts().tokens == 487


def test_structured_elements_variant():
    body = dict(SEED_EXAMPLE, metadata={"pageCount": "1", "language": "en"},
                structuredElements={"textBlocks": 2, "paragraphs": 2, "lines": "2", "tokens": 9})
    assert WireResponse.model_validate(body).element_counts().text_blocks == 2
    nested = dict(SEED_EXAMPLE, metadata={"structuredElements": {"textBlocks": 3, "tokens": "x"}})
    counts = WireResponse.model_validate(nested).element_counts()
    assert counts.text_blocks == 3 and counts.tokens is None
    assert result_from_response(respond(body), part()).pages[0].blocks


# --- regrouping the flat lists ------------------------------------------------------------------------------


def test_tokens_go_to_the_line_holding_them_and_lines_to_their_block():
    (page,) = result_from_response(respond(answer(full_page())), part()).pages
    first, second = page.blocks
    assert [line.text for line in first.lines] == ["Hello world", "Second line"]
    assert [[w.text for w in line.words] for line in first.lines] == [["Hello", "world"], ["Second", "line"]]
    assert first.lines[1].words[1].bbox is None and first.lines[1].words[1].confidence == 0.8  # text order
    assert [w.text for w in second.lines[0].words] == ["Other", "block"]  # nearest line
    assert first.confidence == 0.93 and first.lines[0].confidence == 0.94
    assert first.lines[0].words[0].confidence == 0.95
    assert page.text == "Hello world\nSecond line\n\nOther block"


def test_lines_are_built_from_tokens_when_missing():
    tokens = full_page()["tokens"][:-1] + [el("block", 0.35, 0.5, 0.6, 0.6)]
    page_json = full_page(lines=[], blocks=[], paragraphs=[], tokens=tokens)
    (page,) = result_from_response(respond(answer(page_json)), part()).pages
    lines = [line for block in page.blocks for line in block.lines]
    assert [line.text for line in lines] == ["Hello world", "Second line", "Other block"]
    assert lines[0].bbox.x1 == 0.6 and lines[0].confidence is None


def test_paragraphs_stand_in_for_missing_blocks():
    (page,) = result_from_response(respond(answer(full_page(blocks=[]))), part()).pages
    assert len(page.blocks) == 1 and [line.text for line in page.blocks[0].lines][:2] == ["Hello world",
                                                                                          "Second line"]
    assert "Other block" in [line.text for line in page.blocks[0].lines]  # nearest paragraph


def test_polygon_is_reordered_clockwise_from_top_left():
    token = {"text": "tilted", "confidence": 0.9, "boundingBox": {"normalized": True, "vertices": [
        {"x": 0.1, "y": 0.22}, {"x": 0.11, "y": 0.2}, {"x": 0.3, "y": 0.21}, {"x": 0.29, "y": 0.23}]}}
    page_json = full_page(tokens=[token], lines=[el("tilted", 0.1, 0.2, 0.3, 0.23)], blocks=[])
    word = result_from_response(respond(answer(page_json)), part()).pages[0].words()[0]
    assert [(p.x, p.y) for p in word.polygon] == [(0.11, 0.2), (0.3, 0.21), (0.29, 0.23), (0.1, 0.22)]
    assert (word.bbox.x0, word.bbox.y0, word.bbox.x1, word.bbox.y1) == (0.1, 0.2, 0.3, 0.23)


# --- tolerated variations -----------------------------------------------------------------------------------


def test_numbers_as_strings_and_omitted_zero_coordinates():
    token = {"text": 42, "confidence": "0.5",
             "boundingBox": {"vertices": [{}, {"x": "0.2"}, {"x": "0.2", "y": "0.1"}, {"y": 0.1}],
                             "normalized": "true"}}
    page_json = {"pageNumber": "1", "confidence": "0.7", "tokens": [token], "lines": [], "blocks": []}
    (page,) = result_from_response(respond(answer(page_json)), part()).pages
    (word,) = page.words()
    assert word.text == "42" and word.confidence == 0.5 and page.confidence == 0.7
    assert (word.bbox.x0, word.bbox.y0, word.bbox.x1, word.bbox.y1) == (0.0, 0.0, 0.2, 0.1)


def test_missing_fields_and_bad_values_are_dropped_not_invented():
    page_json = {"blocks": [{"text": "Only text"}, "junk", {"text": "Bad box", "confidence": 97,
                                                            "boundingBox": {"vertices": [{"x": "a", "y": 1}] * 4}}]}
    (page,) = result_from_response(respond(answer(page_json)), part(sizes=False)).pages
    assert page.confidence is None and page.unit == "unknown" and (page.width, page.height) == (1, 1)
    assert page.text == "Only text\n\nBad box"
    assert all(b.bbox is None and b.confidence is None for b in page.blocks)  # 97 is not a 0-1 confidence


def test_huge_and_non_finite_numbers_are_ignored():
    body = b'{"pages": [{"pageNumber": 1, "confidence": 1' + b"0" * 400 + \
        b', "dimensions": {"width": 1e400, "height": NaN}, "tokens": [{"text": "w", "confidence": Infinity}]}]}'
    (page,) = result_from_response(respond(body), part(sizes=False)).pages
    assert page.confidence is None and page.width == 1 and page.words()[0].confidence is None


def test_dimensions_give_the_size_when_the_part_has_none():
    page_json = full_page(dimensions={"width": "1700", "height": 2200, "unit": "px"})
    (page,) = result_from_response(respond(answer(page_json)), part(sizes=False)).pages
    assert (page.width, page.height, page.unit) == (1700, 2200, "unknown")


def test_unnormalized_vertices_are_divided_by_the_page_dimensions():
    token = {"text": "px", "boundingBox": {"normalized": False, "vertices": [
        {"x": 61.2, "y": 79.2}, {"x": 306, "y": 79.2}, {"x": 306, "y": 158.4}, {"x": 61.2, "y": 158.4}]}}
    page_json = {"dimensions": {"width": 612, "height": 792}, "tokens": [token]}
    word = result_from_response(respond(answer(page_json)), part()).pages[0].words()[0]
    assert (word.bbox.x0, word.bbox.y0, word.bbox.x1, word.bbox.y1) == pytest.approx((0.1, 0.1, 0.5, 0.2))


def test_pages_follow_page_number_and_missing_ones_are_flagged():
    pages = [full_page(pageNumber=3, text="three"), full_page(pageNumber=1, text="one")]
    result = result_from_response(respond(answer(*pages)), part(pages=3))
    assert [p.index for p in result.pages] == [0, 1, 2]
    assert [p.text for p in result.pages] == ["one", "", "three"]
    assert WarningCode.PAGE_FAILED in {w.code for w in result.pages[1].warnings}


def test_unusable_page_numbers_fall_back_to_list_order():
    pages = [full_page(pageNumber=7, text="a"), full_page(pageNumber=7, text="b"), full_page(text="c")]
    result = result_from_response(respond(answer(*pages)), part(pages=2))
    assert [p.text for p in result.pages] == ["a", "b"]  # the extra page is dropped


def test_top_level_pages_variant():
    body = {"pages": [full_page(text="top")], "metadata": {"language": "de-DE"}}
    (page,) = result_from_response(respond(body), part()).pages
    assert page.text == "top" and page.blocks[0].language == "deu"


def test_empty_page_list_gives_placeholders():
    (page,) = result_from_response(respond(answer()), part()).pages
    assert page.text == "" and page.warnings


# --- malformed bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"extractedText": {"pages": [{"pageN', b"<html>oops</html>", b"\xff\xfe",
                                  b"[]", b'"text"', b"{}", b'{"extractedText": {"fullText": "x"}}',
                                  b'{"extractedText": "nope"}'])
def test_malformed_200_is_a_retryable_provider_error(body):
    with pytest.raises(ProviderUnavailableError) as err:
        result_from_response(respond(body, headers=CREDIT_HEADERS), part())
    assert err.value.retryable and err.value.code == "provider_unavailable"


# --- errors -------------------------------------------------------------------------------------------------


def error_body(error: str, message: str, **details) -> dict:
    return {"error": error, "message": message, "details": details, "timestamp": "2024-01-15T10:30:00Z",
            "requestId": "req_abc123"}


@pytest.mark.parametrize(("status", "body", "cls", "expected"), [
    (400, error_body("Bad Request", "Invalid file format", code="INVALID_FILE_FORMAT", allowedFormats=["pdf"],
                     receivedFormat="docx"), ProviderRejectedInputError,
     {"provider_code": "INVALID_FILE_FORMAT", "received_format": "docx", "allowed_formats": ["pdf"]}),
    (401, error_body("Unauthorized", "Invalid API key", code="INVALID_API_KEY", hint="Check the key"),
     ProviderAuthError, {"provider_code": "INVALID_API_KEY"}),
    (402, error_body("Payment Required", "Insufficient credit balance", code="INSUFFICIENT_BALANCE",
                     amountRequired=0.05, currentBalance="0.02", pageCount=5, purchaseUrl="https://pdfmage.app/p"),
     QuotaExhaustedError, {"current_balance": 0.02, "amount_required": 0.05, "page_count": 5}),
    (403, {"error": "Forbidden", "message": "No permission"}, ProviderAuthError, {"status": 403}),
    (413, {"error": "Payload Too Large", "message": "File exceeds maximum size limit (10MB)"}, FileTooLargeError,
     {"status": 413}),
    (422, error_body("Unprocessable Entity", "No extractable text found", code="NO_TEXT_CONTENT", pageCount=3,
                     reason="Document contains only images"), ProviderRejectedInputError,
     {"provider_code": "NO_TEXT_CONTENT", "reason": "Document contains only images", "page_count": 3}),
    (429, {"error": "Too Many Requests"}, ThrottledError, {"retry_after": None}),
    (500, error_body("Internal Server Error", "boom"), ProviderUnavailableError, {"request_id": "req_abc123"}),
    (502, "<html>Bad gateway</html>", ProviderUnavailableError, {"status": 502}),
    (404, "", ProviderError, {"status": 404}),
])
def test_documented_errors(status, body, cls, expected):
    error = error_for(respond(body, status=status))
    assert type(error) is cls
    assert expected.items() <= error.details.items()
    assert error.retryable == (status in (429, 500, 502))
    assert "\n" not in error.message and len(error.message) < 400


def test_402_message_states_balance_and_need():
    body = error_body("Payment Required", "Insufficient", code="INSUFFICIENT_BALANCE", amountRequired=0.05,
                      currentBalance=0.02)
    assert "balance 0.02 USD, needs 0.05 USD" in error_for(respond(body, status=402)).message


def test_429_retry_after_header():
    error = error_for(respond({"error": "Too Many Requests"}, status=429, headers={"Retry-After": "7"}))
    assert isinstance(error, ThrottledError) and error.retry_after == 7.0


# --- credits, endpoint, settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "expected"), [
    (CREDIT_HEADERS, {"used": 0.02, "remaining": 4.98, "unit": "USD"}),
    ({"X-Credits-Used": "0.03", "X-Credits-Currency": "eur"}, {"used": 0.03, "remaining": None, "unit": "EUR"}),
    ({"X-Credits-Used": "0.01", "X-Credits-Remaining": "lots", "X-Credits-Currency": "$$"},
     {"used": 0.01, "remaining": None, "unit": "USD"}),
    ({"X-Credits-Remaining": "4.98"}, None),
    ({"X-Credits-Used": "-1"}, None),
    ({"X-Credits-Used": "nan"}, None),
    ({}, None),
])
def test_credits_headers(headers, expected):
    credits = credits_from_headers(httpx.Headers(headers))
    assert (credits.model_dump() if credits else None) == expected


@pytest.mark.parametrize(("endpoint", "url"), [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/document-ocr"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v1/document-ocr"),
    (DEFAULT_ENDPOINT, DEFAULT_ENDPOINT),
    ("https://proxy.example/pdfmage/ocr", "https://proxy.example/pdfmage/ocr"),
])
def test_endpoint(endpoint, url):
    assert ocr_url(endpoint) == url


def test_settings_defaults_and_required_key(monkeypatch):
    for name in ("ENDPOINT", "API_KEY", "TIMEOUT_SECONDS", "SECRET_NAME"):
        monkeypatch.delenv(f"OCRFLOW_PDFMAGE_{name}", raising=False)
    with pytest.raises(ValidationError):
        PdfMageSettings()
    monkeypatch.setenv("OCRFLOW_PDFMAGE_API_KEY", "pk_live_x")
    settings = PdfMageSettings()
    assert settings.endpoint == "https://pdfmage.app/api/v1/document-ocr"
    assert settings.timeout_seconds == 180 and settings.max_file_bytes == 10_000_000 and settings.max_pages is None
    assert "pk_live_x" not in repr(settings)


# --- nothing escapes untyped --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def maybe(strategy):
    """The documented shape most of the time, any JSON value some of the time."""
    return st.one_of(strategy, json_values)


coordinate = maybe(st.floats(min_value=-0.5, max_value=1.5) | st.sampled_from(["0.3", "x", None]))
vertex = maybe(st.fixed_dictionaries({}, optional={"x": coordinate, "y": coordinate}))
element = maybe(st.fixed_dictionaries({}, optional={
    "text": maybe(st.text(max_size=12)),
    "confidence": maybe(st.floats(min_value=-1, max_value=2)),
    "boundingBox": maybe(st.fixed_dictionaries({}, optional={"vertices": maybe(st.lists(vertex, max_size=5)),
                                                             "normalized": maybe(st.booleans())})),
}))
elements = maybe(st.lists(element, max_size=6))
page_strategy = maybe(st.fixed_dictionaries({}, optional={
    "pageNumber": maybe(st.integers(min_value=-1, max_value=4)),
    "dimensions": maybe(st.fixed_dictionaries({}, optional={"width": coordinate, "height": coordinate,
                                                           "unit": st.text(max_size=3)})),
    "text": maybe(st.text(max_size=20)),
    "confidence": maybe(st.floats()),
    "blocks": elements, "paragraphs": elements, "lines": elements, "tokens": elements,
}))
body_strategy = maybe(st.fixed_dictionaries({}, optional={
    "extractedText": maybe(st.fixed_dictionaries({}, optional={"pages": maybe(st.lists(page_strategy, max_size=3)),
                                                               "fullText": json_values})),
    "metadata": maybe(st.fixed_dictionaries({}, optional={"language": json_values, "elementCounts": json_values})),
    "structuredElements": json_values,
}))


def _result_or_typed_error(response: httpx.Response, pages: int) -> None:
    try:
        result = result_from_response(response, part(pages=pages, sizes=pages % 2 == 0))
    except OcrflowError:
        return
    assert len(result.pages) == pages
    for page in result.pages:
        assert Page.model_validate_json(page.model_dump_json()) == page


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=body_strategy, pages=st.integers(min_value=1, max_value=3))
def test_shaped_bodies_give_a_result_or_a_typed_error(body, pages):
    _result_or_typed_error(respond(json.dumps(body)), pages)


@settings(max_examples=150, deadline=None)
@given(status=st.integers(min_value=200, max_value=599), body=st.binary(max_size=60) | json_values.map(json.dumps),
       headers=st.dictionaries(st.sampled_from(["Retry-After", "X-Credits-Used", "X-Credits-Remaining",
                                                "X-Credits-Currency"]), st.text(
           alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=10)))
def test_any_answer_gives_a_result_or_a_typed_error(status, body, headers):
    _result_or_typed_error(respond(body, status=status, headers=headers), 1)
