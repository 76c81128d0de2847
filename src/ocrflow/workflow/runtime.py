"""Building the workflow's dependencies from the Lambda environment: boto3 clients created once per container."""

from __future__ import annotations

from functools import lru_cache, partial

import boto3

from ocrflow.limits import InputLimits
from ocrflow.workflow.credits import DynamoLedger, FreeLedger
from ocrflow.workflow.jobs import JobRepository
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
    return deps


def idempotent_step(step: str):  # noqa: ANN201 - a Powertools decorator
    """Powertools Idempotency for a step the state machine may invoke twice with the same input (a Lambda
    service error after the work was done, a retried task): keyed by job and submission (a job handed to the
    next provider is a new submission), so a provider is never paid twice for one submission and results are
    not rebuilt. Without a table configured (plain unit runs) it is off."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent,
    )

    table = WorkflowSettings().idempotency_table
    if not table:
        return lambda handler: handler
    config = IdempotencyConfig(event_key_jmespath="state.[request.job_id, attempt]", expires_after_seconds=24 * 3600,
                               raise_on_no_idempotency_key=True)
    return idempotent(persistence_store=DynamoDBPersistenceLayer(table_name=table), config=config,
                      key_prefix=f"ocrflow-{step}")
