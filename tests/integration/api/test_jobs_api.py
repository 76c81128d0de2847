"""The job routes through the resolver the Lambda runs (REST proxy events, moto): creating jobs and their
upload slots, idempotency, listing, tenant isolation, deleting."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import boto3

from tests.aws_resources import RESULTS, UPLOADS


def object_key(presigned_url: str) -> str:
    """The S3 key a presigned URL names (virtual-hosted or path style)."""
    url = urlsplit(presigned_url)
    path = url.path.lstrip("/")
    return path.split("/", 1)[1] if path.startswith(UPLOADS + "/") else path


def test_create_job_gives_a_presigned_put_bound_to_type_and_size(api):
    key = api.tenant("acme")
    reply = api.create_job(key, filename="scan 1.pdf", size=2048, outputs=["json", "txt"])
    assert reply.status == 201
    job, upload = reply.body["job"], reply.body["upload"]
    assert job["status"] == "awaiting_upload" and job["outputs"] == ["json", "txt"] and job["provider"] == "auto"
    assert upload["method"] == "PUT" and upload["headers"]["Content-Type"] == "application/pdf"
    assert upload["max_bytes"] == 2048
    assert object_key(upload["url"]) == f"uploads/tenants/acme/{job['id']}/scan_1.pdf"
    query = parse_qs(urlsplit(upload["url"]).query)
    assert {"content-length", "content-type", "host"} <= set(query["X-Amz-SignedHeaders"][0].split(";"))
    assert int(query["X-Amz-Expires"][0]) == 900
    assert api.call("GET", f"/v1/jobs/{job['id']}", key).body == job


def test_idempotency_key_gives_the_same_job_and_refuses_another_request(api):
    key = api.tenant("acme")
    first = api.call("POST", "/v1/jobs", key, {"filename": "a.pdf", "content_type": "application/pdf", "size": 10},
                     headers={"Idempotency-Key": "order-17"})
    again = api.call("POST", "/v1/jobs", key, {"filename": "a.pdf", "content_type": "application/pdf", "size": 10},
                     headers={"Idempotency-Key": "order-17"})
    assert first.status == again.status == 201
    assert again.body["job"]["id"] == first.body["job"]["id"] and again.body["upload"]["url"]
    other = api.call("POST", "/v1/jobs", key, {"filename": "b.pdf", "content_type": "application/pdf", "size": 10},
                     headers={"Idempotency-Key": "order-17"})
    assert other.status == 422 and other.body["error"]["code"] == "idempotency_key_reused"
    assert len(api.call("GET", "/v1/jobs", key).body["jobs"]) == 1
    # the same key of another tenant is another tenant's business
    theirs = api.call("POST", "/v1/jobs", api.tenant("globex"),
                      {"filename": "a.pdf", "content_type": "application/pdf", "size": 10},
                      headers={"Idempotency-Key": "order-17"})
    assert theirs.status == 201 and theirs.body["job"]["id"] != first.body["job"]["id"]


def test_jobs_are_listed_newest_first_in_pages(api):
    key = api.tenant("acme")
    made = [api.create_job(key, filename=f"doc{i}.pdf").body["job"]["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        page = api.call("GET", "/v1/jobs", key, query={"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert page.status == 200 and len(page.body["jobs"]) <= 2
        seen += [job["id"] for job in page.body["jobs"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))
    bad = api.call("GET", "/v1/jobs", key, query={"cursor": "not-a-cursor"})
    assert bad.status == 422 and bad.body["error"]["code"] == "invalid_request"


def test_tenant_a_cannot_read_list_fetch_or_delete_tenant_b_jobs(api):
    alice, bob = api.tenant("alice"), api.tenant("bob")
    job = api.create_job(alice).body["job"]["id"]
    for method, path in (("GET", f"/v1/jobs/{job}"), ("GET", f"/v1/jobs/{job}/result"),
                         ("DELETE", f"/v1/jobs/{job}")):
        reply = api.call(method, path, bob)
        assert reply.status == 404 and reply.body["error"]["code"] == "job_not_found", (method, path)
    assert api.call("GET", "/v1/jobs", bob).body["jobs"] == []
    assert api.call("GET", f"/v1/jobs/{job}", alice).status == 200  # still there
    unknown = api.call("GET", "/v1/jobs/" + "0" * 32, bob)
    assert unknown.status == 404 and unknown.body == api.call("GET", f"/v1/jobs/{job}", bob).body | {
        "error": {"code": "job_not_found", "message": f"no job {'0' * 32!r}"}}


def test_deleting_a_waiting_job_removes_it_and_its_upload(api):
    key = api.tenant("acme")
    job = api.create_job(key, size=5).body
    s3 = boto3.client("s3")
    upload_key = object_key(job["upload"]["url"])
    s3.put_object(Bucket=UPLOADS, Key=upload_key, Body=b"%PDF-")
    s3.put_object(Bucket=UPLOADS, Key=upload_key, Body=b"%PDF-")  # two versions
    s3.put_object(Bucket=RESULTS, Key=f"results/acme/{job['job']['id']}/text.txt", Body=b"x")
    assert api.call("DELETE", f"/v1/jobs/{job['job']['id']}", key).status == 204
    assert s3.list_object_versions(Bucket=UPLOADS, Prefix=upload_key).get("Versions") is None
    assert s3.list_objects_v2(Bucket=RESULTS).get("KeyCount") == 0
    assert api.call("GET", f"/v1/jobs/{job['job']['id']}", key).status == 404


def test_a_running_job_cannot_be_deleted(api):
    key = api.tenant("acme")
    job = api.create_job(key).body["job"]["id"]
    api.deps.jobs.update(job, status="running")
    reply = api.call("DELETE", f"/v1/jobs/{job}", key)
    assert reply.status == 409 and reply.body["error"]["code"] == "job_in_progress"


def test_result_of_an_unfinished_job_is_a_conflict(api):
    key = api.tenant("acme")
    job = api.create_job(key).body["job"]["id"]
    reply = api.call("GET", f"/v1/jobs/{job}/result", key)
    assert reply.status == 409 and reply.body["error"]["code"] == "job_not_finished"


def test_usage_shows_the_tenant_balance(api):
    key = api.tenant("acme", credits=250)
    api.deps.tenants.credit("acme", 50)
    reply = api.call("GET", "/v1/usage", key)
    assert reply.status == 200 and reply.body == {"tenant": "acme", "credits": 300, "periods": []}


def test_the_api_handler_answers_the_sample_event(api, monkeypatch):
    """functions/api/app.py as Lambda calls it, with events/api/create-job.rest.json and a real key."""
    import json

    from ocrflow.api import deps as api_deps
    from tests.conftest import REPO
    from tests.lambda_handlers import Context, load

    for name, value in {"OCRFLOW_UPLOADS_BUCKET": UPLOADS, "OCRFLOW_RESULTS_BUCKET": RESULTS,
                        "OCRFLOW_JOBS_TABLE": "ocrflow-jobs", "OCRFLOW_TENANTS_TABLE": "ocrflow-tenants",
                        "OCRFLOW_CORS_ORIGINS": "https://app.example.com"}.items():
        monkeypatch.setenv(name, value)
    api_deps.deps_from_env.cache_clear()
    event = json.loads((REPO / "events" / "api" / "create-job.rest.json").read_text())
    event["headers"]["X-Api-Key"] = event["multiValueHeaders"]["X-Api-Key"][0] = api.tenant("acme")
    answer = load("api")(event, Context())
    api_deps.deps_from_env.cache_clear()
    assert answer["statusCode"] == 201
    body = json.loads(answer["body"])
    assert body["job"]["callback_url"] == "https://app.example.com/hooks/ocr" and body["upload"]["url"]
    assert answer["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["https://app.example.com"]
