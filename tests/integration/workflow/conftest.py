from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.aws_resources import create_buckets, create_jobs_table, create_tenants_table, isolated


@pytest.fixture
def tables(aws_env):
    """(s3 client, jobs table, tenants table) in moto; the tenants table's writes isolated as DynamoDB's."""
    with mock_aws():
        s3 = boto3.client("s3")
        create_buckets(s3)
        dynamodb = boto3.resource("dynamodb")
        yield s3, create_jobs_table(dynamodb), isolated(create_tenants_table(dynamodb))
