"""Upload documents to the local stack's uploads bucket and follow their jobs in the jobs table - nothing is
called but S3 PutObject: the S3 trigger and the workflow do the rest."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocrflow.local.stack import LocalStack
from ocrflow.workflow.storage import parse_s3_uri

FINAL = ("succeeded", "failed")


@dataclass
class TrackedUpload:
    name: str
    key: str
    uploaded_at: float
    record: dict[str, Any] | None = None
    finished_at: float | None = None
    seen: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return (self.record or {}).get("status", "waiting")

    @property
    def done(self) -> bool:
        return self.status in FINAL


def upload(stack: LocalStack, name: str, body: bytes, folder: str = "demo/") -> TrackedUpload:
    key = f"{stack.deployment.uploads_prefix}{folder}{name}"
    stack.client("s3").put_object(Bucket=stack.deployment.uploads_bucket, Key=key, Body=body)
    return TrackedUpload(name=name, key=key, uploaded_at=time.monotonic())


def upload_files(stack: LocalStack, files: list[Path], folder: str = "demo/") -> list[TrackedUpload]:
    return [upload(stack, path.name, path.read_bytes(), folder) for path in files]


def records_by_key(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """Job records by source key (the newest per key). A scan: the demo's table holds a handful of jobs."""
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer()
    found: dict[str, dict[str, Any]] = {}
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.deployment.jobs_table)
    for page in pages:
        for item in page["Items"]:
            record = {k: plain.deserialize(v) for k, v in item.items()}
            key = record.get("source", {}).get("key")
            if key and record.get("created_at", "") >= found.get(key, {}).get("created_at", ""):
                found[key] = record
    return found


def wait_for_jobs(stack: LocalStack, uploads: list[TrackedUpload], timeout: float = 300.0,
                  on_change: Callable[[TrackedUpload], None] | None = None, interval: float = 0.5) -> bool:
    """Follow the jobs until every one has ended (True) or the time is up (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = records_by_key(stack)
        for tracked in uploads:
            if tracked.done:
                continue
            tracked.record = records.get(tracked.key, tracked.record)
            if tracked.status not in tracked.seen:
                tracked.seen.append(tracked.status)
                if tracked.done:
                    tracked.finished_at = time.monotonic()
                if on_change:
                    on_change(tracked)
        if all(t.done for t in uploads):
            return True
        time.sleep(interval)
    return False


def fetch_result(stack: LocalStack, s3_url: str) -> bytes:
    bucket, key = parse_s3_uri(s3_url)
    return stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
