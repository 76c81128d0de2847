"""The HTTPS API on the local stack, over real HTTP: API Gateway (the emulator's) -> the API Lambda; uploads
PUT to the presigned S3 URL; the workflow runs; the webhook arrives signed; results come back."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from ocrflow.local.api import api_key_for, wait_for_job
from ocrflow.local.deployment import free_receiver_port
from ocrflow.quality import word_recall
from ocrflow.webhooks import verify
from tests.conftest import sample_bytes, truth_text
from tests.http_servers import serving

pytestmark = pytest.mark.e2e


def call(stack, method: str, path: str, key: str, **kwargs) -> httpx.Response:
    return httpx.request(method, stack.api_base + path, headers={"X-Api-Key": key, **kwargs.pop("headers", {})},
                         timeout=30, **kwargs)


def wait_until_ended(stack, job_id: str, key: str, timeout: float = 180) -> dict:
    with httpx.Client(base_url=stack.api_base, headers={"X-Api-Key": key}, timeout=30) as api:
        job = wait_for_job(api, job_id, timeout)
    assert job["status"] in ("succeeded", "failed"), f"job {job_id} did not end: {job}"
    return job


def test_a_job_goes_from_upload_slot_to_results_and_a_signed_webhook(stack):
    key = api_key_for(stack, "e2e-api")
    secret = stack.tenants().get("e2e-api").webhook_secret
    received = []

    @Request.application
    def hooks(request: Request) -> Response:
        received.append((request.get_data(), dict(request.headers)))
        return Response("ok")

    body = sample_bytes("receipt.png")
    credits_before = call(stack, "GET", "/v1/usage", key).json()["credits"]
    with serving(hooks, port=free_receiver_port()) as receiver:  # the ports the local stack may call back
        made = call(stack, "POST", "/v1/jobs", key, json={
            "filename": "receipt.png", "content_type": "image/png", "size": len(body), "outputs": ["json", "txt"],
            "callback_url": f"{receiver}/hooks"})
        assert made.status_code == 201, made.text
        job, upload = made.json()["job"], made.json()["upload"]
        put = httpx.put(upload["url"], headers=upload["headers"], content=body, timeout=30)
        assert put.status_code == 200
        ended = wait_until_ended(stack, job["id"], key)
        assert ended["status"] == "succeeded" and ended["pages"] == 1 and ended["cost"]["pages"] == 1
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            time.sleep(0.2)
    [(payload, headers)] = received
    assert verify(secret, payload, headers["X-Ocrflow-Signature"])
    assert headers["X-Ocrflow-Event"] == "job.succeeded"
    assert json.loads(payload)["job"]["id"] == job["id"]
    result = call(stack, "GET", f"/v1/jobs/{job['id']}/result", key).json()
    assert word_recall(truth_text("receipt.png"), result["text"]) >= 0.9
    assert result["document"]["pages"][0]["blocks"] and result["searchable_pdf_url"] is None  # pdf not asked for
    webhook = call(stack, "GET", f"/v1/jobs/{job['id']}", key).json()["webhook"]
    assert webhook["delivered"] is True and webhook["attempts"] == 1
    usage = call(stack, "GET", "/v1/usage", key).json()
    assert usage["credits"] == credits_before - 1  # one page charged, once
    assert {(p["provider"], p["pages"]) for p in usage["periods"]} == {("tesseract", 1)}


def test_tenants_are_isolated_on_the_stack(stack):
    alice, bob = api_key_for(stack, "e2e-alice"), api_key_for(stack, "e2e-bob")
    job = call(stack, "POST", "/v1/jobs", alice, json={"filename": "a.pdf", "content_type": "application/pdf",
                                                       "size": 100}).json()["job"]["id"]
    for method, path in (("GET", f"/v1/jobs/{job}"), ("GET", f"/v1/jobs/{job}/result"),
                         ("DELETE", f"/v1/jobs/{job}")):
        refused = call(stack, method, path, bob)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "job_not_found"
    assert call(stack, "GET", "/v1/jobs", bob).json()["jobs"] == []
    assert call(stack, "DELETE", f"/v1/jobs/{job}", alice).status_code == 204
    assert call(stack, "GET", f"/v1/jobs/{job}", alice).status_code == 404


@pytest.mark.parametrize("field", ["source_url", "callback_url"])
@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://10.0.0.7/scan.pdf", "http://192.168.1.1/", "http://[::1]:8080/", "http://localhost:4566/",
    "http://0x7f000001/",
])
def test_ssrf_targets_are_refused_by_the_deployed_api(stack, field, url):
    key = api_key_for(stack, "e2e-ssrf")
    body = {field: url} if field == "source_url" else {
        "filename": "a.pdf", "content_type": "application/pdf", "size": 10, field: url}
    refused = call(stack, "POST", "/v1/jobs", key, json=body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "url_not_allowed", refused.text


def test_a_source_url_at_the_emulator_itself_is_refused(stack):
    """The emulator's S3 serves every tenant's stored results: a job must not fetch from it, on any port."""
    key = api_key_for(stack, "e2e-ssrf")
    results = f"{stack.emulator.endpoint}/{stack.deployment.results_bucket}/results/"
    refused = call(stack, "POST", "/v1/jobs", key, json={"source_url": results + "x/document.json"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "url_not_allowed", refused.text
    callback = call(stack, "POST", "/v1/jobs", key, json={"filename": "a.pdf", "content_type": "application/pdf",
                                                          "size": 10, "callback_url": results})
    assert callback.status_code == 400 and callback.json()["error"]["code"] == "url_not_allowed", callback.text


def test_a_job_beyond_the_tenants_credits_fails_typed_and_charges_nothing(stack):
    key = api_key_for(stack, "e2e-broke", credits=0)
    body = sample_bytes("notice.jpg")
    made = call(stack, "POST", "/v1/jobs", key, json={"filename": "notice.jpg", "content_type": "image/jpeg",
                                                      "size": len(body)}).json()
    assert httpx.put(made["upload"]["url"], headers=made["upload"]["headers"], content=body).status_code == 200
    ended = wait_until_ended(stack, made["job"]["id"], key)
    assert ended["status"] == "failed" and ended["error"]["code"] == "insufficient_credits"
    assert call(stack, "GET", "/v1/usage", key).json() == {"tenant": "e2e-broke", "credits": 0, "periods": []}


def test_a_job_routed_past_an_exhausted_provider_says_why(stack):
    """The session's deployment routes `auto` jobs to pdfmage first (its fake has no balance) and then to the
    embedded engine: the deployed steps read the route, call pdfmage's fake with the secret's settings, record
    the 402 on the job, mark pdfmage exhausted in the tenants table, and fall back."""
    key = api_key_for(stack, "e2e-routing")
    body = sample_bytes("notice.jpg")
    made = call(stack, "POST", "/v1/jobs", key, json={"filename": "notice.jpg", "content_type": "image/jpeg",
                                                      "size": len(body)})
    assert made.status_code == 201 and made.json()["job"]["provider"] == "auto"
    upload = made.json()["upload"]
    assert httpx.put(upload["url"], headers=upload["headers"], content=body, timeout=30).status_code == 200
    ended = wait_until_ended(stack, made.json()["job"]["id"], key)
    assert ended["status"] == "succeeded" and ended["provider"] == "tesseract"
    passed, used = ended["routing"]
    assert passed["provider"] == "pdfmage" and passed["code"] == "quota_exhausted"
    assert passed["outcome"] in ("failed", "skipped")  # the first job of the session met the 402 itself
    assert (used["provider"], used["outcome"], used["code"]) == ("tesseract", "used", None)
    status = stack.tenants_table().get_item(Key={"pk": "PROVIDER#pdfmage", "sk": "STATUS"})["Item"]
    assert status["exhausted_until"] > time.time() and "balance" in status["exhausted_reason"]
