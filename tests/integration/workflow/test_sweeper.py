"""The sweeper on moto: a job whose process call died (or failed with a passing error nothing recorded) does not
stay `running` with its credits held - past its deadline it fails (`timeout`, or the error noted on it), its
credits come back and its webhook is asked for, exactly once, even when the job ends at the same moment."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from ocrflow.api.tenants import TenantDirectory
from ocrflow.errors import ProviderUnavailableError
from ocrflow.fakes.adobe import AdobeFake
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobRequest, api_upload_key
from ocrflow.workflow.process import process_upload
from ocrflow.workflow.steps import (
    Deps,
    claim_and_reserve,
    fail_from_catch,
    finish,
    held_results,
    poll,
    request_from_s3,
    submit,
)
from ocrflow.workflow.sweeper import sweep
from tests.aws_resources import RESULTS, UPLOADS
from tests.conftest import sample_bytes
from tests.integration.workflow.harness import Clock, configure, deps_for, owner_of

CREDITS = 50
DEADLINE = 120
CALLBACK = "https://hooks.example.com/ocr"


class Killed(BaseException):
    """The Lambda worker SIGKILLed: nothing after this point runs, no handler sees it."""


def api_job(tables, deps: Deps, name: str, body: bytes, tenant: str = "acme", provider: str = "tesseract"
            ) -> JobRequest:
    """A job made through the API (with a webhook) whose file has just landed."""
    job_id = f"{abs(hash(name)) % 16**32:032x}"
    key = api_upload_key(deps.settings.uploads_prefix, tenant, job_id, name)
    deps.jobs.create({"job_id": job_id, "tenant": tenant, "status": "awaiting_upload", "filename": name,
                      "provider": provider, "languages": "eng", "outputs": ["json", "txt", "pdf"],
                      "callback_url": CALLBACK, "upload_key": key, "created_at": "2026-03-02T09:00:00+00:00"})
    put = tables[0].put_object(Bucket=UPLOADS, Key=key, Body=body)
    return request_from_s3(UPLOADS, key, put["VersionId"], put["ETag"].strip('"'), len(body), deps.settings)


def hold(tables, job_id: str) -> dict:
    return tables[2].get_item(Key={"pk": "TENANT#acme", "sk": f"HOLD#{job_id}"})["Item"]


def balance(tables) -> int:
    return TenantDirectory(tables[2]).get("acme").credits


def results_of(tables, job_id: str) -> list[str]:
    return [o["Key"] for o in tables[0].list_objects_v2(Bucket=RESULTS).get("Contents", []) if job_id in o["Key"]]


@pytest.fixture
def setup(tables):
    TenantDirectory(tables[2]).create("acme", credits=CREDITS)
    clock = Clock()
    deps = deps_for(tables, clock, provider="tesseract", job_deadline_seconds=DEADLINE)
    notified: list[str] = []
    deps.notify = notified.append
    return tables, clock, deps, notified


def kill_while_writing_results(deps: Deps) -> None:
    def killed(*args, **kwargs):
        raise Killed
    deps.store.put = killed


def test_a_job_whose_process_call_was_killed_fails_as_timeout_past_its_deadline_with_credits_back(setup):
    tables, clock, deps, notified = setup
    request = api_job(tables, deps, "letter.pdf", sample_bytes("letter.pdf"))
    kill_while_writing_results(deps)
    with pytest.raises(Killed):
        process_upload(request, owner_of(request), deps)
    record = deps.jobs.get(request.job_id)
    assert record["status"] == "running" and hold(tables, request.job_id)["state"] == "held"
    pages = int(hold(tables, request.job_id)["pages"])
    assert balance(tables) == CREDITS - pages

    clock.now += timedelta(seconds=DEADLINE - 1)
    assert sweep(deps).timed_out == []  # not yet due: a job still within its deadline is left alone
    assert deps.jobs.get(request.job_id)["status"] == "running"

    clock.now += timedelta(seconds=2)
    report = sweep(deps)
    assert report.timed_out == [request.job_id]
    record = deps.jobs.get(request.job_id)
    assert record["status"] == "failed" and record["error"]["code"] == "timeout" and record["finished_at"]
    assert hold(tables, request.job_id)["state"] == "released" and balance(tables) == CREDITS
    assert notified == [request.job_id]
    assert "deadline_epoch" not in record and "settlement" not in record  # out of the sweeper's index

    clock.now += timedelta(minutes=5)
    assert sweep(deps).model_dump() == {"timed_out": [], "settled": [], "ended_meanwhile": []}  # once
    assert balance(tables) == CREDITS and notified == [request.job_id]


def test_a_passing_error_nothing_recorded_fails_the_job_with_that_error(setup, monkeypatch):
    """The process call raised a passing error (Lambda would retry, then its destination - which never ran):
    the sweeper fails the job with the error noted on it, not a bare timeout."""
    tables, clock, deps, notified = setup
    request = api_job(tables, deps, "notice.jpg", sample_bytes("notice.jpg"))

    def outage(*args, **kwargs):
        raise ProviderUnavailableError("pdfmage is down (503)")
    monkeypatch.setattr("ocrflow.workflow.steps._send", outage)
    with pytest.raises(ProviderUnavailableError):
        process_upload(request, owner_of(request), deps)
    assert deps.jobs.get(request.job_id)["status"] == "running"
    clock.now += timedelta(seconds=DEADLINE + 60)
    assert sweep(deps).timed_out == [request.job_id]
    record = deps.jobs.get(request.job_id)
    assert record["status"] == "failed" and record["error"]["code"] == "provider_unavailable"
    assert balance(tables) == CREDITS and notified == [request.job_id]
    # Lambda's retry of the same event, late: the job has ended, it is not resumed nor charged
    monkeypatch.undo()
    assert process_upload(request, owner_of(request), deps).outcome == "duplicate"
    assert deps.jobs.get(request.job_id)["status"] == "failed" and balance(tables) == CREDITS


def test_a_late_finish_after_the_sweep_keeps_the_failure_and_charges_nothing(setup):
    """The process call was only slow: it finishes after the sweeper failed its job. The job stays failed,
    nothing is charged, no results are left behind, the webhook is not asked for again."""
    tables, clock, deps, notified = setup
    request = api_job(tables, deps, "notice.jpg", sample_bytes("notice.jpg"))
    state, loaded, _ = claim_and_reserve(request, owner_of(request), deps)
    held: dict = {}
    state = submit(state, deps, loaded, held)
    clock.now += timedelta(seconds=DEADLINE + 1)
    assert sweep(deps).timed_out == [request.job_id]
    late = finish(state, deps, held_results(state, held), loaded)
    assert late.status == "failed" and late.ended_here is False and late.error["code"] == "timeout"
    assert deps.jobs.get(request.job_id)["status"] == "failed"
    assert hold(tables, request.job_id)["state"] == "released" and balance(tables) == CREDITS
    assert results_of(tables, request.job_id) == []
    assert notified == [request.job_id]


def test_an_ended_job_whose_step_died_before_settling_is_settled_by_the_sweeper(setup):
    """Finish recorded the success and was killed before committing the credits: the hold is not left held;
    past the deadline the sweeper commits it as recorded (the tenant pays for the result once)."""
    tables, clock, deps, notified = setup
    request = api_job(tables, deps, "notice.jpg", sample_bytes("notice.jpg"))
    state, loaded, _ = claim_and_reserve(request, owner_of(request), deps)
    held: dict = {}
    state = submit(state, deps, loaded, held)

    def killed(*args, **kwargs):
        raise Killed
    deps.credits.commit = killed
    with pytest.raises(Killed):
        finish(state, deps, held_results(state, held), loaded)
    del deps.credits.commit
    assert deps.jobs.get(request.job_id)["status"] == "succeeded"
    assert hold(tables, request.job_id)["state"] == "held"
    clock.now += timedelta(seconds=DEADLINE + 1)
    report = sweep(deps)
    assert report.settled == [request.job_id] and report.timed_out == []
    assert deps.jobs.get(request.job_id)["status"] == "succeeded"
    assert hold(tables, request.job_id)["state"] == "committed" and balance(tables) == CREDITS - 1
    assert notified == []  # the success was not the sweeper's to announce


def test_sweeps_racing_jobs_that_finish_at_the_deadline_end_each_once(setup):
    """Threads: for each overdue job its late finish and two sweeps run at once. Every job ends exactly once:
    succeeded and charged with its results, or failed with its credits back and no results - never both; the
    webhook asked for once per job swept and never for a job that finished."""
    tables, clock, deps, notified = setup
    jobs = []
    for index in range(6):
        request = api_job(tables, deps, f"notice-{index}.jpg", sample_bytes("notice.jpg"))
        state, loaded, _ = claim_and_reserve(request, owner_of(request), deps)
        held: dict = {}
        jobs.append((submit(state, deps, loaded, held), loaded, held))
    assert balance(tables) == CREDITS - len(jobs)
    clock.now += timedelta(seconds=DEADLINE + 1)
    start = threading.Barrier(len(jobs) + 2)

    def late_finish(job):
        state, loaded, held = job
        start.wait()
        return finish(state, deps, held_results(state, held), loaded)

    def sweeper():
        start.wait()
        return sweep(deps)

    with ThreadPoolExecutor(max_workers=len(jobs) + 2) as pool:
        finishes = [pool.submit(late_finish, job) for job in jobs]
        sweeps = [pool.submit(sweeper) for _ in range(2)]
        finished = [f.result() for f in finishes]
        reports = [s.result() for s in sweeps]
    timed_out = [job for report in reports for job in report.timed_out]
    assert len(timed_out) == len(set(timed_out))  # no job failed by both sweeps
    succeeded = 0
    for summary in finished:
        record = JobRepository(tables[1]).get(summary.job_id)
        assert record["status"] == summary.status.value  # what the late finish reports is what was recorded
        assert "deadline_epoch" not in record and "settlement" not in record
        if record["status"] == "succeeded":
            succeeded += 1
            assert summary.ended_here and summary.job_id not in timed_out
            assert hold(tables, summary.job_id)["state"] == "committed"
            assert len(results_of(tables, summary.job_id)) == 3
        else:
            assert not summary.ended_here and summary.job_id in timed_out and record["error"]["code"] == "timeout"
            assert hold(tables, summary.job_id)["state"] == "released"
            assert results_of(tables, summary.job_id) == []
    assert balance(tables) == CREDITS - succeeded
    assert sorted(notified) == sorted(timed_out)  # the sweeper's; a finish outside process asks for none


def test_a_job_waiting_in_the_state_machine_is_failed_once_and_its_next_step_finds_it_ended(setup, monkeypatch):
    """Handed to the state machine (Adobe keeps saying "in progress"): the sweeper fails it at its deadline; the
    machine's next poll fails too and its Fail step finds the job ended - nothing released twice, no second
    webhook asked for by the sweeper's path."""
    tables, clock, deps, notified = setup
    with AdobeFake() as fake:
        fake.in_progress_polls = 1000
        configure(monkeypatch, fake)
        request = api_job(tables, deps, "letter.pdf", sample_bytes("letter.pdf"), provider="adobe")
        handed = []
        deps.hand_over = handed.append
        assert process_upload(request, owner_of(request), deps).outcome == "waiting"
        state = poll(handed[-1], deps)
        assert not state.done and hold(tables, request.job_id)["state"] == "held"
        clock.now += timedelta(seconds=DEADLINE + 1)
        assert sweep(deps).timed_out == [request.job_id]
        assert balance(tables) == CREDITS and notified == [request.job_id]
        with pytest.raises(ProviderUnavailableError) as raised:  # the machine's next poll: past the deadline
            poll(state, deps)
    catch = {"Error": type(raised.value).__name__, "Cause": json.dumps({"errorMessage": raised.value.message})}
    summary = fail_from_catch(request, catch, deps)
    assert summary.ended_here is False and summary.status == "failed" and summary.error["code"] == "timeout"
    assert deps.jobs.get(request.job_id)["error"]["code"] == "timeout"
    assert hold(tables, request.job_id)["state"] == "released" and balance(tables) == CREDITS
    assert results_of(tables, request.job_id) == []  # its work files are gone too
