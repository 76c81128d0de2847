"""Provider configuration: environment variables, clear errors when missing, secrets from Secrets Manager."""

import json

import boto3
import pytest
from moto import mock_aws
from pydantic import SecretStr

from ocrflow.errors import ConfigError
from ocrflow.providers.base import Provider, ProviderLimits
from ocrflow.providers.settings import ProviderSettings, settings_config


class ExampleSettings(ProviderSettings):
    model_config = settings_config("example")
    endpoint: str = "https://api.example.test/ocr"
    api_key: SecretStr


class ExampleProvider(Provider):
    name = "example"
    limits = ProviderLimits(media_types=frozenset({"application/pdf"}), cost_unit="page")
    settings_class = ExampleSettings

    def submit(self, part, request):  # pragma: no cover - not called here
        raise NotImplementedError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in ("OCRFLOW_EXAMPLE_API_KEY", "OCRFLOW_EXAMPLE_SECRET_NAME", "OCRFLOW_EXAMPLE_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)


def test_settings_come_from_prefixed_environment(monkeypatch):
    monkeypatch.setenv("OCRFLOW_EXAMPLE_API_KEY", "k-123")
    monkeypatch.setenv("OCRFLOW_EXAMPLE_ENDPOINT", "http://127.0.0.1:9999")
    provider, settings = ExampleProvider.from_env()
    assert settings.api_key.get_secret_value() == "k-123" and settings.endpoint == "http://127.0.0.1:9999"
    assert "k-123" not in repr(settings)  # secrets never print
    provider.close()


def test_missing_credentials_name_the_variable():
    with pytest.raises(ConfigError, match="OCRFLOW_EXAMPLE_API_KEY"):
        ExampleProvider.from_env()


@mock_aws
def test_credentials_from_secrets_manager(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    boto3.client("secretsmanager").create_secret(Name="ocrflow/example", SecretString=json.dumps({"API_KEY": "s-9"}))
    monkeypatch.setenv("OCRFLOW_EXAMPLE_SECRET_NAME", "ocrflow/example")
    provider, settings = ExampleProvider.from_env()
    assert settings.api_key.get_secret_value() == "s-9"
    provider.close()


@mock_aws
def test_missing_secret_is_a_config_error(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("OCRFLOW_EXAMPLE_SECRET_NAME", "ocrflow/missing")
    with pytest.raises(ConfigError, match="cannot read secret"):
        ExampleProvider.from_env()
