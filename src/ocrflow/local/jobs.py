"""Upload documents to the local stack's uploads bucket and follow their jobs in the jobs table - nothing is
called but S3 PutObject: the S3 trigger and the workflow do the rest."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocrflow.local.stack import LocalStack
from ocrflow.workflow.models import ENDED
from ocrflow.workflow.storage import parse_s3_uri


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
        return self.status in ENDED


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
                  on_change: Callable[[TrackedUpload], None] | None = None, interval: float = 0.5,
                  on_poll: Callable[[TrackedUpload], None] | None = None) -> bool:
    """Follow the jobs until every one has ended (True) or the time is up (False). `on_change` is called when
    a job's status changes, `on_poll` for every job not yet ended each time the table is read."""
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
            if on_poll and not tracked.done:
                on_poll(tracked)
        if all(t.done for t in uploads):
            return True
        time.sleep(interval)
    return False


class ProgressLines:
    """Progress lines for a person watching jobs run: `  report.pdf     running  2/3 pages  tesseract  8 s`.

    A running job gets a line when what it shows changed - its pages done, its pages or its provider (the
    time alone is no news) - and at most one every `every` seconds: a change within that time is shown once it
    is over, if the job still runs and shows something other than its last line. Jobs waiting for their claim
    or ended get none (the demo prints each job's end)."""

    def __init__(self, every: float = 3.0, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.every, self.clock, self.wall = every, clock, wall
        self._last: dict[str, tuple[tuple[Any, ...], float]] = {}  # upload key -> what its last line showed, when

    def line(self, tracked: TrackedUpload) -> str | None:
        """The line to print for this job now, or None."""
        if tracked.status != "running":
            return None
        record = tracked.record or {}
        pages_done, pages = _count(record.get("pages_done")), _count(record.get("pages"))
        if pages_done is not None and pages is not None:
            pages_done = min(pages_done, pages)  # an ADD counted twice by a retried range never shows 4/3
        shows = (pages_done, pages, record.get("provider") or "auto")
        now = self.clock()
        last = self._last.get(tracked.key)
        if last is not None and (last[0] == shows or now - last[1] < self.every):
            return None
        self._last[tracked.key] = (shows, now)
        counted = f"{pages_done or 0}/{pages} pages" if pages is not None else "counting pages"
        return f"  {tracked.name:<14} running  {counted}  {shows[2]}  {self._elapsed(tracked, record):.0f} s"

    def _elapsed(self, tracked: TrackedUpload, record: dict[str, Any]) -> float:
        """Seconds since the job started (its claim); since its upload when the record has no start."""
        try:
            return max(0.0, (self.wall() - datetime.fromisoformat(record["started_at"])).total_seconds())
        except (KeyError, TypeError, ValueError):
            return max(0.0, self.clock() - tracked.uploaded_at)


def _count(value: Any) -> int | None:
    """A count from a job record (DynamoDB's numbers are Decimals), None when absent."""
    return None if value is None else int(value)


def fetch_result(stack: LocalStack, s3_url: str) -> bytes:
    bucket, key = parse_s3_uri(s3_url)
    return stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
