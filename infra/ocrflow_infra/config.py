"""Deployment configuration from `cdk.json` context (overridable with `cdk deploy -c key=value`)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App
from pydantic import BaseModel, Field

REPO = Path(__file__).resolve().parents[2]


class DeploymentConfig(BaseModel):
    provider: str = "tesseract"
    languages: str = "eng"
    uploads_prefix: str = "uploads/"
    results_prefix: str = "results/"
    provider_secret_name: str | None = Field(default=None, description="Secrets Manager secret with provider settings")
    layer_dir: Path = Field(default=REPO / "build" / "layer", description="Built by `make layer`")
    log_retention_days: int = 30
    job_deadline_seconds: int = 1800
    alarm_email: str | None = None

    @classmethod
    def from_context(cls, app: App) -> DeploymentConfig:
        def ctx(key: str):  # noqa: ANN202
            return app.node.try_get_context(f"ocrflow:{key}")

        values = {
            "provider": ctx("provider"), "languages": ctx("languages"), "uploads_prefix": ctx("uploadsPrefix"),
            "results_prefix": ctx("resultsPrefix"), "provider_secret_name": ctx("providerSecretName"),
            "layer_dir": ctx("layerDir"), "log_retention_days": ctx("logRetentionDays"),
            "job_deadline_seconds": ctx("jobDeadlineSeconds"), "alarm_email": ctx("alarmEmail"),
        }
        return cls(**{k: v for k, v in values.items() if v is not None})
