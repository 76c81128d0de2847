"""The API's configuration, from the Lambda environment (pydantic-settings, prefix OCRFLOW_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocrflow.net.safe_http import UrlPolicy
from ocrflow.providers.names import OcrMode


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCRFLOW_", frozen=True, extra="ignore")

    uploads_bucket: str = Field(description="Bucket whose uploads prefix starts the workflow")
    uploads_prefix: str = "uploads/"
    results_bucket: str
    results_prefix: str = "results/"
    jobs_table: str
    tenants_table: str = Field(description="Tenants, hashed API keys, rate windows (pk/sk)")
    provider: str = Field(default="auto", description="Provider of jobs that name none: `auto` follows the "
                          "deployment's route (the tenant's, if it has one)")
    api_providers: str = Field(default="", description="Comma-separated providers a job may ask for "
                               "(besides the default); empty = only the default")
    lang: str = "eng"
    ocr_mode: OcrMode = Field(default=OcrMode.AUTO, description="OCR mode of jobs that name none")
    route: str = Field(default="", description="The deployment's route (OCRFLOW_ROUTE, as the workflow reads it): "
                       "a job's languages are checked against the providers it may go to")
    embedded_fallback: bool = Field(default=True, description="The embedded engine ends every route")
    upload_url_seconds: int = Field(default=900, gt=0, le=7 * 24 * 3600, description="Presigned upload lifetime")
    download_url_seconds: int = Field(default=900, gt=0, le=7 * 24 * 3600, description="Presigned result links")
    upload_wait_hours: int = Field(default=24, gt=0, description="A job whose file never arrives expires after")
    inline_result_bytes: int = Field(default=1_000_000, gt=0, description="Larger documents come as a link")
    source_fetch_seconds: float = Field(default=15.0, gt=0, le=25, description="Time allowed to fetch a source_url, "
                                        "all of it (connect, headers, body); the API function has 29 s")
    source_read_seconds: float = Field(default=10.0, gt=0, description="Time a source_url may stay silent")
    webhook_deadline_seconds: float = Field(default=120.0, gt=0, le=240, description="Time allowed to deliver a "
                                            "webhook, every attempt and back-off together; the notify function "
                                            "has 300 s")
    rate_limit_per_minute: int = Field(default=600, gt=0, description="Requests per API key per minute, unless "
                                       "the tenant has its own")
    url_allow_http: bool = Field(default=False, description="Allow http:// source and callback URLs")
    source_url_allowed_hosts: str = Field(default="", description="Comma-separated hosts (host, host:port or "
                                          "host:first-last) a source_url may name although they are private")
    callback_allowed_hosts: str = Field(default="", description="The same for callback_url (the local stack's "
                                        "test receivers)")

    @property
    def allowed_providers(self) -> frozenset[str]:
        return frozenset({self.provider, *(p.strip() for p in self.api_providers.split(",") if p.strip())})

    @property
    def source_url_policy(self) -> UrlPolicy:
        """Where a job's source_url may point: a document is fetched and stored, so an exemption here lets a
        caller read what the exempt host serves."""
        return UrlPolicy(allow_http=self.url_allow_http, allowed_hosts=_hosts(self.source_url_allowed_hosts))

    @property
    def callback_policy(self) -> UrlPolicy:
        """Where webhooks may be POSTed (the receiver's answer is never shown to the caller)."""
        return UrlPolicy(allow_http=self.url_allow_http, allowed_hosts=_hosts(self.callback_allowed_hosts))


def _hosts(listed: str) -> frozenset[str]:
    return frozenset(host.strip() for host in listed.split(",") if host.strip())
