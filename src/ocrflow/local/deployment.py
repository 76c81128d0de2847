"""Deploy the CDK app in infra/ into the emulator with the pinned aws-cdk CLI - the same `cdk bootstrap` and
`cdk deploy` an operator runs against AWS, pointed at 127.0.0.1 by AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ocrflow.errors import ConfigError
from ocrflow.local.emulator import ACCOUNT, REGION, Emulator
from ocrflow.local.tools import REPO, LocalTools

STACK = "Ocrflow"


@dataclass(frozen=True)
class Deployment:
    uploads_bucket: str
    uploads_prefix: str
    results_bucket: str
    jobs_table: str
    state_machine: str
    tenants_table: str
    api_url: str
    process_function: str

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> Deployment:
        return cls(uploads_bucket=outputs["UploadsBucket"], uploads_prefix=outputs["UploadsPrefix"],
                   results_bucket=outputs["ResultsBucket"], jobs_table=outputs["JobsTable"],
                   state_machine=outputs["StateMachine"], tenants_table=outputs["TenantsTable"],
                   api_url=outputs["ApiUrl"], process_function=outputs["ProcessFunction"])

    def api_base(self, emulator_endpoint: str) -> str:
        """The API's base URL on the emulator: its path-style execute-api route (AWS's host name,
        <id>.execute-api.<region>.amazonaws.com, does not resolve here)."""
        host, _, stage = self.api_url.removeprefix("https://").partition("/")
        return f"{emulator_endpoint}/_aws/execute-api/{host.split('.', 1)[0]}/{stage.strip('/')}"


def cdk_env(emulator: Emulator) -> dict[str, str]:
    env = {**os.environ, **emulator.client_env(),
           "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true",  # nothing leaves the machine
           "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
           "CDK_DEFAULT_ACCOUNT": ACCOUNT, "CDK_DEFAULT_REGION": REGION}
    env.pop("CDK_CONTEXT_JSON", None)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, log: Path, what: str) -> None:
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(args)}\n".encode())
        out.flush()
        done = subprocess.run(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                              stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise ConfigError(f"{what} failed (exit {done.returncode}); log {log}:\n{tail}")


COMMON_ARGS = ["--no-notices", "--no-color", "--ci"]
#: hosts the local stack may call back (webhook receivers of tests and demos); nothing else private
LOCAL_ALLOWED_HOSTS = "127.0.0.1"


def bootstrap(emulator: Emulator, tools: LocalTools) -> None:
    """`cdk bootstrap` of the emulator's account, once per emulator (run from a folder without cdk.json: it
    needs no synthesis of the app)."""
    tools.work_dir.mkdir(parents=True, exist_ok=True)
    _run([str(tools.cdk), "bootstrap", f"aws://{ACCOUNT}/{REGION}", *COMMON_ARGS], cdk_env(emulator),
         tools.work_dir, tools.work_dir / "cdk.log", "cdk bootstrap")


def deploy(emulator: Emulator, tools: LocalTools, *, provider: str = "auto", route: str = "",
           provider_secrets: dict[str, str] | None = None, context: dict[str, str] | None = None) -> Deployment:
    """`cdk deploy` of the Ocrflow stack into the bootstrapped emulator, with the layer built for it; `context`:
    more `-c` settings (e.g. `ocrflow:jobDeadlineSeconds`)."""
    work = tools.work_dir
    settings = {"ocrflow:layerDir": str(tools.layer_dir.resolve()), "ocrflow:provider": provider,
                "ocrflow:route": route,
                # the local stack's webhook receivers and pages live on loopback, over plain http
                "ocrflow:urlAllowHttp": "true", "ocrflow:urlAllowedHosts": LOCAL_ALLOWED_HOSTS}
    context = {**settings, **(context or {})}
    if provider_secrets:
        context["ocrflow:providerSecrets"] = ",".join(f"{name}={secret}" for name, secret in provider_secrets.items())
    outputs_file = work / "outputs.json"
    outputs_file.unlink(missing_ok=True)
    args = [str(tools.cdk), "deploy", STACK, "--require-approval", "never", *COMMON_ARGS,
            "--app", f"{tools.app_python} infra/app.py", "--output", str(work / "cdk.out"),
            "--outputs-file", str(outputs_file)]
    for key, value in context.items():
        args += ["--context", f"{key}={value}"]
    _run(args, cdk_env(emulator), REPO, work / "cdk.log", "cdk deploy")
    return Deployment.from_outputs(json.loads(outputs_file.read_text())[STACK])
