"""What the workflow carries between its states: plain JSON, small (Step Functions caps state at 256 KB), so
documents and part results live in S3 and only their keys travel."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ocrflow.providers.base import JobHandle


class S3Object(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None
    sequencer: str | None = Field(default=None, description="S3's per-key event order; repeated by duplicates")

    @property
    def identity(self) -> str:
        """One object version: what S3's at-least-once notifications repeat. The version id where the bucket
        is versioned (and the event carries it), else the event's sequencer (one per write of the key,
        identical in a repeated delivery), else the ETag."""
        return f"s3://{self.bucket}/{self.key}#{self.version_id or self.sequencer or self.etag or ''}"


def job_id_for(source: S3Object) -> str:
    """The job id of an object version: the same notification delivered twice names the same job."""
    return hashlib.sha256(source.identity.encode()).hexdigest()[:32]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRequest(BaseModel):
    """The workflow's input."""

    job_id: str
    source: S3Object
    tenant: str = "default"
    provider: str = "tesseract"
    languages: str = "eng"


class PartState(BaseModel):
    index: int
    first_page: int
    page_count: int
    handle: JobHandle | None = None
    result_key: str | None = Field(default=None, description="S3 key of the part's finished result")


class JobState(BaseModel):
    """Carried from submit through the wait/poll loop to finalize."""

    request: JobRequest
    media_type: str
    page_count: int
    sha256: str
    size: int
    started_at: datetime
    deadline_at: datetime
    parts: list[PartState] = Field(default_factory=list)
    done: bool = False
    wait_seconds: int = Field(default=0, ge=0, description="Seconds the Wait state sleeps before the next poll")
    polls: int = 0
    reserved_pages: int = 0


class JobSummary(BaseModel):
    """The job record's outcome, returned by finalize and by the failure path."""

    job_id: str
    status: JobStatus
    tenant: str
    provider: str
    pages: int | None = None
    credits_used: float | None = None
    seconds: float | None = None
    results: dict[str, str] = Field(default_factory=dict, description="kind -> s3://bucket/key")
    error: dict[str, Any] | None = None
