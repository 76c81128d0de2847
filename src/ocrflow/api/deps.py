"""What the API's logic works with. Built once per Lambda container from the environment (`from_env`);
tests build it around moto or the local emulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ocrflow.api.settings import ApiSettings
from ocrflow.api.tenants import TenantDirectory
from ocrflow.api.throttling import KeyThrottle
from ocrflow.inputs.limits import InputLimits
from ocrflow.net import safe_http
from ocrflow.workflow.jobs import JobRepository


@dataclass
class ApiDeps:
    settings: ApiSettings
    s3: Any
    jobs: JobRepository
    tenants: TenantDirectory
    throttle: KeyThrottle
    limits: InputLimits = field(default_factory=InputLimits)  # the workflow's own limits (OCRFLOW_MAX_BYTES)
    fetch: Callable[..., safe_http.FetchedFile] = safe_http.fetch
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @classmethod
    def build(cls, settings: ApiSettings, session: Any) -> ApiDeps:
        """From a boto3 session (or the boto3 module): SigV4 presigned URLs, regional endpoints."""
        from botocore.config import Config

        s3 = session.client("s3", config=Config(signature_version="s3v4"))
        dynamodb = session.resource("dynamodb")
        tenants_table = dynamodb.Table(settings.tenants_table)
        return cls(settings=settings, s3=s3, jobs=JobRepository(dynamodb.Table(settings.jobs_table)),
                   tenants=TenantDirectory(tenants_table), throttle=KeyThrottle(tenants_table))


@lru_cache(maxsize=1)
def deps_from_env() -> ApiDeps:
    import boto3

    return ApiDeps.build(ApiSettings(), boto3)
