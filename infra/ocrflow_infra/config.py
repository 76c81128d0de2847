"""Deployment configuration from `cdk.json` context (overridable with `cdk deploy -c key=value`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from aws_cdk import App
from pydantic import BaseModel, Field, field_validator, model_validator

from ocrflow.engines.settings import SecondEngineMode
from ocrflow.formats.kinds import DEFAULT_OUTPUTS_SETTING, parse_outputs
from ocrflow.providers.names import OcrMode
from ocrflow.workflow.page_ranges import MEASURED_EMBEDDED_SECONDS_PER_PAGE, RangePlan
from ocrflow_infra.sizes import STEPS

REPO = Path(__file__).resolve().parents[2]


class DeploymentConfig(BaseModel):
    provider: str = Field(default="auto", description="Provider of jobs that name none: `auto` follows the route")
    route: str = Field(default="", description='Ordered providers with prices: "pdfmage:0.01,ocrspace" or JSON')
    quotas: str = Field(default="", description="Provider quota windows (JSON, see ocrflow.workflow.quotas)")
    embedded_fallback: bool = Field(default=True, description="The embedded engine ends every route")
    provider_secrets: dict[str, str] = Field(default_factory=dict, description="Provider -> Secrets Manager "
                                             "secret with its settings (endpoint, keys)")
    languages: str = "eng"
    ocr_mode: OcrMode = Field(default=OcrMode.AUTO, description="Which PDF pages the embedded engine OCRs in jobs "
                              "that name none: auto, force or skip-text (OCRFLOW_OCR_MODE)")
    second_engine: SecondEngineMode = Field(
        default=SecondEngineMode.AUTO, description="RapidOCR for the pages Tesseract reads weakly "
        "(OCRFLOW_SECOND_ENGINE): auto or always deploy its container-image function (Docker builds it at "
        "deploy); off deploys none")
    outputs: str = Field(default=DEFAULT_OUTPUTS_SETTING, description="Results of S3-trigger uploads "
                         "(OCRFLOW_OUTPUTS): json, txt, pdf, hocr, alto; API jobs name their own")
    uploads_prefix: str = "uploads/"
    results_prefix: str = "results/"
    provider_secret_name: str | None = Field(default=None, description="Secrets Manager secret with provider settings")
    architecture: Literal["x86_64", "arm64"] = Field(
        default="x86_64", description="Every function's processor: arm64 (Graviton) is 20 % cheaper per GB-s; its "
        "speed on this code is not measured on real hardware yet, so x86_64 stays the default")
    layer_dir: Path | None = Field(default=None, description="Built by `make layer` (build/layer), or `make layer "
                                   "ARCH=arm64` (build/layer-arm64); unset: the one of `architecture`")
    log_retention_days: int = 30
    job_deadline_seconds: int = 1800
    max_pages: int = Field(default=2000, gt=0, description="Most pages accepted in one document (OCRFLOW_MAX_PAGES)")
    range_pages: int | None = Field(default=None, gt=0, description="Pages per range of a fanned-out document "
                                    "(unset: ~30 s of OCR at the measured cost per page)")
    range_concurrency: int = Field(default=200, gt=0, description="Ranges of one document OCRed at once (the "
                                   "page limit's ranges in one wave; mind the account's Lambda concurrency)")
    range_seconds: float = Field(default=30, gt=0, description="Estimated OCR time of one range: shorter ranges "
                                 "finish a long document sooner, longer ones cost less per page (fewer calls)")
    seconds_per_page: float | None = Field(default=None, gt=0, description="The embedded engine's wall seconds "
                                           "per page on a 2,048 MB function, if measured on your own documents")
    alarm_email: str | None = None
    cors_origins: list[str] = Field(default=["*"], description="Origins of the web frontends (API and S3 CORS)")
    api_providers: str = Field(default="", description="Comma-separated providers a job may ask for")
    api_rate_limit: int = Field(default=50, description="API Gateway stage: steady requests per second")
    api_burst_limit: int = Field(default=100, description="API Gateway stage: burst")
    key_rate_limit_per_minute: int = Field(default=600, description="Per API key, unless the tenant has its own")
    url_allow_http: bool = Field(default=False, description="Allow http:// source and callback URLs")
    source_url_allowed_hosts: str = Field(default="", description="Hosts (host, host:port, host:first-last) a "
                                          "source_url may name although private: it may read what they serve")
    callback_allowed_hosts: str = Field(default="", description="The same for callback URLs (the local stack: its "
                                        "test receivers' ports)")

    @classmethod
    def from_context(cls, app: App) -> DeploymentConfig:
        def ctx(key: str):  # noqa: ANN202
            return app.node.try_get_context(f"ocrflow:{key}")

        values = {
            "provider": ctx("provider"), "languages": ctx("languages"), "ocr_mode": ctx("ocrMode"),
            "second_engine": ctx("secondEngine"), "outputs": ctx("outputs"), "architecture": ctx("architecture"),
            "uploads_prefix": ctx("uploadsPrefix"),
            "results_prefix": ctx("resultsPrefix"), "provider_secret_name": ctx("providerSecretName"),
            "layer_dir": ctx("layerDir"), "log_retention_days": ctx("logRetentionDays"),
            "job_deadline_seconds": ctx("jobDeadlineSeconds"), "alarm_email": ctx("alarmEmail"),
            "cors_origins": _split(ctx("corsOrigins")), "api_providers": ctx("apiProviders"),
            "api_rate_limit": ctx("apiRateLimit"), "api_burst_limit": ctx("apiBurstLimit"),
            "key_rate_limit_per_minute": ctx("keyRateLimitPerMinute"), "url_allow_http": _flag(ctx("urlAllowHttp")),
            "source_url_allowed_hosts": ctx("sourceUrlAllowedHosts"),
            "callback_allowed_hosts": ctx("callbackAllowedHosts"), "route": _text(ctx("route")),
            "quotas": _text(ctx("quotas")), "embedded_fallback": _flag(ctx("embeddedFallback")),
            "provider_secrets": _pairs(ctx("providerSecrets")), "max_pages": ctx("maxPages"),
            "range_pages": ctx("rangePages"), "range_concurrency": ctx("rangeConcurrency"),
            "range_seconds": ctx("rangeSeconds"),
            "seconds_per_page": ctx("secondsPerPage"),
        }
        return cls(**{k: v for k, v in values.items() if v is not None})

    @property
    def range_plan(self) -> RangePlan:
        """The fan-out's numbers as deployed: the functions' time-outs of sizes.STEPS and this configuration."""
        return RangePlan(seconds_per_page=self.seconds_per_page or MEASURED_EMBEDDED_SECONDS_PER_PAGE,
                         process_seconds=STEPS["process"][1], range_call_seconds=STEPS["range"][1],
                         merge_seconds=STEPS["finalize"][1], concurrency=self.range_concurrency,
                         range_seconds=self.range_seconds,
                         fixed_range_pages=self.range_pages)

    @property
    def layer_path(self) -> Path:
        """The layer's folder: `layerDir`, else what `make layer` builds for the architecture."""
        if self.layer_dir is not None:
            return self.layer_dir
        return REPO / "build" / ("layer" if self.architecture == "x86_64" else f"layer-{self.architecture}")

    @field_validator("outputs")
    @classmethod
    def _known_outputs(cls, value: str) -> str:
        return ",".join(parse_outputs(value))

    @model_validator(mode="after")
    def _finishes_what_it_accepts(self) -> DeploymentConfig:
        """A deployment that could accept a document it cannot finish within the job deadline is refused at
        synth, not found out by a time-out."""
        problem = self.range_plan.problem(self.max_pages, self.job_deadline_seconds)
        if problem:
            raise ValueError(f"this configuration could accept documents it cannot finish: {problem}; raise "
                             "ocrflow:jobDeadlineSeconds or ocrflow:rangeConcurrency, or lower ocrflow:maxPages")
        return self

    @property
    def secrets(self) -> dict[str, str]:
        """Provider -> secret name: `providerSecrets`, and `providerSecretName` for the pinned provider."""
        secrets = dict(self.provider_secrets)
        if self.provider_secret_name and self.provider != "auto":
            secrets.setdefault(self.provider, self.provider_secret_name)
        return secrets


def _split(value: str | list[str] | None) -> list[str] | None:
    """A list from context: JSON list in cdk.json, comma-separated with `-c key=a,b`."""
    if value is None or isinstance(value, list):
        return value
    return [item.strip() for item in value.split(",") if item.strip()]


def _flag(value: str | bool | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return value.strip().lower() in ("1", "true", "yes")


def _text(value: str | list | dict | None) -> str | None:
    """A setting passed on as text: JSON lists/objects from cdk.json are serialized, strings kept."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _pairs(value: str | dict[str, str] | None) -> dict[str, str] | None:
    """A mapping from context: a JSON object in cdk.json, `a=x,b=y` with `-c key=...`."""
    if value is None or isinstance(value, dict):
        return value
    return dict(item.split("=", 1) for item in value.split(",") if "=" in item)
