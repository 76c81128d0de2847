"""The workflow's configuration, from the Lambda environment (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocrflow.formats.kinds import DEFAULT_OUTPUTS_SETTING, parse_outputs
from ocrflow.providers.names import OcrMode
from ocrflow.workflow.page_ranges import MEASURED_EMBEDDED_SECONDS_PER_PAGE, RangePlan

__all__ = ["MEASURED_EMBEDDED_SECONDS_PER_PAGE", "WorkflowSettings"]


class WorkflowSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCRFLOW_", frozen=True, extra="ignore")

    results_bucket: str = Field(description="Bucket for results; never notifies the pipeline")
    jobs_table: str = Field(description="DynamoDB table of job records")
    idempotency_table: str | None = Field(default=None, description="Powertools Idempotency records (submit, "
                                          "finalize): a repeated invocation returns the first one's result")
    uploads_prefix: str = "uploads/"
    results_prefix: str = "results/"
    tenants_table: str | None = Field(default=None, description="Tenants: credits (reserved, committed, released "
                                      "by the steps) and webhook secrets; without it nothing is charged")
    work_prefix: str = "work/"
    provider: str = Field(default="auto", description="Provider of jobs that name none: `auto` (the route) or a "
                          "provider's name (that provider only)")
    route: str = Field(default="", description="Ordered providers for `auto` jobs, each with a price per page: "
                       'JSON [{"provider": "pdfmage", "cost_per_page": 0.01}] or "pdfmage:0.01,ocrspace"')
    embedded_fallback: bool = Field(default=True, description="The embedded engine is the route's last resort")
    embedded_cost_per_page: float = Field(default=0.0, ge=0, description="What an embedded page costs, in USD")
    quotas: str = Field(default="", description='Provider quota windows, JSON: {"ocrspace": [{"per": "day", '
                        '"requests": 500}, {"per": "month", "requests": 25000}]}')
    exhausted_recheck_seconds: int = Field(default=3600, gt=0, description="A provider that refused for want of "
                                           "balance is tried again after this (sooner if it reports a balance)")
    lang: str = "eng"
    ocr_mode: OcrMode = Field(default=OcrMode.AUTO, description="Which PDF pages the embedded engine OCRs in jobs "
                              "that name none (S3-trigger uploads): auto, force or skip-text")
    outputs: str = Field(default=DEFAULT_OUTPUTS_SETTING, description="Results of jobs that name none (S3-trigger "
                         "uploads), comma-separated: json, txt, pdf, hocr, alto")
    job_deadline_seconds: int = Field(default=1800, gt=0, description="Overall limit of one job, polls included")
    progress_seconds: float = Field(default=3.0, ge=0, description="A running job's pages done are written to "
                                    "its record at most this often, and never for its last pages (its end "
                                    "writes them): a document done within this costs no progress write")
    max_wait_seconds: int = Field(default=60, gt=0, description="Longest single Wait between polls")
    quick_wait_state_machine: str | None = Field(default=None, description="ARN of the Express state machine "
                                                 "that waits on providers' jobs first (no state transitions "
                                                 "billed); without it, jobs wait in the Standard one")
    express_wait_seconds: float = Field(default=120, gt=0, le=240, description="How long a job waits in the "
                                        "Express loop (at most five minutes an execution) before it moves to "
                                        "the Standard state machine: room is left for a slow poll")
    wait_state_machine: str | None = Field(default=None, description="ARN of the state machine that waits on "
                                           "providers' jobs: the one-call step hands it the jobs it cannot finish")
    embedded_seconds_per_page: float = Field(default=MEASURED_EMBEDDED_SECONDS_PER_PAGE, gt=0, description=
                                             "The embedded engine's wall seconds per page on the functions that "
                                             "OCR (sizes page ranges; decides when a document fans out)")
    process_timeout_seconds: float = Field(default=900, gt=0, description="The process function's time-out")
    range_timeout_seconds: float = Field(default=300, gt=0, description="The range function's time-out")
    merge_timeout_seconds: float = Field(default=300, gt=0, description="The merge's (finalize's) time-out")
    range_seconds: float = Field(default=30, gt=0, description="Estimated OCR time of one range: ranges run side "
                                 "by side, so this is about a fanned-out document's OCR time")
    one_call_seconds: float = Field(default=90, gt=0, description="Documents estimated above this fan out "
                                    "over page ranges; below it the process call OCRs them itself")
    range_pages: int | None = Field(default=None, gt=0, description="Pages per range of a fanned-out document "
                                    "(and documents above it fan out); unset: from range_seconds and the "
                                    "measured cost per page")
    range_concurrency: int = Field(default=200, gt=0, description="Ranges of one document OCRed at once (the "
                                   "state machine's Map MaxConcurrency)")
    notify_function: str | None = Field(default=None, description="The notify function, invoked asynchronously "
                                        "for the webhook of a job the one-call step ended")

    @property
    def range_plan(self) -> RangePlan:
        return RangePlan(seconds_per_page=self.embedded_seconds_per_page,
                         process_seconds=self.process_timeout_seconds, range_call_seconds=self.range_timeout_seconds,
                         range_seconds=self.range_seconds, one_call_seconds=self.one_call_seconds,
                         concurrency=self.range_concurrency, merge_seconds=self.merge_timeout_seconds,
                         fixed_range_pages=self.range_pages)

    @field_validator("outputs")
    @classmethod
    def _known_outputs(cls, value: str) -> str:
        return ",".join(parse_outputs(value))
