"""Pages done of a running job, counted on its record (`pages_done`, shown by `GET /v1/jobs/{id}` beside
`pages`) - cheaply: every DynamoDB write is paid for, and most documents are one page one short call finishes.

So a count is written only when both hold: at least `OCRFLOW_PROGRESS_SECONDS` (3 s) have passed since the
job's work started or since the last count was written, and pages are still to come. The last pages are never
written here: the job's end records `pages_done` = `pages` in the write it makes anyway. A document finished
within the interval - every one-page document the embedded engine reads, any short job - costs no write at
all; a long one costs one write per interval (a 15-minute call: at most 300 writes of one unit, $0.0002).
The count is an ADD of the pages since the last write (`JobRepository.add_pages_done`), so page ranges counted
in parallel add up; the claim sets it back to 0, so a retried call counts afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ocrflow.workflow.jobs import JobRepository


class PageProgress:
    """Counts a job's pages as they are done and writes the count now and then (see the module)."""

    def __init__(self, jobs: JobRepository, job_id: str, total: int, interval: float,
                 now: Callable[[], datetime], provider: str | None = None) -> None:
        self.jobs, self.job_id, self.total, self.interval, self.now = jobs, job_id, total, interval, now
        self.provider = provider  # written with the first count: the record says `auto` until the job ends
        self.done = 0
        self._unwritten = 0
        self._last = now()

    def add(self, pages: int) -> None:
        """`pages` more pages are done."""
        if pages <= 0:
            return
        self.done += pages
        self._unwritten += pages
        if self.done >= self.total:
            return  # the end's write records the whole count
        at = self.now()
        if (at - self._last).total_seconds() < self.interval:
            return
        self.jobs.add_pages_done(self.job_id, self._unwritten, provider=self.provider)
        self._unwritten, self._last, self.provider = 0, at, None

    def flush(self) -> None:
        """Write the pages counted but not written yet (a job about to wait: its next writes are far off)."""
        if self._unwritten:
            self.jobs.add_pages_done(self.job_id, self._unwritten, provider=self.provider)
            self._unwritten, self._last, self.provider = 0, self.now(), None

    def reached(self, done: int, total: int | None = None) -> None:
        """`done` pages are done in all (a progress callback's cumulative count: the embedded engine's)."""
        self.add(done - self.done)
