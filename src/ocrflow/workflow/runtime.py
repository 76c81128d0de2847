"""Building the workflow's dependencies from the Lambda environment: boto3 clients created once per container."""

from __future__ import annotations

from functools import lru_cache

import boto3

from ocrflow.limits import InputLimits
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import Deps
from ocrflow.workflow.storage import ObjectStore


@lru_cache(maxsize=1)
def deps_from_env() -> Deps:
    settings = WorkflowSettings()
    table = boto3.resource("dynamodb").Table(settings.jobs_table)
    return Deps(settings=settings, store=ObjectStore(boto3.client("s3")), jobs=JobRepository(table),
                limits=InputLimits())
