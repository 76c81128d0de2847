"""The API's request and response bodies. The OpenAPI document is generated from these and the routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from ocrflow.formats.kinds import DEFAULT_OUTPUTS
from ocrflow.inputs.inspection import MediaType
from ocrflow.inputs.limits import InputLimits
from ocrflow.providers.names import OcrMode, ProviderName
from ocrflow.webhooks import DeliveryReport
from ocrflow.workflow.models import JobStatus
from ocrflow.workflow.routing import RouteAttempt

OutputKind = Literal["json", "txt", "pdf", "hocr", "alto"]
ALL_OUTPUTS: list[OutputKind] = [kind.value for kind in DEFAULT_OUTPUTS]  # hOCR and ALTO when asked for
MAX_UPLOAD_BYTES = InputLimits.model_fields["max_bytes"].default


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _JobOptions(_Body):
    provider: ProviderName | None = Field(default=None, description="OCR provider, pinned: that provider or a typed "
                                          "failure. Omitted: the deployment's default, normally `auto` - the first "
                                          "provider on the route that takes the document and has quota, falling back "
                                          "on exhaustion or outage (a provider the deployment does not offer: 403)")
    language: str | None = Field(default=None, max_length=64, pattern=r"^[a-z_]{3,8}(\+[a-z_]{3,8})*$",
                                 description="Tesseract-style language codes, e.g. eng or eng+deu")
    ocr_mode: OcrMode | None = Field(default=None, description="Which PDF pages the embedded engine OCRs: `auto` "
                                     "(scanned pages, and mixed pages - text over a scan - where their text does "
                                     "not cover the scan; text pages are read), `force` (every page, from its "
                                     "rendering), `skip-text` (never a page that carries text). Omitted: the "
                                     "deployment's default, normally `auto`")
    outputs: list[OutputKind] = Field(default_factory=lambda: list(ALL_OUTPUTS), min_length=1, max_length=5,
                                      json_schema_extra={"uniqueItems": True},
                                      description="Results to write: json (the normalized document), txt, pdf "
                                      "(searchable), hocr (hOCR 1.2), alto (ALTO v4.4 XML). Default: json, txt, pdf")
    callback_url: str | None = Field(default=None, max_length=2048,
                                     description="https URL that receives the signed job summary when it ends")

    @model_validator(mode="after")
    def _outputs_once(self) -> _JobOptions:
        if len(set(self.outputs)) != len(self.outputs):
            raise ValueError("outputs must not repeat")
        return self


class UploadJobBody(_JobOptions):
    """A job whose file you upload to the slot the answer gives."""

    filename: str = Field(min_length=1, max_length=255, examples=["invoice.pdf"])
    content_type: MediaType = Field(description="The upload must be sent with this type")
    size: int = Field(gt=0, le=MAX_UPLOAD_BYTES, strict=True,  # true/1.0 are not sizes (schemathesis found true)
                      description="Exact size in bytes of the file to upload")


class SourceUrlJobBody(_JobOptions):
    """A job whose file ocrflow fetches from an https URL."""

    source_url: str = Field(min_length=1, max_length=2048)


def _job_kind(body: Any) -> str:
    """Which of the two bodies a request is: one naming a source_url is fetched, any other is an upload - so a
    mistake is reported against the one body meant, not against both."""
    named = body if isinstance(body, dict) else vars(body) if isinstance(body, BaseModel) else {}
    return "source_url" if "source_url" in named else "upload"


CreateJobBody = Annotated[Annotated[UploadJobBody, Tag("upload")] | Annotated[SourceUrlJobBody, Tag("source_url")],
                          Discriminator(_job_kind)]
#: the tags above, which pydantic puts into the location of every error
BODY_KINDS = frozenset({"upload", "source_url"})


class ErrorInfo(BaseModel):
    code: str
    message: str


class Cost(BaseModel):
    pages: int | None = Field(default=None, description="Pages charged")
    provider_credits: float | None = Field(default=None, description="What the provider reported using")


class JobView(BaseModel):
    id: str
    status: JobStatus
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    pages: int | None = Field(default=None, description="Pages of the document, known once the job runs")
    pages_done: int | None = Field(default=None, ge=0, description="Pages read so far: counted while the job runs "
                                   "(written every few seconds, so a short job may show 0 until it ends), "
                                   "equal to `pages` once it succeeded; absent before it runs")
    provider: str = Field(description="The provider that read the job; `auto` until one is chosen")
    language: str
    ocr_mode: OcrMode = OcrMode.AUTO
    outputs: list[OutputKind]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float | None = Field(default=None, description="Processing time, from start to results")
    error: ErrorInfo | None = None
    cost: Cost | None = None
    callback_url: str | None = None
    webhook: DeliveryReport | None = Field(default=None, description="The webhook's delivery, once the job ended")
    routing: list[RouteAttempt] = Field(default_factory=list, description="The providers considered for the job, "
                                        "in order: skipped (not sent: quota, balance, language, limits), failed "
                                        "(sent, then failed), used")


class UploadSlot(BaseModel):
    url: str = Field(description="Presigned S3 URL: PUT the file there with exactly these headers")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    max_bytes: int
    expires_at: datetime


class CreatedJob(BaseModel):
    job: JobView
    upload: UploadSlot | None = Field(default=None, description="Absent when the job was made from a source_url")


class JobPage(BaseModel):
    jobs: list[JobView]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page")


class JobResult(BaseModel):
    job_id: str
    document: dict[str, Any] | None = Field(default=None, description="The normalized document (schema v1), "
                                            "inline when small; else see document_url")
    document_url: str | None = None
    text: str | None = Field(default=None, description="The plain text, inline when small; else see text_url")
    text_url: str | None = None
    searchable_pdf_url: str | None = None
    hocr_url: str | None = Field(default=None, description="The hOCR file (document.hocr), when asked for")
    alto_url: str | None = Field(default=None, description="The ALTO XML file (document.alto.xml), when asked for")
    expires_at: datetime = Field(description="When the links stop working")


class UsagePeriod(BaseModel):
    period: str = Field(description="YYYY-MM or YYYY-MM-DD")
    provider: str
    pages: int = 0
    requests: int = 0
    cost: float = 0


class Usage(BaseModel):
    tenant: str
    credits: int = Field(description="Balance in pages")
    periods: list[UsagePeriod] = Field(default_factory=list)


class ErrorBody(BaseModel):
    error: ErrorInfo
