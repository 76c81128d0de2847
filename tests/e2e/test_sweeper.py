"""The sweeper on the local stack: a job whose process call hangs past the job's deadline (its provider stopped
answering) does not stay `running` with its credits held. The deployed schedule (EventBridge rate(1 minute),
which ministack fires) runs the sweep function: the job fails as `timeout`, its credits come back, its webhook
arrives once; when the process call finally gets its answer, its late finish changes nothing."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from ocrflow.local.api import api_key_for
from ocrflow.local.deployment import free_receiver_port
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.routing import AUTO
from tests.conftest import sample_bytes
from tests.e2e.conftest import E2E_ROUTE
from tests.http_servers import serving

pytestmark = pytest.mark.e2e

DEADLINE = 120  # -c ocrflow:jobDeadlineSeconds=120
SWEEP_EVERY = 60  # the schedule's rate
ANSWER_AFTER = DEADLINE + 2 * SWEEP_EVERY + 30  # pdfmage's answer comes when the job has been swept


@pytest.fixture
def pdfmage_stack(stack):
    """Pinned to pdfmage (a fake with a balance) and a two-minute job deadline."""
    saved = dict(stack.fake_options)
    stack.fake_options[ProviderName.PDFMAGE] = {}
    # a two-minute deadline cannot cover a 2,000-page fan-out: the deployment takes 20 pages at most (synth
    # refuses a page limit it could not finish in time)
    stack.redeploy(ProviderName.PDFMAGE.value, context={"ocrflow:jobDeadlineSeconds": str(DEADLINE),
                                                        "ocrflow:maxPages": "20"})
    # the earlier tests' pdfmage had no balance and is marked exhausted (a pinned job would fail at once as
    # quota_exhausted): this one has credits, so the mark goes, as when an operator tops the account up
    stack.tenants_table().delete_item(Key={"pk": f"PROVIDER#{ProviderName.PDFMAGE.value}", "sk": "STATUS"})
    # the client waits up to 10 minutes for pdfmage's answer (a read time-out is not retried: the document may
    # have been charged), so one process call outlasts the deadline and the next sweeps
    secrets = stack.client("secretsmanager")
    settings = json.loads(secrets.get_secret_value(SecretId="ocrflow/pdfmage")["SecretString"])
    secrets.put_secret_value(SecretId="ocrflow/pdfmage", SecretString=json.dumps(
        {**settings, "timeout_seconds": "600"}))
    yield stack
    stack.fake_options.clear()
    stack.fake_options.update(saved)
    stack.redeploy(AUTO, E2E_ROUTE)  # as the other end-to-end tests expect it


def call(stack, method: str, path: str, key: str, **kwargs) -> httpx.Response:
    return httpx.request(method, stack.api_base + path, headers={"X-Api-Key": key}, timeout=30, **kwargs)


def job_record(stack, job_id: str) -> dict:
    table = stack.emulator.resource("dynamodb").Table(stack.deployment.jobs_table)
    return table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item") or {}


def hold_state(stack, tenant: str, job_id: str) -> str | None:
    item = stack.tenants_table().get_item(Key={"pk": f"TENANT#{tenant}", "sk": f"HOLD#{job_id}"}).get("Item")
    return item and item["state"]


def wait_for(condition, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    return condition()


def process_call_result(stack, job_id: str) -> dict | None:
    """What the process function's call for the job returned, once it completed (its Powertools Idempotency
    record, keyed by the event's id)."""
    config = stack.client("lambda").get_function_configuration(FunctionName=stack.deployment.process_function)
    table = stack.emulator.resource("dynamodb").Table(config["Environment"]["Variables"]["OCRFLOW_IDEMPOTENCY_TABLE"])
    for item in table.scan()["Items"]:
        if item.get("status") == "COMPLETED" and job_id in item.get("data", ""):
            return json.loads(item["data"])
    return None


def test_a_job_whose_process_call_hangs_past_its_deadline_is_failed_by_the_sweeper(pdfmage_stack):
    stack = pdfmage_stack
    fake = stack.fakes[ProviderName.PDFMAGE]
    key = api_key_for(stack, "e2e-sweep", credits=100)
    received: list[dict] = []

    @Request.application
    def hooks(request: Request) -> Response:
        received.append(json.loads(request.get_data()))
        return Response("ok")

    body = sample_bytes("report.pdf")  # 3 pages
    credits_before = call(stack, "GET", "/v1/usage", key).json()["credits"]
    fake.slow_seconds = float(ANSWER_AFTER)  # pdfmage hangs: its answer comes long after the job's deadline
    fake.faults.inject("slow", times=1)
    with serving(hooks, port=free_receiver_port()) as receiver:  # the ports the local stack may call back
        made = call(stack, "POST", "/v1/jobs", key, json={
            "filename": "report.pdf", "content_type": "application/pdf", "size": len(body),
            "callback_url": f"{receiver}/hooks"})
        assert made.status_code == 201, made.text
        job, upload = made.json()["job"], made.json()["upload"]
        assert httpx.put(upload["url"], headers=upload["headers"], content=body, timeout=30).status_code == 200

        running = wait_for(lambda: job_record(stack, job["id"]).get("status") == "running" and fake.requests, 120)
        assert running, job_record(stack, job["id"])
        answer_at = time.time() + ANSWER_AFTER
        record = job_record(stack, job["id"])
        assert hold_state(stack, "e2e-sweep", job["id"]) == "held"
        assert call(stack, "GET", "/v1/usage", key).json()["credits"] == credits_before - 3
        deadline = int(record["deadline_epoch"])

        failed = wait_for(lambda: job_record(stack, job["id"]).get("status") == "failed",
                          DEADLINE + 2 * SWEEP_EVERY + 60)
        ended_at = time.time()
        record = job_record(stack, job["id"])
        assert failed, f"still {record.get('status')} {ended_at - deadline:.0f} s past its deadline"
        assert record["error"]["code"] == "timeout", record["error"]
        late_by = ended_at - deadline
        print(f"sweeper: job failed {late_by:.0f} s after its deadline (schedule every {SWEEP_EVERY} s)")
        assert late_by <= 2 * SWEEP_EVERY + 30
        assert hold_state(stack, "e2e-sweep", job["id"]) == "released"
        assert call(stack, "GET", "/v1/usage", key).json()["credits"] == credits_before
        view = call(stack, "GET", f"/v1/jobs/{job['id']}", key).json()
        assert view["status"] == "failed" and view["error"]["code"] == "timeout"
        assert wait_for(lambda: received, 60, every=0.5)

        # pdfmage's answer arrives: the process call finishes late - and finds the job ended
        assert time.time() < answer_at, "the sweep came after pdfmage's answer: the late finish was not tested"
        assert process_call_result(stack, job["id"]) is None  # the call is still waiting on pdfmage
        late = wait_for(lambda: process_call_result(stack, job["id"]), ANSWER_AFTER + 240, every=5)
        assert late, "the process call never ended after pdfmage's answer"
        print(f"sweeper: the late process call returned {late['outcome']!r} {late['summary']['error']}")
        assert late["outcome"] == "failed" and late["summary"]["error"]["code"] == "timeout"  # as recorded
        assert len(fake.requests) == 1  # the one call, answered (a read time-out would have failed the job)
        record = job_record(stack, job["id"])
        assert record["status"] == "failed" and record["error"]["code"] == "timeout"
        assert call(stack, "GET", "/v1/usage", key).json()["credits"] == credits_before  # nothing charged
        s3 = stack.client("s3")
        listed = s3.list_objects_v2(Bucket=stack.deployment.results_bucket, Prefix=f"results/e2e-sweep/{job['id']}/")
        assert listed.get("KeyCount", 0) == 0  # no results of a failed job left behind
        time.sleep(2)
    assert [hook["event"] for hook in received] == ["job.failed"]  # once
    assert received[0]["job"]["error"]["code"] == "timeout"
