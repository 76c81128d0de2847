"""Jobs that wait on an asynchronous provider wait first in the Express loop (billed by duration, not by state
transition) and move to the Standard state machine when the loop's time is up; fan-outs go to Standard at once
(moto, Adobe's fake over HTTP, the steps as the state machines run them)."""

from __future__ import annotations

from datetime import timedelta

from ocrflow.fakes.adobe import AdobeFake
from ocrflow.workflow.models import JobState
from ocrflow.workflow.process import process_upload
from ocrflow.workflow.runtime import start_waiting
from ocrflow.workflow.steps import finalize, poll
from tests.conftest import sample_bytes
from tests.integration.workflow.harness import Clock, configure, deps_for, owner_of, upload

QUICK = "arn:aws:states:us-east-1:123456789012:stateMachine:quick"
STANDARD = "arn:aws:states:us-east-1:123456789012:stateMachine:standard"


def handed_over(tables, deps, name: str, body: bytes) -> JobState:
    handed: list[JobState] = []
    deps.hand_over = handed.append
    request = upload(tables, deps, name, body)
    assert process_upload(request, owner_of(request), deps).outcome == "waiting"
    return JobState.model_validate_json(handed[-1].model_dump_json())


def test_a_provider_job_waits_in_the_express_loop_then_moves_to_standard_and_still_finishes(tables, monkeypatch):
    clock = Clock()
    with AdobeFake() as adobe:
        adobe.in_progress_polls = 3
        configure(monkeypatch, adobe)
        monkeypatch.setenv("OCRFLOW_ADOBE_POLL_FALLBACK_SECONDS", "1")
        deps = deps_for(tables, clock, provider="adobe", quick_wait_state_machine=QUICK, express_wait_seconds=120)
        state = handed_over(tables, deps, "letter.pdf", sample_bytes("letter.pdf"))
        assert state.waiting_in == "express" and state.waiting_since == clock.now
        clock.now += timedelta(seconds=30)
        state = poll(state, deps)  # in progress, 30 s in: stays in the Express loop
        assert not state.done and not state.to_standard and state.waiting_in == "express"
        clock.now += timedelta(seconds=100)  # 130 s in: the next wait would end past the loop's 120 s
        state = poll(state, deps)
        assert not state.done and state.to_standard and state.waiting_in == "standard"
        state = JobState.model_validate_json(state.model_dump_json())  # MoveToStandard's input: the state
        clock.now += timedelta(seconds=10)
        state = poll(state, deps)  # Standard polls on, as long as the deadline allows
        while not state.done:
            state = poll(state, deps)
        summary = finalize(state, deps)
    assert summary.status == "succeeded" and summary.provider == "adobe"


def test_a_fan_out_goes_to_the_standard_machine_which_has_its_map(tables):
    deps = deps_for(tables, Clock(), quick_wait_state_machine=QUICK, range_pages=1)
    assert handed_over(tables, deps, "report.pdf", sample_bytes("report.pdf")).waiting_in == "standard"


class RecordingStepFunctions:
    class exceptions:  # noqa: N801 - boto3's shape
        class ExecutionAlreadyExists(Exception):
            pass

    def __init__(self) -> None:
        self.started: list[str] = []

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> None:  # noqa: N803, A002
        self.started.append(stateMachineArn)


def test_the_hand_over_starts_the_machine_the_state_names(tables):
    deps = deps_for(tables, Clock(), quick_wait_state_machine=QUICK, range_pages=1)
    state = handed_over(tables, deps, "report.pdf", sample_bytes("report.pdf"))
    client = RecordingStepFunctions()
    start_waiting(client, STANDARD, QUICK, state)
    start_waiting(client, STANDARD, QUICK, state.model_copy(update={"waiting_in": "express"}))
    start_waiting(client, STANDARD, None, state.model_copy(update={"waiting_in": "express"}))
    assert client.started == [STANDARD, QUICK, STANDARD]
