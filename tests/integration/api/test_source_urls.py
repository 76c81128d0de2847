"""Jobs from a source_url: fetched through the SSRF guard (addresses checked when connecting, every redirect
checked again), stored where the upload would have gone; refusals are typed and leave nothing behind."""

from __future__ import annotations

import functools
import time

import boto3
import pytest
from werkzeug.wrappers import Request, Response

from ocrflow.api.app import build_app
from ocrflow.api.deps import ApiDeps
from ocrflow.net import safe_http
from tests.aws_resources import UPLOADS
from tests.conftest import sample_bytes
from tests.http_servers import serving, trickling
from tests.integration.api.conftest import api_settings

LETTER = sample_bytes("letter.pdf")


@Request.application
def documents(request: Request) -> Response:
    if request.path == "/letter.pdf":
        return Response(LETTER, content_type="application/pdf")
    if request.path == "/to-metadata":
        return Response(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    if request.path == "/to-private-name":
        return Response(status=302, headers={"Location": "http://files.internal.example/letter.pdf"})
    return Response(status=404)


def resolver(host: str) -> list[str]:
    """DNS as an attacker would arrange it: public-looking names that lead inside."""
    return {"files.internal.example": ["10.1.2.3"], "rebind.example": ["127.0.0.1"]}.get(host, [host])


@pytest.fixture
def local_api(api, aws):
    """The API allowing plain http to 127.0.0.1 only (where the test's file server is), nothing else private."""
    settings = api_settings(url_allow_http=True, source_url_allowed_hosts="127.0.0.1")
    deps = ApiDeps.build(settings, boto3)
    deps.fetch = functools.partial(safe_http.fetch, resolver=resolver)
    return type(api)(deps=deps, app=build_app(lambda: deps, ["*"]))


def test_a_source_url_is_fetched_into_the_uploads_bucket(local_api):
    key = local_api.tenant("acme")
    with serving(documents) as base:
        reply = local_api.call("POST", "/v1/jobs", key, {"source_url": f"{base}/letter.pdf"})
    assert reply.status == 201 and reply.body.get("upload") is None
    job = reply.body["job"]
    assert job["content_type"] == "application/pdf" and job["size"] == len(LETTER) and job["filename"] == "letter.pdf"
    stored = boto3.client("s3").get_object(Bucket=UPLOADS, Key=f"uploads/tenants/acme/{job['id']}/letter.pdf")
    assert stored["Body"].read() == LETTER


@pytest.mark.parametrize(("path_or_url", "why"), [
    ("/to-metadata", "redirect to the cloud metadata address"),
    ("/to-private-name", "redirect to a name that resolves to 10.1.2.3"),
    ("http://rebind.example/letter.pdf", "a name that resolves to loopback"),
    ("http://127.0.0.2/letter.pdf", "loopback not listed as allowed"),
    ("http://[::ffff:169.254.169.254]/", "metadata as an IPv4-mapped IPv6 address"),
])
def test_ssrf_through_source_url_is_refused_and_leaves_nothing(local_api, path_or_url, why):
    key = local_api.tenant("acme")
    with serving(documents) as base:
        url = base + path_or_url if path_or_url.startswith("/") else path_or_url
        reply = local_api.call("POST", "/v1/jobs", key, {"source_url": url})
    assert reply.status == 400 and reply.body["error"]["code"] == "url_not_allowed", (why, reply.body)
    assert "169.254" not in reply.body["error"]["message"] or "latest" not in reply.body["error"]["message"]
    assert local_api.call("GET", "/v1/jobs", key).body["jobs"] == []
    assert boto3.client("s3").list_objects_v2(Bucket=UPLOADS).get("KeyCount") == 0


def test_a_source_that_trickles_its_answer_is_a_typed_422_within_the_fetch_deadline(api, aws):
    """API Gateway gives the API function 29 s; a source trickling its headers must not take them all (that
    ends as API Gateway's own 502, not our error shape)."""
    settings = api_settings(url_allow_http=True, source_url_allowed_hosts="127.0.0.1", source_fetch_seconds=1.0)
    deps = ApiDeps.build(settings, boto3)
    slow_api = type(api)(deps=deps, app=build_app(lambda: deps, ["*"]))
    key = slow_api.tenant("acme")
    with trickling("headers", interval=0.05, for_seconds=8.0) as slow:
        started = time.monotonic()
        reply = slow_api.call("POST", "/v1/jobs", key, {"source_url": f"{slow.url}/letter.pdf"})
        took = time.monotonic() - started
    assert 0.9 <= took < 3.0, took
    assert reply.status == 422 and reply.body == {"error": {
        "code": "url_unreachable", "message": f"{slow.url} did not finish answering within 1 s"}}
    assert slow_api.call("GET", "/v1/jobs", key).body["jobs"] == []


def test_the_fetch_deadline_stays_inside_the_api_functions_time_out():
    from ocrflow.api.settings import ApiSettings

    assert ApiSettings.model_fields["source_fetch_seconds"].default <= 20  # the function has 29 s
    with pytest.raises(ValueError, match="source_fetch_seconds"):
        api_settings(source_fetch_seconds=60)
