"""One page range of a fanned-out document: the state machine's Map calls this once per range (see
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
from typing import Literal

from pydantic import BaseModel

from ocrflow.engines.languages import parse_languages
from ocrflow.errors import JobDeadlineError, NotEnoughTimeError
from ocrflow.inputs.inspection import inspect_document
from ocrflow.providers.base import ProviderResult
from ocrflow.service import embedded_provider
from ocrflow.workflow.models import JobState, JobStatus, PageRangeItem
from ocrflow.workflow.steps import Deps, Loaded, Remaining, noting_errors, range_key, read_source, store_range

logger = logging.getLogger(__name__)


class RangeOutcome(BaseModel):
    """What one range call did (small: the Map collects one per range)."""

    index: int
    pages: int
    outcome: Literal["ocred", "done_before", "job_ended"]


def ocr_range(state: JobState, item: PageRangeItem, deps: Deps, remaining: Remaining | None = None) -> RangeOutcome:
    """OCR one range and store its partial result - unless it is stored already or the job has ended. Raises
    `NotEnoughTimeError` (retryable) rather than start a range this call could not finish, and the job's
    deadline error once the deadline has passed."""
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
        left = remaining() if remaining else None
        if not deps.settings.range_plan.fits_range(item.page_count, left):
            raise NotEnoughTimeError(f"range {item.index} ({item.page_count} pages) may take longer than a third "
                                     f"of the {left or deps.settings.range_timeout_seconds:.0f} s this call has "
                                     "left; not started")
        engine = embedded_provider(deps.limits)
        languages = parse_languages(state.request.languages)
        if item.piece_key:  # the range's own pages, cut from the upload by the split
            piece = deps.store.get(bucket, item.piece_key)
            pages = engine.recognize(piece, inspect_document(piece, deps.limits), languages)
        else:  # an image upload (a multi-frame TIFF): its frames read from the upload itself
            loaded: Loaded = read_source(state.request, deps)
            pages = engine.recognize(loaded.data, loaded.info, languages,
                                     only=range(item.first_page, item.first_page + item.page_count))
        store_range(deps, state, item.index, ProviderResult(
            pages=pages, engine=f"{engine.engine.name} {engine.engine.version}"))
    if not _running(deps, job_id):  # ended while this range ran: its cleanup may have missed this file
        deps.store.delete_prefix(bucket, key)
        return outcome("job_ended")
    deps.jobs.add_pages_done(job_id, item.page_count)  # one write per range: the job's progress
    return outcome("ocred")


def _running(deps: Deps, job_id: str) -> bool:
    record = deps.jobs.get(job_id)
    return record is not None and record.get("status") == JobStatus.RUNNING
