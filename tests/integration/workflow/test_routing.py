"""Quota-aware routing through the workflow's steps: moto's S3 and DynamoDB (jobs and tenants tables) and the
provider fakes over real HTTP. A provider that reports exhaustion makes the next jobs fall back, and every
job records which providers it passed over and why."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ocrflow.api.tenants import TenantDirectory
from ocrflow.errors import QuotaExhaustedError
from ocrflow.fakes.adobe import AdobeFake
from ocrflow.fakes.ocrspace import OcrSpaceFake
from ocrflow.fakes.pdfmage import PdfMageFake
from ocrflow.fakes.pdfocr import PdfOcrFake
from ocrflow.providers.names import ProviderName
from ocrflow.quality import word_recall
from ocrflow.workflow.models import JobRequest, JobState
from ocrflow.workflow.routing import NoProviderAvailableError, set_tenant_route
from ocrflow.workflow.steps import Deps, claim_and_reserve, fail, finalize, poll, submit
from tests.aws_resources import RESULTS
from tests.conftest import sample_bytes, truth_text
from tests.integration.workflow.harness import START, Clock, configure, deps_for, run
from tests.integration.workflow.harness import upload as upload_bytes


def upload(tables, deps: Deps, name: str = "letter.pdf", tenant: str | None = None) -> JobRequest:
    return upload_bytes(tables, deps, name, sample_bytes(name), tenant)


def routing(deps: Deps, request: JobRequest) -> list[tuple[str, str, str | None]]:
    return [(a["provider"], a["outcome"], a.get("code")) for a in deps.jobs.get(request.job_id)["routing"]]


def calls(fake, path_part: str = "") -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and path_part in r.path)


def test_a_provider_reporting_exhaustion_makes_the_next_jobs_fall_back_and_record_why(tables, monkeypatch):
    clock = Clock()
    with PdfMageFake(balance="0.00") as pdfmage, OcrSpaceFake() as ocrspace:
        configure(monkeypatch, pdfmage, ocrspace)
        deps = deps_for(tables, clock, route="pdfmage:0.01,ocrspace:0.002")

        first = upload(tables, deps)
        summary = run(first, deps)
        assert summary.status == "succeeded" and summary.provider == "ocrspace"
        assert routing(deps, first) == [("pdfmage", "failed", "quota_exhausted"), ("ocrspace", "used", None)]
        why = deps.jobs.get(first.job_id)["routing"][0]["message"]
        assert "balance is too low" in why  # pdfmage's own 402 answer, in words
        assert deps.quotas.status("pdfmage").exhausted_until == (START + timedelta(hours=1)).timestamp()

        document = json.loads(tables[0].get_object(Bucket=RESULTS, Key=summary.results["json"].split("/", 3)[3])
                              ["Body"].read())
        assert document["provider"]["name"] == "ocrspace"
        assert word_recall(truth_text("letter.pdf"), document["text"]) >= 0.9

        pdfmage_calls = calls(pdfmage)
        second = upload(tables, deps, "notice.jpg")
        assert run(second, deps).provider == "ocrspace"
        assert routing(deps, second) == [("pdfmage", "skipped", "quota_exhausted"), ("ocrspace", "used", None)]
        assert calls(pdfmage) == pdfmage_calls  # passed over without a request

        # the operator tops up; after the recheck interval pdfmage is tried again, and its balance is kept
        pdfmage.balance += 5
        clock.now += timedelta(hours=1, seconds=1)
        third = upload(tables, deps, "receipt.png")
        assert run(third, deps).provider == "pdfmage"
        status = deps.quotas.status("pdfmage")
        assert status.exhausted_until is None and status.balance == pytest.approx(4.99)
        assert status.balance_unit == "usd"


def test_a_full_quota_window_falls_back_to_the_embedded_engine_until_it_rolls_over(tables, monkeypatch):
    clock = Clock()
    with OcrSpaceFake() as ocrspace:
        configure(monkeypatch, ocrspace)
        deps = deps_for(tables, clock, route="ocrspace", quotas='{"ocrspace": [{"per": "day", "requests": 1}]}')
        assert run(upload(tables, deps), deps).provider == "ocrspace"
        second = upload(tables, deps, "notice.jpg")
        assert run(second, deps).provider == "tesseract"
        assert routing(deps, second) == [("ocrspace", "skipped", "quota_exhausted"), ("tesseract", "used", None)]
        assert "day" in deps.jobs.get(second.job_id)["routing"][0]["message"]
        assert calls(ocrspace) == 1
        clock.now += timedelta(days=1)
        assert run(upload(tables, deps, "receipt.png"), deps).provider == "ocrspace"


def test_a_reported_page_balance_too_small_for_the_document_is_passed_over(tables, monkeypatch):
    clock = Clock()
    with PdfOcrFake() as pdfocr:
        pdfocr.options.balance = 1
        configure(monkeypatch, pdfocr)
        deps = deps_for(tables, clock, route="pdfocr")
        assert run(upload(tables, deps), deps).provider == "pdfocr"
        assert deps.quotas.status("pdfocr").balance == 0  # "available pages" after the one-page job
        second = upload(tables, deps, "notice.jpg")
        assert run(second, deps).provider == "tesseract"
        assert routing(deps, second)[0] == ("pdfocr", "skipped", "quota_exhausted")


def test_a_provider_failing_the_job_while_polled_hands_it_to_the_next(tables, monkeypatch):
    clock = Clock()
    with AdobeFake() as adobe, OcrSpaceFake() as ocrspace:
        configure(monkeypatch, adobe, ocrspace)
        monkeypatch.setenv("OCRFLOW_ADOBE_POLL_FALLBACK_SECONDS", "1")
        deps = deps_for(tables, clock, route="adobe,ocrspace")
        request = upload(tables, deps)
        started, _, _ = claim_and_reserve(request, "exec-1", deps)
        state = submit(JobState.model_validate_json(started.model_dump_json()), deps)
        assert state.request.provider == "adobe" and not state.done
        for job in adobe._jobs.values():  # Adobe runs out of quota on its side while the job waits
            job.polls_left, job.error = 0, {"code": "INSUFFICIENT_QUOTA", "status": 429, "message": "quota exceeded"}
        state = poll(state, deps)
        assert state.resubmit and state.parts == [] and state.attempt == 1
        state = submit(JobState.model_validate_json(state.model_dump_json()), deps)
        assert state.done and state.request.provider == "ocrspace"
        assert finalize(state, deps).provider == "ocrspace"
    assert routing(deps, request) == [("adobe", "failed", "quota_exhausted"), ("ocrspace", "used", None)]
    assert deps.quotas.status("adobe").exhausted_until is not None


def test_a_language_one_provider_cannot_read_goes_to_one_that_can(tables, monkeypatch):
    clock = Clock()
    with PdfOcrFake() as pdfocr, OcrSpaceFake() as ocrspace:
        configure(monkeypatch, pdfocr, ocrspace)
        deps = deps_for(tables, clock, route="pdfocr,ocrspace", lang="pol")  # pdfocr.org has no Polish
        request = upload(tables, deps)
        assert run(request, deps).provider == "ocrspace"
        assert routing(deps, request)[0] == ("pdfocr", "skipped", "language_not_available")
        assert calls(pdfocr) == 0


def test_a_named_provider_is_pinned_and_its_failure_releases_the_credits(tables, monkeypatch):
    clock = Clock()
    tenants = tables[2]
    TenantDirectory(tenants).create("acme", credits=5)
    with PdfMageFake(balance="0.00") as pdfmage:
        configure(monkeypatch, pdfmage)
        deps = deps_for(tables, clock, provider="pdfmage")
        request = upload(tables, deps, tenant="acme")
        started, _, _ = claim_and_reserve(request, "exec-1", deps)
        assert TenantDirectory(tenants).get("acme").credits == 4  # one page held
        with pytest.raises(QuotaExhaustedError):
            submit(JobState.model_validate_json(started.model_dump_json()), deps)
        assert routing(deps, request) == [("pdfmage", "failed", "quota_exhausted")]
        fail(request.job_id, "acme", "pdfmage", {"code": "quota_exhausted"}, deps)
    assert TenantDirectory(tenants).get("acme").credits == 5


def test_without_the_embedded_engine_a_job_no_provider_takes_fails_typed(tables, monkeypatch):
    clock = Clock()
    with PdfMageFake(balance="0.00") as pdfmage:
        configure(monkeypatch, pdfmage)
        deps = deps_for(tables, clock, route="pdfmage,yandex", embedded_fallback=False)
        monkeypatch.delenv("OCRFLOW_YANDEX_API_KEY", raising=False)
        request = upload(tables, deps)
        started, _, _ = claim_and_reserve(request, "exec-1", deps)
        with pytest.raises(NoProviderAvailableError) as caught:
            submit(JobState.model_validate_json(started.model_dump_json()), deps)
    assert caught.value.retryable and "pdfmage: quota_exhausted" in caught.value.message
    assert routing(deps, request) == [("pdfmage", "failed", "quota_exhausted"), ("yandex", "skipped", "config_error")]
    assert deps.jobs.get(request.job_id)["last_error"]["code"] == "no_provider_available"


def test_a_tenants_own_route_overrides_the_deployments_and_usage_has_its_cost(tables, monkeypatch):
    clock = Clock()
    tenants = tables[2]
    directory = TenantDirectory(tenants)
    directory.create("acme", credits=10)
    set_tenant_route(tenants, "acme", [ProviderName.OCRSPACE])
    with OcrSpaceFake() as ocrspace, PdfMageFake() as pdfmage:
        configure(monkeypatch, ocrspace, pdfmage)
        deps = deps_for(tables, clock, route="pdfmage:0.01,ocrspace:0.25")
        acme = upload(tables, deps, "report.pdf", tenant="acme")
        summary = run(acme, deps)
        assert summary.provider == "ocrspace" and summary.pages == 3
        assert run(upload(tables, deps, "notice.jpg"), deps).provider == "pdfmage"  # tenant default: the deployment's
    assert directory.get("acme").credits == 7
    usage = {(u.period, u.provider): u for u in directory.usage("acme")}
    assert usage[("2026-03", "ocrspace")].pages == 3
    assert usage[("2026-03", "ocrspace")].cost == pytest.approx(0.75)
