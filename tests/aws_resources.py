"""The deployment's buckets and tables as the CDK app defines them (infra/ocrflow_infra/constructs/storage.py),
created in moto for integration tests."""

from __future__ import annotations

from typing import Any

UPLOADS, RESULTS = "ocrflow-uploads", "ocrflow-results"
JOBS_TABLE, TENANTS_TABLE, IDEMPOTENCY_TABLE = "ocrflow-jobs", "ocrflow-tenants", "ocrflow-idempotency"


def create_buckets(s3: Any) -> None:
    for bucket in (UPLOADS, RESULTS):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})


def create_jobs_table(dynamodb: Any) -> Any:
    return dynamodb.create_table(
        TableName=JOBS_TABLE, KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                              for name in ("job_id", "tenant", "created_at")] +
                             [{"AttributeName": name, "AttributeType": "N"}
                              for name in ("deadline_slot", "deadline_epoch")],
        GlobalSecondaryIndexes=[{"IndexName": "by-tenant", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "tenant", "KeyType": "HASH"},
                                               {"AttributeName": "created_at", "KeyType": "RANGE"}]},
                                {"IndexName": "by-deadline", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                 "KeySchema": [{"AttributeName": "deadline_slot", "KeyType": "HASH"},
                                               {"AttributeName": "deadline_epoch", "KeyType": "RANGE"}]}],
        BillingMode="PAY_PER_REQUEST")


def create_tenants_table(dynamodb: Any) -> Any:
    return dynamodb.create_table(
        TableName=TENANTS_TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}])


def create_idempotency_table(dynamodb: Any) -> Any:
    """As infra/ creates it: Powertools' default key "id"."""
    return dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


def isolated(table: Any) -> Any:
    """`table` whose writes moto applies one at a time, as DynamoDB isolates them. moto checks a transaction's
    conditions and applies its writes without a lock, so concurrent threads can interleave inside one
    transaction - which DynamoDB never does (transactions are serializable, single-item writes atomic)."""
    import functools
    import threading

    lock = threading.Lock()
    client = table.meta.client
    for name in ("transact_write_items", "update_item", "put_item", "delete_item"):
        call = getattr(client, name)

        @functools.wraps(call)
        def serialized(*args: Any, _call: Any = call, **kwargs: Any) -> Any:
            with lock:
                return _call(*args, **kwargs)

        setattr(client, name, serialized)
    return table
