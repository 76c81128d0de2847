"""The Lambda handlers as Lambda calls them: the sample EventBridge event from events/, a Lambda context,
Powertools parsing and logging - against moto's S3 and DynamoDB."""

import json

import boto3
import pytest
from moto import mock_aws

from ocrflow.fakes.ocrspace import OcrSpaceFake
from ocrflow.fakes.serve import fake_environment
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.runtime import deps_from_env
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
        yield s3
    deps_from_env.cache_clear()


def event_for(s3, name: str, body: bytes) -> dict:
    put = s3.put_object(Bucket=UPLOADS, Key=f"uploads/{name}", Body=body)
    event = json.loads(json.dumps(EVENT))
    event["detail"]["object"].update({"key": f"uploads/{name}", "size": len(body), "etag": put["ETag"].strip('"'),
                                      "version-id": put["VersionId"]})
    return event


def test_handlers_take_a_document_from_event_to_results(aws):
    event = event_for(aws, "receipt.png", sample_bytes("receipt.png"))
    started = load("validate")({"event": event, "execution": "exec-1"}, Context())
    assert started["duplicate"] is False
    submitted = load("submit")({"state": started["state"]}, Context())
    assert submitted["state"]["done"] is True
    summary = load("finalize")(submitted, Context())
    assert summary["status"] == "succeeded" and set(summary["results"]) == {"json", "txt", "pdf"}
    text = aws.get_object(Bucket=RESULTS, Key=summary["results"]["txt"].split(RESULTS + "/", 1)[1])["Body"].read()
    assert b"Parcel Tracking" in text


def test_duplicate_event_is_answered_as_duplicate(aws):
    event = event_for(aws, "notice.jpg", sample_bytes("notice.jpg"))
    assert load("validate")({"event": event, "execution": "exec-1"}, Context())["duplicate"] is False
    assert load("validate")({"event": event, "execution": "exec-2"}, Context())["duplicate"] is True


def test_fail_handler_records_the_typed_error_from_the_catch_payload(aws):
    event = event_for(aws, "page.pdf", b"<html>not a pdf</html>")
    validate = load("validate")
    with pytest.raises(Exception) as caught:
        validate({"event": event, "execution": "exec-1"}, Context())
    assert type(caught.value).__name__ == "NotADocumentError"  # the Lambda error type the Catch sees
    error = {"Error": "NotADocumentError", "Cause": json.dumps({"errorMessage": str(caught.value)})}
    summary = load("fail")({"event": event, "error": error}, Context())
    assert summary["status"] == "failed" and summary["error"]["code"] == "not_a_document"


def test_malformed_events_are_rejected_by_the_parser(aws):
    from aws_lambda_powertools.utilities.parser import ValidationError

    with pytest.raises(ValidationError):
        load("validate")({"event": {"detail": {}}, "execution": "x"}, Context())


def test_a_repeated_submit_or_finalize_does_not_pay_or_write_twice(aws, monkeypatch):
    """Step Functions may invoke a step again with the same input (a Lambda service error after the work was
    done): Powertools Idempotency answers with the first result, so the provider is called once."""
    with OcrSpaceFake() as fake:
        monkeypatch.setenv("OCRFLOW_PROVIDER", "ocrspace")
        for key, value in fake_environment(ProviderName.OCRSPACE, fake.base_url).items():
            monkeypatch.setenv(key, value)
        deps_from_env.cache_clear()
        event = event_for(aws, "receipt.png", sample_bytes("receipt.png"))
        started = load("validate")({"event": event, "execution": "exec-1"}, Context())
        submit = load("submit")
        first = submit({"state": started["state"]}, Context())
        again = submit({"state": started["state"]}, Context(aws_request_id="req-2"))
        assert again == first and len([r for r in fake.requests if r.method == "POST"]) == 1
        finalize = load("finalize")
        summary = finalize(first, Context())
        written = {o["Key"]: o["LastModified"] for o in aws.list_objects_v2(Bucket=RESULTS)["Contents"]}
        assert finalize(first, Context(aws_request_id="req-3")) == summary
        assert {o["Key"]: o["LastModified"] for o in aws.list_objects_v2(Bucket=RESULTS)["Contents"]} == written
    records = boto3.resource("dynamodb").Table(IDEMPOTENCY).scan()["Items"]
    assert sorted(r["status"] for r in records) == ["COMPLETED", "COMPLETED"]
