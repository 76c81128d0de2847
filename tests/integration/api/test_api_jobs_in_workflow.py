"""An API job through the workflow's steps (moto): the upload names the job, the claim takes it once with the
caller's options, finalize writes only the outputs asked for, and the job view shows the outcome."""

from __future__ import annotations

import json

import boto3
import pytest

from ocrflow.errors import NotADocumentError
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobState
from ocrflow.workflow.process import process_upload
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import Deps, claim_and_reserve, fail_from_catch, finalize, request_from_s3, submit
from ocrflow.workflow.storage import ObjectStore
from tests.aws_resources import JOBS_TABLE, RESULTS, UPLOADS
from tests.conftest import sample_bytes


def workflow_deps(**options) -> Deps:
    settings = WorkflowSettings(results_bucket=RESULTS, jobs_table=JOBS_TABLE, provider="tesseract", **options)
    return Deps(settings=settings, store=ObjectStore(boto3.client("s3")),
                jobs=JobRepository(boto3.resource("dynamodb").Table(JOBS_TABLE)))


def land(upload_key: str, body: bytes, deps: Deps):
    put = boto3.client("s3").put_object(Bucket=UPLOADS, Key=upload_key, Body=body)
    return request_from_s3(UPLOADS, upload_key, put["VersionId"], put["ETag"].strip('"'), len(body), deps.settings)


def test_an_api_job_runs_with_its_own_options_and_outputs(api):
    key = api.tenant("acme")
    body = sample_bytes("notice.jpg")
    made = api.create_job(key, filename="notice.jpg", content_type="image/jpeg", size=len(body),
                          outputs=["txt"], language="eng").body
    deps = workflow_deps()
    upload_key = f"uploads/tenants/acme/{made['job']['id']}/notice.jpg"
    request = land(upload_key, body, deps)
    assert request.api_job and request.tenant == "acme" and request.job_id == made["job"]["id"]
    started, _, _ = claim_and_reserve(request, "exec-1", deps)
    assert started.request.outputs == ["txt"]
    assert claim_and_reserve(request, "exec-2", deps) is None  # a repeated notification: claimed already
    assert api.call("GET", f"/v1/jobs/{request.job_id}", key).body["status"] == "running"
    summary = finalize(submit(JobState.model_validate_json(started.model_dump_json()), deps), deps)
    assert set(summary.results) == {"txt"}
    view = api.call("GET", f"/v1/jobs/{request.job_id}", key).body
    assert view["status"] == "succeeded" and view["pages"] == 1 and view["finished_at"]
    result = api.call("GET", f"/v1/jobs/{request.job_id}/result", key).body
    assert "Safety" in result["text"] and result["document"] is None and result["searchable_pdf_url"] is None


def test_a_running_job_shows_its_pages_done_of_its_pages(api):
    """GET /v1/jobs/{id} while the engine reads a three-page document: the pages counted so far beside the
    document's pages and the provider reading it - fields of the served OpenAPI spec - then all of them."""
    spec = api.call("GET", "/openapi.json").body
    view = spec["components"]["schemas"]["JobView"]["properties"]
    assert {"pages", "pages_done", "provider"} <= set(view)
    key = api.tenant("acme")
    body = sample_bytes("report.pdf")
    made = api.create_job(key, filename="report.pdf", content_type="application/pdf", size=len(body)).body
    job = made["job"]["id"]
    assert made["job"]["pages_done"] is None  # nothing runs before the file arrives
    deps = workflow_deps(progress_seconds=0)
    seen = []
    counted = deps.jobs.add_pages_done

    def add_pages_done(job_id, pages, **kwargs):  # after each progress write: what a client polling sees
        written = counted(job_id, pages, **kwargs)
        shown = api.call("GET", f"/v1/jobs/{job}", key).body
        seen.append((shown["status"], shown["pages_done"], shown["pages"], shown["provider"]))
        return written

    deps.jobs.add_pages_done = add_pages_done
    outcome = process_upload(land(f"uploads/tenants/acme/{job}/report.pdf", body, deps), "event-1", deps)
    assert outcome.outcome == "succeeded"
    assert seen == [("running", 1, 3, "tesseract"), ("running", 2, 3, "tesseract")]
    shown = api.call("GET", f"/v1/jobs/{job}", key).body
    assert (shown["status"], shown["pages_done"], shown["pages"]) == ("succeeded", 3, 3)


def test_an_upload_under_a_deleted_or_unknown_job_is_not_run(api):
    key = api.tenant("acme")
    job = api.create_job(key, size=5).body["job"]["id"]
    assert api.call("DELETE", f"/v1/jobs/{job}", key).status == 204
    deps = workflow_deps()
    late = land(f"uploads/tenants/acme/{job}/letter.pdf", b"%PDF-", deps)
    assert claim_and_reserve(late, "exec-1", deps) is None
    forged = land(f"uploads/tenants/globex/{job}/letter.pdf", b"%PDF-", deps)  # another tenant's prefix
    assert claim_and_reserve(forged, "exec-2", deps) is None
    assert deps.jobs.get(job) is None


def test_a_file_arriving_for_a_deleted_job_is_removed_with_every_version_and_never_ocred(api):
    """The presigned PUT outlives a DELETE of the job awaiting it: the object it brings is not left behind."""
    key = api.tenant("acme")
    body = sample_bytes("notice.jpg")
    job = api.create_job(key, filename="notice.jpg", content_type="image/jpeg", size=len(body)).body["job"]["id"]
    assert api.call("DELETE", f"/v1/jobs/{job}", key).status == 204
    deps = workflow_deps()
    upload_key = f"uploads/tenants/acme/{job}/notice.jpg"
    land(upload_key, body, deps)
    late = land(upload_key, body, deps)  # written twice through the same URL: two versions
    outcome = process_upload(late, "event-1", deps)
    assert outcome.outcome == "deleted"
    s3 = boto3.client("s3")
    listed = s3.list_object_versions(Bucket=UPLOADS, Prefix=upload_key)
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
    assert deps.jobs.get(job) is None  # not brought back as a job
    assert s3.list_objects_v2(Bucket=RESULTS).get("KeyCount", 0) == 0  # nothing OCRed
    assert api.call("GET", f"/v1/jobs/{job}", key).status == 404


def test_a_file_under_a_job_that_never_existed_is_left_alone(api):
    """Only a deleted job's uploads are removed; a key naming no job (or another tenant's) is not ours to drop."""
    api.tenant("acme")
    deps = workflow_deps()
    stray = land("uploads/tenants/acme/0123456789abcdef0123456789abcdef/letter.pdf", b"%PDF-", deps)
    assert process_upload(stray, "event-1", deps).outcome == "duplicate"
    assert boto3.client("s3").list_object_versions(Bucket=UPLOADS, Prefix=stray.source.key)["Versions"]


def test_a_failed_api_job_keeps_its_tenant_and_provider(api):
    key = api.tenant("acme")
    job = api.create_job(key, size=9).body["job"]["id"]
    deps = workflow_deps()
    request = land(f"uploads/tenants/acme/{job}/letter.pdf", b"not a pdf", deps)
    with pytest.raises(NotADocumentError) as raised:
        claim_and_reserve(request, "exec-1", deps)
    catch = {"Error": "NotADocumentError", "Cause": json.dumps({"errorMessage": str(raised.value)})}
    summary = fail_from_catch(request, catch, deps)
    assert summary.tenant == "acme" and summary.error["code"] == "not_a_document"
    view = api.call("GET", f"/v1/jobs/{job}", key).body
    assert view["status"] == "failed" and view["error"]["code"] == "not_a_document"
    refused = api.call("GET", f"/v1/jobs/{job}/result", key)
    assert refused.status == 409 and refused.body["error"]["code"] == "job_failed"


@pytest.mark.parametrize(("mode", "source"), [("skip-text", "pdf"), ("auto", "mixed"), (None, "mixed")])
def test_an_api_jobs_ocr_mode_decides_how_its_mixed_page_is_read(api, mode, source):
    """A scan with a stamp on it: the job's ocr_mode (or the deployment's default, auto) reaches the engine,
    and the job view says which mode the job ran in."""
    from tests.conftest import stamped_pdf

    key = api.tenant("acme")
    body = stamped_pdf(sample_bytes("letter.pdf"), "Scanned by ACME Records")
    options = {"ocr_mode": mode} if mode else {}
    made = api.create_job(key, filename="stamped.pdf", content_type="application/pdf", size=len(body),
                          **options).body
    assert made["job"]["ocr_mode"] == (mode or "auto")
    deps = workflow_deps()
    request = land(f"uploads/tenants/acme/{made['job']['id']}/stamped.pdf", body, deps)
    process_upload(request, "event-1", deps)
    result = api.call("GET", f"/v1/jobs/{request.job_id}/result", key).body
    assert result["document"]["pages"][0]["text_source"] == source
    assert result["text"].count("ACME") == 1
    assert ("Delivery Contract" in result["text"]) is (source == "mixed")


def test_an_api_job_asking_for_hocr_and_alto_gets_both_in_s3_and_as_links(api):
    """outputs ["hocr", "alto"]: results/{tenant}/{job}/document.hocr and document.alto.xml, the ALTO valid
    against the schema, the hOCR's words those of the page; the result gives a download link for each."""
    from lxml import etree

    from ocrflow.formats.hocr import read_hocr
    from tests.alto_schema import load_alto_schema

    key = api.tenant("acme")
    body = sample_bytes("notice.jpg")
    made = api.create_job(key, filename="notice.jpg", content_type="image/jpeg", size=len(body),
                          outputs=["hocr", "alto"]).body
    assert made["job"]["outputs"] == ["hocr", "alto"]
    deps = workflow_deps()
    request = land(f"uploads/tenants/acme/{made['job']['id']}/notice.jpg", body, deps)
    started, _, _ = claim_and_reserve(request, "exec-1", deps)
    summary = finalize(submit(JobState.model_validate_json(started.model_dump_json()), deps), deps)
    assert set(summary.results) == {"hocr", "alto"}
    s3 = boto3.client("s3")
    base = f"results/acme/{request.job_id}/"
    hocr = s3.get_object(Bucket=RESULTS, Key=base + "document.hocr")
    alto = s3.get_object(Bucket=RESULTS, Key=base + "document.alto.xml")
    assert hocr["ContentType"].startswith("application/xhtml+xml") and alto["ContentType"].startswith("application/xml")
    (page,) = read_hocr(hocr["Body"].read().decode("utf-8"))
    assert "Safety" in [w.text for w in page.words()]
    load_alto_schema().assertValid(etree.fromstring(alto["Body"].read()))
    result = api.call("GET", f"/v1/jobs/{request.job_id}/result", key).body
    assert "document.hocr" in result["hocr_url"] and "document.alto.xml" in result["alto_url"]
    assert result["document"] is None and result["searchable_pdf_url"] is None


def test_an_unknown_output_is_refused_by_the_api(api):
    key = api.tenant("acme")
    refused = api.create_job(key, filename="a.png", content_type="image/png", size=10, outputs=["docx"])
    assert refused.status == 422
