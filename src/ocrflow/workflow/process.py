"""One call: an uploaded document from its S3 event to its results in a single Lambda invocation.

Most documents are finished by one call - the embedded engine, or a provider that answers at once (OCR.space,
pdfmage, Yandex's sync API) - and the state machine's hops cost more than the work (docs/PERFORMANCE.md: a
Standard workflow is $0.20 of state transitions per 1,000 documents before anything is done). So the EventBridge
rule invokes this step directly: it claims the job and reserves credits (validate), reads the source once,
walks the route (submit) with the part results kept in memory, and writes the three results and commits the
credits (finalize) - no work files, no state transitions.

A job that must be waited on (an asynchronous provider returned a job handle) is handed to the state machine
with its state, the finished parts stored as work files first; the machine waits, polls and finalizes it.

Failures: a typed error that another try cannot mend (bad input, no credits, no provider) fails the job here
and now - credits released, the code recorded, the webhook asked for. A passing error (throttling, an outage,
a busy ledger) and anything unexpected propagate: Lambda's asynchronous invocation tries the event again
(twice, minutes apart), and after the last try its on-failure destination, the fail step, records the job as
failed with the error's code and releases its credits (`fail_after_retries`). Every try claims the job as the
same owner (the EventBridge event's id), so a retry resumes the job while a duplicate S3 notification (another
event) finds it claimed.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from pydantic import BaseModel

from ocrflow.errors import LedgerBusyError, OcrflowError, ProviderUnavailableError, ThrottledError
from ocrflow.workflow.models import ENDED, JobRequest, JobState, JobSummary
from ocrflow.workflow.steps import (
    Deps,
    Held,
    Loaded,
    Remaining,
    claim_and_reserve,
    fail,
    fail_from_catch,
    finish,
    held_results,
    store_held,
    submit,
    with_record_options,
)

logger = logging.getLogger(__name__)

#: errors another try mends (exactly these types, as the state machine's Retry matches Lambda error names):
#: raised, so Lambda tries the event again. Every other typed error ends the job here.
RETRIED_ERRORS = (ThrottledError, ProviderUnavailableError, LedgerBusyError)


def _retried(exc: OcrflowError) -> bool:
    return type(exc) in RETRIED_ERRORS


class ProcessOutcome(BaseModel):
    """What one call did with an upload."""

    job_id: str
    outcome: Literal["duplicate", "deleted", "succeeded", "failed", "waiting"]
    summary: JobSummary | None = None
    provider: str | None = None


def process_upload(request: JobRequest, owner: str, deps: Deps, remaining: Remaining | None = None) -> ProcessOutcome:
    """Claim, read, OCR and finish the job of one upload - or hand it to the state machine if it must wait, or
    if the embedded engine's work does not fit this call (`remaining`: the seconds it has left) and fans out
    over page ranges."""
    started = claim_and_reserve_or_fail(request, owner, deps)
    if isinstance(started, ProcessOutcome):
        return started
    state, loaded, record = started
    try:
        held: Held = {}
        state = submit(state, deps, loaded, held, remaining)
        if not state.done:
            state = hand_over(store_held(state, deps, held), deps)
            if state.fan_out is not None:
                logger.info("job %s: %d pages fan out over %d ranges in the state machine", state.request.job_id,
                            state.page_count, state.fan_out.ranges)
            else:
                logger.info("job %s waits on %s: handed to the state machine", state.request.job_id,
                            state.request.provider)
            return ProcessOutcome(job_id=state.request.job_id, outcome="waiting", provider=state.request.provider)
        summary = finish(state, deps, held_results(state, held), loaded)
    except OcrflowError as exc:
        if _retried(exc):
            raise  # Lambda tries the event again; after the last try the fail step records it
        summary = fail(state.request.job_id, state.request.tenant, state.request.provider, exc.to_record(), deps)
    return _ended(record, summary, deps)


def hand_over(state: JobState, deps: Deps) -> JobState:
    """Start the state machine on a job this call cannot finish: a provider's job waits in the Express loop
    (billed by duration, not by state transition) where one is deployed, a fan-out (its Distributed Map) and
    anything else in the Standard one."""
    quick = deps.settings.quick_wait_state_machine and state.fan_out is None
    state = state.model_copy(update={"waiting_in": "express" if quick else "standard", "waiting_since": deps.now()})
    deps.hand_over(state)
    return state


def claim_and_reserve_or_fail(request: JobRequest, owner: str, deps: Deps
                              ) -> tuple[JobState, Loaded, dict[str, Any]] | ProcessOutcome:
    """Validate's part; a bad input ends the job at once (typed, nothing charged)."""
    try:
        started = claim_and_reserve(request, owner, deps)
    except OcrflowError as exc:
        if _retried(exc):
            raise
        record = deps.jobs.get(request.job_id) or {}
        request = with_record_options(request, record)
        return _ended(record, fail(request.job_id, request.tenant, request.provider, exc.to_record(), deps), deps)
    if started is None:
        if request.api_job and deps.jobs.was_deleted(request.job_id):
            return remove_late_upload(request, deps)
        return ProcessOutcome(job_id=request.job_id, outcome="duplicate")
    return started


def remove_late_upload(request: JobRequest, deps: Deps) -> ProcessOutcome:
    """A file that arrived for a job deleted meanwhile (its presigned PUT was still valid): every version of it
    is removed, nothing is read, OCRed or charged."""
    deps.store.delete_versions(request.source.bucket, request.source.key)
    logger.info("job %s was deleted: its late upload %s was removed", request.job_id, request.source.key)
    return ProcessOutcome(job_id=request.job_id, outcome="deleted")


def fail_after_retries(request: JobRequest, owner: str, error_type: str | None, error_message: str | None,
                       deps: Deps) -> JobSummary | None:
    """The on-failure destination of the one-call step: its last try (for the event `owner`) raised
    `error_type`. Record the job as failed - the typed code noted on the job where the type was lost, else
    `internal_error` - give its credits back and ask for its webhook. A job this event never claimed (another
    event's, or none) or that has ended already is left alone (None)."""
    record = deps.jobs.get(request.job_id)
    if record is None or record.get("status") in ENDED:
        return None
    if record.get("status") != "awaiting_upload" and record.get("execution") != owner:
        return None
    cause = json.dumps({"errorMessage": error_message or ""})
    summary = fail_from_catch(request, {"Error": error_type, "Cause": cause}, deps, record)
    if not summary.ended_here:
        return None
    _notify(record, summary, deps)
    return summary


def _ended(record: dict[str, Any], summary: JobSummary, deps: Deps) -> ProcessOutcome:
    """A job this call ended (succeeded or failed): its webhook asked for, the call's outcome. A job another
    path had ended first (the sweeper, past its deadline) is reported as recorded; its webhook was asked for
    there."""
    if summary.ended_here:
        _notify(record, summary, deps)
    return ProcessOutcome(job_id=summary.job_id, outcome=summary.status.value, summary=summary,
                          provider=summary.provider)


def _notify(record: dict[str, Any], summary: JobSummary, deps: Deps) -> None:
    """The webhook of an ended job that asked for one (delivered by the notify function, retried there)."""
    if record.get("callback_url"):
        deps.notify(summary.job_id)
