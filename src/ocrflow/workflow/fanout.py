"""One page range of a fanned-out document - OCRed by the embedded engine, or a REST provider's part sent and
waited on: the state machine's Map calls this once per range (see
`workflow.page_ranges` for how ranges are sized and when a document fans out, `steps.plan_ranges` for the
split).

Exactly once per range: the range's partial result in S3 (`work/{job}/part-{index}.json`, a part's work file)
is its record. A retried or duplicated call finds it and OCRs nothing; a call that died before writing it
leaves nothing, so its retry OCRs the range. The merge is finalize: it reads the partial results in page order.
A range of a job that has ended (failed by the sweeper, or by another range failing for good) is not OCRed, and
a partial result written while the job ended is removed again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from ocrflow.engines.languages import parse_languages
from ocrflow.errors import JobDeadlineError, NotEnoughTimeError, ProviderUnavailableError
from ocrflow.inputs.inspection import inspect_document
from ocrflow.providers.base import JobHandle, ProviderResult
from ocrflow.providers.http import with_retries
from ocrflow.providers.names import ProviderName
from ocrflow.service import embedded_provider
from ocrflow.workflow.models import JobState, JobStatus, PageRangeItem
from ocrflow.workflow.page_ranges import SAFETY
from ocrflow.workflow.steps import (
    Deps,
    Loaded,
    Remaining,
    noting_errors,
    range_handle_key,
    range_key,
    read_source,
    remember_balance,
    send_range_part,
    store_range,
)

logger = logging.getLogger(__name__)


class RangeOutcome(BaseModel):
    """What one range call did (small: the Map collects one per range)."""

    index: int
    pages: int
    outcome: Literal["ocred", "done_before", "job_ended"]


#: seconds a range call keeps for one more poll and storing the result before its time-out
POLL_MARGIN_SECONDS = 20.0


def ocr_range(state: JobState, item: PageRangeItem, deps: Deps, remaining: Remaining | None = None) -> RangeOutcome:
    """Read one range - OCR its pages (the embedded engine) or send its part to the REST provider and wait for
    the answer - and store its partial result, unless it is stored already or the job has ended. Raises
    `NotEnoughTimeError` (retryable) rather than start what this call could not finish, and the job's deadline
    error once the deadline has passed."""
    job_id = state.request.job_id
    bucket, key = deps.settings.results_bucket, range_key(deps, state, item.index)

    def outcome(done: Literal["ocred", "done_before", "job_ended"]) -> RangeOutcome:
        return RangeOutcome(index=item.index, pages=item.page_count, outcome=done)

    with noting_errors(job_id, deps):
        if deps.store.exists(bucket, key):
            logger.info("job %s: range %d is done already", job_id, item.index)
            return outcome("done_before")
        if not _running(deps, job_id):
            return outcome("job_ended")
        if deps.now() >= state.deadline_at:
            raise JobDeadlineError(f"the job did not end within its deadline of "
                                   f"{deps.settings.job_deadline_seconds} s", retryable=False)
        if state.fan_out is not None and state.fan_out.provider != ProviderName.TESSERACT.value:
            _send_part(state, item, deps, remaining)
            return _stored(state, item, deps, outcome)
        left = remaining() if remaining else None
        if not deps.settings.range_plan.fits_range(item.page_count, left):
            raise NotEnoughTimeError(f"range {item.index} ({item.page_count} pages) may take longer than a third "
                                     f"of the {left or deps.settings.range_timeout_seconds:.0f} s this call has "
                                     "left; not started")
        engine = embedded_provider(deps.limits)
        languages = parse_languages(state.request.languages)
        if item.piece_key:  # the range's own pages, cut from the upload by the split
            piece = deps.store.get(bucket, item.piece_key)
            pages = engine.recognize(piece, inspect_document(piece, deps.limits), languages,
                                     mode=state.request.ocr_mode)
        else:  # an image upload (a multi-frame TIFF): its frames read from the upload itself
            loaded: Loaded = read_source(state.request, deps)
            pages = engine.recognize(loaded.data, loaded.info, languages,
                                     only=range(item.first_page, item.first_page + item.page_count),
                                     mode=state.request.ocr_mode)
        store_range(deps, state, item.index, ProviderResult(
            pages=pages, engine=f"{engine.engine.name} {engine.engine.version}"))
    return _stored(state, item, deps, outcome)


def _stored(state: JobState, item: PageRangeItem, deps: Deps,
            outcome: Callable[[Literal["ocred", "job_ended"]], RangeOutcome]) -> RangeOutcome:
    job_id = state.request.job_id
    if not _running(deps, job_id):  # ended while this range ran: its cleanup may have missed this file
        deps.store.delete_prefix(deps.settings.results_bucket, range_key(deps, state, item.index))
        return outcome("job_ended")
    deps.jobs.add_pages_done(job_id, item.page_count)  # one write per range: the job's progress
    return outcome("ocred")


def _send_part(state: JobState, item: PageRangeItem, deps: Deps, remaining: Remaining | None) -> None:
    """Send the range's part to the job's REST provider (once: a part it accepted is polled by a retried call,
    never sent again - its job handle is kept beside the partial result) and wait for the answer within this
    call's time; store the answer as the range's partial result."""
    assert state.fan_out is not None
    name = ProviderName(state.fan_out.provider)
    bucket = deps.settings.results_bucket
    handle_key = range_handle_key(deps, state, item.index)
    provider, settings = deps.provider_factory(name)
    try:
        outcome: ProviderResult | JobHandle
        if deps.store.exists(bucket, handle_key):
            outcome = JobHandle.model_validate_json(deps.store.get(bucket, handle_key))
            logger.info("job %s: range %d's part was accepted by %s before: polled, not sent again",
                        state.request.job_id, item.index, name.value)
        else:
            left = remaining() if remaining else None
            expected = item.page_count * provider.limits.seconds_per_page
            if left is not None and expected > left / SAFETY:
                raise NotEnoughTimeError(f"range {item.index} ({item.page_count} pages to {name.value}) may take "
                                         f"longer than a third of the {left:.0f} s this call has left; not sent")
            outcome = send_range_part(state, deps, name, provider, settings, item)  # a result is stored there
        polled = False
        while isinstance(outcome, JobHandle):
            left = remaining() if remaining else None
            if left is not None and left < outcome.wait_seconds + POLL_MARGIN_SECONDS:
                raise NotEnoughTimeError(f"range {item.index}'s part is still being read by {name.value}; the "
                                         "next call polls it")
            if deps.now() >= state.deadline_at:
                raise ProviderUnavailableError(f"{name.value} did not finish within "
                                               f"{deps.settings.job_deadline_seconds} s", retryable=False)
            time.sleep(outcome.wait_seconds)
            outcome = with_retries(lambda handle=outcome: provider.poll(handle), settings)
            remember_balance(deps, name, outcome)
            polled = True
            if isinstance(outcome, JobHandle):
                deps.store.put_json(bucket, handle_key, outcome.model_dump(mode="json"))
        if polled:
            store_range(deps, state, item.index, outcome, item.notes)
    finally:
        provider.close()


def _running(deps: Deps, job_id: str) -> bool:
    record = deps.jobs.get(job_id)
    return record is not None and record.get("status") == JobStatus.RUNNING
