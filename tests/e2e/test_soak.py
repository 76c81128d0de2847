"""The soak on the deployed local stack: many uploads at once, through the API and the bucket, some of them not
documents - nothing lost, every job ended, the tenant charged exactly (`make bench` runs a bigger one and
prints its timings)."""

import pytest

from ocrflow.local.soak import run_soak

pytestmark = pytest.mark.e2e

DOCUMENTS = 20  # at once: each new Lambda worker of the emulator unpacks ~250 MB, and this machine has 2 cores


def test_many_uploads_at_once_lose_nothing_and_charge_exactly(stack):
    report = run_soak(stack, DOCUMENTS, timeout=600)
    summary = "\n".join(report.lines())
    assert report.unfinished == [], summary
    assert report.outcomes == {"succeeded": DOCUMENTS - report.bad, "not_a_document": report.bad}, summary
    api_pages = report.pages_succeeded_by_tenant
    assert api_pages == report.api_jobs - 1  # one of the API's documents is the HTML page (not charged)
    assert report.credits_charged == api_pages, summary  # one credit per page OCRed, none for the failure
    # no reservation left held (the HTML page failed its inspection before anything was reserved)
    assert report.holds == {"committed": api_pages}, summary
    assert report.tenant_usage_pages == api_pages, summary  # usage counted once per job
