"""The Lambda handlers as Lambda calls them: the sample EventBridge event from events/ (EventBridge invokes the
process function with it), a Lambda context, Powertools parsing, logging and idempotency - against moto's S3,
DynamoDB and Step Functions (the state machine a waiting job is handed to)."""

import json
import time

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from moto import mock_aws

from ocrflow.fakes.adobe import AdobeFake
from ocrflow.fakes.ocrspace import OcrSpaceFake
from ocrflow.fakes.serve import fake_environment
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.events import request_from_event
from ocrflow.workflow.runtime import deps_from_env
from ocrflow.workflow.steps import claim_and_reserve
from tests.aws_resources import IDEMPOTENCY_TABLE as IDEMPOTENCY
from tests.aws_resources import JOBS_TABLE as TABLE
from tests.aws_resources import (
    RESULTS,
    UPLOADS,
    create_buckets,
    create_idempotency_table,
    create_jobs_table,
)
from tests.conftest import REPO, sample_bytes
from tests.lambda_handlers import Context, load

EVENT = json.loads((REPO / "events" / "s3" / "object-created.eventbridge.json").read_text())


@pytest.fixture
def aws(monkeypatch):
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
                       "POWERTOOLS_METRICS_NAMESPACE": "ocrflow", "POWERTOOLS_SERVICE_NAME": "ocrflow",
                       "OCRFLOW_RESULTS_BUCKET": RESULTS, "OCRFLOW_JOBS_TABLE": TABLE,
                       "OCRFLOW_IDEMPOTENCY_TABLE": IDEMPOTENCY}.items():
        monkeypatch.setenv(key, value)
    deps_from_env.cache_clear()
    with mock_aws():
        s3 = boto3.client("s3")
        create_buckets(s3)
        create_jobs_table(boto3.resource("dynamodb"))
        create_idempotency_table(boto3.resource("dynamodb"))
        machine = boto3.client("stepfunctions").create_state_machine(
            name="ocrflow-waiting", definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/ocrflow-sfn")["stateMachineArn"]
        monkeypatch.setenv("OCRFLOW_WAIT_STATE_MACHINE", machine)
        yield s3
    deps_from_env.cache_clear()


def event_for(s3, name: str, body: bytes, event_id: str = "event-1") -> dict:
    put = s3.put_object(Bucket=UPLOADS, Key=f"uploads/{name}", Body=body)
    event = json.loads(json.dumps(EVENT))
    event["id"] = event_id
    event["detail"]["object"].update({"key": f"uploads/{name}", "size": len(body), "etag": put["ETag"].strip('"'),
                                      "version-id": put["VersionId"]})
    return event


def results(s3) -> dict:
    return {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket=RESULTS).get("Contents", [])}


def use_fake(monkeypatch, name: ProviderName, fake) -> None:
    monkeypatch.setenv("OCRFLOW_PROVIDER", name.value)
    for key, value in fake_environment(name, fake.base_url).items():
        monkeypatch.setenv(key, value)
    deps_from_env.cache_clear()


def test_process_takes_a_document_from_event_to_results_in_one_call(aws):
    event = event_for(aws, "receipt.png", sample_bytes("receipt.png"))
    outcome = load("process")(event, Context())
    assert outcome["outcome"] == "succeeded" and outcome["provider"] == "tesseract"
    summary = outcome["summary"]
    assert summary["status"] == "succeeded" and set(summary["results"]) == {"json", "txt", "pdf"}
    text = aws.get_object(Bucket=RESULTS, Key=summary["results"]["txt"].split(RESULTS + "/", 1)[1])["Body"].read()
    assert b"Parcel Tracking" in text
    assert all(key.startswith("results/") for key in results(aws))  # no work files on the one-call path
    assert boto3.client("stepfunctions").list_executions(
        stateMachineArn=deps_from_env().settings.wait_state_machine)["executions"] == []


def test_a_duplicate_notification_and_a_repeated_delivery_do_nothing_twice(aws):
    body = sample_bytes("notice.jpg")
    event = event_for(aws, "notice.jpg", body, event_id="event-1")
    process = load("process")
    first = process(event, Context())
    assert first["outcome"] == "succeeded"
    written = results(aws)
    # S3 notifies at least once: the same object version in another event finds its job claimed
    duplicate = json.loads(json.dumps(event))
    duplicate["id"] = "event-2"
    assert process(duplicate, Context(aws_request_id="req-2"))["outcome"] == "duplicate"
    # EventBridge delivering the very same event again: Powertools Idempotency answers with the first result
    assert process(event, Context(aws_request_id="req-3")) == first
    assert results(aws) == written


def test_bad_input_fails_at_once_with_its_typed_error(aws):
    event = event_for(aws, "page.pdf", b"<html>not a pdf</html>")
    outcome = load("process")(event, Context())  # no exception: nothing for Lambda to try again
    assert outcome["outcome"] == "failed" and outcome["summary"]["error"]["code"] == "not_a_document"
    job = deps_from_env().jobs.get(outcome["job_id"])
    assert job["status"] == "failed" and job["error"]["code"] == "not_a_document"
    assert results(aws) == {}


def test_a_job_that_must_wait_is_handed_to_the_state_machine_and_finished_there(aws, monkeypatch):
    with AdobeFake() as fake:
        use_fake(monkeypatch, ProviderName.ADOBE, fake)
        monkeypatch.setenv("OCRFLOW_ADOBE_POLL_FALLBACK_SECONDS", "1")
        event = event_for(aws, "receipt.png", sample_bytes("receipt.png"))
        outcome = load("process")(event, Context())
        assert outcome["outcome"] == "waiting" and outcome["provider"] == "adobe"
        sfn = boto3.client("stepfunctions")
        [execution] = sfn.list_executions(stateMachineArn=deps_from_env().settings.wait_state_machine)["executions"]
        assert execution["name"] == f"{outcome['job_id']}-0"  # one execution per submission, whatever the retries
        state = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])["job"]["state"]
        assert state["done"] is False and state["parts"][0]["handle"]
        for _ in range(10):  # the state machine's Wait → Poll loop
            if state["done"]:
                break
            state = load("poll")({"state": state}, Context())["state"]
        summary = load("finalize")({"state": state}, Context())
    assert summary["status"] == "succeeded" and summary["provider"] == "adobe"
    assert all(key.startswith("results/") for key in results(aws))


def test_a_passing_failure_is_retried_by_lambda_then_recorded_by_the_destination(aws, monkeypatch):
    with OcrSpaceFake() as fake:
        use_fake(monkeypatch, ProviderName.OCRSPACE, fake)
        monkeypatch.setenv("OCRFLOW_OCRSPACE_MAX_ATTEMPTS", "1")
        deps_from_env.cache_clear()
        fake.faults.inject("error5xx", times=None)
        event = event_for(aws, "receipt.png", sample_bytes("receipt.png"))
        process = load("process")
        for attempt in range(3):  # the first try and Lambda's two retries
            with pytest.raises(Exception) as caught:
                process(event, Context(aws_request_id=f"try-{attempt}"))
            assert type(caught.value).__name__ == "ProviderUnavailableError"
    envelope = {"version": "1.0", "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                "requestPayload": event, "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
                "responsePayload": {"errorType": type(caught.value).__name__, "errorMessage": str(caught.value)}}
    fail = load("fail")
    summary = fail(envelope, Context())
    assert summary["status"] == "failed" and summary["error"]["code"] == "provider_unavailable"
    # a late record for an event that never owned the job (a duplicate notification's) changes nothing
    other = json.loads(json.dumps(envelope))
    other["requestPayload"]["id"] = "event-2"
    other["responsePayload"] = {"errorType": "Runtime.ExitError", "errorMessage": "exited"}
    assert fail(other, Context()) is None
    assert deps_from_env().jobs.get(summary["job_id"])["error"]["code"] == "provider_unavailable"


def test_fail_handler_records_the_typed_error_from_the_catch_payload(aws):
    event = event_for(aws, "receipt.png", sample_bytes("receipt.png"))
    deps = deps_from_env()
    request = request_from_event(S3EventNotificationEventBridgeModel.model_validate(event), deps.settings)
    claim_and_reserve(request, "event-1", deps)
    error = {"Error": "ProviderUnavailableError", "Cause": json.dumps({"errorMessage": "adobe is down"})}
    summary = load("fail")({"request": request.model_dump(mode="json"), "error": error}, Context())
    assert summary["status"] == "failed" and summary["error"] == {
        "code": "provider_unavailable", "message": "adobe is down", "retryable": True}


def test_malformed_events_are_rejected_by_the_parser(aws):
    from aws_lambda_powertools.utilities.parser import ValidationError

    with pytest.raises(ValidationError):
        load("process")({"id": "x", "detail": {}}, Context())
    with pytest.raises(ValidationError):
        load("fail")({"error": {}}, Context())


def test_a_repeated_submit_or_finalize_does_not_pay_or_write_twice(aws, monkeypatch):
    """Step Functions may invoke a step again with the same input (a Lambda service error after the work was
    done): Powertools Idempotency answers with the first result, so the provider is called once."""
    with OcrSpaceFake() as fake:
        use_fake(monkeypatch, ProviderName.OCRSPACE, fake)
        event = event_for(aws, "receipt.png", sample_bytes("receipt.png"))
        deps = deps_from_env()
        request = request_from_event(S3EventNotificationEventBridgeModel.model_validate(event), deps.settings)
        state = claim_and_reserve(request, "event-1", deps)[0].model_dump(mode="json")
        submit = load("submit")
        first = submit({"state": state}, Context())
        again = submit({"state": state}, Context(aws_request_id="req-2"))
        assert again == first and len([r for r in fake.requests if r.method == "POST"]) == 1
        finalize = load("finalize")
        summary = finalize(first, Context())
        written = results(aws)
        assert finalize(first, Context(aws_request_id="req-3")) == summary
        assert results(aws) == written
    records = boto3.resource("dynamodb").Table(IDEMPOTENCY).scan()["Items"]
    assert sorted(r["status"] for r in records) == ["COMPLETED", "COMPLETED"]


SCHEDULED = {  # what the EventBridge schedule sends the sweep function every minute
    "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
    "source": "aws.events", "account": "123456789012", "time": "2026-03-02T09:00:00Z", "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/ocrflow-sweep"], "detail": {}}


def test_the_scheduled_sweep_fails_a_job_its_dead_process_call_left_running(aws, monkeypatch):
    """The process call died after claiming (nothing recorded it): the next scheduled sweep past the job's
    deadline ends it as failed `timeout`; a job still within its deadline stays running."""
    monkeypatch.setenv("OCRFLOW_JOB_DEADLINE_SECONDS", "1")
    deps_from_env.cache_clear()
    deps = deps_from_env()
    stuck = event_for(aws, "receipt.png", sample_bytes("receipt.png"))
    request = request_from_event(S3EventNotificationEventBridgeModel.model_validate(stuck), deps.settings)
    claim_and_reserve(request, stuck["id"], deps)  # ... and then the worker was killed
    monkeypatch.setenv("OCRFLOW_JOB_DEADLINE_SECONDS", "3600")
    deps_from_env.cache_clear()
    fresh = event_for(aws, "notice.jpg", sample_bytes("notice.jpg"))
    young = request_from_event(S3EventNotificationEventBridgeModel.model_validate(fresh), deps_from_env().settings)
    claim_and_reserve(young, fresh["id"], deps_from_env())
    time.sleep(1.1)
    report = load("sweep")(SCHEDULED, Context())
    assert report["timed_out"] == [request.job_id] and report["settled"] == []
    failed = deps_from_env().jobs.get(request.job_id)
    assert failed["status"] == "failed" and failed["error"]["code"] == "timeout" and failed["finished_at"]
    assert deps_from_env().jobs.get(young.job_id)["status"] == "running"
