"""What every caller meets at the edges of the API: keys, throttling, CORS, the one JSON error shape."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from ocrflow.api.app import build_app
from tests.integration.api.conftest import rest_event


def test_requests_without_a_valid_key_are_refused_alike(api):
    key = api.tenant("acme")
    revoked = api.deps.tenants.add_key("acme")
    api.deps.tenants.revoke_key(revoked.split("_")[1])
    for sent in (None, "", "nonsense", key[:-1] + ("A" if key[-1] != "A" else "B"), revoked):
        reply = api.call("GET", "/v1/jobs", sent)
        assert reply.status == 401, sent
        assert reply.body == {"error": {"code": "unauthorized",
                                        "message": "a valid API key is required in the X-Api-Key header"}}
    assert api.call("GET", "/v1/jobs", key).status == 200


def test_revoking_a_tenant_refuses_all_its_keys_at_once(api):
    first = api.tenant("acme")
    second = api.deps.tenants.add_key("acme")
    assert api.call("GET", "/v1/usage", second).status == 200
    api.deps.tenants.revoke_tenant("acme")
    assert api.call("GET", "/v1/usage", first).status == 401
    assert api.call("GET", "/v1/usage", second).status == 401


def test_each_key_is_throttled_on_its_own(api):
    slow = api.tenant("acme", rate_limit_per_minute=3)
    other = api.tenant("globex", rate_limit_per_minute=3)
    api.deps.throttle.clock = lambda: 1_000_040.0  # 40 s before the minute ends (windows start at 1_000_020)
    assert [api.call("GET", "/v1/jobs", slow).status for _ in range(3)] == [200, 200, 200]
    limited = api.call("GET", "/v1/jobs", slow)
    assert limited.status == 429 and limited.body["error"]["code"] == "rate_limited"
    assert limited.headers["retry-after"] == "40"
    assert api.call("GET", "/v1/jobs", other).status == 200
    api.deps.throttle.clock = lambda: 1_000_080.0  # the next minute
    assert api.call("GET", "/v1/jobs", slow).status == 200


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"filename": "a.pdf", "content_type": "application/pdf"}, 422, "invalid_request"),  # no size
    ({"filename": "a.pdf", "content_type": "text/html", "size": 3}, 422, "invalid_request"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": 3, "colour": "red"}, 422, "invalid_request"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": 0}, 422, "invalid_request"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": True}, 422, "invalid_request"),  # not 1
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": "3"}, 422, "invalid_request"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": 3, "language": "../etc"}, 422,
     "invalid_request"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": 3, "outputs": ["pdf", "pdf"]}, 422,
     "invalid_request"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": 10**12}, 422, "invalid_request"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": 3, "provider": "adobe"}, 403,
     "provider_not_allowed"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": 3, "provider": "acme-ocr"}, 422,
     "invalid_request"),
    ({"source_url": "https://example.com/a.pdf", "size": 3}, 422, "invalid_request"),
    ({}, 422, "invalid_request"),
    ({"filename": "a.pdf", "content_type": "application/pdf", "size": 3, "callback_url": "http://example.com/x"},
     400, "url_not_allowed"),
    ("{not json", 422, "invalid_request"),
    ("[]", 422, "invalid_request"),
])
def test_bad_job_requests_get_a_typed_json_error(api, body, status, code):
    reply = api.call("POST", "/v1/jobs", api.tenant("acme"), body)
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.body
    assert set(reply.body) == {"error"} and reply.body["error"]["message"]
    assert api.call("GET", "/v1/jobs", api.deps.tenants.add_key("acme")).body["jobs"] == []  # nothing was made


def test_unknown_routes_and_methods_answer_json_404(api):
    key = api.tenant("acme")
    for method, path in (("GET", "/v2/jobs"), ("PATCH", "/v1/jobs"), ("GET", "/")):
        reply = api.call(method, path, key)
        assert reply.status == 404 and reply.body["error"]["code"] == "not_found"


def test_an_unexpected_failure_is_a_500_without_trace_or_secrets(api, caplog):
    key = api.tenant("acme")

    def broken():
        raise RuntimeError(f"database password hunter2 and key {key}")

    app = build_app(lambda: api.deps, ["*"])
    api.deps.jobs.get = lambda job_id: broken()
    with caplog.at_level(logging.DEBUG):
        reply = type(api)(deps=api.deps, app=app).call("GET", "/v1/jobs/" + "a" * 32, key)
    assert reply.status == 500
    assert reply.body == {"error": {"code": "internal_error", "message": "internal error; nothing was changed"}}
    assert "hunter2" not in caplog.text and key not in caplog.text and "Traceback" not in caplog.text
    assert "RuntimeError" in caplog.text  # the operator still learns what and where


def test_cors_preflight_and_responses_name_the_allowed_origin_only(api):
    allowed = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "x-api-key,content-type,idempotency-key"}
    preflight = api.call("OPTIONS", "/v1/jobs", headers=allowed)
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "X-Api-Key" in preflight.headers["access-control-allow-headers"]
    assert "Idempotency-Key" in preflight.headers["access-control-allow-headers"]
    got = api.call("GET", "/v1/jobs", api.tenant("acme"), headers={"Origin": "https://app.example.com"})
    assert got.headers["access-control-allow-origin"] == "https://app.example.com"
    stranger = api.call("OPTIONS", "/v1/jobs", headers={**allowed, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers


def test_the_upload_limit_is_the_workflows_own(api):
    from ocrflow.inputs.limits import InputLimits

    api.deps.limits = InputLimits(max_bytes=1000)  # OCRFLOW_MAX_BYTES=1000, as the workflow reads it
    reply = api.create_job(api.tenant("acme"), size=1001)
    assert reply.status == 413 and reply.body["error"]["code"] == "file_too_large"
    assert api.create_job(api.deps.tenants.add_key("acme"), size=1000).status == 201


GOOD_BODY = '{"filename": "a.pdf", "content_type": "application/pdf", "size": 3}'


@pytest.mark.parametrize(("content_type", "body", "base64_encoded", "status", "code"), [
    ("text/plain", GOOD_BODY, False, 415, "unsupported_media_type"),
    ("text/plain; charset=utf-8", GOOD_BODY, False, 415, "unsupported_media_type"),
    (None, GOOD_BODY, False, 415, "unsupported_media_type"),
    ("application/x-www-form-urlencoded", "source_url=https://example.com/a.pdf", False, 415,
     "unsupported_media_type"),
    ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"source_url\"\r\n\r\n"
     "https://example.com/a.pdf\r\n--x--\r\n", False, 415, "unsupported_media_type"),
    ("application/xml", "<job/>", False, 415, "unsupported_media_type"),
    ("application/json", "[" * 100_000 + "]" * 100_000, False, 422, "invalid_request"),  # RecursionError
    ("application/json", '{"a": ' * 5000 + "1" + "}" * 5000, False, 422, "invalid_request"),
    ("application/json", GOOD_BODY.replace('"size": 3', '"size": 1' + "0" * 5000), False, 422, "invalid_request"),
    ("application/json", GOOD_BODY.replace('"size": 3', '"size": 1e999'), False, 422, "invalid_request"),
    ("application/json", GOOD_BODY.replace('"size": 3', '"size": NaN'), False, 422, "invalid_request"),
    ("application/json", '"a job, please"', False, 422, "invalid_request"),
    ("application/json", "3", False, 422, "invalid_request"),
    ("application/json", "null", False, 422, "invalid_request"),
    ("application/json", "", False, 422, "invalid_request"),
    ("application/json", base64.b64encode(b'{"filename": "\xff\xfe.pdf"}').decode(), True, 422, "invalid_request"),
])
def test_bodies_that_are_not_a_json_job_get_a_4xx_in_the_error_shape(api, content_type, body, base64_encoded,
                                                                     status, code):
    key = api.tenant("acme")
    event = rest_event("POST", "/v1/jobs", {"X-Api-Key": key}, body)
    if content_type is None:
        del event["headers"]["Content-Type"], event["multiValueHeaders"]["Content-Type"]
    else:
        event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"][0] = content_type
    event["isBase64Encoded"] = base64_encoded
    result = api.app.resolve(event, None)
    reply = json.loads(result["body"])
    assert (result["statusCode"], reply["error"]["code"]) == (status, code), reply
    assert set(reply) == {"error"} and set(reply["error"]) == {"code", "message"} and reply["error"]["message"]
    assert "function-after" not in reply["error"]["message"] and "/" not in reply["error"]["message"].split(":")[0]
    assert api.call("GET", "/v1/jobs", key).body["jobs"] == []  # nothing was made


def test_a_json_body_with_a_charset_is_json(api):
    reply = api.call("POST", "/v1/jobs", api.tenant("acme"), GOOD_BODY,
                     headers={"Content-Type": "application/json; charset=utf-8"})
    assert reply.status == 201, reply.body
