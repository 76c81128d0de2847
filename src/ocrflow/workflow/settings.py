"""The workflow's configuration, from the Lambda environment (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkflowSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCRFLOW_", frozen=True, extra="ignore")

    results_bucket: str = Field(description="Bucket for results; never notifies the pipeline")
    jobs_table: str = Field(description="DynamoDB table of job records")
    idempotency_table: str | None = Field(default=None, description="Powertools Idempotency records (submit, "
                                          "finalize): a repeated invocation returns the first one's result")
    uploads_prefix: str = "uploads/"
    results_prefix: str = "results/"
    tenants_table: str | None = Field(default=None, description="Tenants: credits (reserved, committed, released "
                                      "by the steps) and webhook secrets; without it nothing is charged")
    work_prefix: str = "work/"
    provider: str = "tesseract"
    lang: str = "eng"
    job_deadline_seconds: int = Field(default=1800, gt=0, description="Overall limit of one job, polls included")
    max_wait_seconds: int = Field(default=60, gt=0, description="Longest single Wait between polls")
