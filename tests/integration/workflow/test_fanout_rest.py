"""A REST provider's long document fans out too: each range is one of its parts, sent by one call of the range
function and, for an asynchronous provider, waited on there; the Map runs them at most the provider's own
concurrency at a time. Moto, the fakes over HTTP; a configured range size of one page makes report.pdf (3 pages)
three ranges."""

from __future__ import annotations

import json

import pytest

from ocrflow.api.tenants import TenantDirectory
from ocrflow.errors import NotEnoughTimeError
from ocrflow.fakes.adobe import AdobeFake
from ocrflow.fakes.pdfmage import PdfMageFake
from ocrflow.quality import word_recall
from ocrflow.workflow.fanout import ocr_range
from ocrflow.workflow.models import JobState, PageRangeItem
from ocrflow.workflow.process import process_upload
from ocrflow.workflow.steps import finalize
from tests.aws_resources import RESULTS
from tests.conftest import sample_bytes, truth_text
from tests.integration.workflow.harness import Clock, configure, deps_for, owner_of, run, run_ranges, upload
from tests.integration.workflow.test_reliability import CREDITS, assert_ended_cleanly

PAGES = 3


def fanned_out(tables, deps, name: str) -> tuple[object, JobState]:
    handed: list[JobState] = []
    deps.hand_over = handed.append
    request = upload(tables, deps, name, sample_bytes("report.pdf"), tenant="acme")
    assert process_upload(request, owner_of(request), deps).outcome == "waiting"
    return request, JobState.model_validate_json(handed[-1].model_dump_json())


def document_text(tables, summary) -> str:
    key = summary.results["json"].split("/", 3)[3]
    return json.loads(tables[0].get_object(Bucket=RESULTS, Key=key)["Body"].read())["text"]


def test_a_sync_providers_parts_fan_out_at_most_its_concurrency_at_once_and_read_as_one_call(tables, monkeypatch):
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    with PdfMageFake() as pdfmage:
        configure(monkeypatch, pdfmage)
        single_deps = deps_for(tables, Clock(), route="pdfmage:0.01", embedded_fallback=False)
        single = run(upload(tables, single_deps, "one.pdf", sample_bytes("report.pdf"), tenant="acme"), single_deps)
        posts_before = sum(1 for r in pdfmage.requests if r.method == "POST")
        pdfmage.max_in_flight = 0
        deps = deps_for(tables, Clock(), route="pdfmage:0.01", embedded_fallback=False, range_pages=1)
        request, state = fanned_out(tables, deps, "fanned.pdf")
        assert state.fan_out.provider == "pdfmage" and state.fan_out.ranges == PAGES
        assert state.fan_out.concurrency == 2  # pdfmage's declared limit: the Map's MaxConcurrencyPath
        pdfmage.faults.inject("slow", times=PAGES)  # every answer takes 0.5 s: ranges run together overlap
        run_ranges(state, deps, side_by_side=True)
        summary = finalize(state, deps)
    assert summary.status == "succeeded" and summary.provider == "pdfmage" and summary.pages == PAGES
    assert sum(1 for r in pdfmage.requests if r.method == "POST") - posts_before == PAGES  # one per part
    assert pdfmage.max_in_flight == 2  # side by side, never above the provider's limit
    assert document_text(tables, summary) == document_text(tables, single)
    assert_ended_cleanly(tables, deps, request, summary, charged=2 * PAGES)


def test_an_async_part_the_provider_accepted_is_polled_by_the_next_call_never_sent_again(tables, monkeypatch):
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    with AdobeFake() as adobe:
        adobe.in_progress_polls = 2
        configure(monkeypatch, adobe)
        monkeypatch.setenv("OCRFLOW_ADOBE_POLL_FALLBACK_SECONDS", "1")
        deps = deps_for(tables, Clock(), provider="adobe", range_pages=1)
        request, state = fanned_out(tables, deps, "async.pdf")
        items = [PageRangeItem(**i) for i in json.loads(
            tables[0].get_object(Bucket=RESULTS, Key=state.fan_out.items_key)["Body"].read())]
        # the process call sent the first part (Adobe accepted it); its range call has too little time to wait
        with pytest.raises(NotEnoughTimeError):
            ocr_range(state, items[0], deps, remaining=lambda: 15.0)
        ocr_jobs = sum(1 for r in adobe.requests if r.path == "/operation/ocr")
        assert ocr_jobs == 1
        run_ranges(state, deps)  # the Map's retry (and the other ranges) with the function's whole time
        summary = finalize(state, deps)
    assert summary.status == "succeeded" and summary.provider == "adobe" and summary.pages == PAGES
    assert sum(1 for r in adobe.requests if r.path == "/operation/ocr") == PAGES  # the first part once
    assert word_recall(truth_text("report.pdf"), document_text(tables, summary)) >= 0.9
    assert_ended_cleanly(tables, deps, request, summary, charged=PAGES)


def test_a_provider_that_could_not_read_the_parts_within_the_deadline_is_passed_over(tables, monkeypatch):
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    with PdfMageFake() as pdfmage:
        configure(monkeypatch, pdfmage)
        monkeypatch.setenv("OCRFLOW_PDFMAGE_CONCURRENCY", "1")
        # 3 one-page parts one at a time, each allowed three times its 2 s: longer than a 15 s deadline
        deps = deps_for(tables, Clock(), route="pdfmage:0.01", range_pages=1, job_deadline_seconds=15)
        request, state = fanned_out(tables, deps, "slow-provider.pdf")
    assert state.fan_out.provider == "tesseract"  # the route moved on to the embedded engine
    assert [(a.provider, a.outcome, a.code) for a in state.attempts][0] == ("pdfmage", "skipped", "too_many_pages")
    assert not [r for r in pdfmage.requests if r.method == "POST"]  # nothing was sent to it


def test_a_provider_refusing_the_first_part_is_passed_over_before_any_range_runs(tables, monkeypatch):
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    with PdfMageFake(balance="0") as pdfmage:  # no money left: 402 on the first request
        configure(monkeypatch, pdfmage)
        deps = deps_for(tables, Clock(), route="pdfmage:0.01", range_pages=1)
        request, state = fanned_out(tables, deps, "no-balance.pdf")
        assert [(a.provider, a.outcome, a.code) for a in state.attempts][0] == ("pdfmage", "failed", "quota_exhausted")
        assert state.fan_out.provider == "tesseract"  # the embedded engine's ranges instead
        assert sum(1 for r in pdfmage.requests if r.method == "POST") == 1  # the first part only
        run_ranges(state, deps)
        summary = finalize(state, deps)
    assert summary.status == "succeeded" and summary.provider == "tesseract"
    assert_ended_cleanly(tables, deps, request, summary, charged=PAGES)
