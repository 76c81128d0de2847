"""The API client's edges, over an httpx mock transport: the API's typed errors come back typed, an answer that
is not the API's shape is refused, the same file with the same options keeps its Idempotency-Key."""

from __future__ import annotations

import httpx
import pytest

from ocrflow.client import ApiError, OcrflowClient, idempotency_key


def client_answering(handler) -> OcrflowClient:
    return OcrflowClient("https://api.example/prod/", "key-1", transport=httpx.MockTransport(handler))


def test_the_apis_error_comes_back_with_its_code_and_status():
    def refuse(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Api-Key"] == "key-1" and request.url.path == "/prod/v1/jobs"
        assert request.headers["Idempotency-Key"] == "k"
        return httpx.Response(402, json={"error": {"code": "insufficient_credits", "message": "no credits left"}})

    with pytest.raises(ApiError) as raised:
        client_answering(refuse).create_job("a.png", "image/png", 10, idempotency_key="k")
    assert raised.value.code == "insufficient_credits" and raised.value.status == 402
    assert str(raised.value) == "no credits left"


@pytest.mark.parametrize(("answer", "code"), [
    (httpx.Response(200, text="<html>gateway</html>"), "bad_answer"),
    (httpx.Response(200, json={"id": "j1"}), "bad_answer"),  # not a JobView
    (httpx.Response(503, text="Service Unavailable"), "api_error"),
])
def test_an_answer_that_is_not_the_apis_is_refused_typed(answer, code):
    with pytest.raises(ApiError) as raised:
        client_answering(lambda request: answer).job("j1")
    assert raised.value.code == code


def test_an_api_that_cannot_be_reached_is_a_typed_error():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(ApiError) as raised:
        client_answering(down).job("j1")
    assert raised.value.code == "api_unreachable"


def test_the_key_depends_on_the_bytes_and_the_options_not_the_name():
    options = {"outputs": ["json"], "language": None}
    assert idempotency_key(b"%PDF-1", options) == idempotency_key(b"%PDF-1", dict(options))
    assert idempotency_key(b"%PDF-1", options) != idempotency_key(b"%PDF-2", options)
    assert idempotency_key(b"%PDF-1", options) != idempotency_key(b"%PDF-1", {**options, "outputs": ["alto"]})
