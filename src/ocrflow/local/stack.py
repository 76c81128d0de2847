"""The whole local stack in one context manager: emulator up and bootstrapped, the provider's fake (unless
the embedded engine is chosen) with its settings in the emulator's Secrets Manager, the CDK app deployed;
all stopped on exit."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ocrflow.api.tenants import TenantDirectory
from ocrflow.fakes.base import FakeServer
from ocrflow.fakes.registry import fake_class
from ocrflow.fakes.serve import fake_environment
from ocrflow.local.deployment import Deployment, bootstrap, deploy
from ocrflow.local.emulator import Emulator
from ocrflow.local.tools import LocalTools
from ocrflow.providers.names import ProviderName


@dataclass
class LocalStack:
    emulator: Emulator
    tools: LocalTools
    deployment: Deployment | None = None
    fake: FakeServer | None = None

    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    @property
    def api_base(self) -> str:
        assert self.deployment is not None
        return self.deployment.api_base(self.emulator.endpoint)

    def tenants(self) -> TenantDirectory:
        assert self.deployment is not None
        return TenantDirectory(self.emulator.resource("dynamodb").Table(self.deployment.tenants_table))

    def redeploy(self, provider: ProviderName) -> None:
        """Deploy the stack for `provider` (its fake started here), as `cdk deploy -c ocrflow:provider=...`."""
        self.stop_fake()
        if provider is not ProviderName.TESSERACT:
            self.fake = fake_class(provider)().start()
        self.deployment = deploy(self.emulator, self.tools, provider=provider.value,
                                 provider_secret_name=self._secret(provider))

    def stop_fake(self) -> None:
        if self.fake is not None:
            self.fake.stop()
            self.fake = None

    def _secret(self, provider: ProviderName) -> str | None:
        """The fake's endpoint and credentials as the provider secret the functions read (as in AWS)."""
        if self.fake is None:
            return None
        prefix = f"OCRFLOW_{provider.value.upper()}_"
        settings = {key.removeprefix(prefix).lower(): value
                    for key, value in fake_environment(provider, self.fake.base_url).items()}
        name = f"ocrflow/{provider.value}"
        secrets = self.client("secretsmanager")
        try:
            secrets.create_secret(Name=name, SecretString=json.dumps(settings))
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=json.dumps(settings))
        return name


@contextlib.contextmanager
def local_stack(provider: ProviderName = ProviderName.TESSERACT, tools: LocalTools | None = None
                ) -> Iterator[LocalStack]:
    tools = tools or LocalTools.from_env()
    tools.check()
    with Emulator(tools.emulator_python, tools.work_dir / "emulator.log") as emulator:
        stack = LocalStack(emulator=emulator, tools=tools)
        try:
            bootstrap(emulator, tools)
            stack.redeploy(provider)
            yield stack
        finally:
            stack.stop_fake()
