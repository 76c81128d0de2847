"""Building the workflow's dependencies from the Lambda environment: boto3 clients created once per container."""

from __future__ import annotations

from functools import lru_cache

import boto3

from ocrflow.limits import InputLimits
from ocrflow.workflow.credits import DynamoLedger, FreeLedger
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import Deps
from ocrflow.workflow.storage import ObjectStore


@lru_cache(maxsize=1)
def deps_from_env() -> Deps:
    settings = WorkflowSettings()
    dynamodb = boto3.resource("dynamodb")
    credits = DynamoLedger(dynamodb.Table(settings.tenants_table)) if settings.tenants_table else FreeLedger()
    return Deps(settings=settings, store=ObjectStore(boto3.client("s3")),
                jobs=JobRepository(dynamodb.Table(settings.jobs_table)), credits=credits, limits=InputLimits())


def idempotent_step(step: str):  # noqa: ANN201 - a Powertools decorator
    """Powertools Idempotency for a step the state machine may invoke twice with the same input (a Lambda
    service error after the work was done, a retried task): keyed by job, so a provider is never paid twice
    for one submission and results are not rebuilt. Without a table configured (plain unit runs) it is off."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent,
    )

    table = WorkflowSettings().idempotency_table
    if not table:
        return lambda handler: handler
    config = IdempotencyConfig(event_key_jmespath="state.request.job_id", expires_after_seconds=24 * 3600,
                               raise_on_no_idempotency_key=True)
    return idempotent(persistence_store=DynamoDBPersistenceLayer(table_name=table), config=config,
                      key_prefix=f"ocrflow-{step}")
