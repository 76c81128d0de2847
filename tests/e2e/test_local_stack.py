"""End to end on the local stack: the CDK app deployed into the emulator (ministack) with the aws-cdk CLI;
documents go in through S3 PutObject only - the S3 trigger (EventBridge), the process function (one call for
most documents), the Standard state machine for jobs that wait on a provider and the Lambda handlers (the core
layer built for the emulator's interpreter) do the rest."""

import json
import time

import pytest

from ocrflow.document import Document
from ocrflow.local.jobs import fetch_result, upload, wait_for_jobs
from ocrflow.providers.names import ProviderName
from ocrflow.quality import word_recall
from ocrflow.workflow.routing import AUTO
from tests.conftest import sample_bytes, truth_text
from tests.e2e.conftest import E2E_ROUTE

pytestmark = pytest.mark.e2e  # the `stack` fixture (conftest) is deployed once for all end-to-end tests


def executions_for(stack, key, machine=None):
    """The executions of the Standard state machine (or `machine`) for the job of `key` (started by the process
    function with the state)."""
    sfn = stack.client("stepfunctions")
    found = []
    for summary in sfn.list_executions(stateMachineArn=machine or stack.deployment.state_machine)["executions"]:
        described = sfn.describe_execution(executionArn=summary["executionArn"])
        if json.loads(described["input"])["job"]["state"]["request"]["source"]["key"] == key:
            found.append(described)
    return found


def wait_for_executions(stack, key, count, timeout=60.0, machine=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = executions_for(stack, key, machine)
        if len(found) >= count and all(e["status"] != "RUNNING" for e in found):
            return found
        time.sleep(0.5)
    raise AssertionError(f"executions for {key} did not end: {executions_for(stack, key)}")


def results_listing(stack):
    s3 = stack.client("s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=stack.deployment.results_bucket).get("Contents", [])]


def test_an_upload_is_ocred_through_the_s3_trigger(stack):
    tracked = upload(stack, "letter.pdf", sample_bytes("letter.pdf"), folder="e2e/")
    assert wait_for_jobs(stack, [tracked], timeout=240)
    record = tracked.record
    assert record["status"] == "succeeded", record.get("error")
    assert record["pages"] == 1 and record["provider"] == "tesseract"
    # the emulator unpacks each Lambda worker (~250 MB) in its own temporary folder, removed when it stops
    assert list(stack.emulator.temp_dir.glob("ministack-lambda-*"))
    document = Document.model_validate_json(fetch_result(stack, record["results"]["json"]))
    assert document.source.key == tracked.key and document.source.bucket == stack.deployment.uploads_bucket
    assert word_recall(truth_text("letter.pdf"), document.text) >= 0.97
    assert fetch_result(stack, record["results"]["pdf"]).startswith(b"%PDF")
    assert fetch_result(stack, record["results"]["txt"]).decode().strip() == document.text.strip()
    # finished in the process function's one call: no state machine execution, no work files
    assert executions_for(stack, tracked.key) == []
    assert all(k.startswith("results/") for k in results_listing(stack))
    # results never retrigger the pipeline: the only job with this file is the upload's
    jobs = stack.client("dynamodb").scan(TableName=stack.deployment.jobs_table)["Items"]
    assert [item["source"]["M"]["key"]["S"] for item in jobs if "source" in item].count(tracked.key) == 1


def test_a_duplicate_notification_yields_one_job(stack):
    tracked = upload(stack, "notice.jpg", sample_bytes("notice.jpg"), folder="dup/")
    assert wait_for_jobs(stack, [tracked], timeout=240) and tracked.status == "succeeded"
    before = results_listing(stack)
    # S3 notifies at least once: the same object version again, in another EventBridge event, must stop at the claim
    source = tracked.record["source"]
    event = {"version": "0", "id": "a-repeated-notification", "detail-type": "Object Created", "source": "aws.s3",
             "account": "000000000000", "time": "2026-11-21T10:00:00Z", "region": "us-east-1", "resources": [],
             "detail": {"version": "0", "bucket": {"name": source["bucket"]},
                        "object": {"key": source["key"], "size": int(source["size"]), "etag": source["etag"],
                                   **({"version-id": source["version_id"]} if source.get("version_id") else {}),
                                   **({"sequencer": source["sequencer"]} if source.get("sequencer") else {})},
                        "request-id": "R", "requester": "000000000000", "reason": "PutObject"}}
    answer = stack.client("lambda").invoke(FunctionName=stack.deployment.process_function,
                                           Payload=json.dumps(event).encode())
    outcome = json.loads(answer["Payload"].read())
    assert outcome == {"job_id": tracked.record["job_id"], "outcome": "duplicate", "summary": None, "provider": None}
    assert results_listing(stack) == before  # nothing OCRed or written twice
    jobs = stack.client("dynamodb").scan(TableName=stack.deployment.jobs_table)["Items"]
    sources = [item["source"]["M"]["key"]["S"] for item in jobs if "source" in item]  # API jobs may wait for theirs
    assert sources.count(tracked.key) == 1


def test_bad_input_ends_as_its_typed_error(stack):
    tracked = upload(stack, "page.pdf", b"<!DOCTYPE html><html><body>not a pdf</body></html>", folder="bad/")
    assert wait_for_jobs(stack, [tracked], timeout=240)
    assert tracked.status == "failed" and tracked.record["error"]["code"] == "not_a_document"
    assert executions_for(stack, tracked.key) == []  # failed at once in the process function, typed
    assert not any(tracked.record["job_id"] in key for key in results_listing(stack))


@pytest.fixture
def adobe_stack(stack):
    stack.redeploy(ProviderName.ADOBE)  # `cdk deploy -c ocrflow:provider=adobe` (pinned), settings in Secrets Manager
    yield stack
    stack.redeploy(AUTO, E2E_ROUTE)  # as the other end-to-end tests expect it


def test_a_slow_provider_is_waited_for_by_the_state_machine(adobe_stack):
    stack = adobe_stack
    stack.fake.in_progress_polls = 2
    stack.fake.retry_after = "1"
    tracked = upload(stack, "report.pdf", sample_bytes("report.pdf"), folder="slow/")
    assert wait_for_jobs(stack, [tracked], timeout=240)
    assert tracked.status == "succeeded", tracked.record.get("error")
    assert tracked.record["provider"] == "adobe" and tracked.record["pages"] == 3
    document = Document.model_validate_json(fetch_result(stack, tracked.record["results"]["json"]))
    assert document.searchable_pdf.origin == "provider"
    assert word_recall(truth_text("report.pdf"), document.text) >= 0.9
    # handed over by the process function to the Express loop (the emulator keeps its history; AWS logs it)
    [execution] = wait_for_executions(stack, tracked.key, 1, machine=stack.deployment.quick_state_machine)
    assert executions_for(stack, tracked.key) == []  # a short wait never reaches the Standard machine
    assert execution["name"] == f"{tracked.record['job_id']}-0" and execution["status"] == "SUCCEEDED"
    history = stack.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"],
                                                                  maxResults=1000)["events"]
    waits = [e for e in history if e["type"] == "WaitStateEntered"]
    polls = [e for e in history if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "Poll"]
    assert len(waits) >= 2 and len(polls) >= 2  # two "in progress" answers, each followed by a Wait and a Poll
