"""Building the workflow's dependencies from the Lambda environment: boto3 clients created once per container."""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache, partial
from typing import Any

import boto3

from ocrflow.inputs.limits import InputLimits
from ocrflow.workflow.credits import DynamoLedger, FreeLedger
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobState
from ocrflow.workflow.quotas import NoQuotas, ProviderQuotas, quotas_from_json
from ocrflow.workflow.routing import tenant_route
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import Deps
from ocrflow.workflow.storage import ObjectStore


@lru_cache(maxsize=1)
def deps_from_env() -> Deps:
    settings = WorkflowSettings()
    dynamodb = boto3.resource("dynamodb")
    deps = Deps(settings=settings, store=ObjectStore(boto3.client("s3")),
                jobs=JobRepository(dynamodb.Table(settings.jobs_table)), credits=FreeLedger(), limits=InputLimits(),
                quotas=NoQuotas())
    if settings.tenants_table:  # credits, provider quotas and tenants' routes live in the tenants table
        tenants = dynamodb.Table(settings.tenants_table)
        deps.credits = DynamoLedger(tenants)
        deps.quotas = ProviderQuotas(tenants, quotas_from_json(settings.quotas))
        deps.tenant_route = partial(tenant_route, tenants)
    if settings.wait_state_machine:  # the process function's; without it a job that must wait is a ConfigError
        deps.hand_over = partial(start_waiting, boto3.client("stepfunctions"), settings.wait_state_machine,
                                 settings.quick_wait_state_machine)
    if settings.notify_function:
        deps.notify = partial(invoke_notify, boto3.client("lambda"), settings.notify_function)
    return deps


def start_waiting(client: Any, state_machine: str, quick_state_machine: str | None, state: JobState) -> None:
    """Start the state machine the job was handed to (`state.waiting_in`: the Express loop or the Standard
    machine). The execution is named after the job and its submission, so a retried call starts nothing new in
    Standard (unique by name); Express may run a repeated start twice, which its steps' idempotency absorbs
    (one poll answer, one finalize, one webhook)."""
    name = f"{state.request.job_id}-{state.attempt}"
    machine = quick_state_machine if state.waiting_in == "express" and quick_state_machine else state_machine
    with contextlib.suppress(client.exceptions.ExecutionAlreadyExists):  # handed over by an earlier try
        client.start_execution(stateMachineArn=machine, name=name,
                               input=json.dumps({"job": {"state": state.model_dump(mode="json")}}))


def invoke_notify(client: Any, function: str, job_id: str) -> None:
    """Ask the notify function (asynchronously: Lambda retries it) to deliver the job's webhook."""
    client.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps({"job_id": job_id}).encode())


STATE_KEY = "state.[request.job_id, attempt]"  # a state machine step's input: the job and its submission


def idempotent_step(step: str, key: str = STATE_KEY):  # noqa: ANN201 - a Powertools decorator
    """Powertools Idempotency for a step that may be invoked twice with the same input (a Lambda service error
    after the work was done, a retried task, EventBridge delivering an event twice), keyed by `key` (JMESPath into
    the event): by default the job and submission (a job handed to the next provider is a new submission); the
    one-call step passes the event's id. So a provider is never paid twice for one submission and results are
    not rebuilt. A call that raised leaves no
    record, so its retry runs again. Without a table configured (plain unit runs) it is off."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent,
    )

    table = WorkflowSettings().idempotency_table
    if not table:
        return lambda handler: handler
    config = IdempotencyConfig(event_key_jmespath=key, expires_after_seconds=24 * 3600,
                               raise_on_no_idempotency_key=True)
    return idempotent(persistence_store=DynamoDBPersistenceLayer(table_name=table), config=config,
                      key_prefix=f"ocrflow-{step}")
