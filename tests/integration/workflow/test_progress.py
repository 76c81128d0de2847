"""Pages done, counted on the job record while the process step runs (moto's DynamoDB, the embedded engine and
pdfmage's fake over HTTP): the count grows page by page (the embedded engine) or part by part (a REST provider
answering each part at once), equals the pages at the end, and a one-page document costs no progress write."""

from __future__ import annotations

from typing import Any

from ocrflow.fakes.pdfmage import PdfMageFake
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.steps import Deps
from tests.conftest import sample_bytes
from tests.integration.workflow.harness import Clock, configure, deps_for, run, upload


class ObservedJobs(JobRepository):
    """The jobs table as the steps use it, noting the job record as it stands after each progress write."""

    def __init__(self, table: Any) -> None:
        super().__init__(table)
        self.seen: list[dict[str, Any]] = []

    def add_pages_done(self, job_id: str, pages: int, *, provider: str | None = None) -> bool:
        written = super().add_pages_done(job_id, pages, provider=provider)
        record = self.get(job_id) or {}
        self.seen.append({k: record.get(k) for k in ("status", "pages", "pages_done", "provider")})
        return written


def observed(tables, **settings) -> tuple[Deps, ObservedJobs]:
    deps = deps_for(tables, Clock(), **settings)
    deps.jobs = ObservedJobs(tables[1])
    return deps, deps.jobs


def test_a_multi_page_document_counts_its_pages_done_while_the_engine_reads_it(tables):
    deps, jobs = observed(tables, progress_seconds=0)  # every page written as it is done, but the last
    request = upload(tables, deps, "report.pdf", sample_bytes("report.pdf"))
    summary = run(request, deps)
    assert summary.status == "succeeded" and summary.pages == 3
    assert jobs.seen == [{"status": "running", "pages": 3, "pages_done": 1, "provider": "tesseract"},
                         {"status": "running", "pages": 3, "pages_done": 2, "provider": "tesseract"}]
    record = jobs.get(request.job_id)
    assert record["status"] == "succeeded" and record["pages_done"] == record["pages"] == 3


def test_a_short_job_writes_no_progress_and_a_one_page_one_never(tables):
    deps, jobs = observed(tables)  # the deployed interval; the harness's clock stands still: a short job
    several = upload(tables, deps, "report.pdf", sample_bytes("report.pdf"))
    assert run(several, deps).status == "succeeded"
    assert jobs.seen == [] and jobs.get(several.job_id)["pages_done"] == 3

    deps, jobs = observed(tables, progress_seconds=0)  # however often progress may be written
    one = upload(tables, deps, "letter.pdf", sample_bytes("letter.pdf"))
    assert run(one, deps).status == "succeeded"
    assert jobs.seen == []  # its only page is counted by the job's end, in the write it makes anyway
    assert jobs.get(one.job_id)["pages_done"] == 1


def test_a_rest_providers_multi_part_document_counts_each_part_as_it_answers(tables, monkeypatch):
    with PdfMageFake() as pdfmage:
        configure(monkeypatch, pdfmage)
        monkeypatch.setenv("OCRFLOW_PDFMAGE_MAX_PAGES", "2")  # report.pdf goes in two parts: pages 1-2, 3
        deps, jobs = observed(tables, route="pdfmage:0.01", progress_seconds=0)
        request = upload(tables, deps, "report.pdf", sample_bytes("report.pdf"))
        summary = run(request, deps)
    assert summary.status == "succeeded" and summary.provider == "pdfmage"
    assert sum(1 for r in pdfmage.requests if r.method == "POST") == 2
    assert jobs.seen == [{"status": "running", "pages": 3, "pages_done": 2, "provider": "pdfmage"}]
    assert jobs.get(request.job_id)["pages_done"] == 3


def test_a_retried_call_counts_its_pages_afresh(tables):
    deps, jobs = observed(tables, progress_seconds=0)
    request = upload(tables, deps, "report.pdf", sample_bytes("report.pdf"))
    jobs.claim(request, "event-" + request.job_id, 2**31)
    jobs.add_pages_done(request.job_id, 2)  # a first try counted two pages, then its Lambda was killed
    jobs.seen.clear()
    assert run(request, deps).status == "succeeded"  # Lambda's next try of the same event
    assert [seen["pages_done"] for seen in jobs.seen] == [1, 2]
