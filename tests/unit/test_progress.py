"""How often a running job's pages done are written: at most once per interval, the pages since the last write
added, the provider with the first write, never for the last pages (the job's end writes those)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ocrflow.workflow.progress import PageProgress

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Jobs:
    def __init__(self) -> None:
        self.writes: list[tuple[int, str | None]] = []

    def add_pages_done(self, job_id: str, pages: int, *, provider: str | None = None) -> bool:
        self.writes.append((pages, provider))
        return True


def test_pages_done_are_written_at_most_once_per_interval_and_never_for_the_last_page():
    jobs, at = Jobs(), [START]
    progress = PageProgress(jobs, "job", total=6, interval=3.0, now=lambda: at[0], provider="tesseract")
    for seconds in (1, 2.5, 3, 4, 6.5, 9):  # the time each page is done
        at[0] = START + timedelta(seconds=seconds)
        progress.reached(progress.done + 1, 6)
    # pages 1-3 by 3 s, pages 4-5 by 6.5 s; page 6 is the end's
    assert jobs.writes == [(3, "tesseract"), (2, None)]


def test_a_document_done_within_the_interval_costs_no_write():
    jobs, at = Jobs(), [START]
    progress = PageProgress(jobs, "job", total=10, interval=3.0, now=lambda: at[0])
    for page in range(1, 11):
        at[0] = START + timedelta(seconds=page * 0.25)
        progress.reached(page, 10)
    assert jobs.writes == []


def test_counted_pages_are_written_before_a_job_waits():
    jobs = Jobs()
    progress = PageProgress(jobs, "job", total=5, interval=3.0, now=lambda: START, provider="adobe")
    progress.add(2)  # a part answered at once; the others are jobs the state machine polls
    progress.flush()
    progress.flush()
    assert jobs.writes == [(2, "adobe")]
