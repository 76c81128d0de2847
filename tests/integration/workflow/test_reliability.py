"""Reliability: whatever the file and whatever the provider does, a job ends - in a result or in one typed
failure - with nothing lost: no job left running, no reservation left held, credits charged exactly for
results and given back for failures, no result written for a failure. The steps run as the state machine
runs them (Catch → Fail) against moto and the provider fakes over real HTTP."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from ocrflow.api.tenants import TenantDirectory
from ocrflow.fakes.base import FAULTS
from ocrflow.fakes.registry import fake_class
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobRequest
from ocrflow.workflow.steps import Deps
from tests import bad_inputs
from tests.aws_resources import RESULTS
from tests.conftest import sample_bytes
from tests.integration.workflow.harness import Clock, configure, deps_for, run_or_fail, upload

CREDITS = 20
SAMPLE = "receipt.png"

BAD_INPUTS = {  # name -> (bytes, the typed error it ends in)
    "empty.pdf": (lambda: b"", "empty_file"),
    "random.bin": (lambda: random.Random(7).randbytes(4096), "not_a_document"),
    "page.pdf": (lambda: b"<!DOCTYPE html><html><body>not a pdf</body></html>", "not_a_document"),
    "cut.png": (lambda: bad_inputs.truncated_png(sample_bytes("receipt.png")), "damaged_image"),
    "cut.pdf": (lambda: sample_bytes("letter.pdf")[: len(sample_bytes("letter.pdf")) // 3], "damaged_pdf"),
    "locked.pdf": (lambda: bad_inputs.encrypted_pdf(sample_bytes("letter.pdf")), "password_protected"),
    "bomb.png": (lambda: bad_inputs.png_bomb(), "image_too_large"),
    "huge-image.pdf": (lambda: bad_inputs.pdf_with_huge_image(), "image_too_large"),
    "zero.pdf": (lambda: bad_inputs.zero_page_pdf(), "no_pages"),
    "broken.pdf": (lambda: bad_inputs.damaged_pdf(), "damaged_pdf"),
}


def results_of(tables, request: JobRequest) -> list[str]:
    listed = tables[0].list_objects_v2(Bucket=RESULTS).get("Contents", [])
    return [o["Key"] for o in listed if request.job_id in o["Key"]]


def held_reservations(tables) -> list[dict]:
    return [item for item in tables[2].scan()["Items"] if item["sk"].startswith("HOLD#") and item["state"] == "held"]


def assert_ended_cleanly(tables, deps: Deps, request: JobRequest, summary, charged: int) -> None:
    """The job ended (recorded), nothing is held, the balance moved by exactly the pages of a result."""
    record = JobRepository(tables[1]).get(request.job_id)
    assert record["status"] == summary.status.value and record["status"] in ("succeeded", "failed")
    assert not held_reservations(tables)
    assert TenantDirectory(tables[2]).get("acme").credits == CREDITS - charged
    if summary.status == "failed":
        assert summary.error["code"] != "internal_error", summary.error
        assert not results_of(tables, request)  # a failure leaves no result and no work files behind


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_a_bad_input_through_the_s3_trigger_ends_typed_and_spends_nothing(tables, name):
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    deps = deps_for(tables, Clock())
    body, code = BAD_INPUTS[name][0](), BAD_INPUTS[name][1]
    request = upload(tables, deps, name, body, tenant="acme")
    summary = run_or_fail(request, deps)
    assert summary.status == "failed" and summary.error["code"] == code
    assert_ended_cleanly(tables, deps, request, summary, charged=0)


def test_an_enormous_page_is_read_downscaled_with_a_warning(tables):
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    deps = deps_for(tables, Clock())
    request = upload(tables, deps, "poster.pdf", bad_inputs.blank_pdf(14400, 14400), tenant="acme")  # 200 in
    summary = run_or_fail(request, deps)
    assert summary.status == "succeeded" and summary.pages == 1
    document = tables[0].get_object(Bucket=RESULTS, Key=summary.results["json"].split("/", 3)[3])["Body"].read()
    assert b'"downscaled"' in document
    assert_ended_cleanly(tables, deps, request, summary, charged=1)


STORMS = [fault for fault in FAULTS if fault not in ("slow", "partial")]  # those two end in results by design


@pytest.mark.parametrize("provider", [p for p in ProviderName if p is not ProviderName.TESSERACT],
                         ids=lambda p: p.value)
def test_every_fault_storm_ends_in_a_result_or_a_typed_failure_with_credits_exact(tables, monkeypatch, provider):
    """Each fault fires on every request (a storm): pinned to the provider the job fails typed and gives its
    credits back (or succeeds where the fault does not apply); routed (`auto`) it falls back to the
    embedded engine and is charged once."""
    prefix = f"OCRFLOW_{provider.value.upper()}_"
    for key, value in (("MAX_ATTEMPTS", "2"), ("BACKOFF_BASE_SECONDS", "0"), ("BACKOFF_CAP_SECONDS", "0"),
                       ("TIMEOUT_SECONDS", "0.5"), ("POLL_FALLBACK_SECONDS", "0"), ("POLL_DEADLINE_SECONDS", "3"),
                       ("REQUERY_DEADLINE_SECONDS", "3")):  # the harness polls without the state machine's waits
        monkeypatch.setenv(prefix + key, value)
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    clock = Clock()
    with fake_class(provider)() as fake:
        fake.timeout_seconds = 1.0
        configure(monkeypatch, fake)
        outcomes = {}
        for fault in STORMS:
            for mode in (provider.value, "auto"):
                fake.faults.clear()
                fake.faults.inject(fault, times=None)
                deps = deps_for(tables, clock, provider=mode, exhausted_recheck_seconds=1)
                balance = TenantDirectory(tables[2]).get("acme").credits
                request = upload(tables, deps, f"{fault}-{mode}.png", sample_bytes(SAMPLE), tenant="acme")
                summary = run_or_fail(request, deps)
                charged = 1 if summary.status == "succeeded" else 0
                record = JobRepository(tables[1]).get(request.job_id)
                assert record["status"] in ("succeeded", "failed")
                assert not held_reservations(tables)
                assert TenantDirectory(tables[2]).get("acme").credits == balance - charged, (fault, mode)
                if summary.status == "failed":
                    assert summary.error["code"] != "internal_error", (fault, mode, summary.error)
                    assert not results_of(tables, request)
                outcomes[fault, mode] = summary.status.value, summary.provider
                clock.now += timedelta(seconds=2)  # a provider's exhausted mark (1 s here) runs out
        assert all(outcomes[fault, "auto"][0] == "succeeded" for fault in STORMS), outcomes
        assert any(outcomes[fault, provider.value][0] == "failed" for fault in STORMS), outcomes
