"""The whole local stack in one context manager: emulator up and bootstrapped, a fake for each REST provider
the deployment routes to, with its settings in the emulator's Secrets Manager, the CDK app deployed; all
stopped on exit."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocrflow.api.tenants import TenantDirectory
from ocrflow.fakes.base import FakeServer
from ocrflow.fakes.registry import fake_class
from ocrflow.fakes.serve import fake_environment
from ocrflow.local.deployment import Deployment, bootstrap, deploy
from ocrflow.local.emulator import Emulator
from ocrflow.local.tools import LocalTools
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.routing import AUTO, candidates, parse_route


@dataclass
class LocalStack:
    emulator: Emulator
    tools: LocalTools
    deployment: Deployment | None = None
    #: the fakes of the REST providers the deployment uses, started by `redeploy`
    fakes: dict[ProviderName, FakeServer] = field(default_factory=dict)
    #: constructor options of each provider's fake (e.g. pdfmage's starting balance), kept for redeploys
    fake_options: dict[ProviderName, dict[str, Any]] = field(default_factory=dict)
    #: `-c` settings of every deploy of this stack (e.g. a small `ocrflow:rangePages` for the tests)
    context: dict[str, str] = field(default_factory=dict)
    #: told before each redeploy (`before_deploy(stack)`) and after each deploy (`deployed(stack)`): the
    #: end-to-end tests check the functions' AWS calls against the roles of the deployment they ran in
    watchers: list[Any] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    @property
    def fakes_log(self) -> Path:
        """Where the fakes' access log goes (not the terminal: it would run through the demo's report)."""
        return self.tools.work_dir / "fakes.log"

    @property
    def fake(self) -> FakeServer | None:
        """The fake of the only (or first) REST provider deployed."""
        return next(iter(self.fakes.values()), None)

    @property
    def api_base(self) -> str:
        assert self.deployment is not None
        return self.deployment.api_base(self.emulator.endpoint)

    def tenants(self) -> TenantDirectory:
        assert self.deployment is not None
        return TenantDirectory(self.tenants_table())

    def tenants_table(self) -> Any:
        assert self.deployment is not None
        return self.emulator.resource("dynamodb").Table(self.deployment.tenants_table)

    def redeploy(self, provider: str = AUTO, route: str = "", context: dict[str, str] | None = None) -> None:
        """Deploy the stack as `cdk deploy -c ocrflow:provider=... -c ocrflow:route=...`: jobs go to `provider`,
        or (`auto`) down `route` with the embedded engine last; each REST provider's fake is started here and
        its settings stored as that provider's secret. `context`: more `-c` settings."""
        if self.deployment is not None:
            for watcher in self.watchers:
                watcher.before_deploy(self)
        self.stop_fakes()
        names = [entry.provider for entry in candidates(provider, None, parse_route(route), embedded_fallback=True)]
        for name in names:
            if name is not ProviderName.TESSERACT:
                self.fakes[name] = fake_class(name)(**self.fake_options.get(name, {})).start()
        secrets = {name.value: self._secret(name, fake) for name, fake in self.fakes.items()}
        self.deployment = deploy(self.emulator, self.tools, provider=provider, route=route, provider_secrets=secrets,
                                 context={**self.context, **(context or {})})
        for watcher in self.watchers:
            watcher.deployed(self)

    def stop_fakes(self) -> None:
        for fake in self.fakes.values():
            fake.stop()
        self.fakes.clear()

    def _secret(self, provider: ProviderName, fake: FakeServer) -> str:
        """The fake's endpoint and credentials as the provider secret the functions read (as in AWS)."""
        prefix = f"OCRFLOW_{provider.value.upper()}_"
        settings = {key.removeprefix(prefix).lower(): value
                    for key, value in fake_environment(provider, fake.base_url).items()}
        name = f"ocrflow/{provider.value}"
        secrets = self.client("secretsmanager")
        try:
            secrets.create_secret(Name=name, SecretString=json.dumps(settings))
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=json.dumps(settings))
        return name


@contextlib.contextmanager
def _access_log_to(path: Path) -> Iterator[None]:
    """The fakes' werkzeug access log into `path` while inside (werkzeug prints it, coloured, to stderr)."""
    logger = logging.getLogger("werkzeug")
    before = logger.handlers[:], logger.propagate, logger.level
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        handler.close()
        logger.handlers, logger.propagate = before[0], before[1]
        logger.setLevel(before[2])


@contextlib.contextmanager
def local_stack(provider: str = AUTO, route: str = "", tools: LocalTools | None = None,
                fake_options: dict[ProviderName, dict[str, Any]] | None = None,
                context: dict[str, str] | None = None, emulator_environment: dict[str, str] | None = None,
                watchers: list[Any] | None = None) -> Iterator[LocalStack]:
    """`emulator_environment`: more variables for the emulator and its Lambda workers; `watchers`: see
    `LocalStack.watchers`."""
    tools = tools or LocalTools.from_env()
    tools.check()
    with _access_log_to(tools.work_dir / "fakes.log"), \
            Emulator(tools.emulator_python, tools.work_dir / "emulator.log",
                     environment=emulator_environment) as emulator:
        stack = LocalStack(emulator=emulator, tools=tools, fake_options=dict(fake_options or {}),
                           context=dict(context or {}), watchers=list(watchers or []))
        try:
            bootstrap(emulator, tools)
            stack.redeploy(provider, route)
            yield stack
        finally:
            stack.stop_fakes()
