"""Running a document through a REST provider: fit it into parts, send the parts (concurrently, within the
provider's limit), wait on the ones that are jobs, and merge what comes back in page order."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import pikepdf

from ocrflow.document import Credits, Page, PageWarning, TextSource, WarningCode
from ocrflow.errors import ProviderUnavailableError
from ocrflow.inputs.inspection import InputInfo
from ocrflow.providers.base import DocumentPart, JobHandle, OcrRequest, Provider, ProviderResult, RawResponse
from ocrflow.providers.http import Clock, Sleep, with_retries
from ocrflow.providers.settings import ProviderSettings
from ocrflow.providers.splitting import plan_parts


@dataclass
class ProviderOutcome:
    pages: list[Page]
    searchable_pdf: bytes | None
    raw: list[RawResponse] = field(default_factory=list)
    credits: Credits | None = None
    engine: str | None = None
    parts: int = 1


def wait_for(provider: Provider, first: ProviderResult | JobHandle, settings: ProviderSettings,
             sleep: Sleep = time.sleep, clock: Clock = time.monotonic, deadline: float | None = None) -> ProviderResult:
    """Poll a job until it is done, honouring the provider's suggested waits, up to the poll deadline (a
    `clock()` time; by default `poll_deadline_seconds` from now). Retries of a poll wait within it too."""
    if deadline is None:
        deadline = clock() + settings.poll_deadline_seconds
    outcome = first
    while isinstance(outcome, JobHandle):
        if clock() + outcome.wait_seconds > deadline:
            raise ProviderUnavailableError(
                f"{provider.name} did not finish within {settings.poll_deadline_seconds:.0f} s", retryable=False)
        sleep(outcome.wait_seconds)
        outcome = with_retries(partial(provider.poll, outcome), settings, sleep, clock=clock, deadline=deadline)
    return outcome


def part_concurrency(provider: Provider, settings: ProviderSettings) -> int:
    """How many parts of one document go to the provider at once: OCRFLOW_<NAME>_CONCURRENCY, else its
    declared limit."""
    return max(1, settings.concurrency or provider.limits.max_concurrency)


def run_provider(provider: Provider, settings: ProviderSettings, data: bytes, info: InputInfo, filename: str,
                 request: OcrRequest, sleep: Sleep = time.sleep, clock: Clock = time.monotonic) -> ProviderOutcome:
    """OCR a document through a REST provider. Each part has `poll_deadline_seconds` for all of it: the
    submit's retries (a Retry-After is waited out only within it) and the job's polls."""
    parts, notes = plan_parts(data, info, provider.limits, filename)

    def run_part(part: DocumentPart) -> ProviderResult:
        deadline = clock() + settings.poll_deadline_seconds
        first = with_retries(lambda: provider.submit(part, request), settings, sleep, clock=clock, deadline=deadline)
        return wait_for(provider, first, settings, sleep, clock=clock, deadline=deadline)

    workers = min(len(parts), part_concurrency(provider, settings))
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=f"{provider.name}-part") as pool:
        results = list(pool.map(run_part, parts))
    return merge_results(parts, results, notes, info)


def merge_results(parts: list[DocumentPart], results: list[ProviderResult],
                  notes: dict[int, list[PageWarning]], info: InputInfo | None = None) -> ProviderOutcome:
    pages: list[Page] = []
    raw: list[RawResponse] = []
    for part, result in zip(parts, results, strict=True):
        for local in range(part.page_count):
            index = part.first_page + local
            page = result.pages[local] if local < len(result.pages) else missing_page(part, local)
            update: dict = {"index": index, "warnings": notes.get(index, []) + page.warnings}
            if info is not None and index < info.page_count:
                update["rotation"] = info.pages[index].rotation  # the source page's /Rotate
            pages.append(page.model_copy(update=update))
        raw.extend(result.raw)
    pdfs = [r.searchable_pdf for r in results]
    searchable = concatenate_pdfs(pdfs) if all(pdfs) else None
    return ProviderOutcome(pages=pages, searchable_pdf=searchable, raw=raw,
                           credits=sum_credits([r.credits for r in results if r.credits is not None]),
                           engine=next((r.engine for r in results if r.engine), None), parts=len(parts))


def missing_page(part: DocumentPart, local: int) -> Page:
    width, height, unit = part.page_sizes[local] if local < len(part.page_sizes) else (1.0, 1.0, "unknown")
    return Page(index=local, width=width, height=height, unit=unit, text_source=TextSource.OCR, text="",
                warnings=[PageWarning(code=WarningCode.PAGE_FAILED,
                                          message="the provider returned nothing for this page")])


def sum_credits(reported: list[Credits]) -> Credits | None:
    """The credits the parts reported, as one: used summed, the least remaining."""
    if not reported:
        return None
    remaining = [c.remaining for c in reported if c.remaining is not None]
    return Credits(used=round(sum(c.used for c in reported), 6), unit=reported[0].unit,
                   remaining=min(remaining) if remaining else None)


def concatenate_pdfs(pdfs: list[bytes | None]) -> bytes | None:
    if len(pdfs) == 1:
        return pdfs[0]
    merged = pikepdf.new()
    opened = []
    try:
        for body in pdfs:
            source = pikepdf.open(io.BytesIO(body or b""))
            opened.append(source)
            merged.pages.extend(source.pages)
        out = io.BytesIO()
        merged.save(out)
        return out.getvalue()
    except pikepdf.PdfError:
        return None  # a provider PDF we cannot read: the caller builds ours instead
    finally:
        for source in opened:
            source.close()
