"""The workflow's steps. The state machine's steps take the JSON it hands them and return the JSON for the
next state; the Lambda handlers in functions/ are one call each. Typed errors propagate (their class name is the
Lambda error type the state machine's Retry and Catch match); the failure step records them. A step also
notes its typed error on the job record (`last_error`) before raising, so the record stays exact where the
Lambda error type is lost on the way (the local emulator reports every handler error as Runtime.HandlerError).

claim_and_reserve -> submit -> (Wait -> poll | resubmit)* -> finalize;  any error -> fail

`workflow.process` runs the first part in one Lambda call - claim_and_reserve, submit and, for a document that
one call finishes (the embedded engine, a provider that answers at once), `finish` - with the source read once
and the part results kept in memory (`Held`); only a job that must be waited on is handed to the state machine,
which polls, resubmits and finalizes (see docs/ARCHITECTURE.md, "One call").
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ocrflow import errors
from ocrflow.document import Credits, Page, PageWarning, ProviderInfo, Source
from ocrflow.engines.languages import parse_languages
from ocrflow.errors import OcrflowError, ProviderUnavailableError, QuotaExhaustedError
from ocrflow.formats.kinds import OutputKind
from ocrflow.inputs.inspection import InputInfo, MediaType, inspect_document
from ocrflow.inputs.limits import InputLimits
from ocrflow.outputs import output_bytes
from ocrflow.providers.base import (
    DocumentPart,
    JobHandle,
    OcrRequest,
    Provider,
    ProviderResult,
    RawResponse,
)
from ocrflow.providers.http import with_retries
from ocrflow.providers.names import OcrMode, ProviderName
from ocrflow.providers.registry import build_provider
from ocrflow.providers.runner import merge_results, part_concurrency
from ocrflow.providers.settings import ProviderSettings
from ocrflow.providers.splitting import plan_parts, slice_pages
from ocrflow.service import assemble, embedded_provider
from ocrflow.workflow.credits import CreditLedger, FreeLedger
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.merge import merge_stored_parts
from ocrflow.workflow.models import (
    FanOut,
    JobRequest,
    JobState,
    JobStatus,
    JobSummary,
    PageRangeItem,
    PartState,
    S3Object,
    job_id_for,
    parse_api_upload_key,
)
from ocrflow.workflow.progress import PageProgress
from ocrflow.workflow.quotas import NoQuotas, QuotaBook
from ocrflow.workflow.routing import (
    AUTO,
    RouteAttempt,
    RouteEntry,
    candidates,
    moves_on,
    no_provider_error,
    parse_route,
)
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.storage import CONTENT_TYPES, ObjectStore, SourceGoneError, result_keys


@dataclass
class Deps:
    settings: WorkflowSettings
    store: ObjectStore
    jobs: JobRepository
    credits: CreditLedger = field(default_factory=FreeLedger)
    limits: InputLimits = field(default_factory=InputLimits)
    provider_factory: Callable[[ProviderName], tuple[Provider, ProviderSettings]] = build_provider
    quotas: QuotaBook = field(default_factory=NoQuotas)
    #: the tenant's own provider list (`ocrflow tenants route`), None for the deployment's route
    tenant_route: Callable[[str], list[ProviderName] | None] = lambda tenant: None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: hands a job that must be waited on to the state machine (`workflow.process`)
    hand_over: Callable[[JobState], None] = field(default=lambda state: _no_state_machine())
    #: asks for the webhook of an ended job to be delivered (the notify function, asynchronously)
    notify: Callable[[str], None] = lambda job_id: None


#: seconds left in this Lambda call (the context's get_remaining_time_in_millis / 1000); None: not in a Lambda
Remaining = Callable[[], float | None]


def _no_state_machine() -> None:
    raise errors.ConfigError("the job must wait on its provider, but no state machine is configured "
                             "(OCRFLOW_WAIT_STATE_MACHINE)")


@dataclass
class Loaded:
    """The source document, read and inspected once per Lambda call."""

    data: bytes
    info: InputInfo


#: finished part results kept in memory by the one-call path instead of S3 work files: index -> (result, notes)
Held = dict[int, tuple[ProviderResult, dict[int, list[PageWarning]]]]


def request_from_s3(bucket: str, key: str, version_id: str | None, etag: str | None, size: int | None,
                    settings: WorkflowSettings, sequencer: str | None = None) -> JobRequest:
    """The job an uploaded object starts: the API's job named by its key, else a job of the `default` tenant
    with the deployment's provider and language, identified by the object version."""
    source = S3Object(bucket=bucket, key=key, version_id=version_id, etag=etag, size=size, sequencer=sequencer)
    api_job = parse_api_upload_key(settings.uploads_prefix, key)
    if api_job is not None:
        tenant, job_id = api_job
        return JobRequest(job_id=job_id, source=source, tenant=tenant, provider=settings.provider,
                          languages=settings.lang, ocr_mode=settings.ocr_mode, api_job=True)
    return JobRequest(job_id=job_id_for(source), source=source, tenant="default", provider=settings.provider,
                      languages=settings.lang, ocr_mode=settings.ocr_mode, outputs=settings.outputs.split(","))


def with_record_options(request: JobRequest, record: dict[str, Any]) -> JobRequest:
    """The request as its job record has it: an API job's provider, language, OCR mode and outputs are the
    caller's."""
    return request.model_copy(update={
        "tenant": record.get("tenant", request.tenant), "provider": record.get("provider", request.provider),
        "languages": record.get("languages", request.languages), "outputs": record.get("outputs", request.outputs),
        "ocr_mode": OcrMode(record.get("ocr_mode", request.ocr_mode))})


@contextmanager
def noting_errors(job_id: str, deps: Deps) -> Iterator[None]:
    """Note a typed error on the job record (as `last_error`), then let it propagate to Retry / Catch."""
    try:
        yield
    except OcrflowError as exc:
        try:
            deps.jobs.update(job_id, last_error=exc.to_record())
        except Exception:  # noqa: BLE001 - the typed error matters more than its note; the Catch still gets it
            logging.getLogger(__name__).warning("could not note %s on job %s", exc.code, job_id, exc_info=True)
        raise


def _notes_errors(step: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(step)
    def wrapper(state: JobState, deps: Deps, *args: Any) -> Any:
        with noting_errors(state.request.job_id, deps):
            return step(state, deps, *args)
    return wrapper


# --- validate ---------------------------------------------------------------------------------------------


def claim_and_reserve(request: JobRequest, owner: str, deps: Deps) -> tuple[JobState, Loaded, dict[str, Any]] | None:
    """Claim the job for `owner`, read and inspect the document, reserve credits: the job's state, the source
    and the job record - or None when another owner has the job (a duplicate notification) or no API job waits
    for this upload."""
    deadline = deps.now() + timedelta(seconds=deps.settings.job_deadline_seconds)
    record = deps.jobs.claim(request, owner, int(deadline.timestamp()))
    if record is None:
        return None
    request = with_record_options(request, record)
    with noting_errors(request.job_id, deps):
        parse_languages(request.languages)
        route = route_for(request, deps)
        loaded = read_source(request, deps)
        info = loaded.info
        deps.credits.reserve(request.tenant, request.job_id, info.page_count)
    started = deps.now()
    state = JobState(request=request, media_type=info.media_type.value, page_count=info.page_count,
                     sha256=info.sha256, size=info.size, started_at=started, reserved_pages=info.page_count,
                     deadline_at=datetime.fromtimestamp(int(record["deadline_epoch"]), UTC), route=route)
    # pages_done from 0: a retried call (the same owner resuming the job) counts its pages afresh
    deps.jobs.update(request.job_id, pages=info.page_count, media_type=info.media_type.value, pages_done=0)
    return state, loaded, record


def read_source(request: JobRequest, deps: Deps) -> Loaded:
    """The uploaded document, read (within the size limit) and inspected (typed input errors)."""
    data = deps.store.read_source(request.source, deps.limits.max_bytes)
    return Loaded(data=data, info=inspect_document(data, deps.limits))


# --- submit and poll --------------------------------------------------------------------------------------


def route_for(request: JobRequest, deps: Deps) -> list[RouteEntry]:
    """The providers this job may go to, in order (see `workflow.routing`)."""
    settings = deps.settings
    tenant_route = deps.tenant_route(request.tenant) if request.provider == AUTO else None
    return candidates(request.provider, tenant_route, parse_route(settings.route), settings.embedded_fallback,
                      settings.embedded_cost_per_page)


@_notes_errors
def submit(state: JobState, deps: Deps, loaded: Loaded | None = None, held: Held | None = None,
           remaining: Remaining | None = None) -> JobState:
    """Send the document to the first provider on the job's route that takes it (in parts that fit the
    provider; the embedded engine finishes here at once - or, for a document that does not fit this call
    (`remaining`: the time it has left), plans its page ranges for the state machine's fan-out). Each provider
    passed over is recorded on the job. `loaded` saves reading the source again; with `held`, finished parts
    stay in memory instead of S3."""
    request = state.request
    loaded = loaded or read_source(request, deps)
    data, info = loaded.data, loaded.info
    languages = parse_languages(request.languages)
    route = list(state.route) if state.route or state.attempts else route_for(request, deps)
    attempts = list(state.attempts)
    last: OcrflowError | None = None
    while route:
        entry = route.pop(0)
        trial = _Trial()
        progress = PageProgress(deps.jobs, request.job_id, info.page_count, deps.settings.progress_seconds, deps.now,
                                provider=entry.provider.value)
        try:
            parts = _send(entry, state, deps, data, info, languages, trial, held, progress, remaining)
        except OcrflowError as exc:
            if not moves_on(exc):
                raise
            last = exc
            attempts.append(RouteAttempt.of_error(entry, exc, trial.sent, deps.now()))
            _remember_refusal(deps, entry, exc, trial.sent)
            # the next provider starts from page 0 (set in the write that records the routing anyway)
            deps.jobs.update(request.job_id, routing=_records(attempts), pages_done=0)
            logging.getLogger(__name__).warning("job %s: %s passed over (%s)", request.job_id, entry.provider, exc.code)
            continue
        attempts.append(RouteAttempt(provider=entry.provider.value, outcome="used", at=deps.now()))
        deps.jobs.update(request.job_id, provider=entry.provider.value, routing=_records(attempts))
        chosen = request.model_copy(update={"provider": entry.provider.value})
        sent = _progress(state.model_copy(update={
            "request": chosen, "parts": parts, "route": route, "attempts": attempts,
            "cost_per_page": entry.cost_per_page, "resubmit": False, "fan_out": trial.fan_out}), deps)
        if not sent.done:
            progress.flush()  # parts the provider answered at once, counted before the job waits
        return sent
    if last is None:
        raise ProviderUnavailableError("the job has no provider left to try", retryable=False)
    raise no_provider_error(attempts, last)


@dataclass
class _Trial:
    sent: bool = False  # whether the provider was called (failed) or passed over before (skipped)
    fan_out: FanOut | None = None  # the embedded engine's page ranges, for a document too long for one call


def _send(entry: RouteEntry, state: JobState, deps: Deps, data: bytes, info: InputInfo, languages: list[str],
          trial: _Trial, held: Held | None, progress: PageProgress,
          remaining: Remaining | None = None) -> list[PartState]:
    """Send the document to one provider, or raise why it cannot take it. Nothing is sent unless the provider
    is not marked exhausted, reads the languages, fits the document, and has quota in every window. Pages done
    are counted on `progress`: the embedded engine's page by page, a provider's part by part as it answers."""
    name = entry.provider
    refusal = deps.quotas.status(name.value).refusal(deps.now().timestamp(), info.page_count, entry.cost_per_page)
    if refusal:
        raise QuotaExhaustedError(refusal, provider=name.value)
    if name is ProviderName.TESSERACT:
        plan = deps.settings.range_plan
        if not plan.fits_one_call(info.page_count, remaining() if remaining else None):
            check_finishable(info.page_count, deps.settings)
            deps.quotas.take(name.value, requests=1, pages=info.page_count)
            trial.sent = True
            trial.fan_out = plan_ranges(state, deps, data, info)
            return []
        deps.quotas.take(name.value, requests=1, pages=info.page_count)
        trial.sent = True
        engine = embedded_provider(deps.limits)
        pages = engine.recognize(data, info, languages, on_page=progress.reached, mode=state.request.ocr_mode)
        result = ProviderResult(pages=pages, engine=f"{engine.engine.name} {engine.engine.version}")
        return [_part_state(deps, state, 0, 0, info.page_count, result, {}, held)]
    provider, settings = deps.provider_factory(name)
    try:
        provider.check_languages(languages)
        filename = state.request.source.key.rsplit("/", 1)[-1]
        planned, notes = plan_parts(data, info, provider.limits, filename)
        concurrency = part_concurrency(provider, settings)
        plan, per_page = deps.settings.range_plan, provider.limits.seconds_per_page
        if not plan.rest_fits_one_call([p.page_count for p in planned], concurrency, per_page,
                                       remaining() if remaining else None):
            part_pages = plan.rest_part_pages(per_page, provider.limits.max_pages)
            planned, notes = plan_parts(data, info, provider.limits.model_copy(update={"max_pages": part_pages}),
                                        filename)
            check_finishable_rest(name, len(planned), part_pages, concurrency, per_page, info.page_count,
                                  deps.settings)
            deps.quotas.take(name.value, requests=len(planned), pages=info.page_count)
            trial.sent = True
            trial.fan_out, items = plan_part_ranges(state, deps, name, planned, notes, concurrency)
            # the first part is sent from here: a provider that refuses the document (no balance, a limit, its
            # credentials) does so now, and the route moves on before any range is started
            first = items[0]
            try:
                outcome = send_range_part(state, deps, name, provider, settings, first, planned[0].data)
            except OcrflowError:
                deps.store.delete_prefix(deps.settings.results_bucket, _work_prefix(deps, state))
                raise
            if isinstance(outcome, ProviderResult):
                progress.add(first.page_count)
            return []
        deps.quotas.take(name.value, requests=len(planned), pages=info.page_count)
        trial.sent = True
        ask = OcrRequest(languages=languages)
        parts = []
        # the parts go out side by side, as many at once as the provider allows (its declared limit, or its
        # OCRFLOW_<NAME>_CONCURRENCY): a 1 request/s provider like Yandex gets one at a time
        with ThreadPoolExecutor(max_workers=min(len(planned), concurrency), thread_name_prefix=f"{name.value}-part") \
                as pool:
            outcomes = pool.map(lambda part: with_retries(lambda: provider.submit(part, ask), settings), planned)
            for index, (part, outcome) in enumerate(zip(planned, outcomes, strict=True)):
                remember_balance(deps, name, outcome)
                parts.append(_part_state(deps, state, index, part.first_page, part.page_count, outcome, notes,
                                         held))
                if isinstance(outcome, ProviderResult):
                    progress.add(part.page_count)
        return parts
    finally:
        provider.close()


def check_finishable(pages: int, settings: WorkflowSettings) -> None:
    """Refuse a document the deployment cannot OCR within the job deadline (typed, before any work)."""
    plan = settings.range_plan
    if plan.range_pages < 1 or plan.fan_out_seconds(pages) > settings.job_deadline_seconds:
        raise errors.TooManyPagesError(
            f"{pages} pages may take longer than this deployment's job deadline of "
            f"{settings.job_deadline_seconds} s ({plan.problem(pages, settings.job_deadline_seconds)})", limit=pages)


def check_finishable_rest(name: ProviderName, parts: int, part_pages: int, concurrency: int, per_page: float,
                          pages: int, settings: WorkflowSettings) -> None:
    """Pass over a REST provider that could not read the document's parts within the job deadline at the
    concurrency it allows (typed: the route moves on to the next provider)."""
    needed = settings.range_plan.rest_fan_out_seconds(parts, part_pages, concurrency, per_page, pages)
    if needed > settings.job_deadline_seconds:
        raise errors.TooManyPagesError(
            f"{name.value} may take {needed:.0f} s for {pages} pages ({parts} parts, {concurrency} at a time), "
            f"longer than this deployment's job deadline of {settings.job_deadline_seconds} s", limit=pages)


def plan_part_ranges(state: JobState, deps: Deps, name: ProviderName, planned: list[DocumentPart],
                     notes: dict[int, list[PageWarning]], concurrency: int) -> tuple[FanOut, list[PageRangeItem]]:
    """A REST provider's parts as the ranges of a fan-out: each part's body as it will be sent, and the list of
    them as the items file the Map reads, run `concurrency` at a time (the provider's limit)."""
    bucket, prefix = deps.settings.results_bucket, _work_prefix(deps, state)
    items = []
    for index, part in enumerate(planned):
        key = f"{prefix}range-{index:04d}.{part.filename.rsplit('.', 1)[-1] if '.' in part.filename else 'bin'}"
        deps.store.put(bucket, key, part.data, part.media_type)
        part_notes = {i - part.first_page: w for i, w in notes.items()
                      if part.first_page <= i < part.first_page + part.page_count}
        items.append(PageRangeItem(index=index, first_page=part.first_page, page_count=part.page_count,
                                   piece_key=key, media_type=part.media_type, filename=part.filename,
                                   page_sizes=list(part.page_sizes), notes=part_notes))
    logging.getLogger(__name__).info("job %s: %d pages fan out over %d parts to %s, %d at a time",
                                     state.request.job_id, state.page_count, len(planned), name.value, concurrency)
    return FanOut(range_pages=max(p.page_count for p in planned), ranges=len(planned),
                  items_key=_store_items(deps, state, items), provider=name.value, concurrency=concurrency), items


def _work_prefix(deps: Deps, state: JobState) -> str:
    return f"{deps.settings.work_prefix}{state.request.job_id}/"


def _store_items(deps: Deps, state: JobState, items: list[PageRangeItem]) -> str:
    """The fan-out's ranges as the items file the state machine's Map reads (a JSON list); its key."""
    key = f"{_work_prefix(deps, state)}ranges.json"
    deps.store.put_json(deps.settings.results_bucket, key, [item.model_dump(mode="json") for item in items])
    return key


def range_handle_key(deps: Deps, state: JobState, index: int) -> str:
    """Where a REST range's job handle is kept once the provider accepted its part: a retried call polls it."""
    return _work_key(deps, state, index, "handle.json")


def send_range_part(state: JobState, deps: Deps, name: ProviderName, provider: Provider, settings: ProviderSettings,
                    item: PageRangeItem, body: bytes | None = None) -> ProviderResult | JobHandle:
    """Send one range's part to its REST provider (retried in-call for passing errors) and record the answer:
    its result as the range's partial result, or the job handle of a part the provider accepted."""
    bucket = deps.settings.results_bucket
    part = DocumentPart(body if body is not None else deps.store.get(bucket, item.piece_key or ""),
                        item.media_type or "", item.filename or "", 0, item.page_count, list(item.page_sizes))
    ask = OcrRequest(languages=parse_languages(state.request.languages))
    outcome = with_retries(lambda: provider.submit(part, ask), settings)
    remember_balance(deps, name, outcome)
    if isinstance(outcome, JobHandle):
        deps.store.put_json(bucket, range_handle_key(deps, state, item.index), outcome.model_dump(mode="json"))
    else:
        store_range(deps, state, item.index, outcome, item.notes)
    return outcome


def plan_ranges(state: JobState, deps: Deps, data: bytes, info: InputInfo) -> FanOut:
    """Cut the document into its page ranges: for a PDF each range's pages as a PDF of their own (pikepdf,
    page objects copied, images untouched: a range reads only its pages, not the whole upload), and the list
    of ranges as the items file the state machine's Map reads."""
    plan = deps.settings.range_plan
    ranges = plan.ranges(info.page_count)
    bucket, prefix = deps.settings.results_bucket, _work_prefix(deps, state)
    pieces: dict[int, str] = {}
    if info.media_type is MediaType.PDF:
        for r, body in zip(ranges, slice_pages(data, [(r.first_page, r.page_count) for r in ranges]), strict=True):
            pieces[r.index] = f"{prefix}range-{r.index:04d}.pdf"
            deps.store.put(bucket, pieces[r.index], body, "application/pdf")
    items = [PageRangeItem(index=r.index, first_page=r.first_page, page_count=r.page_count,
                           piece_key=pieces.get(r.index)) for r in ranges]
    logging.getLogger(__name__).info("job %s: %d pages fan out over %d ranges of %d", state.request.job_id,
                                     info.page_count, len(ranges), plan.range_pages)
    return FanOut(range_pages=plan.range_pages, ranges=len(ranges), items_key=_store_items(deps, state, items),
                  concurrency=deps.settings.range_concurrency)


def range_key(deps: Deps, state: JobState, index: int) -> str:
    """Where a range's partial result is stored: its record that the range is done."""
    return _work_key(deps, state, index, "json")


def range_parts(state: JobState, deps: Deps) -> list[PartState]:
    """A fanned-out document's ranges (from its items file) as parts whose results are their partial results."""
    assert state.fan_out is not None
    items = json.loads(deps.store.get(deps.settings.results_bucket, state.fan_out.items_key))
    return [PartState(index=item.index, first_page=item.first_page, page_count=item.page_count,
                      result_key=range_key(deps, state, item.index))
            for item in (PageRangeItem.model_validate(i) for i in items)]


def store_range(deps: Deps, state: JobState, index: int, result: ProviderResult,
                notes: dict[int, list[PageWarning]] | None = None) -> str:
    """A range's partial result (its pages and notes numbered within the range), stored as a part's work file."""
    return _store_part(deps, state, index, result, notes or {})


def remember_balance(deps: Deps, name: ProviderName, outcome: ProviderResult | JobHandle) -> None:
    """Keep the balance a provider reported with its answer (pdfocr.org's pages, pdfmage's money)."""
    credits = outcome.credits if isinstance(outcome, ProviderResult) else None
    if credits is not None and credits.remaining is not None:
        deps.quotas.record_balance(name.value, credits.remaining, credits.unit)


def _remember_refusal(deps: Deps, entry: RouteEntry, exc: OcrflowError, sent: bool) -> None:
    """A provider that refused for want of quota or balance (402, INSUFFICIENT_QUOTA) is skipped by the next
    jobs until the window it names ends, or for the recheck interval (sooner if it reports a balance)."""
    if sent and isinstance(exc, QuotaExhaustedError):
        seconds = exc.details.get("window_seconds") or exc.details.get("retry_after") or \
            deps.settings.exhausted_recheck_seconds
        deps.quotas.mark_exhausted(entry.provider.value, float(seconds), exc.message)


def _records(attempts: list[RouteAttempt]) -> list[dict[str, Any]]:
    return [attempt.model_dump(mode="json", exclude_none=True) for attempt in attempts]


@_notes_errors
def poll(state: JobState, deps: Deps) -> JobState:
    """Ask once about every part still in flight. A provider that fails a job for good (not a passing
    outage: those are retried) hands the job to the next provider on its route (`resubmit`)."""
    if deps.now() >= state.deadline_at:
        raise ProviderUnavailableError(
            f"{state.request.provider} did not finish within {deps.settings.job_deadline_seconds} s", retryable=False)
    name = ProviderName(state.request.provider)
    provider, settings = deps.provider_factory(name)
    try:
        parts = []
        finished = 0  # pages of the parts that finished at this poll
        for part in state.parts:
            if part.result_key is None and part.handle is not None:
                handle = part.handle
                outcome = with_retries(lambda handle=handle: provider.poll(handle), settings)
                remember_balance(deps, name, outcome)
                part = _part_state(deps, state, part.index, part.first_page, part.page_count, outcome, {})
                finished += part.page_count if part.result_key is not None else 0
            parts.append(part)
    except OcrflowError as exc:
        if exc.retryable or not moves_on(exc) or not state.route:
            raise
        return _hand_on(state, deps, exc)
    finally:
        provider.close()
    polled = _progress(state.model_copy(update={"parts": parts, "polls": state.polls + 1}), deps)
    if finished and not polled.done:  # a poll is a Lambda call and a state transition: one more write is small
        deps.jobs.add_pages_done(state.request.job_id, finished)  # the last parts: finalize's end writes them
    return _moved_on_if_late(polled, deps)


def _moved_on_if_late(state: JobState, deps: Deps) -> JobState:
    """A job waiting in the Express loop moves to the Standard state machine when its next wait would run past
    the loop's time (an Express execution ends at five minutes)."""
    if state.done or state.waiting_in != "express" or state.waiting_since is None:
        return state
    waited = (deps.now() - state.waiting_since).total_seconds()
    if waited + state.wait_seconds <= deps.settings.express_wait_seconds:
        return state
    logging.getLogger(__name__).info("job %s has waited %.0f s in the Express loop: it moves to the Standard "
                                     "state machine", state.request.job_id, waited)
    return state.model_copy(update={"to_standard": True, "waiting_in": "standard"})


def _hand_on(state: JobState, deps: Deps, exc: OcrflowError) -> JobState:
    """The provider failed the job after taking it: record why, drop its parts, submit to the next one."""
    entry = RouteEntry(provider=ProviderName(state.request.provider), cost_per_page=state.cost_per_page)
    attempts = [a for a in state.attempts if not (a.provider == entry.provider.value and a.outcome == "used")]
    attempts.append(RouteAttempt.of_error(entry, exc, True, deps.now()))
    _remember_refusal(deps, entry, exc, True)
    deps.store.delete_prefix(deps.settings.results_bucket, f"{deps.settings.work_prefix}{state.request.job_id}/")
    deps.jobs.update(state.request.job_id, routing=_records(attempts), pages_done=0)  # the next one starts at 0
    return state.model_copy(update={"parts": [], "attempts": attempts, "done": False, "resubmit": True,
                                    "wait_seconds": 0, "attempt": state.attempt + 1})


def _part_state(deps: Deps, state: JobState, index: int, first_page: int, page_count: int,
                outcome: ProviderResult | JobHandle, notes: dict[int, list[PageWarning]],
                held: Held | None = None) -> PartState:
    """A sent part: its job handle, or its result - kept in `held` (memory) or stored as a work file."""
    if isinstance(outcome, JobHandle):
        return PartState(index=index, first_page=first_page, page_count=page_count, handle=outcome)
    part_notes = {i - first_page: w for i, w in notes.items() if first_page <= i < first_page + page_count}
    if held is not None:
        held[index] = (outcome, part_notes)
        return PartState(index=index, first_page=first_page, page_count=page_count)
    return PartState(index=index, first_page=first_page, page_count=page_count,
                     result_key=_store_part(deps, state, index, outcome, part_notes))


def store_held(state: JobState, deps: Deps, held: Held) -> JobState:
    """Write the parts kept in memory as work files, so the state machine can carry the job on."""
    parts = [part.model_copy(update={"result_key": _store_part(deps, state, part.index, *held[part.index])})
             if part.index in held else part for part in state.parts]
    return state.model_copy(update={"parts": parts})


def _progress(state: JobState, deps: Deps) -> JobState:
    if state.fan_out is not None:  # the state machine's Map OCRs the ranges
        return state.model_copy(update={"done": False, "wait_seconds": 0})
    pending = [p.handle for p in state.parts if p.result_key is None and p.handle is not None]
    if not pending:
        return state.model_copy(update={"done": True, "wait_seconds": 0})
    wait = min(h.wait_seconds for h in pending)
    wait = int(min(max(1, round(wait)), deps.settings.max_wait_seconds))
    return state.model_copy(update={"done": False, "wait_seconds": wait})


def _work_key(deps: Deps, state: JobState, index: int, suffix: str) -> str:
    return f"{deps.settings.work_prefix}{state.request.job_id}/part-{index:04d}.{suffix}"


def _store_part(deps: Deps, state: JobState, index: int, result: ProviderResult,
                notes: dict[int, list[PageWarning]]) -> str:
    bucket = deps.settings.results_bucket
    if result.searchable_pdf is not None:
        deps.store.put(bucket, _work_key(deps, state, index, "pdf"), result.searchable_pdf, "application/pdf")
    body = {
        "pages": [p.model_dump(mode="json") for p in result.pages],
        "raw": [r.model_dump(mode="json") for r in result.raw],
        "credits": result.credits.model_dump(mode="json") if result.credits else None,
        "engine": result.engine, "has_pdf": result.searchable_pdf is not None,
        "notes": {str(k): [w.model_dump(mode="json") for w in v] for k, v in notes.items()},
    }
    key = _work_key(deps, state, index, "json")
    deps.store.put_json(bucket, key, body)
    return key


def _load_part(deps: Deps, part: PartState) -> tuple[ProviderResult, dict[int, list[PageWarning]]]:
    """A part's result as its work file has it (page numbers of the notes made absolute)."""
    bucket = deps.settings.results_bucket
    body = json.loads(deps.store.get(bucket, part.result_key or ""))
    pdf = deps.store.get(bucket, (part.result_key or "").removesuffix(".json") + ".pdf") if body["has_pdf"] else None
    result = ProviderResult(pages=[Page.model_validate(p) for p in body["pages"]], searchable_pdf=pdf,
                            raw=[RawResponse.model_validate(r) for r in body["raw"]],
                            credits=Credits.model_validate(body["credits"]) if body["credits"] else None,
                            engine=body["engine"])
    notes = {part.first_page + int(k): [PageWarning.model_validate(w) for w in v] for k, v in body["notes"].items()}
    return result, notes


# --- finalize and fail ------------------------------------------------------------------------------------


@_notes_errors
def finalize(state: JobState, deps: Deps) -> JobSummary:
    """Merge the parts, write document.json, text.txt and searchable.pdf, record the job, commit credits. A
    fanned-out document's parts are its ranges' partial results."""
    if state.fan_out is not None:
        record = deps.jobs.get(state.request.job_id) or {}
        if record.get("status") != JobStatus.RUNNING:  # swept past its deadline while its ranges ran: its work
            return _ended_elsewhere(state.request.job_id, JobSummary(  # files are gone, nothing to merge
                job_id=state.request.job_id, status=JobStatus.SUCCEEDED, tenant=state.request.tenant,
                provider=state.request.provider), deps)
        state = state.model_copy(update={"parts": range_parts(state, deps)})
        source = read_source(state.request, deps)
        results, credits = merge_stored_parts(state, deps, state.parts, source.data, source.info, source_of(state))
        return record_success(state, deps, results, credits)
    return finish(state, deps, [_load_part(deps, part) for part in state.parts], read_source(state.request, deps))


def held_results(state: JobState, held: Held) -> list[tuple[ProviderResult, dict[int, list[PageWarning]]]]:
    """The parts kept in memory, in the shape `finish` takes (page numbers of the notes made absolute)."""
    return [(held[part.index][0], {part.first_page + k: v for k, v in held[part.index][1].items()})
            for part in state.parts]


def finish(state: JobState, deps: Deps, loaded: list[tuple[ProviderResult, dict[int, list[PageWarning]]]],
           source_doc: Loaded) -> JobSummary:
    """Finalize's work on the part results at hand: merge, write the results, record the job, commit credits.
    Work files are removed only where parts were stored (the one-call path writes none)."""
    request = state.request
    notes: dict[int, list[PageWarning]] = {}
    for _, part_notes in loaded:
        notes.update(part_notes)
    shells = [DocumentPart(b"", state.media_type, "", p.first_page, p.page_count) for p in state.parts]
    data, info = source_doc.data, source_doc.info
    merged = merge_results(shells, [result for result, _ in loaded], notes, info)
    provider_info = ProviderInfo(name=request.provider, engine=merged.engine,
                                 languages=parse_languages(request.languages))
    outcome = assemble(data, info, provider_info, merged.pages, credits=merged.credits,
                       provider_pdf=merged.searchable_pdf, started_at=state.started_at, source=source_of(state))
    bucket = deps.settings.results_bucket
    keys = result_keys(deps.settings.results_prefix, request.tenant, request.job_id)
    wanted = set(request.outputs)
    results = {}
    for kind in OutputKind:
        if kind in wanted:  # the JSON compact in S3 (the CLI's file is indented)
            data = (outcome.document.model_dump_json().encode() if kind is OutputKind.JSON
                    else output_bytes(outcome, kind))
            results[kind.value] = deps.store.put(bucket, keys[kind], data, CONTENT_TYPES[kind])
    if merged.raw:
        results["raw"] = deps.store.put_json(bucket, keys["raw"], [r.model_dump(mode="json") for r in merged.raw])
    return record_success(state, deps, results, merged.credits)


def source_of(state: JobState) -> Source:
    """The document's source, as its results name it."""
    request = state.request
    return Source(media_type=state.media_type, bytes=state.size, sha256=state.sha256, page_count=state.page_count,
                  filename=request.source.key.rsplit("/", 1)[-1], bucket=request.source.bucket,
                  key=request.source.key, version_id=request.source.version_id)


def record_success(state: JobState, deps: Deps, results: dict[str, str], credits: Credits | None) -> JobSummary:
    """The results are written: drop the work files, end the job as succeeded (once), commit its credits - or,
    when another path ended it first, remove these results and return what was recorded."""
    request, bucket = state.request, deps.settings.results_bucket
    if any(part.result_key for part in state.parts):
        deps.store.delete_prefix(bucket, f"{deps.settings.work_prefix}{request.job_id}/")
    pages_used = state.page_count
    seconds = round((deps.now() - state.started_at).total_seconds(), 3)
    summary = JobSummary(job_id=request.job_id, status=JobStatus.SUCCEEDED, tenant=request.tenant,
                         provider=request.provider, pages=pages_used, seconds=seconds, results=results,
                         credits_used=credits.used if credits else None)
    settlement = {"action": "commit", "pages": pages_used, "provider": request.provider,
                  "cost": round(pages_used * state.cost_per_page, 6)}
    if not deps.jobs.end(summary, settlement):  # ended first: by the sweeper (past its deadline) or a retry
        recorded = _ended_elsewhere(request.job_id, summary, deps)
        if recorded.status is not JobStatus.SUCCEEDED:  # no results of a failed job are left behind
            deps.store.delete_prefix(bucket, f"{deps.settings.results_prefix}{request.tenant}/{request.job_id}/")
        return recorded
    settle({"job_id": request.job_id, "tenant": request.tenant, "settlement": settlement}, deps)
    return summary


#: a Distributed Map's error when one of its items failed for good: the range's call noted its typed error
RANGES_FAILED = ("States.ExceedToleratedFailureThreshold",)

_ERROR_TYPES: dict[str, type[OcrflowError]] = {}


def _error_types() -> dict[str, type[OcrflowError]]:
    if not _ERROR_TYPES:
        stack: list[type[OcrflowError]] = [OcrflowError]
        while stack:
            cls = stack.pop()
            _ERROR_TYPES[cls.__name__] = cls
            stack.extend(cls.__subclasses__())
        _ERROR_TYPES.setdefault(SourceGoneError.__name__, SourceGoneError)
    return _ERROR_TYPES


def error_record(error: str | None, cause: str | None, noted: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Step Functions Catch payload (Error = Lambda error type, Cause = its JSON) as a job error record.
    Types that are not ours become `internal_error` without their message (no stack traces, no secrets) -
    unless the failing step noted a typed error with this very message on the job record (`noted`): the Lambda
    error type was lost on the way, the error was still ours."""
    message = ""
    try:
        message = json.loads(cause or "{}").get("errorMessage", "") or ""
    except (ValueError, AttributeError):
        message = ""
    cls = _error_types().get(error or "")
    if cls is not None:
        code, retryable = cls.code, cls.retryable
    elif noted and noted.get("code") and ((message and noted.get("message") == message) or error in RANGES_FAILED):
        code, retryable = noted["code"], bool(noted.get("retryable"))
    elif error in ("States.Timeout", "States.HeartbeatTimeout", "Sandbox.Timedout") or \
            (not error and "Task timed out" in message):  # a Lambda that ran out of time (its destination record)
        return {"code": "timeout", "message": "the job took longer than its time limit", "retryable": True}
    else:
        return {"code": errors.OcrflowError.code, "message": "internal error; the job was stopped",
                "retryable": False, "type": error or "unknown"}
    return {"code": code, "message": message.splitlines()[0][:500] if message else code, "retryable": retryable}


def fail_from_catch(request: JobRequest, catch: dict[str, Any], deps: Deps,
                    record: dict[str, Any] | None = None) -> JobSummary:
    """The Catch path from the state machine's error payload ({"Error", "Cause"}); `record` is the job record
    when the caller has read it already."""
    record = record if record is not None else deps.jobs.get(request.job_id) or {}
    error = error_record(catch.get("Error"), catch.get("Cause"), record.get("last_error"))
    request = with_record_options(request, record)
    return fail(request.job_id, request.tenant, request.provider, error, deps)


def fail(job_id: str, tenant: str, provider: str, error: dict[str, Any], deps: Deps) -> JobSummary:
    """Record the typed error, release the reservation, drop work files - unless the job had ended already
    (then its recorded outcome, `ended_here` False). Idempotent."""
    summary = JobSummary(job_id=job_id, status=JobStatus.FAILED, tenant=tenant, provider=provider, error=error)
    settlement = {"action": "release"}
    if not deps.jobs.end(summary, settlement, waiting=True):
        return _ended_elsewhere(job_id, summary, deps)
    settle({"job_id": job_id, "tenant": tenant, "settlement": settlement}, deps)
    return summary


def settle(record: dict[str, Any], deps: Deps) -> None:
    """Settle an ended job's credits as its end recorded (`record`: its job_id, tenant and `settlement`: commit
    the pages used, or release them all and drop its work files), take it out of the by-deadline index. Run by
    whoever ended the job, and by the sweeper for a job whose ender died before this; each part is idempotent
    per job."""
    settlement = record.get("settlement")
    if not settlement:
        return
    job_id, tenant = record["job_id"], record.get("tenant", "default")
    if settlement.get("action") == "commit":
        deps.credits.commit(tenant, job_id, int(settlement["pages"]), settlement.get("provider", ""),
                            cost=float(settlement.get("cost", 0.0)))
    else:
        deps.credits.release(tenant, job_id)
        deps.store.delete_prefix(deps.settings.results_bucket, f"{deps.settings.work_prefix}{job_id}/")
    deps.jobs.settled(job_id)


def _ended_elsewhere(job_id: str, attempted: JobSummary, deps: Deps) -> JobSummary:
    """The outcome another path recorded first (settled here too, should that path have died before)."""
    record = deps.jobs.get(job_id) or {}
    settle(record, deps)
    logging.getLogger(__name__).warning("job %s had ended (%s) before this step could record it %s", job_id,
                                        record.get("status"), attempted.status.value)
    fields = {k: record[k] for k in ("status", "pages", "credits_used", "seconds", "results", "error")
              if record.get(k) is not None}
    return attempted.model_copy(update={**fields, "status": JobStatus(fields.get("status", attempted.status)),
                                        "ended_here": False})
