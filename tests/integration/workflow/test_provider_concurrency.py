"""A REST provider's parts go out side by side in the workflow's submit, never more at once than the provider
allows: its declared limit, or the operator's OCRFLOW_<NAME>_CONCURRENCY (pdfmage's fake over HTTP, moto)."""

from __future__ import annotations

import pytest

from ocrflow.fakes.pdfmage import PdfMageFake
from tests.conftest import sample_bytes
from tests.integration.workflow.harness import Clock, configure, deps_for, run, upload


@pytest.mark.parametrize(("concurrency", "expected"), [(None, 2), ("1", 1)], ids=["declared-2", "operator-1"])
def test_parts_are_sent_concurrently_within_the_providers_limit(tables, monkeypatch, concurrency, expected):
    with PdfMageFake() as pdfmage:
        configure(monkeypatch, pdfmage)
        monkeypatch.setenv("OCRFLOW_PDFMAGE_MAX_PAGES", "1")  # report.pdf goes in three one-page parts
        if concurrency:
            monkeypatch.setenv("OCRFLOW_PDFMAGE_CONCURRENCY", concurrency)
        pdfmage.faults.inject("slow", times=3)  # each answer takes 0.5 s: parts sent together overlap
        deps = deps_for(tables, Clock(), route="pdfmage:0.01", embedded_fallback=False)
        request = upload(tables, deps, "report.pdf", sample_bytes("report.pdf"))
        summary = run(request, deps)
    assert summary.status == "succeeded" and summary.provider == "pdfmage" and summary.pages == 3
    assert sum(1 for r in pdfmage.requests if r.method == "POST") == 3
    assert pdfmage.max_in_flight == expected
