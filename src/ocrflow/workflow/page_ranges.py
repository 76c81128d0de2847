"""How a document's pages are cut into ranges that each run as one Lambda call, and whether a document is cut
at all. Pure arithmetic on the measured cost per page (standard library only: the CDK app checks the
deployment's numbers with the same code at synth, `problem`).

- **A range's size.** Its estimate (pages x seconds per page) is at most `range_seconds` (latency: ranges run
  side by side, so the slowest one is the document's OCR time) and never more than a third of the range
  function's time-out (`SAFETY`: slow pages, a cold start and a retry have room).
- **When a document fans out.** The one-call path keeps a document whose estimate is at most
  `one_call_seconds` and a third of the time the process call has left (its Lambda context, else its time-out).
  Anything longer is cut into ranges: the call never starts work it could not finish.
- **Which deployments are refused.** One whose largest accepted document (the page limit) could not finish
  within the job deadline (each wave of ranges and the merge at three times their estimates), whose merge of
  that document could take over a third of its time-out, or whose range function cannot fit one page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: work started in a call is estimated to take at most this fraction of the call's time
SAFETY = 3.0

#: the embedded engine's measured cost on full real pages (bench/fanout.py, docs/PERFORMANCE.md: 1.87-1.98 CPU-s per
#: page over five runs of 32-page ranges of the corpus' full 300-dpi scans; generated scans cost 0.68-1.07) on the
#: 1.16 vCPU of a 2,048 MB function (Lambda: one vCPU per 1,769 MB): wall seconds per page
MEASURED_CPU_SECONDS_PER_PAGE = 1.9
MEASURED_EMBEDDED_SECONDS_PER_PAGE = round(MEASURED_CPU_SECONDS_PER_PAGE / (2048 / 1769), 2)

#: the merge's (finalize's) wall seconds per page of a fanned-out document on 2,048 MB: its partial results read,
#: the document and text assembled, the searchable PDF built from the upload (bench/fanout.py)
MERGE_SECONDS_PER_PAGE = 0.03


@dataclass(frozen=True)
class PageRange:
    index: int
    first_page: int
    page_count: int


@dataclass(frozen=True)
class RangePlan:
    """The deployment's numbers (seconds): the embedded engine's wall time per page on the functions that OCR,
    the process function's and the range function's time-outs, the target time of one range, the longest
    estimate the one-call path keeps, how many ranges run at once, the merge's time-out, and an optional fixed
    range size (tests, operators who measured their own documents)."""

    seconds_per_page: float
    process_seconds: float = 900.0
    range_call_seconds: float = 300.0
    range_seconds: float = 30.0
    one_call_seconds: float = 90.0
    concurrency: int = 200
    merge_seconds: float = 900.0
    fixed_range_pages: int | None = None

    @property
    def range_pages(self) -> int:
        """Pages in one range (0: not even one page fits a third of the range function's time-out)."""
        ceiling = math.floor(self.range_call_seconds / SAFETY / self.seconds_per_page)
        if self.fixed_range_pages:
            return min(self.fixed_range_pages, ceiling)
        return min(max(1, math.floor(self.range_seconds / self.seconds_per_page)), ceiling)

    def fits_one_call(self, pages: int, remaining_seconds: float | None = None) -> bool:
        """Whether the process call may OCR `pages` itself, with `remaining_seconds` left (None: its time-out)."""
        budget = self.process_seconds if remaining_seconds is None else min(self.process_seconds, remaining_seconds)
        if self.fixed_range_pages and pages > self.fixed_range_pages:
            return False
        return pages * self.seconds_per_page <= min(self.one_call_seconds, budget / SAFETY)

    def fits_range(self, pages: int, remaining_seconds: float | None = None) -> bool:
        """Whether a range call with `remaining_seconds` left (None: its time-out) may start `pages`."""
        budget = self.range_call_seconds if remaining_seconds is None else min(self.range_call_seconds,
                                                                               remaining_seconds)
        return pages * self.seconds_per_page <= budget / SAFETY

    def rest_part_pages(self, seconds_per_page: float, provider_max: int | None = None) -> int:
        """Pages per part of a REST provider's fanned-out document: ~`range_seconds` of its expected latency,
        at most a third of the range function's time-out, at most what the provider takes in one request."""
        pages = self.fixed_range_pages or max(1, math.floor(self.range_seconds / seconds_per_page))
        ceiling = max(1, math.floor(self.range_call_seconds / SAFETY / seconds_per_page))
        return min(pages, ceiling, provider_max or pages)

    def rest_fits_one_call(self, part_pages: list[int], concurrency: int, seconds_per_page: float,
                           remaining_seconds: float | None = None) -> bool:
        """Whether the process call may send a REST provider's parts itself, `concurrency` at a time, and wait
        for their answers (a provider answering with a job handle only makes the estimate pessimistic)."""
        budget = self.process_seconds if remaining_seconds is None else min(self.process_seconds, remaining_seconds)
        if self.fixed_range_pages and sum(part_pages) > self.fixed_range_pages:
            return False
        waves = math.ceil(len(part_pages) / max(concurrency, 1))
        return waves * max(part_pages, default=0) * seconds_per_page <= min(self.one_call_seconds, budget / SAFETY)

    def rest_fan_out_seconds(self, parts: int, part_pages: int, concurrency: int, seconds_per_page: float,
                             pages: int) -> float:
        """The longest a REST provider's fanned-out document should take: each wave of `concurrency` parts at
        three times its estimate (or the range function's time-out), then the merge."""
        waves = math.ceil(parts / max(concurrency, 1))
        one_range = min(self.range_call_seconds, SAFETY * part_pages * seconds_per_page)
        return waves * one_range + min(self.merge_seconds, SAFETY * self.merge_estimate(pages))

    def ranges(self, pages: int) -> list[PageRange]:
        size = max(self.range_pages, 1)
        return [PageRange(index=i, first_page=first, page_count=min(size, pages - first))
                for i, first in enumerate(range(0, pages, size))]

    def merge_estimate(self, pages: int) -> float:
        return pages * MERGE_SECONDS_PER_PAGE

    def fan_out_seconds(self, pages: int) -> float:
        """The longest a fanned-out document should take by these numbers: each wave of `concurrency` ranges at
        three times its estimate (or its function's time-out, if less), then the merge at three times its."""
        waves = math.ceil(len(self.ranges(pages)) / max(self.concurrency, 1))
        one_range = min(self.range_call_seconds, SAFETY * self.range_pages * self.seconds_per_page)
        return waves * one_range + min(self.merge_seconds, SAFETY * self.merge_estimate(pages))

    def problem(self, max_pages: int, deadline_seconds: float) -> str | None:
        """Why a deployment with these numbers could accept a document it cannot finish, or None."""
        if self.range_pages < 1:
            return (f"one page is estimated at {self.seconds_per_page:g} s, more than a third of the range "
                    f"function's time-out of {self.range_call_seconds:g} s: no range of pages fits one call")
        if self.fits_one_call(max_pages):
            return None  # no document it accepts fans out
        if SAFETY * self.merge_estimate(max_pages) > self.merge_seconds:
            return (f"the merge of {max_pages} pages (the page limit) is estimated at "
                    f"{self.merge_estimate(max_pages):.0f} s, more than a third of its time-out of "
                    f"{self.merge_seconds:g} s")
        needed = self.fan_out_seconds(max_pages)
        if needed > deadline_seconds:
            return (f"a document of {max_pages} pages (the page limit) may take {needed:.0f} s in "
                    f"{len(self.ranges(max_pages))} ranges of {self.range_pages} pages, {self.concurrency} at a "
                    f"time, then the merge - longer than the job deadline of {deadline_seconds:g} s")
        return None
