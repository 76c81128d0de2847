"""The workflow's steps run in-process as the state machine runs them (state carried as JSON, resubmit on a
hand-over, Catch → fail), against moto's S3 and DynamoDB (jobs and tenants tables) and provider fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ocrflow.errors import OcrflowError
from ocrflow.fakes.serve import fake_environment
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.credits import DynamoLedger
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobRequest, JobState, JobSummary
from ocrflow.workflow.quotas import ProviderQuotas, quotas_from_json
from ocrflow.workflow.routing import tenant_route
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import Deps, fail_from_catch, finalize, poll, request_from_s3, submit, validate
from ocrflow.workflow.storage import ObjectStore
from tests.aws_resources import JOBS_TABLE, RESULTS, UPLOADS

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # in the past: results record real times after it


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def deps_for(tables, clock: Clock, route: str = "", quotas: str = "", **settings) -> Deps:
    s3, jobs, tenants = tables
    config = WorkflowSettings(results_bucket=RESULTS, jobs_table=JOBS_TABLE, route=route, quotas=quotas,
                              **settings)
    return Deps(settings=config, store=ObjectStore(s3), jobs=JobRepository(jobs), now=clock,
                credits=DynamoLedger(tenants, now=clock),
                quotas=ProviderQuotas(tenants, quotas_from_json(quotas), clock=lambda: clock().timestamp()),
                tenant_route=lambda tenant: tenant_route(tenants, tenant))


def configure(monkeypatch, *fakes) -> None:
    """Point ocrflow's clients at the fakes, as their secrets would."""
    for fake in fakes:
        for key, value in fake_environment(ProviderName(fake.name), fake.base_url).items():
            monkeypatch.setenv(key, value)


def upload(tables, deps: Deps, name: str, body: bytes, tenant: str | None = None) -> JobRequest:
    """Put `body` under uploads/ and build the job its S3 event starts."""
    put = tables[0].put_object(Bucket=UPLOADS, Key=f"uploads/{name}", Body=body)
    request = request_from_s3(UPLOADS, f"uploads/{name}", put.get("VersionId"), put["ETag"].strip('"'),
                              len(body), deps.settings)
    return request.model_copy(update={"tenant": tenant}) if tenant else request


def run(request: JobRequest, deps: Deps) -> JobSummary:
    """validate → submit → (poll | resubmit)* → finalize, the state carried as JSON between steps."""
    started = validate(request, f"exec-{request.job_id}", deps)
    state = submit(JobState.model_validate(started["state"]), deps)
    while not state.done:
        state = JobState.model_validate_json(state.model_dump_json())
        state = submit(state, deps) if state.resubmit else poll(state, deps)
    return finalize(state, deps)


def run_or_fail(request: JobRequest, deps: Deps) -> JobSummary:
    """`run`, with the state machine's Catch: a typed error from any step goes to the Fail step."""
    try:
        return run(request, deps)
    except OcrflowError as exc:
        catch = {"Error": type(exc).__name__, "Cause": json.dumps({"errorMessage": exc.message,
                                                                   "errorType": type(exc).__name__})}
        return fail_from_catch(request, catch, deps)
