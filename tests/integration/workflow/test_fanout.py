"""A document too long for one call fans out over page ranges (the state machine's Distributed Map, run by the
harness as deployed: the items file from S3, each range one call under the Map's Retry, the Catch to Fail) on
moto with the embedded engine. Small documents with a tiny configured range size: 6 pages, 2 per range."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ocrflow.api.tenants import TenantDirectory
from ocrflow.errors import OcrEngineError, ProviderUnavailableError
from ocrflow.inputs.limits import InputLimits
from ocrflow.service import embedded_provider
from ocrflow.workflow.fanout import ocr_range
from ocrflow.workflow.models import JobState, PageRangeItem
from ocrflow.workflow.process import process_upload
from ocrflow.workflow.steps import finalize
from tests.aws_resources import RESULTS
from tests.conftest import sections_pdf, stamped_pdf
from tests.integration.workflow.harness import (
    Clock,
    deps_for,
    owner_of,
    run_or_fail,
    run_ranges,
    upload,
)
from tests.integration.workflow.test_reliability import CREDITS, assert_ended_cleanly, results_of

PAGES = 6


@pytest.fixture(scope="module")
def six_pages() -> bytes:
    """A 6-page scanned PDF of small pages, each with its own text."""
    return sections_pdf(PAGES)


@pytest.fixture
def engine_calls(monkeypatch):
    """Every page the embedded engine reads, by the text it found (the pages are told apart by their titles);
    `fail` maps a section number to the error its next readings raise."""
    engine = embedded_provider(InputLimits()).engine
    read = engine.recognize
    calls: list[str] = []
    fail: dict[str, list[Exception]] = {}

    def counting(image, languages, dpi=None):
        reading = read(image, languages, dpi)
        section = next((w for w in reading.text.split("\n", 1)[0].split() if w.isdigit()), "?")
        calls.append(section)
        if fail.get(section):
            raise fail[section].pop(0)
        return reading

    monkeypatch.setattr(engine, "recognize", counting)
    return calls, fail


def document_of(tables, summary) -> dict:
    key = summary.results["json"].split("/", 3)[3]
    return json.loads(tables[0].get_object(Bucket=RESULTS, Key=key)["Body"].read())


def comparable(document: dict) -> tuple:
    """What a reader of the results sees: the text and every page (text, words and their boxes)."""
    pages = [{k: v for k, v in page.items()} for page in document["pages"]]
    return document["text"], pages


def test_a_document_over_the_range_size_fans_out_and_reads_as_the_one_call_path_does(tables, six_pages):
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    one_call = deps_for(tables, Clock())
    single = run_or_fail(upload(tables, one_call, "one.pdf", six_pages, tenant="acme"), one_call)
    fanned_deps = deps_for(tables, Clock(), range_pages=2)
    request = upload(tables, fanned_deps, "fanned.pdf", six_pages, tenant="acme")
    handed: list[JobState] = []
    fanned_deps.hand_over = handed.append
    outcome = process_upload(request, owner_of(request), fanned_deps)
    assert outcome.outcome == "waiting" and handed[-1].fan_out is not None
    assert handed[-1].fan_out.ranges == 3 and not handed[-1].parts  # the ranges travel in S3, not in the state
    items = json.loads(tables[0].get_object(Bucket=RESULTS, Key=handed[-1].fan_out.items_key)["Body"].read())
    assert [(i["first_page"], i["page_count"]) for i in items] == [(0, 2), (2, 2), (4, 2)]
    run_ranges(handed[-1], fanned_deps)
    fanned = finalize(JobState.model_validate_json(handed[-1].model_dump_json()), fanned_deps)

    assert single.status == fanned.status == "succeeded" and single.pages == fanned.pages == PAGES
    assert comparable(document_of(tables, fanned)) == comparable(document_of(tables, single))
    pdf = tables[0].get_object(Bucket=RESULTS, Key=fanned.results["pdf"].split("/", 3)[3])["Body"].read()
    import pypdfium2

    text = [pypdfium2.PdfDocument(pdf)[i].get_textpage().get_text_range() for i in range(PAGES)]
    assert all(f"Section {n + 1}" in text[n] for n in range(PAGES))  # each page's own text, in order
    assert_ended_cleanly(tables, fanned_deps, request, fanned, charged=2 * PAGES)
    assert sorted(results_of(tables, request)) == sorted(k.split("/", 3)[3] for k in fanned.results.values())


def test_a_range_failing_once_is_tried_again_and_no_finished_range_is_read_twice(tables, six_pages, engine_calls):
    calls, fail = engine_calls
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    deps = deps_for(tables, Clock(), range_pages=2)
    request = upload(tables, deps, "flaky.pdf", six_pages, tenant="acme")
    handed: list[JobState] = []
    deps.hand_over = handed.append
    process_upload(request, owner_of(request), deps)
    fail["4"] = [ProviderUnavailableError("the engine's worker restarted")]  # the 2nd range's 2nd page, once
    run_ranges(handed[-1], deps)
    run_ranges(handed[-1], deps)  # the Map run delivered twice: every range is done, nothing is read again
    summary = finalize(JobState.model_validate_json(handed[-1].model_dump_json()), deps)

    counted = Counter(calls)
    assert summary.status == "succeeded" and summary.pages == PAGES
    assert {s: counted[s] for s in "1256"} == {"1": 1, "2": 1, "5": 1, "6": 1}  # the other ranges: once each
    assert counted["3"] == counted["4"] == 2  # the failed range was read again, as a whole
    assert_ended_cleanly(tables, deps, request, summary, charged=PAGES)


def test_a_range_failing_for_good_fails_the_job_typed_with_credits_back_and_no_partial_results(
        tables, six_pages, engine_calls):
    calls, fail = engine_calls
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    deps = deps_for(tables, Clock(), range_pages=2)
    request = upload(tables, deps, "broken.pdf", six_pages, tenant="acme")
    fail["3"] = [OcrEngineError("Tesseract could not read the page")]
    summary = run_or_fail(request, deps)

    assert summary.status == "failed" and summary.error["code"] == "engine_error"
    assert_ended_cleanly(tables, deps, request, summary, charged=0)  # credits back, nothing left in S3
    assert "5" not in calls  # the range after it never ran in this sequential Map...
    state = JobState.model_validate_json(json.dumps({  # ...and one still running elsewhere stores nothing
        "request": request.model_dump(mode="json"), "media_type": "application/pdf", "page_count": PAGES,
        "sha256": "", "size": len(six_pages), "started_at": "2026-03-02T09:00:00Z",
        "deadline_at": "2026-03-02T09:30:00Z", "fan_out": {"range_pages": 2, "ranges": 3, "items_key": "x"}}))
    assert ocr_range(state, PageRangeItem(index=2, first_page=4, page_count=2), deps).outcome == "job_ended"
    assert not results_of(tables, request) and "5" not in calls


def test_a_call_short_of_time_starts_no_ocr_and_the_job_ends_as_timeout_with_credits_back(
        tables, six_pages, engine_calls):
    calls, _ = engine_calls
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    deps = deps_for(tables, Clock(), range_pages=2)
    request = upload(tables, deps, "late.pdf", six_pages, tenant="acme")
    summary = run_or_fail(request, deps, remaining=lambda: 1.0)  # every call has 1 s left: 2 pages need ~1.8 s

    assert summary.status == "failed" and summary.error["code"] == "timeout"
    assert not calls  # nothing was started that could not be finished
    assert_ended_cleanly(tables, deps, request, summary, charged=0)


def test_a_document_that_fits_one_call_but_not_the_time_left_fans_out_instead(tables, six_pages, engine_calls):
    calls, _ = engine_calls
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    deps = deps_for(tables, Clock())  # 6 pages fit one fresh call (54 pages, 90 s, at the measured cost)
    request = upload(tables, deps, "retry.pdf", six_pages, tenant="acme")
    handed: list[JobState] = []
    deps.hand_over = handed.append
    outcome = process_upload(request, owner_of(request), deps, remaining=lambda: 10.0)  # a call nearly out
    assert outcome.outcome == "waiting" and handed[-1].fan_out is not None and not calls
    run_ranges(handed[-1], deps)  # the ranges' calls have their whole time-out
    summary = finalize(JobState.model_validate_json(handed[-1].model_dump_json()), deps)
    assert summary.status == "succeeded" and len(calls) == PAGES
    assert_ended_cleanly(tables, deps, request, summary, charged=PAGES)


def test_a_document_the_deployment_cannot_finish_within_the_deadline_is_refused_typed(tables, six_pages,
                                                                                      engine_calls):
    calls, _ = engine_calls
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    # 3 ranges of 2 pages, one at a time, each allowed three times its ~1.8 s, then the merge: over 15 s
    deps = deps_for(tables, Clock(), range_pages=2, range_concurrency=1, job_deadline_seconds=15)
    request = upload(tables, deps, "long.pdf", six_pages, tenant="acme")
    summary = run_or_fail(request, deps)
    assert summary.status == "failed" and summary.error["code"] == "too_many_pages"
    assert not calls
    assert_ended_cleanly(tables, deps, request, summary, charged=0)


def test_a_duplicate_notification_of_a_long_upload_starts_no_second_fan_out(tables, six_pages, engine_calls):
    calls, _ = engine_calls
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    deps = deps_for(tables, Clock(), range_pages=2)
    request = upload(tables, deps, "twice.pdf", six_pages, tenant="acme")
    handed: list[JobState] = []
    deps.hand_over = handed.append
    first = process_upload(request, "event-1", deps)
    again = process_upload(request, "event-2", deps)  # S3 delivered the notification twice: another event id
    assert (first.outcome, again.outcome) == ("waiting", "duplicate") and len(handed) == 1
    run_ranges(handed[0], deps)
    summary = finalize(JobState.model_validate_json(handed[0].model_dump_json()), deps)
    assert summary.status == "succeeded" and len(calls) == PAGES  # every page read once
    assert_ended_cleanly(tables, deps, request, summary, charged=PAGES)


def test_a_fanned_out_job_swept_past_its_deadline_mid_way_stops_reading_and_charges_nothing(
        tables, six_pages, engine_calls):
    from datetime import timedelta

    from ocrflow.workflow.sweeper import sweep

    calls, _ = engine_calls
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    clock = Clock()
    deps = deps_for(tables, clock, range_pages=2)
    request = upload(tables, deps, "overdue.pdf", six_pages, tenant="acme")
    handed: list[JobState] = []
    deps.hand_over = handed.append
    process_upload(request, owner_of(request), deps)
    state = handed[0]
    items = [PageRangeItem(**i) for i in json.loads(tables[0].get_object(
        Bucket=RESULTS, Key=state.fan_out.items_key)["Body"].read())]
    assert ocr_range(state, items[0], deps).outcome == "ocred"  # the first range is done...
    clock.now += timedelta(seconds=deps.settings.job_deadline_seconds + 60)  # ...then the deadline passes
    assert sweep(deps).timed_out == [request.job_id]
    assert [ocr_range(state, item, deps).outcome for item in items[1:]] == ["job_ended", "job_ended"]
    summary = finalize(JobState.model_validate_json(state.model_dump_json()), deps)
    assert summary.status == "failed" and summary.error["code"] == "timeout" and not summary.ended_here
    assert len(calls) == 2  # only the first range's pages were read
    assert_ended_cleanly(tables, deps, request, summary, charged=0)


@pytest.mark.parametrize(("mode", "sources"), [("auto", {"mixed"}), ("skip-text", {"pdf"})])
def test_the_deployments_ocr_mode_reaches_every_range(tables, six_pages, engine_calls, mode, sources):
    """Six stamped scans, fanned out over three ranges: each range reads its pages in the deployment's mode
    (OCRFLOW_OCR_MODE for S3 uploads) - auto OCRs each scan and keeps its stamp, skip-text OCRs none."""
    stamped = stamped_pdf(six_pages, "Bates ACME-000042", pages=tuple(range(PAGES)), size=6, at=(8, 4))
    deps = deps_for(tables, Clock(), range_pages=2, ocr_mode=mode)
    request = upload(tables, deps, f"stamped-{mode}.pdf", stamped)
    handed: list[JobState] = []
    deps.hand_over = handed.append
    assert process_upload(request, owner_of(request), deps).outcome == "waiting"
    assert handed[-1].request.ocr_mode == mode
    run_ranges(handed[-1], deps)
    summary = finalize(JobState.model_validate_json(handed[-1].model_dump_json()), deps)
    document = document_of(tables, summary)
    assert {page["text_source"] for page in document["pages"]} == sources
    assert document["text"].count("ACME-000042") == PAGES  # each page's stamp, once
    assert len(engine_calls[0]) == (PAGES if mode == "auto" else 0)


def test_a_fanned_out_document_gets_its_hocr_and_alto_streamed_page_by_page_as_one_call_writes_them(
        tables, six_pages):
    """OCRFLOW_OUTPUTS (S3 uploads) with hocr and alto: the merge writes them from its scratch file one page at
    a time - the same files, word for word and box for box, as the one-call path writes."""
    from lxml import etree

    from ocrflow.formats.hocr import read_hocr
    from tests.alto_schema import load_alto_schema

    outputs = "json,hocr,alto"
    single_deps = deps_for(tables, Clock(), outputs=outputs)
    single = run_or_fail(upload(tables, single_deps, "one-x.pdf", six_pages), single_deps)
    deps = deps_for(tables, Clock(), range_pages=2, outputs=outputs)
    request = upload(tables, deps, "fanned-x.pdf", six_pages)
    handed: list[JobState] = []
    deps.hand_over = handed.append
    assert process_upload(request, owner_of(request), deps).outcome == "waiting"
    run_ranges(handed[-1], deps)
    fanned = finalize(JobState.model_validate_json(handed[-1].model_dump_json()), deps)
    assert set(fanned.results) == set(single.results) == {"json", "hocr", "alto"}

    def body(summary, kind) -> bytes:
        return tables[0].get_object(Bucket=RESULTS, Key=summary.results[kind].split("/", 3)[3])["Body"].read()

    fanned_pages, single_pages = (read_hocr(body(s, "hocr").decode("utf-8")) for s in (fanned, single))
    assert len(fanned_pages) == PAGES
    assert [[(w.text, w.bbox) for w in p.words()] for p in fanned_pages] == [
        [(w.text, w.bbox) for w in p.words()] for p in single_pages]
    assert all(f"{n + 1}" in [w.text for w in p.words()] for n, p in enumerate(fanned_pages))
    schema = load_alto_schema()
    for summary in (fanned, single):
        schema.assertValid(etree.fromstring(body(summary, "alto")))
    strings = [etree.fromstring(body(s, "alto")).findall(".//{http://www.loc.gov/standards/alto/ns-v4#}String")
               for s in (fanned, single)]
    assert [(e.get("CONTENT"), e.get("HPOS")) for e in strings[0]] == [
        (e.get("CONTENT"), e.get("HPOS")) for e in strings[1]]
