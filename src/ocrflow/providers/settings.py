"""Provider configuration from the environment (pydantic-settings).

Every provider reads `OCRFLOW_<NAME>_ENDPOINT`, `OCRFLOW_<NAME>_API_KEY`, `OCRFLOW_<NAME>_TIMEOUT_SECONDS`,
`OCRFLOW_<NAME>_MAX_ATTEMPTS`; provider-specific settings live in subclasses next to each client. Real
endpoints are defaults only where the provider documents one; credentials never have defaults.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocrflow.errors import ConfigError


class ProviderSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    endpoint: str = Field(description="Base URL of the provider's API")
    api_key: SecretStr | None = Field(default=None, description="API key")
    timeout_seconds: float = Field(default=60.0, gt=0, description="Read time-out of one HTTP call")
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10, description="Tries per call for transient errors")
    backoff_base_seconds: float = Field(default=0.5, ge=0, description="First back-off; doubles, with jitter")
    backoff_cap_seconds: float = Field(default=20.0, ge=0)
    poll_deadline_seconds: float = Field(default=900.0, gt=0, description="Give up waiting on a job after this")
    concurrency: int | None = Field(default=None, ge=1, description="Parts sent at once (default: provider's)")


def settings_config(name: str) -> SettingsConfigDict:
    """The pydantic-settings config for provider `name`: env prefix OCRFLOW_<NAME>_."""
    return SettingsConfigDict(env_prefix=f"OCRFLOW_{name.upper()}_", frozen=True, extra="ignore")


def secret_settings(name: str) -> dict[str, Any]:
    """Settings kept in AWS Secrets Manager: when OCRFLOW_<NAME>_SECRET_NAME is set, that secret (a JSON
    object such as {"api_key": "..."} or {"client_id": "...", "client_secret": "..."}) is read through
    Powertools Parameters (cached) and overrides the environment. Keys are the settings' field names."""
    secret_name = os.environ.get(f"OCRFLOW_{name.upper()}_SECRET_NAME")
    if not secret_name:
        return {}
    try:
        from aws_lambda_powertools.utilities import parameters
    except ImportError:
        raise ConfigError("OCRFLOW_*_SECRET_NAME needs the 'aws' extra (aws-lambda-powertools, boto3)") from None
    try:
        value = parameters.get_secret(secret_name, transform="json", max_age=300)
    except parameters.exceptions.TransformParameterError:
        raise ConfigError(f"secret {secret_name!r} for provider {name!r} is not a JSON object") from None
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigError(f"cannot read secret {secret_name!r} for provider {name!r}: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"secret {secret_name!r} for provider {name!r} is not a JSON object")
    return {str(key).lower(): val for key, val in value.items()}
