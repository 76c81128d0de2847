"""What one document costs the operator on AWS: the workflow's resource use, counted, priced at public list prices.

The Lambda handlers of functions/ run in this process exactly as AWS calls them - the process function with the
EventBridge event (one call for a document that the embedded engine or a provider answering at once finishes);
for a job handed to the state machine, poll after each wait, finalize and notify - against moto's S3, DynamoDB
and Step Functions - the deployment's buckets and tables, with Powertools Idempotency on - and the provider
fakes over HTTP. A botocore patch counts every AWS request by service and operation (DynamoDB's request units
from the item sizes the requests carry); each handler's wall time on this machine times the memory the CDK
app gives that function is its GB-seconds; the state transitions are those of the path a handed-over job takes
through the Standard state machine. EventBridge's delivery of S3 events is free.

    .venv/bin/python bench/cost_model.py            (make bench runs it after the OCR bench)

Prices: us-east-1 list prices, x86 Lambda (and arm64: the same GB-s at its price), S3 Standard, DynamoDB
on-demand, Step Functions Standard, as of PRICES_AS_OF. CloudWatch Logs, X-Ray and KMS are left out (a few
hundredths of a cent per thousand documents at our log volume); API Gateway only matters for API jobs ($3.50
per million requests).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "infra")]

from ocrflow_infra.sizes import STEPS  # noqa: E402 - found through the path above

PRICES_AS_OF = "2026-11"
LAMBDA_GB_SECOND = 0.0000166667
#: Graviton (arm64), 20 % less; priced on the same GB-s: its speed on this code is not measured on real hardware
LAMBDA_GB_SECOND_ARM64 = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1e6
S3_WRITE = 0.005 / 1000      # PUT, COPY, POST, LIST
S3_READ = 0.0004 / 1000      # GET, HEAD and the rest
DYNAMO_WRU = 0.625 / 1e6
DYNAMO_RRU = 0.125 / 1e6
SFN_STANDARD_TRANSITION = 0.025 / 1000
SFN_EXPRESS_REQUEST = 1.00 / 1e6
SFN_EXPRESS_GB_SECOND = 0.00001667  # the first 1,000 GB-hours a month; billed in 64 MB, 100 ms increments
SFN_EXPRESS_MEMORY_GB = 64 / 1024   # the loop's state is a few KB: the smallest increment
TARGET_PER_1000 = 0.05  # the target for AWS overhead per 1,000 one-page documents
TARGET_ASYNC_PER_1000 = 0.08  # issue 14: a one-page Adobe document with one poll
#: what each provider charges per page (list prices of the seeds/PROVIDERS.md), for comparison
PROVIDER_PRICE_PER_PAGE = {"tesseract (embedded)": 0.0, "pdfmage": 0.01, "ocrspace (PRO)": 0.0012,
                           "pdfocr.org": 0.005, "adobe (per 50-page transaction)": 0.05 / 50,
                           "yandex": 0.0013}

S3_WRITES = {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "ListObjectVersions",
             "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "DeleteObjects"}  # a POST


@dataclass
class Usage:
    lambda_calls: int = 0
    gb_seconds: float = 0.0
    transitions: int = 0
    express_runs: int = 0
    express_seconds: float = 0.0  # the Express loop's duration: its waits and its steps
    requests: Counter = field(default_factory=Counter)  # "s3:PutObject" -> n
    wru: float = 0.0
    rru: float = 0.0

    def dollars(self, architecture: str = "x86_64") -> dict[str, float]:
        gb_second = LAMBDA_GB_SECOND_ARM64 if architecture == "arm64" else LAMBDA_GB_SECOND
        s3 = sum(n * (S3_WRITE if op in S3_WRITES else S3_READ)
                 for key, n in self.requests.items() for service, op in [key.split(":", 1)] if service == "s3")
        return {"lambda": self.lambda_calls * LAMBDA_REQUEST + self.gb_seconds * gb_second,
                "step functions": self.transitions * SFN_STANDARD_TRANSITION + self.express_runs * SFN_EXPRESS_REQUEST
                + math.ceil(self.express_seconds * 10) / 10 * SFN_EXPRESS_MEMORY_GB * SFN_EXPRESS_GB_SECOND, "s3": s3,
                "dynamodb": self.wru * DYNAMO_WRU + self.rru * DYNAMO_RRU}


def _item_units(item: dict | None, unit: int) -> int:
    return max(1, math.ceil(len(json.dumps(item or {}, default=str)) / unit))


class RequestCounter:
    """Counts every AWS API call any botocore client makes (Powertools' idempotency layer brings its own
    session, so a session hook would miss it) into `usage`, with DynamoDB capacity units by on-demand rules: a
    write is 1 WRU per KB, a transactional one 2; a strongly consistent read 1 RRU per 4 KB, an eventual one
    half. Retries are not counted (moto answers every call)."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.counting = True  # see paused()


    def install(self) -> None:
        from botocore.client import BaseClient

        original, counter = BaseClient._make_api_call, self

        def counted(client, operation_name, api_params):  # noqa: ANN001, ANN202
            counter.count(client.meta.service_model.service_name, operation_name, api_params)
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = counted

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Requests the model makes itself (the upload, reading the handed-over state) are not counted."""
        self.counting = False
        try:
            yield
        finally:
            self.counting = True

    def count(self, service: str, op: str, params: dict) -> None:
        if not self.counting:
            return
        self.usage.requests[f"{service}:{op}"] += 1
        if service != "dynamodb":
            return
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            self.usage.wru += _item_units(params.get("Item") or params.get("ExpressionAttributeValues"), 1024)
        elif op == "TransactWriteItems":
            self.usage.wru += 2 * sum(_item_units(next(iter(i.values())), 1024) for i in params["TransactItems"])
        elif op in ("GetItem", "Query", "Scan"):
            self.usage.rru += 1.0 if params.get("ConsistentRead") else 0.5


def step_memory(step: str) -> int:
    """The memory (MB) the CDK app gives the step's function."""
    return STEPS[step][0]


def run_document(name: str, body: bytes, counter: RequestCounter) -> Usage:
    """One document through the handlers, as AWS would run them; its usage."""
    import boto3

    from tests.aws_resources import UPLOADS
    from tests.lambda_handlers import Context, load

    with counter.paused():  # the upload itself is the caller's, not the workflow's
        put = boto3.client("s3").put_object(Bucket=UPLOADS, Key=f"uploads/{name}", Body=body)
    usage = counter.usage = Usage()
    event = json.loads((REPO / "events" / "s3" / "object-created.eventbridge.json").read_text())
    event["detail"]["object"].update({"key": f"uploads/{name}", "size": len(body), "etag": put["ETag"].strip('"'),
                                      "version-id": put["VersionId"]})
    event["id"] = f"event-{name}"  # one EventBridge event per upload (the idempotency key)

    def call(step: str, payload: dict) -> dict:
        started = time.perf_counter()
        result = load(step, iam=False)(payload, Context(memory_limit_in_mb=step_memory(step)))
        usage.lambda_calls += 1
        usage.gb_seconds += (time.perf_counter() - started) * step_memory(step) / 1024
        return result

    outcome = call("process", event)
    if outcome["outcome"] == "waiting":  # handed to a state machine with the job's state
        job = {"state": handed_state(counter, outcome["job_id"])}
        express = job["state"]["waiting_in"] == "express"  # billed by duration, not by transition
        loop_started = time.perf_counter()
        waited = slept = 0.0
        usage.transitions += 1  # ProviderDone?
        while not job["state"]["done"]:
            usage.transitions += 3  # WaitForProvider, Poll, ProviderDone?
            waited += job["state"]["wait_seconds"]  # as deployed, the Wait state sleeps this long
            slept += min(job["state"]["wait_seconds"], 1)
            time.sleep(min(job["state"]["wait_seconds"], 1))
            job = call("poll", {"state": job["state"]})
        usage.transitions += 3  # Finalize, NotifySuccess, JobSucceeded
        summary = call("finalize", job)
        call("notify", {"job_id": summary["job_id"]})
        if express:
            usage.express_runs += 1
            usage.express_seconds += time.perf_counter() - loop_started - slept + waited
            usage.transitions = 0
    else:
        summary = outcome["summary"]
    assert summary["status"] == "succeeded", summary
    return usage


def handed_state(counter: RequestCounter, job_id: str) -> dict:
    """The state the process function started a state machine's execution with (moto runs no steps): the
    Express loop's, else the Standard machine's."""
    import boto3

    with counter.paused():
        sfn = boto3.client("stepfunctions")
        for machine in ("OCRFLOW_QUICK_WAIT_STATE_MACHINE", "OCRFLOW_WAIT_STATE_MACHINE"):
            if not os.environ.get(machine):
                continue
            arn = os.environ[machine].replace(":stateMachine:", ":execution:") + f":{job_id}-0"
            with contextlib.suppress(sfn.exceptions.ExecutionDoesNotExist):
                return json.loads(sfn.describe_execution(executionArn=arn)["input"])["job"]["state"]
        raise AssertionError(f"no execution was started for job {job_id}")


def handler_environment() -> dict[str, str]:
    """The environment the handlers run with on moto: fake credentials, Powertools quiet, the deployment's
    buckets and tables (tests/aws_resources.py)."""
    from tests.aws_resources import IDEMPOTENCY_TABLE, JOBS_TABLE, RESULTS, TENANTS_TABLE, UPLOADS

    return {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "ocrflow",
            "POWERTOOLS_SERVICE_NAME": "ocrflow", "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true", "OCRFLOW_RESULTS_BUCKET": RESULTS, "OCRFLOW_JOBS_TABLE": JOBS_TABLE,
            "OCRFLOW_TENANTS_TABLE": TENANTS_TABLE, "OCRFLOW_IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
            "OCRFLOW_UPLOADS_BUCKET": UPLOADS}


def measure() -> list[tuple[str, Usage]]:
    import boto3
    from moto import mock_aws

    from ocrflow.fakes.adobe import AdobeFake
    from ocrflow.fakes.pdfmage import PdfMageFake
    from ocrflow.fakes.serve import fake_environment
    from ocrflow.providers.names import ProviderName
    from ocrflow.samples import build_sample, scan_set
    from ocrflow.workflow.runtime import deps_from_env
    from tests.aws_resources import create_buckets, create_idempotency_table, create_jobs_table, create_tenants_table

    os.environ.update(handler_environment())
    one_page = build_sample(scan_set(1))
    ten_pages = build_sample(scan_set(10))
    measured = []
    with mock_aws(), AdobeFake() as adobe, PdfMageFake(balance="100") as pdfmage:
        boto3.setup_default_session()
        counter = RequestCounter()
        counter.install()
        create_buckets(boto3.client("s3"))
        dynamodb = boto3.resource("dynamodb")
        create_jobs_table(dynamodb), create_tenants_table(dynamodb), create_idempotency_table(dynamodb)
        machines = {kind: boto3.client("stepfunctions").create_state_machine(
            name=f"ocrflow-{kind.lower()}", roleArn="arn:aws:iam::123456789012:role/bench", type=kind,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
            for kind in ("STANDARD", "EXPRESS")}
        os.environ["OCRFLOW_WAIT_STATE_MACHINE"] = machines["STANDARD"]
        for fake in (adobe, pdfmage):
            os.environ.update(fake_environment(ProviderName(fake.name), fake.base_url))
        os.environ["OCRFLOW_ADOBE_POLL_FALLBACK_SECONDS"] = "1"
        for provider, label, express in (("tesseract", "embedded engine", True),
                                         ("pdfmage", "pdfmage (sync REST)", True),
                                         ("adobe", "adobe (async REST, 1 poll)", True),
                                         ("adobe", "adobe, Standard loop (before)", False)):
            os.environ["OCRFLOW_PROVIDER"] = provider
            if express:  # as deployed: waiting jobs go to the Express loop first
                os.environ["OCRFLOW_QUICK_WAIT_STATE_MACHINE"] = machines["EXPRESS"]
            else:
                os.environ.pop("OCRFLOW_QUICK_WAIT_STATE_MACHINE", None)
            deps_from_env.cache_clear()
            for pages, body in ((1, one_page), (10, ten_pages)):
                if not express and pages > 1:
                    continue
                tag = f"{provider}-{'x' if express else 's'}-{pages}"
                run_document(f"warm-{tag}.pdf", body, counter)  # imports, models: not counted
                measured.append((f"{label}, {pages} page{'s' if pages > 1 else ''}",
                                 run_document(f"{tag}.pdf", body, counter)))
    return measured


def report(measured: list[tuple[str, Usage]]) -> list[str]:
    lines = [f"AWS cost per 1,000 documents (us-east-1 list prices, {PRICES_AS_OF}), as deployed: one call of the "
             "process function; jobs that wait on a provider in the Express loop (billed by duration at 64 MB; "
             "'trans.' 0), the Standard state machine only after its two minutes", ""]
    header = (f"{'document':<42} {'λ calls':>7} {'GB-s':>6} {'trans.':>6} {'S3 w/r':>7} {'DDB WRU/RRU':>11} "
              f"{'λ $':>7} {'SFN $':>7} {'S3 $':>6} {'DDB $':>6} {'total $':>8} {'arm64 $':>8}")
    lines.append(header)
    for label, usage in measured:
        cost = usage.dollars()
        s3w = sum(n for k, n in usage.requests.items() if k.startswith("s3:") and k[3:] in S3_WRITES)
        s3r = sum(n for k, n in usage.requests.items() if k.startswith("s3:")) - s3w
        lines.append(
            f"{label:<42} {usage.lambda_calls:>7} {usage.gb_seconds:>6.2f} {usage.transitions:>6} "
            f"{f'{s3w}/{s3r}':>7} {f'{usage.wru:.0f}/{usage.rru:.1f}':>11} "
            f"{cost['lambda'] * 1000:>7.3f} {cost['step functions'] * 1000:>7.3f} "
            f"{cost['s3'] * 1000:>6.3f} {cost['dynamodb'] * 1000:>6.3f} {sum(cost.values()) * 1000:>8.3f} "
            f"{sum(usage.dollars('arm64').values()) * 1000:>8.3f}")
    lines += ["", "arm64 $: the same GB-s at Graviton's price (-c ocrflow:architecture=arm64, make layer ARCH=arm64); "
              "its speed on this code is not measured on real Graviton hardware, so x86_64 stays the default"]
    for label, usage in measured:
        if label.endswith(", 1 page"):
            lines += ["", f"requests per document ({label}): " + ", ".join(
                f"{k} {n}" for k, n in sorted(usage.requests.items()))]
    overhead = [sum(u.dollars().values()) * 1000 for label, u in measured if "pdfmage" in label and "1 page" in label]
    lines += ["", f"target: AWS overhead <= ${TARGET_PER_1000:.2f} per 1,000 one-page documents (a REST provider's "
              f"job: all of it is overhead) - measured ${overhead[0]:.3f}: "
              f"{'met' if overhead[0] <= TARGET_PER_1000 else 'MISSED'}"]
    waiting = [sum(u.dollars().values()) * 1000 for label, u in measured
               if label == "adobe (async REST, 1 poll), 1 page"]
    lines += [f"target: <= ${TARGET_ASYNC_PER_1000:.2f} per 1,000 one-page Adobe documents with one poll - measured "
              f"${waiting[0]:.3f}: {'met' if waiting[0] <= TARGET_ASYNC_PER_1000 else 'MISSED'}", "",
              "providers' own price per page, for comparison (USD): " + ", ".join(
                  f"{name} {price:g}" for name, price in PROVIDER_PRICE_PER_PAGE.items())]
    return lines


if __name__ == "__main__":
    import contextlib
    import io
    import logging
    import warnings

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fakes' request log
    warnings.simplefilter("ignore")
    with contextlib.redirect_stdout(io.StringIO()):  # the handlers' metrics (EMF) lines
        measured = measure()
    print("\n".join(report(measured)))
