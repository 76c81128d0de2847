"""The workflow run in-process as deployed: the process step (one call) with Lambda's tries and on-failure
destination, and for a job it hands over the state machine's loop (state carried as JSON, resubmit on a
hand-over, Catch → fail) - against moto's S3 and DynamoDB (jobs and tenants tables) and provider fakes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from ocrflow.errors import OcrflowError
from ocrflow.fakes.serve import fake_environment
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.credits import DynamoLedger
from ocrflow.workflow.fanout import ocr_range
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobRequest, JobState, JobSummary, PageRangeItem
from ocrflow.workflow.process import fail_after_retries, process_upload
from ocrflow.workflow.quotas import ProviderQuotas, quotas_from_json
from ocrflow.workflow.routing import tenant_route
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import Deps, Remaining, fail_from_catch, finalize, poll, request_from_s3, submit
from ocrflow.workflow.storage import ObjectStore
from tests.aws_resources import JOBS_TABLE, RESULTS, UPLOADS
from tests.iam import checking

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
    with checking("process"):
        outcome = process_upload(request, owner_of(request), deps)
    if outcome.outcome != "waiting":
        assert outcome.summary is not None, outcome
        return outcome.summary
    return wait_in_state_machine(handed[-1], deps)


def owner_of(request: JobRequest) -> str:
    return f"event-{request.job_id}"  # the EventBridge event's id: the same in every try of one event


#: the errors the state machine's Retry tries a range again on (infra: TRANSIENT), and its attempts
RANGE_RETRIED = ("ThrottledError", "ProviderUnavailableError", "LedgerBusyError", "NotEnoughTimeError")
RANGE_ATTEMPTS = 4


class RangesFailed(Exception):
    """The Distributed Map failed: one of its ranges failed for good (the range's own error is not passed on)."""

    error = "States.ExceedToleratedFailureThreshold"


def wait_in_state_machine(state: JobState, deps: Deps, remaining: Remaining | None = None) -> JobSummary:
    """(poll | resubmit | fan out over ranges)* → finalize, the state carried as JSON between steps. A range
    is tried as the Map's Retry tries it; one that fails for good fails the Map (`RangesFailed`)."""
    state = JobState.model_validate_json(state.model_dump_json())
    while not state.done:
        if state.fan_out is not None:
            run_ranges(state, deps, remaining)
            break
        state = submit(state, deps) if state.resubmit else poll(state, deps)
        state = JobState.model_validate_json(state.model_dump_json())
    with checking("finalize"):
        return finalize(state, deps)


def run_ranges(state: JobState, deps: Deps, remaining: Remaining | None = None, side_by_side: bool = False) -> None:
    """The Distributed Map: the items file read from S3, each range one call (its input as JSON) under the
    Map's Retry - one after another, or `side_by_side`: `fan_out.concurrency` at a time (MaxConcurrencyPath)."""
    assert state.fan_out is not None
    items = json.loads(deps.store.get(deps.settings.results_bucket, state.fan_out.items_key))

    def one(item: dict) -> None:
        for attempt in range(RANGE_ATTEMPTS):
            try:
                with checking("range"):  # as the range function: its calls against its role
                    ocr_range(JobState.model_validate_json(state.model_dump_json()), PageRangeItem(**item), deps,
                              remaining)
                return
            except OcrflowError as exc:
                if type(exc).__name__ not in RANGE_RETRIED or attempt == RANGE_ATTEMPTS - 1:
                    raise RangesFailed("The specified tolerated failure threshold was exceeded") from exc

    if not side_by_side:
        for item in items:
            one(item)
        return
    with ThreadPoolExecutor(max_workers=state.fan_out.concurrency) as pool:
        list(pool.map(one, items))


def run_or_fail(request: JobRequest, deps: Deps, tries: int = 3, remaining: Remaining | None = None) -> JobSummary:
    """As deployed, failures included: an error the process step raises makes Lambda try the event again (three
    tries in all), then its on-failure destination runs; the state machine's Catch sends a typed error of its
    loop to the Fail step."""
    handed: list[JobState] = []
    deps.hand_over = handed.append
    for _ in range(tries):
        try:
            with checking("process"):
                outcome = process_upload(request, owner_of(request), deps, remaining)
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
        return wait_in_state_machine(handed[-1], deps, remaining)
    except (OcrflowError, RangesFailed) as exc:
        error = exc.error if isinstance(exc, RangesFailed) else type(exc).__name__
        catch = {"Error": error, "Cause": json.dumps({"errorMessage": str(exc), "errorType": error})}
        return fail_from_catch(request, catch, deps)
