"""The workflow's steps against moto's S3 and DynamoDB, with the embedded engine and with provider fakes
that make the workflow wait and poll - the same functions the Lambda handlers call."""

import json

import boto3
import pytest
from moto import mock_aws

from ocrflow.document import Document
from ocrflow.errors import NotADocumentError
from ocrflow.fakes.adobe import AdobeFake
from ocrflow.fakes.registry import fake_class
from ocrflow.fakes.serve import fake_environment
from ocrflow.providers.names import ProviderName
from ocrflow.quality import word_recall
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobState
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import (
    Deps,
    claim_and_reserve,
    error_record,
    fail,
    fail_from_catch,
    finalize,
    poll,
    request_from_s3,
    submit,
)
from ocrflow.workflow.storage import ObjectStore
from tests.aws_resources import JOBS_TABLE as TABLE
from tests.aws_resources import RESULTS, UPLOADS, create_buckets, create_jobs_table
from tests.conftest import sample_bytes, truth_text


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        create_buckets(s3)
        yield s3, create_jobs_table(boto3.resource("dynamodb"))


def deps_for(aws, provider="tesseract"):
    s3, table = aws
    settings = WorkflowSettings(results_bucket=RESULTS, jobs_table=TABLE, provider=provider)
    return Deps(settings=settings, store=ObjectStore(s3), jobs=JobRepository(table))


def upload(aws, name, body, deps):
    s3, _ = aws
    put = s3.put_object(Bucket=UPLOADS, Key=f"uploads/{name}", Body=body)
    return request_from_s3(UPLOADS, f"uploads/{name}", put.get("VersionId"), put["ETag"].strip('"'), len(body),
                           deps.settings)


def run_to_end(request, deps, execution="exec-1"):
    started = claim_and_reserve(request, execution, deps)
    assert started is not None
    state = submit(JobState.model_validate_json(started[0].model_dump_json()), deps)  # as the state machine does
    polls = 0
    while not state.done:
        state = poll(JobState.model_validate_json(state.model_dump_json()), deps)  # as the state machine does
        polls += 1
    return finalize(state, deps), polls


def test_embedded_job_writes_three_results_and_records_the_job(aws):
    deps = deps_for(aws)
    request = upload(aws, "letter.pdf", sample_bytes("letter.pdf"), deps)
    summary, polls = run_to_end(request, deps)
    assert polls == 0 and summary.status == "succeeded" and summary.pages == 1
    s3, _ = aws
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS)["Contents"]}
    base = f"results/default/{request.job_id}/"
    assert keys == {base + "document.json", base + "text.txt", base + "searchable.pdf"}  # work files are gone
    document = Document.model_validate_json(s3.get_object(Bucket=RESULTS, Key=base + "document.json")["Body"].read())
    assert document.source.key == "uploads/letter.pdf" and document.source.bucket == UPLOADS
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.97
    record = deps.jobs.get(request.job_id)
    assert record["status"] == "succeeded" and record["pages"] == 1 and record["results"]["pdf"].startswith("s3://")


def test_duplicate_notification_yields_one_job(aws):
    deps = deps_for(aws)
    request = upload(aws, "notice.jpg", sample_bytes("notice.jpg"), deps)
    again = request_from_s3(request.source.bucket, request.source.key, request.source.version_id,
                            request.source.etag, request.source.size, deps.settings)
    assert again.job_id == request.job_id
    assert claim_and_reserve(request, "exec-1", deps) is not None
    assert claim_and_reserve(again, "exec-2", deps) is None
    # the owning execution retrying its own step may claim again
    assert claim_and_reserve(request, "exec-1", deps) is not None


def test_a_new_version_of_the_same_key_is_a_new_job(aws):
    deps = deps_for(aws)
    first = upload(aws, "notice.jpg", sample_bytes("notice.jpg"), deps)
    second = upload(aws, "notice.jpg", sample_bytes("receipt.png"), deps)
    assert first.job_id != second.job_id


def test_bad_input_ends_with_its_typed_error_recorded(aws):
    deps = deps_for(aws)
    request = upload(aws, "page.pdf", b"<!DOCTYPE html><html>nope</html>", deps)
    with pytest.raises(NotADocumentError) as caught:
        claim_and_reserve(request, "exec-1", deps)
    cause = json.dumps({"errorMessage": caught.value.message, "errorType": "NotADocumentError"})
    summary = fail(request.job_id, request.tenant, request.provider, error_record("NotADocumentError", cause), deps)
    record = deps.jobs.get(request.job_id)
    assert record["status"] == "failed" and record["error"]["code"] == "not_a_document"
    assert summary.error["message"].startswith("not a document")


def test_unknown_errors_are_recorded_without_their_details():
    record = error_record("KeyError", json.dumps({"errorMessage": "'secret-token-123'", "stackTrace": ["..."]}))
    assert record["code"] == "internal_error" and "secret" not in json.dumps(record)


def test_slow_provider_makes_the_workflow_wait_and_poll(aws, monkeypatch):
    with AdobeFake() as fake:
        fake.in_progress_polls = 3
        fake.retry_after = "2"
        for key, value in fake_environment(ProviderName.ADOBE, fake.base_url).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("OCRFLOW_ADOBE_POLL_FALLBACK_SECONDS", "1")
        deps = deps_for(aws, provider="adobe")
        request = upload(aws, "letter.pdf", sample_bytes("letter.pdf"), deps)
        state, _, _ = claim_and_reserve(request, "exec-1", deps)
        state = submit(state, deps)
        assert state.done is False and state.wait_seconds == 1  # no retry-after yet: the configured fallback
        waits = []
        while not state.done:
            state = poll(JobState.model_validate_json(state.model_dump_json()), deps)
            waits.append(state.wait_seconds)
        assert waits == [2, 2, 2, 0]  # three "in progress" answers, each with its retry-after, then done
        summary = finalize(state, deps)
    assert summary.status == "succeeded"
    s3, _ = aws
    document = json.loads(s3.get_object(Bucket=RESULTS, Key=f"results/default/{request.job_id}/document.json")
                          ["Body"].read())
    assert document["provider"]["name"] == "adobe" and document["searchable_pdf"]["origin"] == "provider"


def test_a_typed_error_survives_a_lost_lambda_error_type(aws):
    """The local emulator reports every handler error as Runtime.HandlerError; the step's noted error is kept."""
    deps = deps_for(aws)
    request = upload(aws, "page.pdf", b"<!DOCTYPE html><html>nope</html>", deps)
    with pytest.raises(NotADocumentError) as caught:
        claim_and_reserve(request, "exec-1", deps)
    assert deps.jobs.get(request.job_id)["last_error"]["code"] == "not_a_document"
    lost = {"Error": "Runtime.HandlerError",
            "Cause": json.dumps({"errorMessage": caught.value.message, "errorType": "Runtime.HandlerError"})}
    summary = fail_from_catch(request, lost, deps)
    assert summary.error["code"] == "not_a_document" and summary.error["retryable"] is False
    # a different failure after that (a crash with another message) is not dressed up as the noted one
    crash = {"Error": "Runtime.HandlerError", "Cause": json.dumps({"errorMessage": "'secret-token-123'"})}
    noted = deps.jobs.get(request.job_id)["last_error"]
    assert error_record(crash["Error"], crash["Cause"], noted)["code"] == "internal_error"
    # and a job ends once: a second failure report finds it ended and leaves its recorded error alone
    again = fail_from_catch(request, crash, deps)
    assert again.error["code"] == "not_a_document" and again.ended_here is False
    assert deps.jobs.get(request.job_id)["error"]["code"] == "not_a_document"


SLOW = {  # how each fake is made to need several polls; sync providers answer at submit
    ProviderName.ADOBE: lambda fake: setattr(fake, "in_progress_polls", 3),
    ProviderName.YANDEX: lambda fake: setattr(fake, "polls_until_done", 3),
    ProviderName.PDFOCR: lambda fake: (fake.faults.inject("524"), setattr(fake.options, "requeries_before_ready", 2)),
    ProviderName.OCRSPACE: lambda fake: None,
    ProviderName.PDFMAGE: lambda fake: None,
}
WAITING = {ProviderName.ADOBE, ProviderName.YANDEX, ProviderName.PDFOCR}


@pytest.mark.parametrize("provider", list(SLOW), ids=lambda p: p.value)
def test_every_provider_runs_through_the_workflow(aws, monkeypatch, provider):
    sample = "report.pdf" if provider is ProviderName.YANDEX else "letter.pdf"  # Yandex: async for many pages
    fake = fake_class(provider)()
    with fake:
        SLOW[provider](fake)
        for key, value in fake_environment(provider, fake.base_url).items():
            monkeypatch.setenv(key, value)
        deps = deps_for(aws, provider=provider.value)
        request = upload(aws, sample, sample_bytes(sample), deps)
        summary, polls = run_to_end(request, deps)
    assert summary.status == "succeeded" and summary.provider == provider.value
    assert (polls >= 2) is (provider in WAITING) and (polls == 0) is (provider not in WAITING)
    s3, _ = aws
    base = f"results/default/{request.job_id}/"
    document = Document.model_validate_json(s3.get_object(Bucket=RESULTS, Key=base + "document.json")["Body"].read())
    assert document.provider.name == provider.value and len(document.pages) == document.source.page_count
    assert word_recall(truth_text(sample), document.text) >= 0.9
    assert s3.get_object(Bucket=RESULTS, Key=base + "searchable.pdf")["Body"].read().startswith(b"%PDF")
    assert deps.jobs.get(request.job_id)["status"] == "succeeded"
