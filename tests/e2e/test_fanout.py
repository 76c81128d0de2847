"""A long document fans out on the local stack: the process function cuts it into page ranges, the state
machine's Distributed Map (items read from S3 by the emulator) calls the range function once per range, and
finalize merges them - through the S3 trigger and through the HTTPS API. The stack is deployed with ranges of 3
pages (tests/e2e/conftest.py), so a 7-page scan is 3 ranges."""

from __future__ import annotations

import httpx
import pytest

from ocrflow.document import Document
from ocrflow.local.api import api_key_for, wait_for_job
from ocrflow.local.jobs import fetch_result, upload, wait_for_jobs
from ocrflow.service import run_ocr
from tests.conftest import sections_pdf
from tests.e2e.conftest import E2E_RANGE_PAGES
from tests.e2e.test_local_stack import adobe_stack as adobe_stack  # noqa: F401 - a fixture
from tests.e2e.test_local_stack import executions_for, results_listing, wait_for_executions

pytestmark = pytest.mark.e2e

PAGES = 7


@pytest.fixture(scope="module")
def seven_pages() -> bytes:
    """A 7-page scanned PDF of small pages, each titled with its number."""
    return sections_pdf(PAGES)


def words_and_boxes(document: Document) -> list[list[tuple[str, tuple[float, ...]]]]:
    return [[(w.text, tuple(round(v, 4) for v in (w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1)))
             for block in page.blocks for line in block.lines for w in line.words] for page in document.pages]


def test_a_long_upload_fans_out_over_page_ranges_and_reads_as_one_call_does(stack, seven_pages):
    tracked = upload(stack, "archive-7.pdf", seven_pages, folder="e2e/fanout/")
    assert wait_for_jobs(stack, [tracked], timeout=420)
    record = tracked.record
    assert record["status"] == "succeeded", record.get("error")
    assert record["pages"] == PAGES and record["pages_done"] == PAGES and record["provider"] == "tesseract"

    # the process call handed the ranges to the state machine (which notifies after the job has ended)
    (execution,) = wait_for_executions(stack, tracked.key, 1)
    assert execution["status"] == "SUCCEEDED"
    sfn = stack.client("stepfunctions")
    (run,) = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
    counts = sfn.describe_map_run(mapRunArn=run["mapRunArn"])["itemCounts"]
    assert counts["total"] == counts["succeeded"] == -(-PAGES // E2E_RANGE_PAGES) == 3

    document = Document.model_validate_json(fetch_result(stack, record["results"]["json"]))
    one_call = run_ocr(seven_pages, filename="archive-7.pdf").document
    assert [p.index for p in document.pages] == list(range(PAGES))
    assert document.text == one_call.text  # the same text, pages in order
    assert words_and_boxes(document) == words_and_boxes(one_call)
    assert all(f"Section {n + 1}" in document.pages[n].text for n in range(PAGES))
    job_id = record["job_id"]
    assert not [k for k in results_listing(stack) if k.startswith(f"work/{job_id}/")]  # no partial results left


def test_a_long_document_sent_through_the_api_fans_out_and_is_charged_once(stack, seven_pages):
    key = api_key_for(stack, "e2e-fanout")
    with httpx.Client(base_url=stack.api_base, headers={"X-Api-Key": key}, timeout=30) as api:
        credits_before = api.get("/v1/usage").json()["credits"]
        made = api.post("/v1/jobs", json={"filename": "archive.pdf", "content_type": "application/pdf",
                                          "size": len(seven_pages)})
        assert made.status_code == 201, made.text
        job, slot = made.json()["job"], made.json()["upload"]
        assert httpx.put(slot["url"], headers=slot["headers"], content=seven_pages, timeout=30).status_code == 200
        ended = wait_for_job(api, job["id"], timeout=420)
        assert ended["status"] == "succeeded", ended
        assert ended["pages"] == ended["pages_done"] == PAGES and ended["cost"]["pages"] == PAGES
        result = api.get(f"/v1/jobs/{job['id']}/result").json()
        assert all(f"Section {n + 1}" in result["document"]["pages"][n]["text"] for n in range(PAGES))
        assert api.get("/v1/usage").json()["credits"] == credits_before - PAGES


def test_a_long_document_for_an_async_rest_provider_fans_out_over_its_parts(adobe_stack, seven_pages):
    stack = adobe_stack  # pinned to Adobe (its fake): each range sends one part and waits on it in its call
    stack.fake.in_progress_polls = 1
    tracked = upload(stack, "archive-adobe.pdf", seven_pages, folder="e2e/fanout/")
    assert wait_for_jobs(stack, [tracked], timeout=420)
    record = tracked.record
    assert record["status"] == "succeeded", record.get("error")
    assert record["provider"] == "adobe" and record["pages"] == record["pages_done"] == PAGES, (
        record, executions_for(stack, tracked.key, stack.deployment.quick_state_machine))
    (execution,) = wait_for_executions(stack, tracked.key, 1)  # the Standard machine: its Map
    sfn = stack.client("stepfunctions")
    (run,) = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
    assert sfn.describe_map_run(mapRunArn=run["mapRunArn"])["itemCounts"]["succeeded"] == 3
    assert sum(1 for r in stack.fake.requests if r.path == "/operation/ocr") == 3  # one Adobe job per part
    document = Document.model_validate_json(fetch_result(stack, record["results"]["json"]))
    assert document.searchable_pdf.origin == "provider"  # Adobe's own PDFs of the parts, joined in order
    assert all(f"Section {n + 1}" in document.pages[n].text for n in range(PAGES))
