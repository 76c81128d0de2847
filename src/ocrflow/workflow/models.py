"""What the workflow carries between its states: plain JSON, small (Step Functions caps state at 256 KB), so
documents and part results live in S3 and only their keys travel."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ocrflow.document import PageWarning
from ocrflow.providers.base import JobHandle
from ocrflow.providers.names import OcrMode
from ocrflow.workflow.routing import RouteAttempt, RouteEntry


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


TENANT_UPLOADS = "tenants/"
_UNSAFE_IN_KEY = re.compile(r"[^A-Za-z0-9._-]+")


def api_upload_key(uploads_prefix: str, tenant: str, job_id: str, filename: str) -> str:
    """Where the API's presigned upload puts a job's file. The key names the tenant and the job, so the
    workflow can find the job the API created (and its options) when the object lands."""
    safe = _UNSAFE_IN_KEY.sub("_", filename).strip("._")[-100:] or "document"
    return f"{uploads_prefix}{TENANT_UPLOADS}{tenant}/{job_id}/{safe}"


def parse_api_upload_key(uploads_prefix: str, key: str) -> tuple[str, str] | None:
    """(tenant, job id) of a key made by `api_upload_key`; None for any other upload."""
    if not key.startswith(uploads_prefix + TENANT_UPLOADS):
        return None
    parts = key[len(uploads_prefix + TENANT_UPLOADS):].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1]


def job_id_for(source: S3Object) -> str:
    """The job id of an object version: the same notification delivered twice names the same job."""
    return hashlib.sha256(source.identity.encode()).hexdigest()[:32]


class JobStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


#: the statuses a job ends in: it changes no more (a record's plain string is found in it too)
ENDED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})


class JobRequest(BaseModel):
    """The workflow's input."""

    job_id: str
    source: S3Object
    tenant: str = "default"
    provider: str = "tesseract"
    languages: str = "eng"
    ocr_mode: OcrMode = Field(default=OcrMode.AUTO, description="Which PDF pages the embedded engine OCRs")
    outputs: list[str] = Field(default_factory=lambda: ["json", "txt", "pdf"], description="Results to write")
    api_job: bool = Field(default=False, description="Created by the API: the record holds the job's options")


class PartState(BaseModel):
    index: int
    first_page: int
    page_count: int
    handle: JobHandle | None = None
    result_key: str | None = Field(default=None, description="S3 key of the part's finished result")


class FanOut(BaseModel):
    """A document OCRed over page ranges, each one Lambda call (a Distributed Map over the items file)."""

    range_pages: int = Field(gt=0, description="Pages per range (the last may have fewer)")
    ranges: int = Field(gt=0, description="How many ranges")
    items_key: str = Field(description="Results-bucket key of the JSON list of ranges the Map reads")
    provider: str = Field(default="tesseract", description="Who reads the ranges: the embedded engine, or the "
                          "REST provider each range's part is sent to")
    concurrency: int = Field(default=100, gt=0, description="Ranges at once (the Map's MaxConcurrencyPath): the "
                             "deployment's for the embedded engine, the provider's own limit for a REST one")


class PageRangeItem(BaseModel):
    """One range of a fanned-out document, as the Map hands it to its call."""

    index: int = Field(ge=0)
    first_page: int = Field(ge=0)
    page_count: int = Field(gt=0)
    piece_key: str | None = Field(default=None, description="Results-bucket key of the range's pages as a file of "
                                  "their own (a PDF upload's pages; a REST provider's part as it is sent); None: "
                                  "the range reads its pages from the upload")
    media_type: str | None = Field(default=None, description="A REST part's media type")
    filename: str | None = Field(default=None, description="A REST part's file name, as sent")
    page_sizes: list[tuple[float, float, str]] = Field(default_factory=list, description="A REST part's page "
                                                       "sizes (for pages the provider returns nothing for)")
    notes: dict[int, list[PageWarning]] = Field(default_factory=dict, description="Warnings of the part's pages "
                                                "(by index within the part), e.g. a page shrunk to fit")


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
    route: list[RouteEntry] = Field(default_factory=list, description="Providers still to try, in order")
    attempts: list[RouteAttempt] = Field(default_factory=list, description="Providers tried so far, and why not")
    cost_per_page: float = Field(default=0.0, ge=0, description="The chosen provider's price per page (USD)")
    attempt: int = Field(default=0, ge=0, description="Submissions so far; part of submit's idempotency key")
    resubmit: bool = Field(default=False, description="The provider failed while polled: submit to the next one")
    waiting_in: Literal["express", "standard"] | None = Field(default=None, description="The state machine "
                                                             "the job was handed to: the Express loop for "
                                                             "provider jobs that finish within minutes, "
                                                             "Standard for long ones and fan-outs")
    waiting_since: datetime | None = Field(default=None, description="When it was handed to a state machine")
    to_standard: bool = Field(default=False, description="The Express loop's time is up: the job moves on to "
                                                         "the Standard state machine, which waits as long as "
                                                         "the deadline allows")
    fan_out: FanOut | None = Field(default=None, description="Set when the embedded engine OCRs the document "
                                   "over page ranges in the state machine instead of in one call")


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
    ended_here: bool = Field(default=True, exclude=True, description="False when the job had been ended by "
                             "another path first (the sweeper, a concurrent step): this is that recorded outcome, "
                             "and nothing was recorded, charged or notified for it again")
