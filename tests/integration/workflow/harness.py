"""The workflow run in-process as deployed: the process step (one call) with Lambda's tries and on-failure
destination, and for a job it hands over the state machine's loop (state carried as JSON, resubmit on a
hand-over, Catch → fail) - against moto's S3 and DynamoDB (jobs and tenants tables) and provider fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ocrflow.errors import OcrflowError
from ocrflow.fakes.serve import fake_environment
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.credits import DynamoLedger
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobRequest, JobState, JobSummary
from ocrflow.workflow.process import fail_after_retries, process_upload
from ocrflow.workflow.quotas import ProviderQuotas, quotas_from_json
from ocrflow.workflow.routing import tenant_route
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import Deps, fail_from_catch, finalize, poll, request_from_s3, submit
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
    """One try of the process step; a job it hands over goes round the state machine's loop (typed errors of
    the loop propagate: see `run_or_fail`)."""
    handed: list[JobState] = []
    deps.hand_over = handed.append
    outcome = process_upload(request, owner_of(request), deps)
    if outcome.outcome != "waiting":
        assert outcome.summary is not None, outcome
        return outcome.summary
    return wait_in_state_machine(handed[-1], deps)


def owner_of(request: JobRequest) -> str:
    return f"event-{request.job_id}"  # the EventBridge event's id: the same in every try of one event


def wait_in_state_machine(state: JobState, deps: Deps) -> JobSummary:
    """(poll | resubmit)* → finalize, the state carried as JSON between steps."""
    state = JobState.model_validate_json(state.model_dump_json())
    while not state.done:
        state = submit(state, deps) if state.resubmit else poll(state, deps)
        state = JobState.model_validate_json(state.model_dump_json())
    return finalize(state, deps)


def run_or_fail(request: JobRequest, deps: Deps, tries: int = 3) -> JobSummary:
    """As deployed, failures included: an error the process step raises makes Lambda try the event again (three
    tries in all), then its on-failure destination runs; the state machine's Catch sends a typed error of its
    loop to the Fail step."""
    handed: list[JobState] = []
    deps.hand_over = handed.append
    for _ in range(tries):
        try:
            outcome = process_upload(request, owner_of(request), deps)
            break
        except OcrflowError as exc:
            error = exc
    else:
        summary = fail_after_retries(request, owner_of(request), type(error).__name__, error.message, deps)
        assert summary is not None
        return summary
    if outcome.outcome != "waiting":
        assert outcome.summary is not None, outcome
        return outcome.summary
    try:
        return wait_in_state_machine(handed[-1], deps)
    except OcrflowError as exc:
        catch = {"Error": type(exc).__name__, "Cause": json.dumps({"errorMessage": exc.message,
                                                                   "errorType": type(exc).__name__})}
        return fail_from_catch(request, catch, deps)
