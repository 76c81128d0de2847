"""`make demo`'s progress lines while jobs run: one when a job's pages done (or pages, or provider) changed, at
most one per job every few seconds, none when nothing changed - the demo follows the jobs table every half
second, and a person watching must not get a line per read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ocrflow.local import jobs
from ocrflow.local.jobs import ProgressLines, TrackedUpload, wait_for_jobs

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "uploads/demo/report.pdf"


def running(pages_done, pages=3, provider="tesseract") -> dict:
    """A running job's record as the table scan gives it (numbers as Decimals)."""
    return {"status": "running", "started_at": START.isoformat(), "provider": provider,
            "pages": None if pages is None else Decimal(pages),
            "pages_done": None if pages_done is None else Decimal(pages_done)}


def follow(monkeypatch: pytest.MonkeyPatch, reads: list[tuple[float, dict | None]]) -> list[str]:
    """What the demo prints while `wait_for_jobs` reads the table once per (seconds since the job started,
    its record) - None: the upload has no job yet."""
    now = [0.0]
    steps = iter(reads)

    def records_by_key(stack):
        now[0], record = next(steps)
        return {} if record is None else {KEY: record}

    monkeypatch.setattr(jobs, "records_by_key", records_by_key)
    progress = ProgressLines(every=3.0, clock=lambda: now[0], wall=lambda: START + timedelta(seconds=now[0]))
    printed: list[str] = []

    def show(tracked: TrackedUpload) -> None:
        line = progress.line(tracked)
        if line:
            printed.append(line)

    tracked = TrackedUpload(name="report.pdf", key=KEY, uploaded_at=-1.0)
    assert wait_for_jobs(None, [tracked], timeout=60, interval=0, on_poll=show)
    return printed


def test_a_line_is_printed_when_pages_done_change_and_none_when_nothing_changed(monkeypatch):
    printed = follow(monkeypatch, [
        (0.5, None),                        # not claimed yet: nothing to show
        (1.0, running(0, provider="auto")),  # claimed, pages counted, no provider yet
        (1.5, running(0, provider="auto")),  # the same: no line
        (2.0, running(1)),                  # changed, but 1 s after the last line: held back ...
        (4.5, running(1)),                  # ... and shown once 3 s have passed
        (6.0, running(1)),
        (9.0, running(1)),                  # nothing changed for 4.5 s: still no line
        (12.0, running(2)),
        (12.5, {**running(3), "status": "succeeded"}),  # the end is the demo's own line, not a progress line
    ])
    assert printed == [
        "  report.pdf     running  0/3 pages  auto  1 s",
        "  report.pdf     running  1/3 pages  tesseract  4 s",
        "  report.pdf     running  2/3 pages  tesseract  12 s",
    ]


def test_pages_not_yet_counted_and_a_count_past_the_pages(monkeypatch):
    printed = follow(monkeypatch, [
        (1.0, running(None, pages=None, provider="")),
        (5.0, running(4)),  # a range counted twice by a retried step: never more done than there are pages
        (6.0, {**running(3), "status": "failed"}),
    ])
    assert printed == ["  report.pdf     running  counting pages  auto  1 s",
                       "  report.pdf     running  3/3 pages  tesseract  5 s"]


def test_each_job_has_its_own_lines():
    at = [10.0]
    progress = ProgressLines(every=3.0, clock=lambda: at[0], wall=lambda: START + timedelta(seconds=at[0]))
    first = TrackedUpload(name="a.pdf", key="a", uploaded_at=0.0, record=running(1))
    second = TrackedUpload(name="b.pdf", key="b", uploaded_at=0.0, record=running(0))
    assert progress.line(first) == "  a.pdf          running  1/3 pages  tesseract  10 s"
    assert progress.line(second) == "  b.pdf          running  0/3 pages  tesseract  10 s"  # not held back by a's
    assert progress.line(first) is None and progress.line(second) is None
