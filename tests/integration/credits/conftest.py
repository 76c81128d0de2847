from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.aws_resources import create_tenants_table, isolated


@pytest.fixture
def table(aws_env):
    """The tenants table in moto, its writes isolated as DynamoDB isolates them."""
    with mock_aws():
        yield isolated(create_tenants_table(boto3.resource("dynamodb")))
