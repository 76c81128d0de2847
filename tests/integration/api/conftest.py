"""The API as API Gateway calls it: REST proxy events into the resolver the Lambda runs, against moto."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ocrflow.api.app import build_app
from ocrflow.api.deps import ApiDeps
from ocrflow.api.settings import ApiSettings
from tests.aws_resources import (
    JOBS_TABLE,
    RESULTS,
    TENANTS_TABLE,
    UPLOADS,
    create_buckets,
    create_jobs_table,
    create_tenants_table,
)


def rest_event(method: str, path: str, headers: dict[str, str] | None = None, body: Any = None,
               query: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST proxy event, as the {proxy+} integration sends it."""
    raw = body if isinstance(body, str | None) else json.dumps(body)
    headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")}, "stageVariables": None, "body": raw,
        "isBase64Encoded": False,
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": "prod", "resourcePath": "/{proxy+}",
                           "httpMethod": method, "path": f"/prod{path}", "identity": {"sourceIp": "203.0.113.9"}},
    }


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class ApiHarness:
    deps: ApiDeps
    app: Any

    def call(self, method: str, path: str, key: str | None = None, body: Any = None,
             headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> Reply:
        sent = {**({"X-Api-Key": key} if key else {}), **(headers or {})}
        result = self.app.resolve(rest_event(method, path, sent, body, query), None)
        text = result.get("body") or ""
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = ", ".join(values)
        return Reply(result["statusCode"], headers, json.loads(text) if text else None)

    def tenant(self, tenant_id: str, **kwargs: Any) -> str:
        """A new tenant's API key."""
        return self.deps.tenants.create(tenant_id, **kwargs).api_key

    def create_job(self, key: str, **fields: Any) -> Reply:
        body = {"filename": "letter.pdf", "content_type": "application/pdf", "size": 1234, **fields}
        return self.call("POST", "/v1/jobs", key, body)


def api_settings(**overrides: Any) -> ApiSettings:
    return ApiSettings(uploads_bucket=UPLOADS, results_bucket=RESULTS, jobs_table=JOBS_TABLE,
                       tenants_table=TENANTS_TABLE, **overrides)


@pytest.fixture
def aws(aws_env):
    with mock_aws():
        create_buckets(boto3.client("s3"))
        dynamodb = boto3.resource("dynamodb")
        create_jobs_table(dynamodb)
        create_tenants_table(dynamodb)
        yield


@pytest.fixture
def api(aws) -> ApiHarness:
    deps = ApiDeps.build(api_settings(), boto3)
    return ApiHarness(deps=deps, app=build_app(lambda: deps, ["https://app.example.com"]))
