"""Parsing Yandex Vision OCR answers: both casings, both line layouts, numbers as strings or numbers, JSON Lines
in any page order, stream error lines, error bodies for every gRPC code, languages, pacing - and arbitrary
bodies never escape as anything but a typed error."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocrflow.document import WarningCode
from ocrflow.errors import (
    LanguageNotAvailableError,
    OcrflowError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedInputError,
    ProviderUnavailableError,
    ThrottledError,
)
from ocrflow.providers import yandex
from ocrflow.providers.yandex import (
    error_from_response,
    parse_operation,
    parse_recognition,
    wait_turn,
    yandex_languages,
)


def box(*corners):
    return {"vertices": [{"x": str(x), "y": str(y)} for x, y in corners]}


#: the seed's answer: snake_case, lines[].alternatives[], numbers as strings
SEED = {"result": {"text_annotation": {"width": "1920", "height": "1280", "blocks": [
    {"bounding_box": box((460, 777), (460, 906), (810, 906), (810, 777)),
     "lines": [
         {"bounding_box": box((460, 777), (460, 820), (802, 820), (802, 777)),
          "alternatives": [{"text": "PENGUINS", "words": [
              {"bounding_box": box((460, 768), (460, 830), (802, 830), (802, 768)), "text": "PENGUINS",
               "entity_index": "-1"}]}]},
         {"bounding_box": box((489, 861), (489, 906), (810, 906), (810, 861)),
          "alternatives": [{"text": "CROSSING", "words": [
              {"bounding_box": box((489, 852), (489, 916), (810, 916), (810, 852)), "text": "CROSSING",
               "entity_index": "-1"}]}]}],
     "languages": [{"language_code": "en"}]},
    {"bounding_box": box((547, 989), (547, 1046), (748, 1046), (748, 989)),
     "lines": [{"bounding_box": box((547, 989), (547, 1046), (748, 1046), (748, 989)),
                "alternatives": [{"text": "SLOW", "words": [
                    {"bounding_box": box((547, 983), (547, 1054), (748, 1054), (748, 983)), "text": "SLOW",
                     "entity_index": "-1"}]}]}],
     "languages": [{"language_code": "en"}]}], "entities": []}, "page": "0"}}


def camel_page(page: int, text: str, rotate: str = "ANGLE_0", language: str = "de") -> dict:
    """The REST reference's shape: camelCase, lines with text + words, fullText."""
    word = {"boundingBox": box((100, 50), (100, 90), (300, 90), (300, 50)), "text": text, "entityIndex": "-1",
            "textSegments": [{"startIndex": "0", "length": str(len(text))}]}
    line = {"boundingBox": box((100, 50), (100, 90), (300, 90), (300, 50)), "text": text, "words": [word],
            "orientation": "ANGLE_0", "textSegments": []}
    block = {"boundingBox": box((100, 50), (100, 90), (300, 90), (300, 50)), "lines": [line],
             "languages": [{"languageCode": language}], "layoutType": "LAYOUT_TYPE_TEXT", "textSegments": []}
    return {"result": {"page": str(page), "textAnnotation": {
        "width": "1000", "height": "500", "fullText": f"{text}\n", "rotate": rotate, "blocks": [block],
        "entities": [], "tables": [], "pictures": [], "markdown": ""}}}


def lines(*objects) -> str:
    return "\n".join(json.dumps(o) for o in objects) + "\n"


# --- the documented variants ---------------------------------------------------------------------------------


def test_seed_answer_snake_case_with_alternatives():
    [page] = parse_recognition(json.dumps(SEED, indent=2))  # pretty-printed, as in the docs
    assert (page.width, page.height, page.unit, page.confidence) == (1920, 1280, "px", None)
    assert [w.text for w in page.words()] == ["PENGUINS", "CROSSING", "SLOW"]
    assert page.text == "PENGUINS\nCROSSING\nSLOW"  # no fullText: built from the lines
    penguins = page.words()[0]
    assert penguins.confidence is None
    assert (penguins.bbox.x0, penguins.bbox.y0) == pytest.approx((460 / 1920, 768 / 1280))
    assert (penguins.bbox.x1, penguins.bbox.y1) == pytest.approx((802 / 1920, 830 / 1280))
    # TL, BL, BR, TR from Yandex -> clockwise from top-left
    assert [(round(p.x * 1920), round(p.y * 1280)) for p in penguins.polygon] == [
        (460, 768), (802, 768), (802, 830), (460, 830)]
    assert [b.language for b in page.blocks] == ["eng", "eng"]
    assert page.blocks[0].bbox.y1 == pytest.approx(906 / 1280)


def test_camel_case_reference_shape():
    [page] = parse_recognition(lines(camel_page(0, "Hallo", rotate="ANGLE_90")))
    assert page.text == "Hallo" and page.text_orientation == 90
    assert page.blocks[0].language == "deu"
    word = page.words()[0]
    assert (word.bbox.x0, word.bbox.y0, word.bbox.x1, word.bbox.y1) == pytest.approx((0.1, 0.1, 0.3, 0.18))


def test_numbers_as_numbers_and_omitted_zero_fields():
    answer = {"result": {"textAnnotation": {"width": 200, "height": 100, "blocks": [{"lines": [{
        "text": "edge", "words": [{"text": "edge", "boundingBox": {"vertices": [
            {}, {"y": 10}, {"x": 50, "y": 10}, {"x": 50}]}}]}]}]}}}  # page and x=0/y=0 left out (proto3)
    [page] = parse_recognition(json.dumps(answer))
    word = page.words()[0]
    assert (word.bbox.x0, word.bbox.y0, word.bbox.x1, word.bbox.y1) == (0.0, 0.0, 0.25, 0.1)
    assert page.blocks[0].bbox == word.bbox  # no block box: the union of its lines
    assert page.text_orientation is None and page.blocks[0].language is None


@pytest.mark.parametrize(("rotate", "degrees"), [("ANGLE_0", 0), ("ANGLE_90", 90), ("ANGLE_180", 180),
                                                ("ANGLE_270", 270), ("ANGLE_UNSPECIFIED", None), (3, 180),
                                                (None, None), ("sideways", None)])
def test_rotation(rotate, degrees):
    answer = camel_page(0, "x")
    answer["result"]["textAnnotation"]["rotate"] = rotate
    assert parse_recognition(json.dumps(answer))[0].text_orientation == degrees


def test_pages_in_any_order_with_gaps_and_extras():
    body = lines(camel_page(3, "four"), camel_page(0, "one"), camel_page(1, "two"), camel_page(9, "beyond"))
    pages = parse_recognition(body, page_count=4, page_sizes=[(612, 792, "pt")] * 4)
    assert [p.index for p in pages] == [0, 1, 2, 3]
    assert [p.text for p in pages] == ["one", "two", "", "four"]
    assert pages[2].warnings[0].code is WarningCode.PAGE_FAILED and pages[2].unit == "pt"
    assert pages[0].dpi == pytest.approx(1000 / (612 / 72), abs=0.01)  # Yandex's pixels per inch of the PDF page


def test_one_page_over_several_lines_is_merged():
    pages = parse_recognition(lines(camel_page(0, "first"), camel_page(0, "second")))
    assert pages[0].text == "first\nsecond" and [w.text for w in pages[0].words()] == ["first", "second"]


def test_missing_page_size_uses_the_image_we_sent_or_gives_no_boxes():
    answer = camel_page(0, "word")
    del answer["result"]["textAnnotation"]["width"]
    [image] = parse_recognition(json.dumps(answer), page_sizes=[(1000.0, 500.0, "px")])
    assert image.unit == "px" and image.words()[0].bbox.x1 == pytest.approx(0.3)
    [pdf] = parse_recognition(json.dumps(answer), page_sizes=[(612.0, 792.0, "pt")])
    assert pdf.unit == "pt" and pdf.words()[0].bbox is None and pdf.text == "word"


def test_markdown_model_text_and_nulls():
    answer = {"result": {"page": "0", "textAnnotation": {"width": "10", "height": "10", "fullText": None,
                                                          "markdown": "# Title", "blocks": None}}}
    [page] = parse_recognition(json.dumps(answer))
    assert page.text == "# Title" and page.blocks == []


def test_bare_object_without_result_wrapper():
    [page] = parse_recognition(json.dumps(camel_page(0, "bare")["result"]))
    assert page.text == "bare"


def test_error_line_inside_the_stream_is_typed():
    body = lines(camel_page(0, "ok"), {"error": {"grpc_code": 8, "http_code": 429, "message": "quota"}})
    with pytest.raises(ThrottledError):
        parse_recognition(body)
    with pytest.raises(ProviderRejectedInputError):
        parse_recognition(lines({"error": {"code": 3, "message": "bad image", "details": []}}))


@pytest.mark.parametrize("body", ["", "\n\n", "<html>502</html>", '{"result": {"textAnnotation": {"width": "1',
                                  "[1, 2]", '{"foo": 1}', '{"result": "text"}',
                                  '{"result": {"page": "-1", "textAnnotation": {}}}',
                                  '{"result": {"textAnnotation": {"blocks": [{"lines": [{"text": 5}]}]}}}'])
def test_malformed_bodies_are_retryable_unavailable(body):
    with pytest.raises(ProviderUnavailableError) as exc:
        parse_recognition(body)
    assert exc.value.retryable


# --- operations and errors -----------------------------------------------------------------------------------


def test_operation_parsing():
    operation = parse_operation(json.dumps({"id": "fd3abc", "description": "OCR async recognition",
                                            "createdAt": "2025-01-01T00:00:00Z", "done": False, "metadata": None}))
    assert operation.id == "fd3abc" and not operation.done and operation.error is None
    failed = parse_operation('{"id": "fd3", "done": true, "error": {"code": 3, "message": "bad", "details": []}}')
    assert failed.done and failed.error.code == 3
    with pytest.raises(ProviderUnavailableError):
        parse_operation('{"done": true}')


@pytest.mark.parametrize(("code", "status", "error", "retryable"), [
    (3, 400, ProviderRejectedInputError, False), (9, 400, ProviderRejectedInputError, False),
    (4, 504, ProviderUnavailableError, True), (13, 500, ProviderUnavailableError, True),
    (14, 503, ProviderUnavailableError, True), (5, 404, ProviderError, False),
    (7, 403, ProviderAuthError, False), (8, 429, ThrottledError, True), (16, 401, ProviderAuthError, False),
    (10, 409, ProviderError, True), (12, 501, ProviderError, False),
])
def test_error_bodies_by_grpc_code(code, status, error, retryable):
    response = httpx.Response(status, json={"code": code, "message": "why\nit failed", "details": [
        {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "r-1"}]},
        headers={"x-request-id": "r-1", "retry-after": "7"})
    exc = error_from_response(response)
    assert type(exc) is error and exc.retryable is retryable
    assert exc.details["grpc_code"] == code and exc.details["status"] == status and exc.details["request_id"] == "r-1"
    assert "why it failed" in exc.message and "\n" not in exc.message
    if error is ThrottledError:
        assert exc.retry_after == 7


@pytest.mark.parametrize(("status", "body", "error"), [
    (401, "", ProviderAuthError), (403, "<html>denied</html>", ProviderAuthError), (429, "slow down", ThrottledError),
    (502, "<html>bad gateway</html>", ProviderUnavailableError), (413, "", ProviderRejectedInputError),
    (500, '{"error": {"code": 14, "message": "later"}}', ProviderUnavailableError), (418, "", ProviderError),
])
def test_error_without_a_grpc_code_follows_the_http_status(status, body, error):
    assert type(error_from_response(httpx.Response(status, text=body))) is error


def test_unauthenticated_names_the_credential_kind():
    response = httpx.Response(401, json={"code": 16, "message": "The token has expired"})
    assert "IAM token" in error_from_response(response, iam=True).message
    assert "API key" in error_from_response(response, iam=False).message


# --- languages -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("codes", "sent"), [
    (["eng"], ["en"]), (["deu", "eng"], ["de", "en"]), (["auto"], ["*"]), (["rus", "jpn", "eng"], ["ru", "ja", "en"]),
    (["aze"], ["az"]), (["chi_sim"], ["zh"]), (["eng", "eng"], ["en"]),
])
def test_languages(codes, sent):
    assert yandex_languages(codes) == sent


@pytest.mark.parametrize("codes", [["ukr"], ["hin"], ["xyz"], ["jpn", "deu"], ["kor", "jpn"]])
def test_languages_yandex_cannot_read(codes):
    with pytest.raises(LanguageNotAvailableError):
        yandex_languages(codes)


# --- pacing --------------------------------------------------------------------------------------------------


def test_pacing_gives_each_caller_the_next_free_slot(monkeypatch):
    monkeypatch.setattr(yandex, "_NEXT_SLOT", {})
    now = [100.0]
    slept: list[float] = []
    for _ in range(3):
        wait_turn("k", 1.0, clock=lambda: now[0], sleep=slept.append)
    assert slept == [1.0, 2.0]  # the first goes at once
    now[0] = 105.0
    wait_turn("k", 1.0, clock=lambda: now[0], sleep=slept.append)
    wait_turn("other", 1.0, clock=lambda: now[0], sleep=slept.append)
    wait_turn("k", 0, clock=lambda: now[0], sleep=slept.append)
    assert slept == [1.0, 2.0]  # an idle key, another key and no interval never wait


# --- arbitrary bodies --------------------------------------------------------------------------------------------

KEYS = ["result", "textAnnotation", "text_annotation", "width", "height", "blocks", "lines", "words", "text",
        "boundingBox", "bounding_box", "vertices", "x", "y", "alternatives", "page", "fullText", "rotate",
        "languages", "languageCode", "markdown", "error", "code", "grpc_code", "message"]
scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=12)
           | st.sampled_from(["0", "1920", "-5", "1e400", "nan", "ANGLE_90", "x"]))
json_value = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6),
                          max_leaves=40)


def _typed_or_valid(body: str, page_count: int = 1) -> None:
    try:
        pages = parse_recognition(body, page_count, [(100.0, 100.0, "px")] * page_count)
    except OcrflowError:
        return
    assert len(pages) == page_count
    for page in pages:
        page.model_dump_json()
        for word in page.words():
            assert word.bbox is None or 0 <= word.bbox.x0 <= word.bbox.x1 <= 1


@settings(max_examples=300, deadline=None)
@given(json_value)
def test_arbitrary_json_gives_a_typed_error_or_valid_pages(value):
    _typed_or_valid(json.dumps(value))
    _typed_or_valid(json.dumps({"result": value}), page_count=2)
    _typed_or_valid(json.dumps({"result": {"page": "0", "textAnnotation": value}}))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={
    "width": scalars, "height": scalars, "rotate": scalars, "fullText": scalars,
    "blocks": st.lists(st.fixed_dictionaries({}, optional={
        "boundingBox": st.fixed_dictionaries({"vertices": st.lists(st.fixed_dictionaries({}, optional={
            "x": scalars, "y": scalars}), max_size=5)}),
        "lines": st.lists(st.fixed_dictionaries({"text": st.text(max_size=5)}, optional={
            "words": st.lists(st.fixed_dictionaries({"text": st.text(max_size=5)}, optional={
                "boundingBox": st.fixed_dictionaries({"vertices": st.lists(st.fixed_dictionaries(
                    {"x": scalars, "y": scalars}), max_size=5)})}), max_size=3)}), max_size=3)}), max_size=3),
}), min_size=1, max_size=3))
def test_near_valid_answers_give_a_typed_error_or_valid_pages(annotations):
    body = lines(*({"result": {"page": str(i), "textAnnotation": a}} for i, a in enumerate(annotations)))
    _typed_or_valid(body, page_count=len(annotations))


@settings(max_examples=200, deadline=None)
@given(st.integers(300, 599), st.binary(max_size=200) | json_value.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_error_responses_are_typed(status, body):
    assert isinstance(error_from_response(httpx.Response(status, content=body)), OcrflowError)


@given(st.text(max_size=200))
def test_arbitrary_text_gives_a_typed_error_or_valid_pages(text):
    _typed_or_valid(text)
